#include "retrieve/search_pool.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <latch>
#include <thread>

namespace kr::retrieve {
namespace {

using namespace std::chrono_literals;

TEST(SearchPool, RunsBothSidesAndTheHelperSideInParallel) {
  SearchPool pool({.threads = 1, .queue_max = 4, .nice = 0});
  // Each side waits until the other has started: only parallel execution gets past the latch
  // (a caller that took the task back would wait for itself, so the helper must have run it).
  std::latch both_started(2);
  std::thread::id here_thread, there_thread;
  pool.run_both(
      [&] {
        here_thread = std::this_thread::get_id();
        both_started.arrive_and_wait();
      },
      [&] {
        there_thread = std::this_thread::get_id();
        both_started.arrive_and_wait();
      });
  EXPECT_EQ(here_thread, std::this_thread::get_id());
  EXPECT_NE(there_thread, here_thread);
  EXPECT_EQ(pool.run_by_helpers(), 1u);
  EXPECT_EQ(pool.run_by_callers(), 0u);
}

TEST(SearchPool, WithoutHelpersBothSidesRunOnTheCaller) {
  SearchPool pool({.threads = 0, .queue_max = 4, .nice = 0});
  std::vector<int> order;
  pool.run_both([&] { order.push_back(1); }, [&] { order.push_back(2); });
  EXPECT_EQ(order, (std::vector<int>{1, 2}));
  EXPECT_EQ(pool.run_by_callers(), 1u);
}

TEST(SearchPool, CallerTakesBackATaskNoHelperStarted) {
  SearchPool pool({.threads = 1, .queue_max = 4, .nice = 0});
  // Occupy the only helper until released.
  std::atomic<bool> release{false};
  std::atomic<bool> helper_busy{false};
  std::thread blocker([&] {
    // The caller side waits until the helper runs the other, so the caller cannot take it back.
    pool.run_both([&] { while (!helper_busy) std::this_thread::sleep_for(1ms); },
                  [&] {
                    helper_busy = true;
                    while (!release) std::this_thread::sleep_for(1ms);
                  });
  });
  while (!helper_busy) std::this_thread::sleep_for(1ms);
  // The helper is busy: this search's other side must not wait for it.
  std::thread::id there_thread;
  const auto started = std::chrono::steady_clock::now();
  pool.run_both([] {}, [&] { there_thread = std::this_thread::get_id(); });
  EXPECT_EQ(there_thread, std::this_thread::get_id());
  EXPECT_LT(std::chrono::steady_clock::now() - started, 5s);
  EXPECT_EQ(pool.run_by_callers(), 1u);
  release = true;
  blocker.join();
  EXPECT_EQ(pool.run_by_helpers(), 1u);
}

TEST(SearchPool, FullQueueRunsOnTheCaller) {
  SearchPool pool({.threads = 1, .queue_max = 0, .nice = 0});
  std::thread::id there_thread;
  pool.run_both([] {}, [&] { there_thread = std::this_thread::get_id(); });
  EXPECT_EQ(there_thread, std::this_thread::get_id());
  EXPECT_EQ(pool.run_by_callers(), 1u);
  EXPECT_EQ(pool.run_by_helpers(), 0u);
}

TEST(SearchPool, ManyConcurrentCallersAllFinishEveryTask) {
  SearchPool pool({.threads = 2, .queue_max = 3, .nice = 0});
  std::atomic<int> here_runs{0}, there_runs{0};
  std::vector<std::thread> callers;
  for (int c = 0; c < 8; ++c) {
    callers.emplace_back([&] {
      for (int i = 0; i < 500; ++i) {
        int local = 0;
        pool.run_both([&] { here_runs++; }, [&] {
          local = 1;
          there_runs++;
        });
        ASSERT_EQ(local, 1);  // the other side finished before run_both returned
      }
    });
  }
  for (auto& caller : callers) caller.join();
  EXPECT_EQ(here_runs.load(), 4000);
  EXPECT_EQ(there_runs.load(), 4000);
  EXPECT_EQ(pool.run_by_helpers() + pool.run_by_callers(), 4000u);
}

}  // namespace
}  // namespace kr::retrieve
