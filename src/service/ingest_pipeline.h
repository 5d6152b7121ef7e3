// The ingest pipeline: files in, committed documents out, with group commit.
//
//   caller threads (HTTP workers, CLI)       per-collection committer (one leader at a time)
//   read -> hash -> unchanged? -> parse  ->  queue -> batch of <= K docs / N chunks
//        -> chunk -> analyze                      -> ONE embedding call (passage priority)
//                                                 -> ONE SQLite transaction (one fsync)
//                                                 -> in-memory apply -> acknowledge each doc
//
// There is no committer thread: a caller waiting for its documents becomes the leader of its
// collection's queue when nobody else is, commits the next batch (which may hold other
// callers' documents), and hands over. A document's IngestResult is returned only after the
// transaction holding it committed, so nothing acknowledged is lost by a crash.
#pragma once

#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <variant>
#include <string>
#include <thread>
#include <vector>

#include "embed/embedder.h"
#include "service/collection_registry.h"
#include "service/counters.h"
#include "service/parse_runner.h"
#include "service/types.h"
#include "store/pg_ingest_queue.h"

namespace kr::service {

struct IngestPipelineOptions {
  size_t batch_documents = 64;     // K: documents per group commit
  size_t batch_chunks = 1024;      // N: chunks per group commit (a batch takes >= 1 document)
  size_t queue_documents = 4096;   // documents admitted and not yet answered, across all requests
  size_t prepare_threads = 1;      // threads parsing one request's files in parallel
  int64_t max_file_bytes = 256ll << 20;
  CollectionSettings new_collection_settings;  // for collections created by an ingest
};

// A file accepted into the shared ingest queue (--store postgres): acknowledged once job_id is
// set (its row committed); any replica's workers ingest it later. Else `error` says why not.
struct QueuedIngest {
  std::string name;
  std::string doc_id;
  int64_t job_id = 0;
  Status error;
};

// Called once per input as soon as its result is known (from any thread).
using IngestProgress = std::function<void(size_t index, const Result<IngestResult>& result)>;

// Thread-safety: ingest() may be called concurrently from any number of threads.
class IngestPipeline {
 public:
  // `embedder` may be null (BM25-only server).
  IngestPipeline(CollectionRegistry& registry, const ParseRunner& parser, std::shared_ptr<embed::Embedder> embedder,
                 EngineCounters& counters, IngestPipelineOptions options);

  // Ingests every input into `collection` (created with the default settings when missing and
  // `create`, once a file has parsed). One result per input, in order: an IngestResult (a
  // per-file failure is outcome kFailed) or an error for the request as a whole (the collection
  // was deleted meanwhile, the store failed). The outer error: kUnavailable (HTTP 503) when the
  // pipeline already holds documents and these would exceed queue_documents (nothing was done;
  // retry later; a request alone is always admitted), or a bad collection name.
  Result<std::vector<Result<IngestResult>>> ingest(const std::string& collection, std::vector<IngestInput> inputs,
                                                   bool create = true, const IngestProgress& progress = {});

  ~IngestPipeline() { stop_queue_workers(); }

  // --- The shared ingest queue (--store postgres; ingest_pipeline_queue.cpp) ---
  // Takes `workers` threads that claim queued jobs of any replica in batches (batch_documents
  // per claim, committed in groups like ingest()); idle, they look again every `idle_poll` or
  // as soon as this replica enqueues. workers = 0: this replica only enqueues.
  // Wakes idle queue workers (a job was enqueued here or, through LISTEN, by another replica).
  void signal_queue_workers();
  void start_queue_workers(std::shared_ptr<store::PgIngestQueue> queue, int workers,
                           std::chrono::milliseconds idle_poll);
  void stop_queue_workers();
  // Reads each file and commits one job per readable file in one transaction (the collection is
  // created first when missing and `create`). A file that cannot be read, is over the size limit
  // or carries a password (never stored) gets its `error` and no job. Outer error: no queue
  // (kFailedPrecondition), a bad name, the database unavailable (nothing was queued).
  Result<std::vector<QueuedIngest>> enqueue(const std::string& collection, std::vector<IngestInput> inputs,
                                            bool create = true);
  Result<store::IngestJobStatus> job_status(const std::string& collection, int64_t job_id);

  // Documents admitted and not yet answered.
  size_t in_flight() const;
  // Documents parsed and waiting for a group commit (all collections).
  size_t queued() const;

 private:
  struct Ticket;
  struct Pending;
  struct CommitQueue;

  // Everything up to the commit; returns a final result, or a Pending to commit.
  std::variant<Result<IngestResult>, std::unique_ptr<Pending>> prepare(const std::string& collection_name,
                                                                       IngestInput input, bool create);
  std::shared_ptr<CommitQueue> enqueue(std::unique_ptr<Pending> pending);
  // Blocks until `ticket` is answered, committing batches (as the leader) meanwhile.
  Result<IngestResult> wait(const std::shared_ptr<Ticket>& ticket, const std::shared_ptr<CommitQueue>& queue);
  std::vector<std::unique_ptr<Pending>> take_batch(CommitQueue& queue);
  void commit_batch(Collection& collection, std::vector<std::unique_ptr<Pending>>& batch);
  // Fills each chunk's vector; returns the space they belong to (empty: lexical collection).
  Result<EmbeddingSpace> embed_batch(const Collection& collection,
                                            std::vector<std::unique_ptr<Pending>>& batch);
  Result<std::shared_ptr<Collection>> find_or_create(const std::string& name, bool create);
  void queue_worker_loop();
  // Ingests the claimed jobs; the ones it could not finish stay leased and are retried (by any
  // replica) once the lease expires.
  void run_claim(const store::IngestClaim& claim);

  CollectionRegistry& registry_;
  const ParseRunner& parser_;
  std::shared_ptr<embed::Embedder> embedder_;
  EngineCounters& counters_;
  IngestPipelineOptions options_;

  mutable std::mutex mutex_;  // guards everything below
  std::condition_variable answered_;
  std::map<const Collection*, std::shared_ptr<CommitQueue>> queues_;
  size_t in_flight_ = 0;

  std::shared_ptr<store::PgIngestQueue> job_queue_;
  std::chrono::milliseconds idle_poll_{500};
  std::vector<std::thread> queue_workers_;
  std::mutex queue_mutex_;           // guards the two below
  std::condition_variable queue_wake_;
  bool queue_stop_ = false;
  uint64_t queue_signals_ = 0;       // jobs enqueued here (wakes an idle worker)
};

}  // namespace kr::service
