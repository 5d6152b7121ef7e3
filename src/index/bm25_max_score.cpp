// Block-max MaxScore (Turtle & Flood's MaxScore, with per-block bounds in the
// manner of Lucene's MaxScoreBulkScorer), exact top-k.
//
// The slot space is walked in windows that end where the first current block of
// any query term ends. In a window each term is bounded by its block's impacts
// (0 if its block starts after the window). A window whose bounds sum below the
// k-th best score is skipped without decoding anything. Otherwise the terms are
// sorted by bound; the longest prefix whose bounds sum below the k-th score is
// "non-essential": only the other terms' postings produce candidates, and the
// non-essential ones are looked up for a candidate only while its partial score
// plus their remaining bounds can still reach the top k.
//
// Exactness: a chunk is pruned only when an upper bound of its score is strictly
// below the k-th score (a tie could still enter by chunk_id). Bounds are BM25 of
// dominating (tf, length) pairs through the same function as the real scores, so
// each term's bound is >= its contribution bit for bit; the sums of bounds and of
// contributions round differently, which kSlack absorbs. A candidate's final score
// adds its contributions in query order, exactly as the exhaustive scorer does.
#include <algorithm>
#include <array>
#include <numeric>

#include "index/bm25_scorers.h"
#include "index/top_k.h"

namespace kr::index {
namespace {

constexpr uint32_t kNoSlot = PostingList::kNoSlot;
// Relative margin on bounds, far above the rounding of a sum of a few doubles.
constexpr double kSlack = 1.0 + 1e-9;

// Position in one term's postings. Moving between blocks is "shallow" (no
// decoding); a block is decoded only when a posting in it is needed.
class Cursor {
 public:
  Cursor(const QueryTerm& term, const ScoringInputs& in)
      : list_(*term.postings), weight_(term.weight), in_(in), blocks_(term.postings->block_count()) {}

  bool exhausted() const { return block_ >= blocks_; }
  double weight() const { return weight_; }

  // The lowest slot this cursor can still produce (kNoSlot when exhausted).
  uint32_t min_slot() const {
    if (exhausted()) return kNoSlot;
    const uint32_t block_first = block_ == 0 ? 0 : list_.block_last(block_ - 1) + 1;
    return std::max(target_, block_first);
  }
  uint32_t block_last() const { return exhausted() ? kNoSlot : list_.block_last(block_); }

  // Upper bound of this term's contribution for any posting in the current block.
  double block_bound() {
    if (bound_block_ != block_) {
      bound_block_ = block_;
      bound_ = list_.is_sealed(block_) ? list_.sealed_block_bound(block_, weight_, in_.c0, in_.c1)
                                       : list_.tail_bound(weight_, in_.c0, in_.c1);
    }
    return bound_;
  }

  // Moves to the first block that can hold a slot >= target, without decoding.
  void seek_shallow(uint32_t target) {
    if (target <= target_) return;
    target_ = target;
    if (exhausted() || list_.block_last(block_) >= target) return;
    // Gallop, then binary search: block_last(lo - 1) < target throughout.
    size_t lo = block_ + 1, step = 1, hi = blocks_;
    while (lo < blocks_) {
      const size_t probe = std::min(lo + step - 1, blocks_ - 1);
      if (list_.block_last(probe) >= target) {
        hi = probe;
        break;
      }
      lo = probe + 1;
      step *= 2;
    }
    while (lo < hi) {
      const size_t mid = lo + (hi - lo) / 2;
      if (list_.block_last(mid) >= target) {
        hi = mid;
      } else {
        lo = mid + 1;
      }
    }
    block_ = lo;
    decoded_ = false;
  }

  // The first posting at or after the target (decodes its block); kNoSlot when exhausted.
  uint32_t slot() {
    if (exhausted()) return kNoSlot;
    if (!decoded_) {
      count_ = list_.decode(block_, slots_.data(), tfs_.data());
      pos_ = 0;
      decoded_ = true;
    }
    while (slots_[pos_] < target_) ++pos_;  // the block's last slot is >= target_
    return slots_[pos_];
  }

