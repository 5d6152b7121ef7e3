// The exhaustive (term-at-a-time) scorer: one accumulator per slot, every posting
// of every query term added in query order. Kept as the reference for the pruning
// scorer in bm25_max_score.cpp.
#include <algorithm>
#include <array>

#include "index/bm25_scorers.h"
#include "index/top_k.h"

namespace kr::index {
namespace {

// Above this share of postings per slot, scan the accumulator densely instead of
// tracking touched slots.
constexpr double kDenseScanRatio = 0.25;

// Per-thread score accumulator; always all-zero between searches.
struct Scratch {
  std::vector<double> scores;
  std::vector<uint32_t> touched;
  bool in_use = false;
};

template <bool kDense>
void accumulate(const ScoringInputs& in, Scratch& scratch) {
  double* scores = scratch.scores.data();
  std::array<uint32_t, PostingList::kBlockSize> slots, tfs;
  for (const QueryTerm& term : in.terms) {
    for (size_t b = 0; b < term.postings->block_count(); ++b) {
      const uint32_t n = term.postings->decode(b, slots.data(), tfs.data());
      for (uint32_t i = 0; i < n; ++i) {
        const uint32_t slot = slots[i];
        const double s = bm25_term_score(term.weight, tfs[i], in.slots.length[slot], in.c0, in.c1);
        if constexpr (!kDense) {
          if (scores[slot] == 0) scratch.touched.push_back(slot);
        }
        scores[slot] += s;
      }
    }
  }
}

}  // namespace

std::vector<ScoredChunk> score_exhaustive(const ScoringInputs& in, size_t k, const DocFilter& accept_doc) {
  if (k == 0 || in.terms.empty()) return {};
  size_t touched_postings = 0;
  for (const QueryTerm& term : in.terms) touched_postings += term.postings->size();

  thread_local Scratch thread_scratch;
  Scratch nested;  // only used if accept_doc runs a search on another index
  Scratch& scratch = thread_scratch.in_use ? nested : thread_scratch;
  const size_t slots = in.slots.size;
  if (scratch.scores.size() < slots) scratch.scores.resize(slots, 0.0);
  const bool dense = static_cast<double>(touched_postings) >= kDenseScanRatio * static_cast<double>(slots);
  // Leave the accumulator all-zero however we exit (accept_doc may throw).
  struct Reset {
    Scratch& s;
    bool dense;
    size_t slots;
    ~Reset() {
      if (dense) {
        std::fill_n(s.scores.begin(), slots, 0.0);
      } else {
        for (uint32_t slot : s.touched) s.scores[slot] = 0.0;
      }
      s.touched.clear();
      s.in_use = false;
    }
  } reset{scratch, dense, slots};
  scratch.in_use = true;

  if (dense) {
    accumulate<true>(in, scratch);
  } else {
    accumulate<false>(in, scratch);
  }

  // Once the top k is full, a cheap score comparison rejects most slots before
  // touching their ids or the filter.
  TopK top(k, in.slots, accept_doc);
  const double* scores = scratch.scores.data();
  if (dense) {
    for (uint32_t slot = 0; slot < slots; ++slot) {
      if (scores[slot] > 0 && scores[slot] >= top.threshold()) top.consider(slot, scores[slot]);
    }
  } else {
    for (uint32_t slot : scratch.touched) {
      if (scores[slot] >= top.threshold()) top.consider(slot, scores[slot]);
    }
  }
  return top.take();
}

}  // namespace kr::index
