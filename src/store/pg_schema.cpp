#include "store/pg_schema.h"

#include "core/log.h"

namespace kr::store {
namespace {

// Key of the advisory lock held while migrating (any constant unique to this application).
constexpr int64_t kMigrationLock = 0x6b72'6d69'6772;  // "krmigr"

// Append-only: a released step is never edited, a change is a new step.
const std::vector<std::string>& migrations() {
  static const std::vector<std::string> steps = {
      // 1: collections, documents, chunks with their embedding, change log.
      R"sql(
CREATE EXTENSION IF NOT EXISTS vector;
CREATE TABLE kr_collections(
  id BIGSERIAL PRIMARY KEY,
  name TEXT NOT NULL UNIQUE,
  ready BOOLEAN NOT NULL DEFAULT false,  -- set once its settings are written
  created_at TIMESTAMPTZ NOT NULL DEFAULT now());
CREATE TABLE kr_settings(
  collection_id BIGINT NOT NULL REFERENCES kr_collections(id) ON DELETE CASCADE,
  key TEXT NOT NULL,
  value TEXT NOT NULL,
  PRIMARY KEY(collection_id, key));
CREATE TABLE kr_documents(
  key BIGSERIAL PRIMARY KEY,
  collection_id BIGINT NOT NULL REFERENCES kr_collections(id) ON DELETE CASCADE,
  doc_id TEXT NOT NULL,
  name TEXT NOT NULL,
  source TEXT NOT NULL,
  content_hash TEXT NOT NULL,
  format TEXT NOT NULL,
  size_bytes BIGINT NOT NULL,
  page_count INT NOT NULL,
  chunk_count INT NOT NULL,
  warnings TEXT NOT NULL,
  pages_needing_ocr TEXT NOT NULL,
  created_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL,
  UNIQUE(collection_id, doc_id));
CREATE INDEX kr_documents_source ON kr_documents(collection_id, source);
CREATE INDEX kr_documents_hash ON kr_documents(collection_id, content_hash);
CREATE TABLE kr_document_metadata(
  document_key BIGINT NOT NULL REFERENCES kr_documents(key) ON DELETE CASCADE,
  key TEXT NOT NULL,
  value TEXT NOT NULL,
  PRIMARY KEY(document_key, key));
CREATE INDEX kr_document_metadata_kv ON kr_document_metadata(key, value);
CREATE TABLE kr_chunks(
  id BIGSERIAL PRIMARY KEY,
  collection_id BIGINT NOT NULL,
  document_key BIGINT NOT NULL REFERENCES kr_documents(key) ON DELETE CASCADE,
  ordinal INT NOT NULL,
  text TEXT NOT NULL,
  page_start INT NOT NULL,
  page_end INT NOT NULL,
  heading_path TEXT NOT NULL,
  char_begin BIGINT NOT NULL,
  char_end BIGINT NOT NULL,
  token_estimate INT NOT NULL,
  terms BYTEA NOT NULL,
  term_count INT NOT NULL,
  embedding vector);
CREATE INDEX kr_chunks_document ON kr_chunks(document_key, ordinal);
CREATE INDEX kr_chunks_collection ON kr_chunks(collection_id);
CREATE TABLE kr_changes(
  collection_id BIGINT NOT NULL REFERENCES kr_collections(id) ON DELETE CASCADE,
  version BIGINT NOT NULL,
  doc_id TEXT NOT NULL,
  document_key BIGINT NOT NULL,
  removed BIGINT[] NOT NULL,
  added BIGINT[] NOT NULL,
  removed_text_bytes BIGINT NOT NULL,
  added_text_bytes BIGINT NOT NULL,
  PRIMARY KEY(collection_id, version));
)sql",
      // 2: the ingest queue (store/pg_ingest_queue.h). A job is 'queued' (leased while
      // lease_until is in the future), then 'done' (in the same transaction as its documents) or
      // 'failed'; finished rows keep no bytes and are swept after a day.
      R"sql(
CREATE TABLE kr_ingest_jobs(
  id BIGSERIAL PRIMARY KEY,
  collection_id BIGINT NOT NULL REFERENCES kr_collections(id) ON DELETE CASCADE,
  doc_id TEXT NOT NULL,
  explicit_doc_id BOOLEAN NOT NULL,
  allow_duplicate_content BOOLEAN NOT NULL,
  name TEXT NOT NULL,
  source TEXT NOT NULL,
  metadata BYTEA NOT NULL,
  bytes BYTEA NOT NULL,
  state TEXT NOT NULL DEFAULT 'queued' CHECK (state IN ('queued', 'done', 'failed')),
  owner TEXT,
  lease_token TEXT,
  lease_until TIMESTAMPTZ,
  attempts INT NOT NULL DEFAULT 0,
  error TEXT,
  enqueued_at TIMESTAMPTZ NOT NULL DEFAULT now(),
  finished_at TIMESTAMPTZ);
CREATE INDEX kr_ingest_jobs_queued ON kr_ingest_jobs(id) WHERE state = 'queued';
CREATE INDEX kr_ingest_jobs_finished ON kr_ingest_jobs(finished_at) WHERE state <> 'queued';
)sql",
      // 3: what else a replica would otherwise keep on its disk. Originals in 1 MiB bytea parts
      // (written and read a part at a time; go with their collection); conversations of the web
      // UI; small shared documents (the API key store, collection owners) with a version.
      R"sql(
CREATE TABLE kr_originals(
  collection_id BIGINT NOT NULL REFERENCES kr_collections(id) ON DELETE CASCADE,
  content_hash TEXT NOT NULL,
  part INT NOT NULL,
  bytes BYTEA NOT NULL,
  PRIMARY KEY(collection_id, content_hash, part));
CREATE TABLE kr_conversations(
  id TEXT PRIMARY KEY,
  owner TEXT NOT NULL,
  title TEXT NOT NULL,
  collection TEXT NOT NULL,
  created_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL,
  serial BIGSERIAL);
CREATE INDEX kr_conversations_owner ON kr_conversations(owner, updated_at);
CREATE TABLE kr_turns(
  conversation_id TEXT NOT NULL REFERENCES kr_conversations(id) ON DELETE CASCADE,
  seq BIGINT NOT NULL,
  role TEXT NOT NULL,
  content TEXT NOT NULL,
  details TEXT NOT NULL,
  created_at BIGINT NOT NULL,
  PRIMARY KEY(conversation_id, seq));
CREATE TABLE kr_shared_texts(
  name TEXT PRIMARY KEY,
  content TEXT NOT NULL,
  version BIGINT NOT NULL);
)sql",
  };
  return steps;
}

