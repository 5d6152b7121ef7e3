#include "api/model_slots.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>

namespace kr::api {
namespace {

using namespace std::chrono_literals;

TEST(ModelSlots, BeyondConcurrencyAndWaitersIsUnavailable) {
  ModelSlots slots(1, 0, 1s);
  ASSERT_TRUE(slots.acquire_for_request().is_ok());
  EXPECT_EQ(slots.in_flight(), 1);
  std::thread other([&] {
    Status status = slots.acquire_for_request();
    EXPECT_EQ(status.code(), ErrorCode::kUnavailable);
    EXPECT_NE(status.message().find("llm_max_waiting"), std::string::npos) << status.message();
  });
  other.join();
  ModelSlots::release_request_slot();
  EXPECT_EQ(slots.in_flight(), 0);
}

TEST(ModelSlots, AWaiterGetsTheSlotWhenItIsReleased) {
  ModelSlots slots(1, 1, 10s);
  ASSERT_TRUE(slots.acquire_for_request().is_ok());
  std::atomic<bool> got{false};
  std::thread waiter([&] {
    got = slots.acquire_for_request().is_ok();
    ModelSlots::release_request_slot();
  });
  std::this_thread::sleep_for(50ms);
  EXPECT_FALSE(got.load());
  ModelSlots::release_request_slot();
  waiter.join();
  EXPECT_TRUE(got.load());
  EXPECT_EQ(slots.in_flight(), 0);
}

TEST(ModelSlots, WaitingTooLongIsUnavailable) {
  ModelSlots slots(1, 4, 50ms);
  ASSERT_TRUE(slots.acquire_for_request().is_ok());
  std::thread waiter([&] {
    Status status = slots.acquire_for_request();
    EXPECT_EQ(status.code(), ErrorCode::kUnavailable);
    EXPECT_NE(status.message().find("waited"), std::string::npos) << status.message();
  });
  waiter.join();
  ModelSlots::release_request_slot();
}

TEST(ModelSlots, OneSlotPerRequestThread) {
  ModelSlots slots(1, 0, 0ms);
  ASSERT_TRUE(slots.acquire_for_request().is_ok());
  EXPECT_TRUE(slots.acquire_for_request().is_ok());  // the same request asks again: no second slot
  EXPECT_EQ(slots.in_flight(), 1);
  ModelSlots::release_request_slot();
  ModelSlots::release_request_slot();  // nothing held: no-op
  EXPECT_EQ(slots.in_flight(), 0);
}

}  // namespace
}  // namespace kr::api
