// Bounded top-k collection shared by the BM25 scorers: best score first, equal
// scores by chunk_id ascending; deleted slots and filtered documents never enter.
#pragma once

#include <algorithm>
#include <cstdint>
#include <vector>

#include "index/bm25_scorers.h"

namespace kr::index {

class TopK {
 public:
  TopK(size_t k, const SlotTable& slots, const DocFilter& accept_doc)
      : k_(k), slots_(slots), accept_doc_(accept_doc) {
    heap_.reserve(std::min<size_t>(k, 1024));
  }

  // The k-th best score once k chunks are kept, else 0. A chunk whose score is
  // below it cannot enter; one equal to it can (when its chunk_id is lower).
  double threshold() const { return threshold_; }

  // Offers a scored slot; the filter runs only for slots that would be kept.
  void consider(uint32_t slot, double score) {
    if (!slots_.alive[slot]) return;
    const Candidate c{score, slots_.chunk_id[slot], slot};
    if (heap_.size() == k_ && !better(c, heap_.front())) return;
    if (accept_doc_ && !accept_doc_(slots_.doc_key[slot])) return;
    heap_.push_back(c);
    std::push_heap(heap_.begin(), heap_.end(), better);
    if (heap_.size() > k_) {
      std::pop_heap(heap_.begin(), heap_.end(), better);
      heap_.pop_back();
    }
    if (heap_.size() == k_) threshold_ = heap_.front().score;
  }

  std::vector<ScoredChunk> take() {
    std::sort_heap(heap_.begin(), heap_.end(), better);
    std::vector<ScoredChunk> results;
    results.reserve(heap_.size());
    for (const Candidate& c : heap_) results.push_back({c.chunk_id, slots_.doc_key[c.slot], c.score});
    heap_.clear();
    return results;
  }

 private:
  struct Candidate {
    double score;
    uint64_t chunk_id;
    uint32_t slot;
  };
  // Higher score first, then lower chunk_id; as a heap comparator the front is the worst kept.
  static bool better(const Candidate& a, const Candidate& b) {
    return a.score > b.score || (a.score == b.score && a.chunk_id < b.chunk_id);
  }

  const size_t k_;
  const SlotTable& slots_;
  const DocFilter& accept_doc_;
  std::vector<Candidate> heap_;
  double threshold_ = 0.0;
};

}  // namespace kr::index
