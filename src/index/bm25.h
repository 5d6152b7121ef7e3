// In-memory BM25 inverted index (Lucene's BM25 formula), updated incrementally,
// over compressed posting blocks searched with block-max MaxScore (exact top-k).
// The durable copy of its input lives in the store (term frequencies per chunk);
// this structure is derived and rebuilt from it at start-up.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "core/status.h"
#include "index/tokenizer.h"

namespace kr::index {

struct Bm25Params {
  double k1 = 1.2;   // term-frequency saturation, >= 0 (finite)
  double b = 0.75;   // length normalization, in [0, 1]
  // kInvalidArgument when a parameter is out of range (Lucene rejects the same).
  Status validate() const;
};

struct ChunkPostings {
  uint64_t chunk_id = 0;  // store-assigned, unique within a collection
  uint64_t doc_key = 0;   // store-assigned document key, used by filters
  TermFreqs terms;        // from count_terms()
  uint32_t length = 0;    // number of terms (document length for BM25); 0 = sum of tfs
};

struct ScoredChunk {
  uint64_t chunk_id = 0;
  uint64_t doc_key = 0;
  double score = 0.0;
};

struct Bm25Stats {
  uint64_t chunks = 0;
  uint64_t terms = 0;     // distinct terms with at least one live posting
  uint64_t postings = 0;
  double average_length = 0.0;
};

// Thread-safety: search() and stats() may run concurrently with each other and
// with apply(); apply() calls are serialized internally. A search sees either
// all or none of one apply() batch. `accept_doc` runs inside the search's read
// lock and must not call back into the same index.
class Bm25Index {
 public:
  // Throws std::invalid_argument when params.validate() fails (a startup bug:
  // configuration is validated before an index is built).
  explicit Bm25Index(Bm25Params params = {});
  ~Bm25Index();
  Bm25Index(const Bm25Index&) = delete;
  Bm25Index& operator=(const Bm25Index&) = delete;

  // Removes `remove_chunk_ids` (unknown ids are ignored), then adds `add`. Adding
  // a chunk_id that is already indexed replaces it (the last one in `add` wins).
  void apply(const std::vector<ChunkPostings>& add, const std::vector<uint64_t>& remove_chunk_ids);

  // Lucene BM25: idf = ln(1 + (N - df + 0.5) / (df + 0.5)),
  // score = sum over query terms of idf * tf * (k1 + 1) / (tf + k1 * (1 - b + b * len / avg_len)).
  // A query term repeated counts once per occurrence (like Lucene's BooleanQuery of SHOULD clauses).
  // `accept_doc` (optional) is consulted inside the search, before a chunk can enter the top k.
  // Returns at most k chunks with score > 0, best first; equal scores by chunk_id ascending.
  std::vector<ScoredChunk> search(const std::vector<std::string>& query_terms, size_t k,
                                  const std::function<bool(uint64_t doc_key)>& accept_doc = {}) const;

  // The two scorers search() picks between by the query's posting count; they return
  // identical results. Exhaustive: term-at-a-time over every posting (the reference for
  // tests and benchmarks). MaxScore: block-max MaxScore, which skips what cannot reach
  // the top k.
  std::vector<ScoredChunk> search_exhaustive(const std::vector<std::string>& query_terms, size_t k,
                                             const std::function<bool(uint64_t doc_key)>& accept_doc = {}) const;
  std::vector<ScoredChunk> search_max_score(const std::vector<std::string>& query_terms, size_t k,
                                            const std::function<bool(uint64_t doc_key)>& accept_doc = {}) const;

  Bm25Stats stats() const;
  // Approximate heap bytes held by the index (walks every term: for benchmarks, not hot paths).
  size_t memory_bytes() const;
  Bm25Params params() const;

 private:
  struct Impl;
  Impl* impl_;
};

}  // namespace kr::index
