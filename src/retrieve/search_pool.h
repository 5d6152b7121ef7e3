// Helper threads that run one side of a hybrid search (dense or BM25 candidates) while the
// request's own thread computes the other, so a hybrid search takes about the longer of the
// two instead of their sum.
//
// Bounded on every axis: a fixed number of helpers started once, a fixed queue, and no task
// ever waits for a helper. When the queue is full the caller runs the task itself; when the
// caller finishes its own side before a helper picked the task up, it takes the task back and
// runs it too. Under a load that keeps every core busy a hybrid search therefore degrades to
// running its two sides one after the other, as it did without the pool, never to waiting.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

namespace kr::retrieve {

struct SearchPoolOptions {
  int threads = 1;         // helpers (0: none, run_both is sequential)
  size_t queue_max = 8;    // tasks waiting for a helper; beyond, the caller runs them
  int nice = 4;            // CPU priority of the helpers: the HTTP workers' (probes go first)
};

// Thread-safety: run_both may be called concurrently from any number of threads.
class SearchPool {
 public:
  explicit SearchPool(SearchPoolOptions options);
  ~SearchPool();  // waits for running tasks; queued ones are run by their callers
  SearchPool(const SearchPool&) = delete;
  SearchPool& operator=(const SearchPool&) = delete;

  // Runs `here` on the calling thread and `there` on a helper when one can start it, and
  // returns once both finished. The tasks must not throw.
  void run_both(const std::function<void()>& here, const std::function<void()>& there);

  int threads() const { return static_cast<int>(helpers_.size()); }
  // Tasks a helper ran / the caller ran itself (queue full, or taken back); for tests.
  uint64_t run_by_helpers() const;
  uint64_t run_by_callers() const;

 private:
  struct Task;
  void work();
  // Runs the task unless someone else already started it; true when this call ran it.
  bool claim_and_run(Task& task, bool by_helper);

  SearchPoolOptions options_;
  mutable std::mutex mutex_;
  std::condition_variable has_work_;
  std::deque<std::shared_ptr<Task>> queue_;
  uint64_t by_helpers_ = 0, by_callers_ = 0;  // guarded by mutex_
  bool stopping_ = false;
  std::vector<std::thread> helpers_;
};

}  // namespace kr::retrieve
