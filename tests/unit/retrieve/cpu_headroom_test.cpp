#include "retrieve/cpu_headroom.h"

#include <gtest/gtest.h>

#include <thread>

namespace kr::retrieve {
namespace {

using namespace std::chrono_literals;

TEST(CpuHeadroom, SpareOnlyBelowOneRunnableThreadPerCore) {
  double load = 0.5;
  int reads = 0;
  CpuHeadroom headroom(2, [&] { ++reads; return load; }, 0ms);
  EXPECT_TRUE(headroom.available());
  load = 1.9;
  EXPECT_TRUE(headroom.available());
  load = 2.0;
  EXPECT_FALSE(headroom.available());
  load = 31.0;
  EXPECT_FALSE(headroom.available());
  load = -1;  // unknown: do not hand work off
  EXPECT_FALSE(headroom.available());
  EXPECT_EQ(reads, 5);
}

TEST(CpuHeadroom, ReadsTheLoadAtMostOncePerPeriod) {
  double load = 0.1;
  int reads = 0;
  CpuHeadroom headroom(4, [&] { ++reads; return load; }, 200ms);
  EXPECT_TRUE(headroom.available());
  load = 9;
  for (int i = 0; i < 100; ++i) EXPECT_TRUE(headroom.available());  // the cached answer
  EXPECT_EQ(reads, 1);
  std::this_thread::sleep_for(250ms);
  EXPECT_FALSE(headroom.available());
  EXPECT_EQ(reads, 2);
}

}  // namespace
}  // namespace kr::retrieve
