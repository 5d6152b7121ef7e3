// One open collection: its durable store plus the in-memory indexes derived from it.
#pragma once

#include <atomic>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <functional>
#include <optional>
#include <unordered_map>
#include <unordered_set>

#include "chunk/chunker.h"
#include "index/bm25.h"
#include "index/vector_index.h"
#include "index/tokenizer.h"
#include "retrieve/search_pool.h"
#include "service/types.h"
#include "store/collection_store.h"
#include "store/document_store.h"

namespace kr::service {

// The model whose vectors a collection holds; vectors of different models never mix.
struct EmbeddingSpace {
  std::string model;   // "" = the collection has no embeddings
  int dimension = 0;
  bool operator==(const EmbeddingSpace&) const = default;
};

// A search with every default resolved (Engine::search does that).
struct SearchPlan {
  retrieve::SearchMode mode = retrieve::SearchMode::kBm25;
  retrieve::FusionOptions fusion;
  int candidates = 50;               // per side in hybrid mode
  std::vector<float> query_vector;   // normalized; required for dense and hybrid
  // Hybrid: the dense side runs here while the caller computes the BM25 side (null: one after
  // the other on the caller).
  retrieve::SearchPool* pool = nullptr;
};

// Thread-safety: every method may be called concurrently. Writers (put/remove)
// are serialized by write_mutex(); readers never wait for a whole ingest, only
// for the microseconds in which a committed document is applied in memory.
class Collection {
 public:
  // Opens the store and rebuilds the in-memory indexes from it.
  static Result<std::shared_ptr<Collection>> open(const std::string& name, const std::string& directory,
                                                  const index::VectorIndexOptions& vector_options = {});
  // Creates the store with these settings (the directory must not hold one yet).
  static Result<std::shared_ptr<Collection>> create(const std::string& name, const std::string& directory,
                                                    const CollectionSettings& settings,
                                                    const index::VectorIndexOptions& vector_options = {});
  // The same over any store (a shared PostgreSQL one has no directory).
  static Result<std::shared_ptr<Collection>> open(const std::string& name, std::unique_ptr<store::DocumentStore> store,
                                                  const index::VectorIndexOptions& vector_options = {});
  static Result<std::shared_ptr<Collection>> create(const std::string& name,
                                                    std::unique_ptr<store::DocumentStore> store,
                                                    const CollectionSettings& settings,
                                                    const index::VectorIndexOptions& vector_options = {});

  const std::string& name() const { return name_; }
  std::string directory() const;
  // The collection's folder was renamed (an atomic /load swap); the store follows.
  void relocate(const std::string& directory);
  const CollectionSettings& settings() const { return settings_; }
  int64_t created_at() const { return created_at_; }
  const index::Analyzer& analyzer() const { return *analyzer_; }
  store::DocumentStore& store() { return *store_; }
  const store::DocumentStore& store() const { return *store_; }

  // Shared stores: applies the changes other replicas (or this one) committed since the last
  // call, in commit order, to the in-memory indexes. No-op for the embedded store.
  Status catch_up();
  // Version of the last change applied (shared stores).
  uint64_t applied_version() const { return applied_version_.load(); }

  // Held by an ingest from its duplicate check to its commit.
  std::mutex& write_mutex() { return write_mutex_; }

  // Prepares store chunks (text, terms) for a parsed document's chunks.
  std::vector<store::ChunkRecord> to_store_chunks(const std::vector<chunk::Chunk>& chunks) const;

  // Commits a document (replacing the one with the same doc_id) and applies it to the indexes.
  // Caller holds write_mutex().
  Result<store::DocumentRecord> put(store::DocumentRecord document, std::vector<store::ChunkRecord> chunks);
  // Group commit: every document in one transaction, then one in-memory apply per document.
  // A refused duplicate (PutOutcome::duplicate_of) changes nothing. Caller holds write_mutex().
  // kNotFound, storing nothing, once the collection is retired.
  Result<std::vector<store::PutOutcome>> put_batch(std::vector<store::PutRequest> requests);
  // kNotFound when absent. Caller holds write_mutex().
  Status remove(const std::string& doc_id);

  // Marks the collection as deleted or replaced: later writes store nothing and fail with
  // kNotFound. Caller holds write_mutex(), so no write is in flight.
  void retire() { retired_ = true; }
  bool retired() const { return retired_; }
  // Saves the vector index next to the store (vectors.snapshot) with the store's generation,
  // so the next open loads it instead of rebuilding (an HNSW graph of 100k vectors takes
  // minutes to build). Nothing to do when unchanged since the last save or load. Caller holds
  // write_mutex(), so the index matches the generation.
  Status save_snapshot();

  // The store key of a document, from memory (no scan, no query).
  std::optional<int64_t> document_key(const std::string& doc_id) const;

