// What a collection needs from durable storage, whichever database holds it: the embedded
// SQLite store (store/collection_store.h, one file per collection) or PostgreSQL
// (store/pg_collection_store.h, shared by every replica).
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "core/metadata.h"
#include "core/status.h"

namespace kr::store {

struct DocumentRecord {
  int64_t key = 0;             // internal row id (doc_key in the indexes)
  std::string doc_id;          // public, stable id
  std::string name;            // display name (file name)
  std::string source;          // identity of the document's origin (path, upload name, URL)
  std::string content_hash;    // SHA-256 of the raw bytes
  std::string format;          // parse::format_name
  int64_t size_bytes = 0;
  int page_count = 0;
  int chunk_count = 0;
  Metadata metadata;
  std::vector<std::string> warnings;
  std::vector<int> pages_needing_ocr;
  int64_t created_at = 0;      // unix seconds
  int64_t updated_at = 0;
};

struct ChunkRecord {
  int64_t id = 0;              // chunk_id in the indexes; assigned by the store
  int64_t document_key = 0;
  int ordinal = 0;
  std::string text;
  int page_start = 0;
  int page_end = 0;
  std::vector<std::string> heading_path;
  int64_t char_begin = 0;
  int64_t char_end = 0;
  int token_estimate = 0;
  std::string terms;           // index::encode_term_freqs() bytes
  uint32_t term_count = 0;     // BM25 length
  std::vector<float> vector;   // the chunk's embedding; empty when the collection has none
                               // (written by put_document, not read back by get_chunks)
};

struct PutOutcome {
  DocumentRecord document;              // as stored (key, timestamps filled)
  std::vector<int64_t> removed_chunks;  // chunks of the previous version
  std::vector<ChunkRecord> added_chunks;  // with ids; text and terms kept for the caller's indexes
  bool replaced = false;                // a document with this doc_id existed before
  int64_t removed_text_bytes = 0;       // text of the previous version's chunks
  // Set when the request refused duplicate content and another document holds the same
  // bytes: nothing was written for this request.
  std::string duplicate_of;
};

// One document of a batched put.
struct PutRequest {
  DocumentRecord document;
  std::vector<ChunkRecord> chunks;
  bool refuse_duplicate_content = false;  // skip (PutOutcome::duplicate_of) when another doc_id holds the hash
  // Shared stores: the ingest job this document came from (store/pg_ingest_queue.h), finished in
  // the same transaction; the put fails (kFailedPrecondition) when the lease is no longer queue_lease.
  int64_t queue_job = 0;
  std::string queue_lease;
};

struct DocumentPage {
  std::vector<DocumentRecord> documents;
  int64_t total = 0;  // all documents matching the filter
};

struct CollectionStats {
  int64_t documents = 0;
  int64_t chunks = 0;
  int64_t text_bytes = 0;
  int64_t vectors = 0;  // chunks with an embedding
};

// One committed change of a shared store, in commit order (version is dense per collection).
// Replicas replay these to keep their in-memory indexes in step with the database.
struct ChangeRecord {
  uint64_t version = 0;
  std::string doc_id;
  int64_t document_key = 0;              // the document as put; absent from the store after a delete
  std::vector<int64_t> removed_chunks;
  std::vector<int64_t> added_chunks;
  int64_t removed_text_bytes = 0;
  int64_t added_text_bytes = 0;
};

struct VectorMatch {
  int64_t chunk_id = 0;
  double score = 0;  // cosine similarity
};

// Thread-safety: every implementation allows concurrent calls to every method.
class DocumentStore {
 public:
  virtual ~DocumentStore() = default;

  virtual Result<std::optional<DocumentRecord>> find_by_doc_id(const std::string& doc_id) const = 0;
  virtual Result<std::optional<DocumentRecord>> find_by_source(const std::string& source) const = 0;
  virtual Result<std::optional<DocumentRecord>> find_by_hash(const std::string& content_hash) const = 0;
  virtual Result<std::optional<DocumentRecord>> find_by_key(int64_t key) const = 0;

