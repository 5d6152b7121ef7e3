// The pipeline's side of the shared ingest queue (store/pg_ingest_queue.h): enqueue on the
// replica that takes the upload, claim + parse + group commit on any replica's workers.
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <stop_token>
#include <thread>

#include "core/log.h"
#include "service/ingest_inputs.h"
#include "service/ingest_pipeline.h"
#include "service/ingest_pipeline_internal.h"
#include "store/pg_collection_store.h"

namespace kr::service {
namespace {

// Renews a claim's lease every third of its duration until destroyed, so a long batch (a slow
// embedder, big files) keeps its jobs while a dead replica's jobs expire.
class LeaseKeeper {
 public:
  LeaseKeeper(store::PgIngestQueue& queue, std::string token)
      : thread_([&queue, token = std::move(token)](std::stop_token stop) {
          std::mutex mutex;
          std::condition_variable_any wake;
          std::unique_lock lock(mutex);
          while (true) {
            wake.wait_for(lock, stop, queue.lease() / 3, [] { return false; });
            if (stop.stop_requested()) return;
            if (Status renewed = queue.renew(token); !renewed) {
              log::warn("cannot renew an ingest lease", {{"error", renewed.to_string()}});
            }
          }
        }) {}

 private:
  std::jthread thread_;
};

// Per-file failures that another attempt may get past (the database or the embedder was away).
bool retryable(const Status& status) {
  return status.code() == ErrorCode::kUnavailable || status.code() == ErrorCode::kDeadlineExceeded ||
         status.code() == ErrorCode::kFailedPrecondition || status.code() == ErrorCode::kInternal;
}

}  // namespace

void IngestPipeline::start_queue_workers(std::shared_ptr<store::PgIngestQueue> queue, int workers,
                                         std::chrono::milliseconds idle_poll) {
  job_queue_ = std::move(queue);
  idle_poll_ = idle_poll;
  // Another replica's enqueue (LISTEN on the job channel) wakes the workers like one of ours;
  // the idle poll stays as the fallback for a lost notification or listener.
  registry_.on_jobs_enqueued([this] { signal_queue_workers(); });
  for (int i = 0; i < workers; ++i) queue_workers_.emplace_back([this] { queue_worker_loop(); });
}

void IngestPipeline::stop_queue_workers() {
  registry_.on_jobs_enqueued({});
  {
    std::lock_guard lock(queue_mutex_);
    queue_stop_ = true;
  }
  queue_wake_.notify_all();
  for (auto& worker : queue_workers_) worker.join();
  queue_workers_.clear();
}

Result<std::vector<QueuedIngest>> IngestPipeline::enqueue(const std::string& collection_name,
                                                          std::vector<IngestInput> inputs, bool create) {
  if (!job_queue_) {
    return error(ErrorCode::kFailedPrecondition,
                 "queued ingestion (wait=false) needs the shared store (--store postgres); upload without it");
  }
  if (!valid_collection_name(collection_name)) {
    return error(ErrorCode::kInvalidArgument, "invalid collection name '" + collection_name + "'");
  }
  auto collection = find_or_create(collection_name, create);
  if (!collection) return collection.status();
  const auto* shared = dynamic_cast<const store::PgCollectionStore*>(&(*collection)->store());
  if (!shared) return error(ErrorCode::kInternal, "collection '" + collection_name + "' is not in PostgreSQL");

  std::vector<QueuedIngest> results(inputs.size());
  std::vector<store::QueuedFile> files;
  std::vector<size_t> queued_index;  // files[k] answers results[queued_index[k]]
  for (size_t i = 0; i < inputs.size(); ++i) {
    IngestInput& input = inputs[i];
    normalize_identity(input);
    results[i].name = input.name;
    if (!input.password.empty()) {
      results[i].error = error(ErrorCode::kInvalidArgument,
                               "a password-protected file cannot be queued (the password is never stored); "
                               "upload it without wait=false");
      continue;
    }
    if (Status loaded = load_input_bytes(input, options_.max_file_bytes); !loaded) {
      counters_.files_failed++;
      results[i].error = loaded;
      continue;
    }
    store::QueuedFile file;
    file.explicit_doc_id = !input.doc_id.empty();
    file.doc_id = file.explicit_doc_id ? input.doc_id : doc_id_for_source(input.source);
    file.allow_duplicate_content = input.allow_duplicate_content;
    file.name = input.name;
    file.source = input.source;
    file.metadata = std::move(input.metadata);
    file.bytes = std::move(input.bytes);
    results[i].doc_id = file.doc_id;
    files.push_back(std::move(file));
    queued_index.push_back(i);
  }
  if (files.empty()) return results;
  auto ids = job_queue_->enqueue(shared->collection_id(), files);
  if (!ids) return ids.status();
  for (size_t k = 0; k < ids->size(); ++k) results[queued_index[k]].job_id = (*ids)[k];
  signal_queue_workers();
  return results;
}

void IngestPipeline::signal_queue_workers() {
  {
    std::lock_guard lock(queue_mutex_);
    ++queue_signals_;
  }
  queue_wake_.notify_all();
}

Result<store::IngestJobStatus> IngestPipeline::job_status(const std::string& collection_name, int64_t job_id) {
  if (!job_queue_) return error(ErrorCode::kNotFound, "ingest jobs exist only with --store postgres");
  auto collection = registry_.find(collection_name);
  if (!collection) return collection.status();
  const auto* shared = dynamic_cast<const store::PgCollectionStore*>(&(*collection)->store());
  if (!shared) return error(ErrorCode::kInternal, "collection '" + collection_name + "' is not in PostgreSQL");
  return job_queue_->status(shared->collection_id(), job_id);
}

void IngestPipeline::queue_worker_loop() {
  uint64_t seen_signals = 0;
  bool reported_down = false;
  while (true) {
    {
      std::lock_guard lock(queue_mutex_);
      if (queue_stop_) return;
      seen_signals = queue_signals_;
    }
    auto claim = job_queue_->claim(static_cast<int>(options_.batch_documents));
    if (!claim && !reported_down) {
      log::warn("cannot claim ingest jobs; retrying", {{"error", claim.status().to_string()}});
    }
    reported_down = !claim.is_ok();
    if (claim && !claim->jobs.empty()) {
      run_claim(*claim);
      continue;  // more may be waiting
    }
    // Idle: until this replica enqueues, the poll interval passes (other replicas' jobs), or stop.
    std::unique_lock lock(queue_mutex_);
    queue_wake_.wait_for(lock, idle_poll_, [&] { return queue_stop_ || queue_signals_ != seen_signals; });
  }
}

void IngestPipeline::run_claim(const store::IngestClaim& claim) {
  LeaseKeeper keeper(*job_queue_, claim.lease_token);
  const std::string& collection_name = claim.jobs.front().collection;
  auto collection = registry_.find(collection_name);
  if (!collection) {
    // Created by another replica and not followed here yet (or being deleted): the jobs wait
    // for their lease to expire and go to whichever replica claims them next.
    log::info("ingest jobs of a collection not open here; left for a retry",
              {{"collection", collection_name}, {"error", collection.status().to_string()}});
    return;
  }
  CommitQueue batchable;
  batchable.collection = *collection;
  std::vector<std::pair<const store::IngestJob*, std::shared_ptr<Ticket>>> committing;
  for (const auto& job : claim.jobs) {
    IngestInput input;
    input.name = job.file.name;
    input.source = job.file.source;
    input.bytes = job.file.bytes;
    input.metadata = job.file.metadata;
    input.doc_id = job.file.explicit_doc_id ? job.file.doc_id : std::string();
    input.allow_duplicate_content = job.file.allow_duplicate_content;
    auto prepared = prepare(collection_name, std::move(input), /*create=*/false);
    if (auto* final_result = std::get_if<Result<IngestResult>>(&prepared)) {
      if (!final_result->is_ok()) continue;  // the store is away: retried after the lease
      const IngestResult& result = final_result->value();
      const bool failed = result.outcome == IngestOutcome::kFailed;
      if (failed && retryable(result.error)) continue;
      // Failed for good (not a file we can read), or unchanged: finished without a put.
      if (Status finished = job_queue_->finish(job.id, claim.lease_token, failed ? result.error.to_string() : "");
          !finished) {
        log::warn("cannot finish an ingest job", {{"job", std::to_string(job.id)}, {"error", finished.to_string()}});
      }
      continue;
    }
    auto pending = std::move(std::get<std::unique_ptr<Pending>>(prepared));
    pending->put.queue_job = job.id;
    pending->put.queue_lease = claim.lease_token;
    pending->ticket = std::make_shared<Ticket>();
    committing.emplace_back(&job, pending->ticket);
    batchable.pending.push_back(std::move(pending));
  }
  // The same group commit as ingest(): one embedding call and one transaction per batch, each
  // finishing its jobs (their rows turn 'done' in that transaction).
  while (!batchable.pending.empty()) {
    auto batch = take_batch(batchable);
    commit_batch(**collection, batch);
  }
  for (const auto& [job, ticket] : committing) {
    // (Answered by commit_batch on this thread.)
    const Result<IngestResult>& result = ticket->result;
    if (!result.is_ok()) {
      log::warn("ingest job not committed; retried after its lease",
                {{"job", std::to_string(job->id)}, {"error", result.status().to_string()}});
    } else if (result->outcome == IngestOutcome::kFailed && !retryable(result->error)) {
      (void)job_queue_->finish(job->id, claim.lease_token, result->error.to_string());
    }
  }
}

}  // namespace kr::service