// Unlocks the session advisory lock on every path out of pg_migrate.
struct AdvisoryUnlock {
  PgConnection& conn;
  ~AdvisoryUnlock() {
    if (!conn.exec("SELECT pg_advisory_unlock(" + std::to_string(kMigrationLock) + ")")) conn.mark_broken();
  }
};

}  // namespace

int pg_schema_version() { return static_cast<int>(migrations().size()); }

Status pg_migrate(PgPool& pool) {
  auto lease = pool.acquire();
  if (!lease) return lease.status();
  PgConnection& conn = **lease;
  if (auto locked = conn.exec("SELECT pg_advisory_lock(" + std::to_string(kMigrationLock) + ")"); !locked) {
    return locked.status();
  }
  AdvisoryUnlock unlock{conn};
  auto made = conn.exec(
      "CREATE TABLE IF NOT EXISTS kr_schema_migrations(version INT PRIMARY KEY, "
      "applied_at TIMESTAMPTZ NOT NULL DEFAULT now())");
  if (!made) return made.status();
  auto current = conn.exec("SELECT COALESCE(MAX(version), 0) FROM kr_schema_migrations");
  if (!current) return current.status();
  const int64_t applied = current->int64(0, 0);
  if (applied > pg_schema_version()) {
    return error(ErrorCode::kFailedPrecondition,
                 "the PostgreSQL schema is at version " + std::to_string(applied) + " but this build knows only " +
                     std::to_string(pg_schema_version()) + "; run a newer kaito-rag");
  }
  for (int version = static_cast<int>(applied) + 1; version <= pg_schema_version(); ++version) {
    if (auto begun = conn.exec("BEGIN"); !begun) return begun.status();
    auto step = conn.exec(migrations()[version - 1]);
    if (step) step = conn.exec("INSERT INTO kr_schema_migrations(version) VALUES(" + std::to_string(version) + ")");
    if (step) step = conn.exec("COMMIT");
    if (!step) {
      (void)conn.exec("ROLLBACK");
      return error(step.status().code(), "schema migration " + std::to_string(version) + " failed: " +
                                             step.status().message());
    }
    log::info("PostgreSQL schema migrated", {{"version", std::to_string(version)}});
  }
  return Status::ok();
}

