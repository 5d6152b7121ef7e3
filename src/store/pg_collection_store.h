// One collection in a PostgreSQL database shared by several replicas.
//
// Every write transaction takes the collection's transaction-level advisory lock, so writes of
// different replicas are serialized per collection and each appends one row to kr_changes with
// the next version: versions are dense and in commit order, and a replica that has applied
// version v only needs the rows after v (changes_since). A NOTIFY wakes the other replicas.
// Embeddings live in a pgvector column; each collection gets an HNSW index over its rows.
#pragma once

#include <atomic>
#include <memory>
#include <optional>

#include "store/document_store.h"
#include "store/pg_connection.h"

namespace kr::store {

class PgCollectionStore final : public DocumentStore {
 public:
  PgCollectionStore(std::shared_ptr<PgPool> pool, int64_t collection_id, int default_ef_search)
      : pool_(std::move(pool)), collection_id_(collection_id), default_ef_search_(default_ef_search) {}

  int64_t collection_id() const { return collection_id_; }

  Result<std::optional<DocumentRecord>> find_by_doc_id(const std::string& doc_id) const override;
  Result<std::optional<DocumentRecord>> find_by_source(const std::string& source) const override;
  Result<std::optional<DocumentRecord>> find_by_hash(const std::string& content_hash) const override;
  Result<std::optional<DocumentRecord>> find_by_key(int64_t key) const override;
  Result<std::vector<PutOutcome>> put_documents(std::vector<PutRequest> requests) override;
  Result<std::vector<int64_t>> delete_document(const std::string& doc_id,
                                               int64_t* removed_text_bytes = nullptr) override;
  uint64_t generation() const override { return generation_.load(); }
  uint64_t write_transactions() const override { return write_transactions_.load(); }
  Result<DocumentPage> list_documents(int64_t offset, int64_t limit, const MetadataFilter& filter) const override;
  Result<std::vector<ChunkRecord>> get_chunks(const std::vector<int64_t>& ids) const override;
  Result<std::vector<ChunkRecord>> document_chunks(int64_t document_key) const override;
  Status for_each_chunk_terms(
      const std::function<void(int64_t, int64_t, std::string_view, uint32_t)>& visit) const override;
  Status for_each_chunk_vector(
      const std::function<void(int64_t, int64_t, std::span<const float>)>& visit) const override;
  Status stage_vectors(const std::vector<std::pair<int64_t, std::vector<float>>>& vectors, bool first_batch) override;
  Status commit_staged_vectors(const std::vector<std::pair<std::string, std::string>>& settings) override;
  Status for_each_document(const std::function<void(const DocumentRecord&)>& visit) const override;
  Result<std::optional<std::string>> get_setting(const std::string& key) const override;
  Status set_setting(const std::string& key, const std::string& value) override;
  Result<std::vector<std::pair<std::string, std::string>>> all_settings() const override;
  Result<CollectionStats> stats() const override;
  void relocate(const std::string&) override {}
  Status check_integrity() const override;

  bool searches_vectors() const override { return true; }
  Result<std::vector<VectorMatch>> search_vectors(std::span<const float> query, int count, int ef_search,
                                                  const std::vector<int64_t>* allowed_documents) const override;
  Status prepare_vectors(int dimension) override;
  bool shared() const override { return true; }
  Result<std::vector<ChangeRecord>> changes_since(uint64_t version, int limit) const override;
  Result<std::vector<ChunkRecord>> get_chunks_with_terms(const std::vector<int64_t>& ids) const override;
  // Only while the collection is being opened (no concurrent use): reads go to the pinned
  // REPEATABLE READ transaction.
  Result<uint64_t> begin_consistent_read() override;
  void end_consistent_read() override;

 private:
  // Runs `body(PgConnection&)` on the pinned snapshot connection, else on a pooled one.
  template <typename Body>
  auto with_connection(Body&& body) const -> decltype(body(std::declval<PgConnection&>()));
  Result<std::optional<DocumentRecord>> find_document(PgConnection& conn, const std::string& column,
                                                      const std::string& value) const;
  Result<PutOutcome> put_one(PgConnection& conn, PutRequest request, std::vector<ChangeRecord>& changes);
  Status finish_job(PgConnection& conn, int64_t job, const std::string& lease);
  Status lock_and_log(PgConnection& conn, std::vector<ChangeRecord>& changes);
  Result<std::vector<ChunkRecord>> read_chunks(const std::string& where, const PgParams& params, bool with_terms,
                                               const std::string& order) const;
  Status load_metadata(PgConnection& conn, std::vector<DocumentRecord>& documents) const;

  std::shared_ptr<PgPool> pool_;
  int64_t collection_id_;
  int default_ef_search_;
  mutable std::atomic<uint64_t> generation_{0};  // highest change version seen
  std::atomic<uint64_t> write_transactions_{0};
  std::optional<PgPool::Lease> pinned_;
};

}  // namespace kr::store