  // The current posting's score; slot() must have been called.
  double score() const {
    return bm25_term_score(weight_, tfs_[pos_], in_.slots.length[slots_[pos_]], in_.c0, in_.c1);
  }

  // Past the current posting; slot() must have been called.
  void next() {
    target_ = slots_[pos_] + 1;
    if (++pos_ == count_) {
      ++block_;
      decoded_ = false;
    }
  }

 private:
  const PostingList& list_;
  const double weight_;
  const ScoringInputs& in_;
  const size_t blocks_;
  size_t block_ = 0;
  uint32_t target_ = 0;
  bool decoded_ = false;
  uint32_t count_ = 0, pos_ = 0;
  size_t bound_block_ = SIZE_MAX;
  double bound_ = 0;
  std::array<uint32_t, PostingList::kBlockSize> slots_, tfs_;
};

}  // namespace

std::vector<ScoredChunk> score_max_score(const ScoringInputs& in, size_t k, const DocFilter& accept_doc) {
  if (k == 0 || in.terms.empty()) return {};
  const size_t n = in.terms.size();
  std::vector<Cursor> cursors;
  cursors.reserve(n);
  for (const QueryTerm& term : in.terms) cursors.emplace_back(term, in);
  TopK top(k, in.slots, accept_doc);
  const auto out_of_reach = [&](double upper_bound) { return upper_bound * kSlack < top.threshold(); };

  std::vector<double> bounds(n), prefix(n + 1), contribution(n, 0.0);
  std::vector<size_t> order(n);
  while (true) {
    uint32_t start = kNoSlot, end = kNoSlot;
    for (const Cursor& c : cursors) {
      start = std::min(start, c.min_slot());
      end = std::min(end, c.block_last());
    }
    if (start == kNoSlot) break;
    double total = 0;
    for (size_t i = 0; i < n; ++i) {
      bounds[i] = cursors[i].min_slot() <= end ? cursors[i].block_bound() : 0.0;
      total += bounds[i];
    }
    if (!out_of_reach(total)) {
      std::iota(order.begin(), order.end(), size_t{0});
      std::sort(order.begin(), order.end(), [&](size_t a, size_t b) { return bounds[a] < bounds[b]; });
      for (size_t j = 0; j < n; ++j) prefix[j + 1] = prefix[j] + bounds[order[j]];
      // order[0, essential) are non-essential: together they cannot reach the top k.
      size_t essential = 0;
      while (essential < n && out_of_reach(prefix[essential + 1])) ++essential;

      while (essential < n) {
        uint32_t doc = kNoSlot;
        for (size_t j = essential; j < n; ++j) {
          Cursor& c = cursors[order[j]];
          if (c.min_slot() <= end) doc = std::min(doc, c.slot());
        }
        if (doc > end) break;
        double partial = 0;
        for (size_t j = essential; j < n; ++j) {
          Cursor& c = cursors[order[j]];
          if (c.min_slot() <= doc && c.slot() == doc) {
            contribution[order[j]] = c.score();
            partial += contribution[order[j]];
            c.next();
          }
        }
        bool reachable = in.slots.alive[doc] != 0;
        for (size_t j = essential; reachable && j-- > 0;) {
          if (out_of_reach(partial + prefix[j + 1])) {
            reachable = false;
            break;
          }
          Cursor& c = cursors[order[j]];
          c.seek_shallow(doc);
          if (c.min_slot() <= doc && c.slot() == doc) {
            contribution[order[j]] = c.score();
            partial += contribution[order[j]];
          }
        }
        if (reachable) {
          double score = 0.0;
          for (size_t i = 0; i < n; ++i) score += contribution[i];  // query order, as the exhaustive scorer
          top.consider(doc, score);
          while (essential < n && out_of_reach(prefix[essential + 1])) ++essential;
        }
        std::fill(contribution.begin(), contribution.end(), 0.0);
      }
    }
    if (end == kNoSlot) break;
    for (Cursor& c : cursors) c.seek_shallow(end + 1);
  }
  return top.take();
}

}  // namespace kr::index
