#include "retrieve/search_pool.h"

#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>

namespace kr::retrieve {

struct SearchPool::Task {
  const std::function<void()>* run = nullptr;  // the caller's, alive until the caller returns
  std::atomic<bool> claimed{false};
  std::mutex mutex;
  std::condition_variable finished_cv;
  bool finished = false;
};

SearchPool::SearchPool(SearchPoolOptions options) : options_(options) {
  for (int i = 0; i < options_.threads; ++i) helpers_.emplace_back([this] { work(); });
}

SearchPool::~SearchPool() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  has_work_.notify_all();
  for (auto& helper : helpers_) helper.join();
}

bool SearchPool::claim_and_run(Task& task, bool by_helper) {
  if (task.claimed.exchange(true)) return false;
  (*task.run)();
  {
    std::lock_guard lock(mutex_);  // counted before the caller can return
    (by_helper ? by_helpers_ : by_callers_)++;
  }
  {
    std::lock_guard lock(task.mutex);
    task.finished = true;
  }
  task.finished_cv.notify_all();
  return true;
}

void SearchPool::work() {
  // Per-thread nice on Linux; failure (no permission to lower it) leaves the default.
  (void)::setpriority(PRIO_PROCESS, static_cast<id_t>(::syscall(SYS_gettid)), options_.nice);
  while (true) {
    std::shared_ptr<Task> task;
    {
      std::unique_lock lock(mutex_);
      has_work_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) return;  // stopping, nothing left
      task = std::move(queue_.front());
      queue_.pop_front();
    }
    claim_and_run(*task, /*by_helper=*/true);
  }
}

void SearchPool::run_both(const std::function<void()>& here, const std::function<void()>& there) {
  auto task = std::make_shared<Task>();
  task->run = &there;
  bool queued = false;
  {
    std::lock_guard lock(mutex_);
    if (!helpers_.empty() && !stopping_ && queue_.size() < options_.queue_max) {
      queue_.push_back(task);
      queued = true;
    }
  }
  if (queued) has_work_.notify_one();
  here();
  // Not started yet (every helper busy): run it now rather than wait for a helper.
  if (claim_and_run(*task, /*by_helper=*/false)) return;
  std::unique_lock lock(task->mutex);
  task->finished_cv.wait(lock, [&task] { return task->finished; });
}

uint64_t SearchPool::run_by_helpers() const {
  std::lock_guard lock(mutex_);
  return by_helpers_;
}

uint64_t SearchPool::run_by_callers() const {
  std::lock_guard lock(mutex_);
  return by_callers_;
}

}  // namespace kr::retrieve
