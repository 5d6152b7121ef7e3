// The two BM25 top-k scorers over PostingLists. Both give identical results (the
// same chunks, bit-identical scores, ties by chunk_id ascending); the exhaustive one
// is the reference the tests and benchmarks check the pruning one against.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <vector>

#include "index/bm25.h"
#include "index/posting_list.h"

namespace kr::index {

// Per-slot arrays of the index, read-only during a search.
struct SlotTable {
  const uint8_t* alive;
  const uint32_t* length;
  const uint64_t* chunk_id;
  const uint64_t* doc_key;
  size_t size;
};

// One distinct query term; the terms of a query are summed in the given order.
struct QueryTerm {
  const PostingList* postings;
  double weight;  // occurrences in the query * idf * (k1 + 1)
};

struct ScoringInputs {
  std::vector<QueryTerm> terms;
  double c0 = 0;  // k1 * (1 - b)
  double c1 = 0;  // k1 * b / average length: k1 * (1 - b + b * len / avg) = c0 + c1 * len
  SlotTable slots{};
};

using DocFilter = std::function<bool(uint64_t doc_key)>;

// Term-at-a-time: scores every posting of every query term.
std::vector<ScoredChunk> score_exhaustive(const ScoringInputs& in, size_t k, const DocFilter& accept_doc);

// Block-max MaxScore (bm25_max_score.cpp): skips postings and whole blocks that
// cannot reach the current k-th score.
std::vector<ScoredChunk> score_max_score(const ScoringInputs& in, size_t k, const DocFilter& accept_doc);

}  // namespace kr::index
