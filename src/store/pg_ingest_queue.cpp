#include "store/pg_ingest_queue.h"

#include <algorithm>

#include "core/hex.h"

namespace kr::store {
namespace {

std::string random_token() { return random_hex_id(); }

void put_u32(std::string& out, size_t value) {
  for (int shift = 0; shift < 32; shift += 8) out += static_cast<char>((value >> shift) & 0xff);
}

bool take_string(std::string_view& in, std::string& out) {
  if (in.size() < 4) return false;
  uint32_t length = 0;
  for (int i = 0; i < 4; ++i) length |= static_cast<uint32_t>(static_cast<unsigned char>(in[i])) << (8 * i);
  in.remove_prefix(4);
  if (in.size() < length) return false;
  out.assign(in.substr(0, length));
  in.remove_prefix(length);
  return true;
}

std::string lease_interval(std::chrono::seconds lease) { return std::to_string(lease.count()) + " seconds"; }

}  // namespace

std::string encode_queued_metadata(const Metadata& metadata) {
  std::string out;
  for (const auto& [key, value] : metadata) {
    put_u32(out, key.size());
    out += key;
    put_u32(out, value.size());
    out += value;
  }
  return out;
}

Result<Metadata> decode_queued_metadata(std::string_view bytes) {
  Metadata out;
  while (!bytes.empty()) {
    std::string key, value;
    if (!take_string(bytes, key) || !take_string(bytes, value)) {
      return error(ErrorCode::kDataCorruption, "an ingest job's metadata is truncated");
    }
    out[std::move(key)] = std::move(value);
  }
  return out;
}

PgIngestQueue::PgIngestQueue(std::shared_ptr<PgPool> pool, std::string owner, std::chrono::seconds lease)
    : pool_(std::move(pool)), owner_(std::move(owner)), lease_(std::max(lease, std::chrono::seconds(1))) {}

Result<std::vector<int64_t>> PgIngestQueue::enqueue(int64_t collection_id, const std::vector<QueuedFile>& files) {
  return pg_transaction(*pool_, [&](PgConnection& conn) -> Result<std::vector<int64_t>> {
    std::vector<int64_t> ids;
    for (const auto& file : files) {
      auto row = conn.exec(
          "INSERT INTO kr_ingest_jobs(collection_id, doc_id, explicit_doc_id, allow_duplicate_content, name, source, "
          "metadata, bytes) VALUES($1,$2,$3,$4,$5,$6,$7,$8) RETURNING id",
          PgParams()
              .add(collection_id)
              .add(file.doc_id)
              .add(file.explicit_doc_id ? "true" : "false")
              .add(file.allow_duplicate_content ? "true" : "false")
              .add(file.name)
              .add(file.source)
              .add_bytes(encode_queued_metadata(file.metadata))
              .add_bytes(file.bytes));
      if (!row) return row.status();
      ids.push_back(row->int64(0, 0));
    }
    // Delivered at commit: idle workers of every replica look at once.
    auto notified = conn.exec(std::string("NOTIFY ") + kPgJobChannel + ", '" + std::to_string(collection_id) + "'");
    if (!notified) return notified.status();
    return ids;
  });
}

Result<IngestClaim> PgIngestQueue::claim(int limit, int max_attempts) {
  auto lease = pool_->acquire();
  if (!lease) return lease.status();
  PgConnection& conn = **lease;
  // Poison jobs first: claimed max_attempts times and never finished (their replica died each time).
  auto gave_up = conn.exec(
      "UPDATE kr_ingest_jobs SET state = 'failed', bytes = '', finished_at = now(), lease_token = NULL, "
      "error = 'gave up after ' || attempts || ' attempts (each ended by a replica stopping or a passing "
      "error; see the replicas'' logs)' "
      "WHERE state = 'queued' AND attempts >= $1 AND lease_until < now()",
      PgParams().add(int64_t{max_attempts}));
  if (!gave_up) return gave_up.status();
  // Finished rows are kept a day for GET …/jobs/{id}; swept a few at a time.
  auto swept = conn.exec(
      "DELETE FROM kr_ingest_jobs WHERE id IN (SELECT id FROM kr_ingest_jobs WHERE state <> 'queued' AND "
      "finished_at < now() - interval '1 day' LIMIT 100)");
  if (!swept) return swept.status();

  IngestClaim claim;
  claim.lease_token = random_token();
  auto rows = conn.exec(
      "WITH first AS ("
      "  SELECT collection_id FROM kr_ingest_jobs"
      "  WHERE state = 'queued' AND (lease_until IS NULL OR lease_until < now())"
      "  ORDER BY id LIMIT 1 FOR UPDATE SKIP LOCKED),"
      " picked AS ("
      "  SELECT j.id FROM kr_ingest_jobs j JOIN first ON j.collection_id = first.collection_id"
      "  WHERE j.state = 'queued' AND (j.lease_until IS NULL OR j.lease_until < now())"
      "  ORDER BY j.id LIMIT $1 FOR UPDATE OF j SKIP LOCKED)"
      " UPDATE kr_ingest_jobs j SET owner = $2, lease_token = $3, lease_until = now() + $4::interval,"
      "  attempts = j.attempts + 1"
      " FROM picked, kr_collections c WHERE j.id = picked.id AND c.id = j.collection_id"
      " RETURNING j.id, j.collection_id, c.name, j.attempts, j.doc_id, j.explicit_doc_id, j.allow_duplicate_content,"
      "  j.name, j.source, j.metadata, j.bytes",
      PgParams().add(int64_t{std::max(1, limit)}).add(owner_).add(claim.lease_token).add(lease_interval(lease_)));
  if (!rows) return rows.status();
  for (int r = 0; r < rows->rows(); ++r) {
    IngestJob job;
    job.id = rows->int64(r, 0);
    job.collection_id = rows->int64(r, 1);
    job.collection = rows->text(r, 2);
    job.attempts = static_cast<int>(rows->int64(r, 3));
    job.file.doc_id = rows->text(r, 4);
    job.file.explicit_doc_id = rows->view(r, 5) == "t";
    job.file.allow_duplicate_content = rows->view(r, 6) == "t";
    job.file.name = rows->text(r, 7);
    job.file.source = rows->text(r, 8);
    auto metadata = decode_queued_metadata(rows->bytes(r, 9));
    if (!metadata) return metadata.status();
    job.file.metadata = std::move(metadata.value());
    job.file.bytes = rows->bytes(r, 10);
    claim.jobs.push_back(std::move(job));
  }
  std::sort(claim.jobs.begin(), claim.jobs.end(), [](const auto& a, const auto& b) { return a.id < b.id; });
  return claim;
}

Status PgIngestQueue::renew(const std::string& lease_token) {
  auto lease = pool_->acquire();
  if (!lease) return lease.status();
  auto done = (*lease)->exec(
      "UPDATE kr_ingest_jobs SET lease_until = now() + $2::interval WHERE lease_token = $1 AND state = 'queued'",
      PgParams().add(lease_token).add(lease_interval(lease_)));
  return done ? Status::ok() : done.status();
}

Status PgIngestQueue::finish(int64_t job_id, const std::string& lease_token, const std::string& error_message) {
  auto lease = pool_->acquire();
  if (!lease) return lease.status();
  auto done = (*lease)->exec(
      "UPDATE kr_ingest_jobs SET state = $3, error = NULLIF($4, ''), bytes = '', finished_at = now(), "
      "lease_token = NULL, lease_until = NULL WHERE id = $1 AND lease_token = $2 AND state = 'queued'",
      PgParams().add(job_id).add(lease_token).add(error_message.empty() ? "done" : "failed").add(error_message));
  return done ? Status::ok() : done.status();
}

Result<IngestJobStatus> PgIngestQueue::status(int64_t collection_id, int64_t job_id) const {
  auto lease = pool_->acquire();
  if (!lease) return lease.status();
  auto rows = (*lease)->exec(
      "SELECT id, CASE WHEN state = 'queued' AND lease_until > now() THEN 'working' ELSE state END, doc_id, name, "
      "attempts, COALESCE(error, '') FROM kr_ingest_jobs WHERE id = $1 AND collection_id = $2",
      PgParams().add(job_id).add(collection_id));
  if (!rows) return rows.status();
  if (rows->rows() == 0) {
    return error(ErrorCode::kNotFound, "ingest job " + std::to_string(job_id) +
                                           " does not exist in this collection (finished jobs are kept for a day)");
  }
  IngestJobStatus status;
  status.id = rows->int64(0, 0);
  status.state = rows->text(0, 1);
  status.doc_id = rows->text(0, 2);
  status.name = rows->text(0, 3);
  status.attempts = static_cast<int>(rows->int64(0, 4));
  status.error = rows->text(0, 5);
  return status;
}

Result<int64_t> PgIngestQueue::backlog() const {
  auto lease = pool_->acquire();
  if (!lease) return lease.status();
  auto rows = (*lease)->exec("SELECT count(*) FROM kr_ingest_jobs WHERE state = 'queued'");
  if (!rows) return rows.status();
  return rows->int64(0, 0);
}

}  // namespace kr::store
