// The ingest queue of a PostgreSQL store: files accepted by any replica, ingested by any replica.
//
// enqueue() commits one row per file (its original bytes and identity) and returns: from then on
// the file is acknowledged and survives the death of every replica. Workers claim the oldest
// runnable jobs of one collection with SELECT … FOR UPDATE SKIP LOCKED under a lease (a random
// token and an expiry) that they renew while working. A job is finished in the transaction that
// stores its documents (PutRequest::queue_job + queue_lease): the row turns 'done' only if the
// lease is still this worker's, so a worker that lost its lease (paused past the expiry, its job
// taken over) rolls back instead of storing the document a second time. A job whose replica died
// becomes runnable again when the lease expires.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/metadata.h"
#include "core/status.h"
#include "store/pg_connection.h"

namespace kr::store {

// What a worker needs to ingest a file, as accepted by the replica that took the upload.
struct QueuedFile {
  std::string doc_id;
  bool explicit_doc_id = false;           // the caller named the id (else derived from source)
  bool allow_duplicate_content = false;
  std::string name;
  std::string source;
  Metadata metadata;
  std::string bytes;
};

struct IngestJob {
  int64_t id = 0;
  int64_t collection_id = 0;
  std::string collection;  // its name
  int attempts = 0;        // claims so far, this one included
  QueuedFile file;
};

// Jobs claimed together under one lease.
struct IngestClaim {
  std::string lease_token;
  std::vector<IngestJob> jobs;  // oldest first, all of one collection
};

struct IngestJobStatus {
  int64_t id = 0;
  std::string state;  // queued, working (queued under a live lease), done, failed
  std::string doc_id;
  std::string name;
  int attempts = 0;
  std::string error;  // failed: why
};

// Thread-safety: every method may be called concurrently.
class PgIngestQueue {
 public:
  // `owner` names this replica in the rows it leases (host:pid), for operators and tests.
  PgIngestQueue(std::shared_ptr<PgPool> pool, std::string owner, std::chrono::seconds lease);

  // Commits one job per file in one transaction; returns their ids in order.
  Result<std::vector<int64_t>> enqueue(int64_t collection_id, const std::vector<QueuedFile>& files);
  // Leases up to `limit` runnable jobs (queued, lease absent or expired) of the collection with
  // the oldest one. Empty when there is nothing to do. Jobs claimed max_attempts times without
  // finishing (e.g. a file that kills its replica) are failed instead of claimed again.
  Result<IngestClaim> claim(int limit, int max_attempts = 5);
  // Pushes the lease's expiry forward (the worker is alive and still working).
  Status renew(const std::string& lease_token);
  // Finishes a job without storing a document (kFailed: a file that cannot be ingested; it is
  // not retried). `error` empty = done (e.g. the document was already stored, unchanged).
  Status finish(int64_t job_id, const std::string& lease_token, const std::string& error = {});
  // kNotFound when the collection has no such job (or it was swept).
  Result<IngestJobStatus> status(int64_t collection_id, int64_t job_id) const;
  // Jobs queued and not finished (all collections).
  Result<int64_t> backlog() const;

  const std::string& owner() const { return owner_; }
  std::chrono::seconds lease() const { return lease_; }

 private:
  std::shared_ptr<PgPool> pool_;
  std::string owner_;
  std::chrono::seconds lease_;
};

// Channel notified when jobs are enqueued (payload: the collection id).
inline constexpr const char* kPgJobChannel = "kaito_rag_jobs";

// Metadata as bytea: (u32 length, bytes) for each key and value, in key order.
std::string encode_queued_metadata(const Metadata& metadata);
Result<Metadata> decode_queued_metadata(std::string_view bytes);

}  // namespace kr::store