  // Chunks in the in-memory index (= committed chunks); no store query.
  uint64_t chunk_count() const { return bm25_.stats().chunks; }
  EmbeddingSpace embedding_space() const;
  // Records the embedding model of a collection that has none yet, before its first embedded
  // document is stored. Caller holds write_mutex().
  Status adopt_embedding_space(const EmbeddingSpace& space);
  // Replaces every chunk's vector with one from `embed` (called with batches of chunk texts)
  // and records `space`; the old vectors stay until the new ones are complete. Caller holds
  // write_mutex(). `progress` gets (done, total) after each batch.
  Status reembed(const EmbeddingSpace& space,
                 const std::function<Result<std::vector<std::vector<float>>>(const std::vector<std::string>&)>& embed,
                 const std::function<void(size_t, size_t)>& progress = {});

  // Bm25 searches need no plan; dense and hybrid need plan.query_vector in this collection's space.
  Result<SearchResponse> search(const SearchRequest& request) const;
  Result<SearchResponse> search(const SearchRequest& request, const SearchPlan& plan) const;
  // O(1), from memory: counts are kept up to date by every commit.
  Result<CollectionInfo> info() const;
  // The store's integrity check, then the in-memory indexes against the store
  // (same chunks and documents). Hold write_mutex() to exclude concurrent ingests.
  Status check() const;

 private:
  struct DocEntry {
    std::string doc_id;
    std::string name;
    Metadata metadata;
  };
  Collection(std::string name, std::string directory, std::unique_ptr<store::DocumentStore> store,
             CollectionSettings settings, int64_t created_at, std::shared_ptr<const index::Analyzer> analyzer,
             index::VectorIndexOptions vector_options);
  static Result<std::shared_ptr<Collection>> open_in(const std::string& name, const std::string& directory,
                                                     std::unique_ptr<store::DocumentStore> store,
                                                     const index::VectorIndexOptions& vector_options);
  Status load_indexes();
  Status load_indexes_from_store();
  std::string snapshot_path() const;
  void apply_put(store::PutOutcome& outcome);
  void apply_remove(const std::string& doc_id, const std::vector<int64_t>& removed, int64_t removed_bytes);
  Status apply_change(const store::ChangeRecord& change);
  Status load_vectors();
  std::shared_ptr<index::VectorIndex> current_vectors() const;
  // The accepted documents' keys for a metadata filter (nullopt: no filter).
  std::optional<std::unordered_set<uint64_t>> allowed_documents(const MetadataFilter& filter) const;
  std::vector<retrieve::Candidate> lexical_candidates(const std::vector<std::string>& terms, size_t count,
                                                      const std::function<bool(uint64_t)>& accept_doc) const;
  Result<std::vector<retrieve::Candidate>> dense_candidates(const std::vector<float>& query, size_t count,
                                                    const std::optional<std::unordered_set<uint64_t>>& allowed) const;
  SearchHit make_hit(const store::ChunkRecord& chunk, const DocEntry& doc, double score,
                     const std::vector<std::string>& query_words) const;

  std::string name_;
  mutable std::mutex directory_mutex_;
  std::string directory_;  // guarded by directory_mutex_
  std::unique_ptr<store::DocumentStore> store_;
  CollectionSettings settings_;
  int64_t created_at_ = 0;
  std::shared_ptr<const index::Analyzer> analyzer_;
  index::Bm25Index bm25_;
  index::VectorIndexOptions vector_options_;
  mutable std::mutex space_mutex_;              // guards space_ and the vectors_ pointer
  EmbeddingSpace space_;
  std::shared_ptr<index::VectorIndex> vectors_;  // null while the collection has no embeddings
  std::mutex write_mutex_;
  std::atomic<bool> retired_{false};
  std::atomic<bool> vectors_diverged_{false};  // an index update failed after a commit
  uint64_t snapshot_generation_ = UINT64_MAX;   // generation of the snapshot on disk; write_mutex_
  std::atomic<int64_t> text_bytes_{0};
  std::mutex sync_mutex_;                      // one catch_up at a time
  std::atomic<uint64_t> applied_version_{0};   // shared stores: last change applied  // UTF-8 bytes of all committed chunk texts
  mutable std::shared_mutex docs_mutex_;
  std::unordered_map<uint64_t, DocEntry> docs_;  // doc_key -> entry
  std::unordered_map<std::string, uint64_t> keys_by_doc_id_;  // doc_id -> doc_key
  std::unordered_map<uint64_t, uint64_t> chunk_docs_;  // chunk_id -> doc_key, for filtering vector hits
};

// Text of a chunk as the lexical index sees it: its heading path, then its text,
// so a question about a section finds the section's chunks.
std::string indexed_text(const std::vector<std::string>& heading_path, const std::string& text);

// A short window of `text` around the first query word found (UTF-8 safe).
std::string make_snippet(const std::string& text, const std::vector<std::string>& query_words, size_t max_bytes = 240);

}  // namespace kr::service
