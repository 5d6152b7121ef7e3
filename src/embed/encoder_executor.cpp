#include "embed/encoder_executor.h"

#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>

namespace kr::embed {

// One embed() call: its slices, their results, and the caller waiting for them.
struct EncoderExecutor::Job {
  std::span<const std::string> texts;
  InputKind kind = InputKind::kPassage;
  std::vector<std::pair<size_t, size_t>> slices;  // [begin, end) in texts
  std::vector<Result<Embeddings>> results;        // per slice
  size_t remaining = 0;                           // slices not finished; guarded by the executor's mutex
  bool failed = false;                            // a slice failed: the others are skipped
  std::condition_variable finished;
};

EncoderExecutor::EncoderExecutor(std::shared_ptr<Embedder> inner, EncoderExecutorOptions options)
    : inner_(std::move(inner)), options_(options) {
  options_.slice_texts = std::max<size_t>(1, options_.slice_texts);
  const int threads =
      options_.threads > 0 ? options_.threads : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  for (int t = 0; t < threads; ++t) workers_.emplace_back([this] { work(false); });
  if (options_.interactive_lane) workers_.emplace_back([this] { work(true); });
}

EncoderExecutor::~EncoderExecutor() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  has_work_.notify_all();
  for (auto& worker : workers_) worker.join();
}

uint64_t EncoderExecutor::slices_run(EmbedPriority priority) const {
  std::lock_guard lock(mutex_);
  return priority == EmbedPriority::kInteractive ? run_interactive_ : run_bulk_;
}

Result<Embeddings> EncoderExecutor::embed(std::span<const std::string> texts, InputKind kind) {
  const bool interactive = kind == InputKind::kQuery && texts.size() <= kInteractiveTexts;
  return embed(texts, kind, interactive ? EmbedPriority::kInteractive : EmbedPriority::kBulk);
}

Result<Embeddings> EncoderExecutor::embed(std::span<const std::string> texts, InputKind kind,
                                          EmbedPriority priority) {
  if (texts.empty()) {
    Embeddings empty;
    empty.dimension = inner_->info().dimension;
    return empty;
  }
  auto job = std::make_shared<Job>();
  job->texts = texts;
  job->kind = kind;
  for (size_t begin = 0; begin < texts.size();) {
    size_t end = begin, chars = 0;
    while (end < texts.size() && end - begin < options_.slice_texts &&
           (end == begin || chars + texts[end].size() <= options_.slice_chars)) {
      chars += texts[end].size();
      ++end;
    }
    job->slices.emplace_back(begin, end);
    begin = end;
  }
  job->results.assign(job->slices.size(), Result<Embeddings>(Embeddings{}));
  std::unique_lock lock(mutex_);
  job->remaining = job->slices.size();
  auto& queue = priority == EmbedPriority::kInteractive ? interactive_ : bulk_;
  for (size_t i = 0; i < job->slices.size(); ++i) queue.push_back({job, i});
  has_work_.notify_all();
  job->finished.wait(lock, [&] { return job->remaining == 0; });
  lock.unlock();

  Embeddings out;
  for (auto& result : job->results) {
    if (!result) return result.status();
    if (out.dimension == 0) out.dimension = result->dimension;
    if (result->dimension != out.dimension) {
      return error(ErrorCode::kInternal, "the embedder changed its dimension within one request");
    }
    out.values.insert(out.values.end(), result->values.begin(), result->values.end());
  }
  if (out.rows() != texts.size()) return error(ErrorCode::kInternal, "the embedder returned too few vectors");
  return out;
}

void EncoderExecutor::work(bool interactive_only) {
  if (options_.interactive_lane && !interactive_only) {
    // Bulk workers yield the cores to searches (the lane, BM25, HTTP): raising a thread's
    // nice value needs no privilege. Best effort: on failure they run at normal priority.
    (void)::setpriority(PRIO_PROCESS, static_cast<id_t>(::syscall(SYS_gettid)), kBulkNice);
  }
  std::unique_lock lock(mutex_);
  while (true) {
    has_work_.wait(lock,
                   [&] { return stopping_ || !interactive_.empty() || (!interactive_only && !bulk_.empty()); });
    if (interactive_.empty() && (interactive_only || bulk_.empty())) return;  // stopping, nothing left
    const bool interactive = !interactive_.empty();
    auto& queue = interactive ? interactive_ : bulk_;
    Slice slice = std::move(queue.front());
    queue.pop_front();
    (interactive ? run_interactive_ : run_bulk_)++;
    Job& job = *slice.job;
    if (!job.failed) {
      lock.unlock();
      const auto [begin, end] = job.slices[slice.index];
      Result<Embeddings> result = inner_->embed(job.texts.subspan(begin, end - begin), job.kind);
      lock.lock();
      if (!result) job.failed = true;
      job.results[slice.index] = std::move(result);
    }
    if (--job.remaining == 0) job.finished.notify_all();
  }
}

}  // namespace kr::embed
