// One encoder executor per process: a fixed thread budget shared by ingest and queries.
//
// Every embed() call is cut into small slices (a few texts, a bounded number of characters)
// that wait in two queues; `threads` workers take the next slice, interactive ones first.
// A query arriving during a bulk ingest therefore waits for at most one running slice per
// worker, never for the whole ingest batch. With `interactive_lane`, one more worker takes
// interactive slices only, so a query waits for no bulk slice at all: the cores are
// oversubscribed by one thread only while a query embeds (measured in BENCHMARKS.md: on a
// loaded 2-core machine a bulk slice took seconds, and search p99 during ingest with it).
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "embed/embedder.h"

namespace kr::embed {

enum class EmbedPriority {
  kInteractive,  // a search's query: jumps ahead of every bulk slice
  kBulk,         // ingest, re-embedding, /v1/embeddings batches
};

struct EncoderExecutorOptions {
  int threads = 0;            // workers; 0 = all cores
  size_t slice_texts = 16;    // texts per slice at most
  // Characters per slice at most (a slice always takes one text): bounds how long a query
  // waits behind a running bulk slice (~4 KiB ≈ 1,000 word pieces ≈ 0.1 s on one core for MiniLM).
  size_t slice_chars = 4096;
  // One extra worker for interactive slices only; the bulk workers then run at nice +10.
  bool interactive_lane = false;
};

// Thread-safety: embed() may be called concurrently from any number of threads.
class EncoderExecutor final : public Embedder {
 public:
  // `inner` runs one slice per call on the calling worker thread (a LocalEncoder built with
  // threads = 1, or a remote embedder).
  EncoderExecutor(std::shared_ptr<Embedder> inner, EncoderExecutorOptions options = {});
  ~EncoderExecutor() override;  // finishes queued slices, then joins the workers

  const EmbedderInfo& info() const override { return inner_->info(); }
  // Queries of up to kInteractiveTexts texts are interactive; everything else is bulk.
  Result<Embeddings> embed(std::span<const std::string> texts, InputKind kind) override;
  Result<Embeddings> embed(std::span<const std::string> texts, InputKind kind, EmbedPriority priority);
  int count_tokens(std::string_view text, InputKind kind) const override { return inner_->count_tokens(text, kind); }

  static constexpr size_t kInteractiveTexts = 4;
  static constexpr int kBulkNice = 10;
  // Workers that run bulk slices (the interactive lane not counted).
  int threads() const { return static_cast<int>(workers_.size()) - (options_.interactive_lane ? 1 : 0); }
  // Slices run so far, by priority (tests and metrics).
  uint64_t slices_run(EmbedPriority priority) const;

 private:
  struct Job;
  struct Slice {
    std::shared_ptr<Job> job;
    size_t index = 0;  // which slice of the job
  };
  void work(bool interactive_only);

  std::shared_ptr<Embedder> inner_;
  EncoderExecutorOptions options_;
  mutable std::mutex mutex_;
  std::condition_variable has_work_;
  std::deque<Slice> interactive_, bulk_;
  uint64_t run_interactive_ = 0, run_bulk_ = 0;
  bool stopping_ = false;
  std::vector<std::thread> workers_;
};

}  // namespace kr::embed
