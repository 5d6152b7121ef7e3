// Durable storage of one collection: documents, their chunks and each chunk's
// term frequencies, in one SQLite database in WAL mode.
//
// Every mutation of a document is one transaction, so a reader (or a restart
// after kill -9) sees a document either entirely or not at all. The in-memory
// indexes are derived from what this store has committed.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "core/metadata.h"
#include "core/status.h"
#include "store/document_store.h"
#include "store/sqlite.h"

namespace kr::store {

// Thread-safety: all methods are safe to call concurrently. Writes are
// serialized on one connection; reads use a pool of read-only connections and
// never wait for a write to finish (WAL).
class CollectionStore final : public DocumentStore {
 public:
  // Opens (and with create=true creates) <directory>/collection.db.
  static Result<std::unique_ptr<CollectionStore>> open(const std::string& directory, bool create);
  ~CollectionStore();

  Result<std::optional<DocumentRecord>> find_by_doc_id(const std::string& doc_id) const override;
  Result<std::optional<DocumentRecord>> find_by_source(const std::string& source) const override;
  Result<std::optional<DocumentRecord>> find_by_hash(const std::string& content_hash) const override;
  Result<std::optional<DocumentRecord>> find_by_key(int64_t key) const override;

  // put_document (one document, one transaction) is DocumentStore's: a batch of one.
  // Group commit: every request in ONE transaction (one fsync), applied in order, so a later
  // request sees the earlier ones (a replaced doc_id, a duplicate hash). All or nothing.
  Result<std::vector<PutOutcome>> put_documents(std::vector<PutRequest> requests) override;

  // Removes a document and its chunks; returns the removed chunk ids (kNotFound when absent).
  // `removed_text_bytes`, when given, receives the size of the removed chunks' text.
  Result<std::vector<int64_t>> delete_document(const std::string& doc_id, int64_t* removed_text_bytes = nullptr) override;

  // Version of the stored data: persisted, and advanced by every transaction that changes
  // documents, chunks or vectors. Derived caches (the vector index snapshot) record it and are
  // used only while it is unchanged.
  uint64_t generation() const override { return generation_.load(); }

  // Write transactions committed through this object (documents put or deleted); for tests
  // and metrics of the group commit.
  uint64_t write_transactions() const override { return write_transactions_.load(); }

  // Documents in insertion order, filtered by metadata inside SQL.
  Result<DocumentPage> list_documents(int64_t offset, int64_t limit, const MetadataFilter& filter) const override;

  // The chunks with these ids that still exist, in the order asked.
  Result<std::vector<ChunkRecord>> get_chunks(const std::vector<int64_t>& ids) const override;
  Result<std::vector<ChunkRecord>> document_chunks(int64_t document_key) const override;
  // The same as get_chunks, with each chunk's terms and term_count (migrate-store copies them).
  Result<std::vector<ChunkRecord>> get_chunks_with_terms(const std::vector<int64_t>& ids) const override;

  // Streams every committed chunk's index input, for rebuilding in-memory indexes.
  Status for_each_chunk_terms(
      const std::function<void(int64_t chunk_id, int64_t document_key, std::string_view terms, uint32_t term_count)>&
          visit) const override;
  // Streams every stored chunk embedding (one read snapshot), for rebuilding the vector index.
  Status for_each_chunk_vector(
      const std::function<void(int64_t chunk_id, int64_t document_key, std::span<const float> vector)>& visit) const override;
  // Re-embedding: vectors are staged batch by batch (the first batch clears earlier staging),
  // then replace every chunk's vector, together with `settings`, in one transaction, so a
  // crash midway leaves the old model's vectors intact.
  Status stage_vectors(const std::vector<std::pair<int64_t, std::vector<float>>>& vectors, bool first_batch) override;
  Status commit_staged_vectors(const std::vector<std::pair<std::string, std::string>>& settings) override;
  // Every document's key, doc_id, name and metadata (for the in-memory filter table).
  Status for_each_document(const std::function<void(const DocumentRecord&)>& visit) const override;

  Result<std::optional<std::string>> get_setting(const std::string& key) const override;
  Status set_setting(const std::string& key, const std::string& value) override;
  Result<std::vector<std::pair<std::string, std::string>>> all_settings() const override;

  Result<CollectionStats> stats() const override;
  // The database's folder was renamed to `directory` (open connections follow the file;
  // new read connections open it there).
  void relocate(const std::string& directory) override;

  // Runs SQLite's integrity check (used by tests and `kaito-rag check`).
  Status check_integrity() const override;

 private:
  class ReadLease;
  CollectionStore(std::string path, Connection writer);
  Result<Connection> open_reader() const;

  Result<PutOutcome> put_in_transaction(PutRequest request);
  // Inside a write transaction: persists generation_ + 1 (applied in memory after the commit).
  Status advance_generation();

  std::string path_;  // guarded by pool_mutex_
  std::atomic<uint64_t> write_transactions_{0};
  std::atomic<uint64_t> generation_{0};
  std::mutex write_mutex_;
  Connection writer_;
  mutable std::mutex pool_mutex_;
  mutable std::vector<Connection> readers_;
};

}  // namespace kr::store
