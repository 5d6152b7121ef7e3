// One open collection: its durable store plus the in-memory indexes derived from it.
#pragma once

#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <unordered_map>

#include "chunk/chunker.h"
#include "index/bm25.h"
#include "index/tokenizer.h"
#include "service/types.h"
#include "store/collection_store.h"

namespace kr::service {

// Thread-safety: every method may be called concurrently. Writers (put/remove)
// are serialized by write_mutex(); readers never wait for a whole ingest, only
// for the microseconds in which a committed document is applied in memory.
class Collection {
 public:
  // Opens the store and rebuilds the in-memory indexes from it.
  static Result<std::shared_ptr<Collection>> open(const std::string& name, const std::string& directory);
  // Creates the store with these settings (the directory must not hold one yet).
  static Result<std::shared_ptr<Collection>> create(const std::string& name, const std::string& directory,
                                                    const CollectionSettings& settings);

  const std::string& name() const { return name_; }
  const std::string& directory() const { return directory_; }
  const CollectionSettings& settings() const { return settings_; }
  int64_t created_at() const { return created_at_; }
  const index::Analyzer& analyzer() const { return *analyzer_; }
  store::CollectionStore& store() { return *store_; }
  const store::CollectionStore& store() const { return *store_; }

  // Held by an ingest from its duplicate check to its commit.
  std::mutex& write_mutex() { return write_mutex_; }

  // Prepares store chunks (text, terms) for a parsed document's chunks.
  std::vector<store::ChunkRecord> to_store_chunks(const std::vector<chunk::Chunk>& chunks) const;

  // Commits a document (replacing the one with the same doc_id) and applies it to the indexes.
  Result<store::DocumentRecord> put(store::DocumentRecord document, std::vector<store::ChunkRecord> chunks);
  // kNotFound when absent.
  Status remove(const std::string& doc_id);

  Result<SearchResponse> search(const SearchRequest& request) const;
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
  Collection(std::string name, std::string directory, std::unique_ptr<store::CollectionStore> store,
             CollectionSettings settings, int64_t created_at, std::shared_ptr<const index::Analyzer> analyzer);
  Status load_indexes();
  SearchHit make_hit(const store::ChunkRecord& chunk, const DocEntry& doc, double score,
                     const std::vector<std::string>& query_words) const;

  std::string name_;
  std::string directory_;
  std::unique_ptr<store::CollectionStore> store_;
  CollectionSettings settings_;
  int64_t created_at_ = 0;
  std::shared_ptr<const index::Analyzer> analyzer_;
  index::Bm25Index bm25_;
  std::mutex write_mutex_;
  mutable std::shared_mutex docs_mutex_;
  std::unordered_map<uint64_t, DocEntry> docs_;  // doc_key -> entry
};

// Text of a chunk as the lexical index sees it: its heading path, then its text,
// so a question about a section finds the section's chunks.
std::string indexed_text(const std::vector<std::string>& heading_path, const std::string& text);

// A short window of `text` around the first query word found (UTF-8 safe).
std::string make_snippet(const std::string& text, const std::vector<std::string>& query_words, size_t max_bytes = 240);

}  // namespace kr::service