  // Inserts a document, or replaces the one with the same doc_id, with all of its
  // chunks, in one transaction. The returned chunks carry their new ids.
  virtual Result<PutOutcome> put_document(DocumentRecord document, std::vector<ChunkRecord> chunks);
  // Group commit: every request in ONE transaction, applied in order, so a later request sees
  // the earlier ones (a replaced doc_id, a duplicate hash). All or nothing.
  virtual Result<std::vector<PutOutcome>> put_documents(std::vector<PutRequest> requests) = 0;
  // Removes a document and its chunks; returns the removed chunk ids (kNotFound when absent).
  // `removed_text_bytes`, when given, receives the size of the removed chunks' text.
  virtual Result<std::vector<int64_t>> delete_document(const std::string& doc_id,
                                                       int64_t* removed_text_bytes = nullptr) = 0;

  // Version of the stored data, advanced by every transaction that changes documents, chunks
  // or vectors. Derived caches record it and are used only while it is unchanged.
  virtual uint64_t generation() const = 0;
  // Write transactions committed through this object (tests and metrics of the group commit).
  virtual uint64_t write_transactions() const = 0;

  // Documents in insertion order, filtered by metadata inside the database.
  virtual Result<DocumentPage> list_documents(int64_t offset, int64_t limit, const MetadataFilter& filter) const = 0;
  // The chunks with these ids that still exist, in the order asked (terms not filled).
  virtual Result<std::vector<ChunkRecord>> get_chunks(const std::vector<int64_t>& ids) const = 0;
  virtual Result<std::vector<ChunkRecord>> document_chunks(int64_t document_key) const = 0;

  // Streams every committed chunk's index input, for rebuilding in-memory indexes.
  virtual Status for_each_chunk_terms(
      const std::function<void(int64_t chunk_id, int64_t document_key, std::string_view terms, uint32_t term_count)>&
          visit) const = 0;
  // Streams every stored chunk embedding, for rebuilding an in-memory vector index.
  virtual Status for_each_chunk_vector(
      const std::function<void(int64_t chunk_id, int64_t document_key, std::span<const float> vector)>& visit)
      const = 0;
  // Re-embedding: vectors staged batch by batch, then swapped in with `settings` in one transaction.
  virtual Status stage_vectors(const std::vector<std::pair<int64_t, std::vector<float>>>& vectors,
                               bool first_batch) = 0;
  virtual Status commit_staged_vectors(const std::vector<std::pair<std::string, std::string>>& settings) = 0;
  // Every document's key, doc_id, name and metadata (for the in-memory filter table).
  virtual Status for_each_document(const std::function<void(const DocumentRecord&)>& visit) const = 0;

  virtual Result<std::optional<std::string>> get_setting(const std::string& key) const = 0;
  virtual Status set_setting(const std::string& key, const std::string& value) = 0;
  // Every setting, ordered by key (migrate-store copies and compares them).
  virtual Result<std::vector<std::pair<std::string, std::string>>> all_settings() const = 0;

  virtual Result<CollectionStats> stats() const = 0;
  // The collection's folder was renamed (embedded store only).
  virtual void relocate(const std::string& directory) = 0;
  virtual Status check_integrity() const = 0;

  // --- Shared stores (several replicas on one database) ---

  // True when the database searches the vectors itself (search_vectors); the caller then keeps
  // no vector index in memory.
  virtual bool searches_vectors() const { return false; }
  // The `count` nearest chunks to a normalized query; `allowed_documents` (when given) filters
  // inside the database. `ef_search` 0 = the store's default.
  virtual Result<std::vector<VectorMatch>> search_vectors(std::span<const float> query, int count, int ef_search,
                                                          const std::vector<int64_t>* allowed_documents) const;
  // Called before the first vector of `dimension` is stored (builds the database's ANN index).
  virtual Status prepare_vectors(int dimension);
  // True when other processes write to the same database (the caller replays changes_since).
  virtual bool shared() const { return false; }
  // Committed changes after `version`, in commit order, at most `limit`.
  virtual Result<std::vector<ChangeRecord>> changes_since(uint64_t version, int limit) const;
  // Pins one consistent snapshot for the reads that follow (the caller's start-up load) and
  // returns the change version it reflects; end_consistent_read() releases it. Replaying
  // changes_since(that version) afterwards misses nothing and applies nothing twice.
  virtual Result<uint64_t> begin_consistent_read() { return generation(); }
  virtual void end_consistent_read() {}
  // The chunks with these ids, with their terms (for replaying a change into BM25).
  virtual Result<std::vector<ChunkRecord>> get_chunks_with_terms(const std::vector<int64_t>& ids) const;
};

}  // namespace kr::store
