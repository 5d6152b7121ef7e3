#include "api/model_slots.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <vector>

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

TEST(ModelSlots, ShutdownWakesWaitersWithUnavailable) {
  ModelSlots slots(1, 4, 60s);
  ASSERT_TRUE(slots.acquire_for_request().is_ok());
  std::atomic<int> woken{0};
  std::vector<std::thread> waiters;
  for (int i = 0; i < 3; ++i) {
    waiters.emplace_back([&] {
      Status status = slots.acquire_for_request();
      EXPECT_EQ(status.code(), ErrorCode::kUnavailable);
      EXPECT_NE(status.message().find("shutting down"), std::string::npos) << status.message();
      ++woken;
    });
  }
  std::this_thread::sleep_for(50ms);
  EXPECT_EQ(woken.load(), 0);
  const auto started = std::chrono::steady_clock::now();
  slots.shutdown();
  for (auto& w : waiters) w.join();
  EXPECT_EQ(woken.load(), 3);
  EXPECT_LT(std::chrono::steady_clock::now() - started, 10s);  // not the 60 s max_wait
  EXPECT_EQ(slots.acquire_for_request().code(), ErrorCode::kOk);  // this thread holds its slot already
  ModelSlots::release_request_slot();
  EXPECT_EQ(slots.in_flight(), 0);
  std::thread late([&] { EXPECT_EQ(slots.acquire_for_request().code(), ErrorCode::kUnavailable); });
  late.join();
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