Result<std::vector<PgCollectionEntry>> pg_list_collections(PgPool& pool) {
  auto lease = pool.acquire();
  if (!lease) return lease.status();
  auto rows = (*lease)->exec("SELECT id, name FROM kr_collections WHERE ready ORDER BY name");
  if (!rows) return rows.status();
  std::vector<PgCollectionEntry> out;
  for (int r = 0; r < rows->rows(); ++r) out.push_back({rows->int64(r, 0), rows->text(r, 1)});
  return out;
}

Result<int64_t> pg_create_collection(PgPool& pool, const std::string& name) {
  auto lease = pool.acquire();
  if (!lease) return lease.status();
  // A row left not ready for a minute is a creation whose replica died: its name is free again.
  auto stale = (*lease)->exec(
      "DELETE FROM kr_collections WHERE name = $1 AND NOT ready AND created_at < now() - interval '60 seconds'",
      PgParams().add(name));
  if (!stale) return stale.status();
  auto row = (*lease)->exec("INSERT INTO kr_collections(name) VALUES($1) RETURNING id", PgParams().add(name));
  if (!row) {
    if (row.status().code() == ErrorCode::kAlreadyExists) {
      return error(ErrorCode::kAlreadyExists, "collection '" + name + "' already exists");
    }
    return row.status();
  }
  return row->int64(0, 0);
}

Status pg_publish_collection(PgPool& pool, int64_t id) {
  auto lease = pool.acquire();
  if (!lease) return lease.status();
  const std::string key = std::to_string(id);
  auto done = (*lease)->exec("UPDATE kr_collections SET ready = true WHERE id = " + key + "; NOTIFY " +
                             kPgChangeChannel + ", '" + key + "'");
  return done ? Status::ok() : done.status();
}

Status pg_publish_collection_as(PgPool& pool, int64_t id, const std::string& name, bool replace) {
  std::string dropped;
  Status status = pg_transaction(pool, [&](PgConnection& conn) -> Status {
    if (replace) {
      auto old = conn.exec("DELETE FROM kr_collections WHERE name = $1 AND id <> $2 RETURNING id",
                           PgParams().add(name).add(id));
      if (!old) return old.status();
      if (old->rows() > 0) dropped = old->text(0, 0);
    }
    auto renamed = conn.exec("UPDATE kr_collections SET name = $1, ready = true WHERE id = $2",
                             PgParams().add(name).add(id));
    if (!renamed) {
      if (renamed.status().code() == ErrorCode::kAlreadyExists) {
        return error(ErrorCode::kAlreadyExists, "collection '" + name + "' already exists");
      }
      return renamed.status();
    }
    auto notified = conn.exec(std::string("NOTIFY ") + kPgChangeChannel + ", '" + std::to_string(id) + "'" +
                              (dropped.empty() ? "" : std::string("; NOTIFY ") + kPgChangeChannel + ", '" + dropped + "'"));
    return notified ? Status::ok() : notified.status();
  });
  if (status && !dropped.empty()) {
    auto lease = pool.acquire();
    if (lease) (void)(*lease)->exec("DROP INDEX IF EXISTS kr_chunks_hnsw_" + dropped);
  }
  return status;
}

Status pg_drop_collection(PgPool& pool, const std::string& name) {
  auto lease = pool.acquire();
  if (!lease) return lease.status();
  auto row = (*lease)->exec("DELETE FROM kr_collections WHERE name = $1 RETURNING id", PgParams().add(name));
  if (!row) return row.status();
  if (row->rows() == 0) return error(ErrorCode::kNotFound, "collection '" + name + "' does not exist");
  // Chunks reference documents (cascade); their per-collection vector index goes with the collection.
  const std::string id = std::to_string(row->int64(0, 0));
  (void)(*lease)->exec("DROP INDEX IF EXISTS kr_chunks_hnsw_" + id);
  (void)(*lease)->exec(std::string("NOTIFY ") + kPgChangeChannel + ", '" + id + "'");
  return Status::ok();
}

}  // namespace kr::store
