// Block-max MaxScore (Turtle & Flood's MaxScore, with per-block bounds in the
// manner of Lucene's MaxScoreBulkScorer), exact top-k.
//
// The slot space is walked in windows of kWindow slots. In a window each term is
// bounded by the best impacts of the blocks overlapping it (0 if none). A window
// whose bounds sum below the k-th best score is skipped without decoding anything.
// Otherwise the terms are sorted by bound; the longest prefix whose bounds sum below
// the k-th score is "non-essential". The other, essential terms are scored term at a
// time into a per-window buffer; each slot they touched is a candidate, and the
// non-essential terms are looked up for it (highest bound first, each first bounded
// by the block holding the slot) only while its partial score plus their remaining
// bounds can still reach the top k.
//
// Exactness: a chunk is pruned only when an upper bound of its score is strictly
// below the k-th score (a tie could still enter by chunk_id). Bounds are BM25 of
// dominating (tf, length) pairs through the same function as the real scores, so
// each term's bound is >= its contribution bit for bit; the sums of bounds and of
// contributions round differently, which kSlack absorbs. A candidate's final score
// adds its contributions in query order, exactly as the exhaustive scorer does.
#include <algorithm>
#include <array>
#include <bit>
#include <numeric>

#include "index/bm25_scorers.h"
#include "index/top_k.h"

namespace kr::index {
namespace {

constexpr uint32_t kNoSlot = PostingList::kNoSlot;
// Relative margin on bounds, far above the rounding of a sum of a few doubles.
constexpr double kSlack = 1.0 + 1e-9;
// Slots per window: bounds are recomputed per window, so windows must span a few
// blocks of the frequent terms; smaller ones bound tighter (1,024 measured best of
// 1,024 / 4,096 / 16,384 on pubmedqa questions over 100k chunks).
constexpr uint32_t kWindow = 1024;

// Position in one term's postings. Moving between blocks is "shallow" (no
// decoding); a block is decoded only when a posting in it is needed.
class Cursor {
 public:
  Cursor(const QueryTerm& term, const ScoringInputs& in)
      : list_(*term.postings), weight_(term.weight), in_(in), blocks_(term.postings->block_count()) {
    enter_block(0);
  }

  // The lowest slot this cursor can still produce (kNoSlot when exhausted).
  uint32_t min_slot() const { return std::max(target_, block_first_); }

  // Upper bound of this term's contribution for any slot in [min_slot(), end]:
  // the best bound of the blocks that overlap it.
  double bound_up_to(uint32_t end) {
    double best = 0.0;
    uint32_t first = min_slot();
    for (size_t b = block_; b < blocks_ && first <= end; ++b) {
      best = std::max(best, list_.is_sealed(b) ? list_.sealed_block_bound(b, weight_, in_.c0, in_.c1) : tail_bound());
      first = list_.block_last(b) + 1;
    }
    return best;
  }

  // Upper bound of this term's contribution in the current block.
  double block_bound() {
    if (bound_block_ != block_) {
      bound_block_ = block_;
      bound_ = list_.is_sealed(block_) ? list_.sealed_block_bound(block_, weight_, in_.c0, in_.c1) : tail_bound();
    }
    return bound_;
  }

  // Moves to the first block that can hold a slot >= target, without decoding.
  void seek_shallow(uint32_t target) {
    if (target <= target_) return;
    target_ = target;
    if (block_last_ >= target) return;
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
    enter_block(lo);
  }

  // The first posting at or after the target (decodes its block); kNoSlot when exhausted.
  uint32_t slot() {
    if (!decoded_) {
      if (block_ >= blocks_) return kNoSlot;
      count_ = list_.decode(block_, slots_.data(), tfs_.data());
      pos_ = 0;
      decoded_ = true;
    }
    while (slots_[pos_] < target_) ++pos_;  // the block's last slot is >= target_
    return slots_[pos_];
  }

  // The current posting's score; slot() must have returned a slot.
  double score() const {
    return bm25_term_score(weight_, tfs_[pos_], in_.slots.length[slots_[pos_]], in_.c0, in_.c1);
  }

  // Past the current posting; slot() must have returned a slot.
  void next() {
    target_ = slots_[pos_] + 1;
    if (++pos_ == count_) enter_block(block_ + 1);
  }

 private:
  double tail_bound() {
    if (tail_bound_ < 0) tail_bound_ = list_.tail_bound(weight_, in_.c0, in_.c1);
    return tail_bound_;
  }

  void enter_block(size_t block) {
    block_ = block;
    decoded_ = false;
    if (block >= blocks_) {
      block_first_ = block_last_ = kNoSlot;
    } else {
      block_first_ = block == 0 ? 0 : list_.block_last(block - 1) + 1;
      block_last_ = list_.block_last(block);
    }
  }

  const PostingList& list_;
  const double weight_;
  const ScoringInputs& in_;
  const size_t blocks_;
  size_t block_ = 0;
  uint32_t block_first_ = 0, block_last_ = 0;  // kNoSlot when exhausted
  uint32_t target_ = 0;
  bool decoded_ = false;
  uint32_t count_ = 0, pos_ = 0;
  double tail_bound_ = -1;  // computed on first use
  size_t bound_block_ = SIZE_MAX;
  double bound_ = 0;
  std::array<uint32_t, PostingList::kBlockSize> slots_, tfs_;
};

}  // namespace

std::vector<ScoredChunk> score_max_score(const ScoringInputs& in, size_t k, const DocFilter& accept_doc) {
  if (k == 0 || in.terms.empty() || in.slots.size == 0) return {};
  const size_t n = in.terms.size();
  // `cursors` produce candidates and check non-essential terms; `lookups` re-read the
  // essential terms' postings of the few candidates that get a final score.
  std::vector<Cursor> cursors, lookups;
  cursors.reserve(n);
  lookups.reserve(n);
  for (const QueryTerm& term : in.terms) {
    cursors.emplace_back(term, in);
    lookups.emplace_back(term, in);
  }
  TopK top(k, in.slots, accept_doc);
  const auto out_of_reach = [&](double upper_bound) { return upper_bound * kSlack < top.threshold(); };

  const uint32_t window = static_cast<uint32_t>(std::min<size_t>(kWindow, in.slots.size));
  std::vector<double> partials(window, 0.0);     // essential terms' scores, by slot - start
  std::vector<uint64_t> hit((window + 63) / 64);  // which of them were touched
  std::vector<double> bounds(n), prefix(n + 1), contribution(n, 0.0);
  std::vector<uint8_t> essential_term(n);
  std::vector<size_t> order(n);
  std::iota(order.begin(), order.end(), size_t{0});
  while (true) {
    uint32_t start = kNoSlot;
    for (const Cursor& c : cursors) start = std::min(start, c.min_slot());
    if (start == kNoSlot) break;
    const uint32_t end = start > kNoSlot - window ? kNoSlot - 1 : start + window - 1;
    double total = 0;
    for (size_t i = 0; i < n; ++i) {
      bounds[i] = cursors[i].bound_up_to(end);
      total += bounds[i];
    }
    if (!out_of_reach(total)) {
      std::sort(order.begin(), order.end(), [&](size_t a, size_t b) { return bounds[a] < bounds[b]; });
      for (size_t j = 0; j < n; ++j) prefix[j + 1] = prefix[j] + bounds[order[j]];
      // order[0, essential) are non-essential: together they cannot reach the top k.
      size_t essential = 0;
      while (essential < n && out_of_reach(prefix[essential + 1])) ++essential;

      // Essential terms, term at a time over the window.
      for (size_t j = essential; j < n; ++j) {
        Cursor& c = cursors[order[j]];
        essential_term[order[j]] = 1;
        while (c.min_slot() <= end) {
          const uint32_t slot = c.slot();
          if (slot > end) break;
          const uint32_t offset = slot - start;
          partials[offset] += c.score();
          hit[offset / 64] |= uint64_t{1} << (offset % 64);
          c.next();
        }
      }
      // Candidates in slot order, so the non-essential cursors and the lookups only move forward.
      for (size_t word = 0; word < hit.size(); ++word) {
        for (uint64_t bits = hit[word]; bits != 0; bits &= bits - 1) {
          const uint32_t offset = static_cast<uint32_t>(word * 64 + std::countr_zero(bits));
          const uint32_t doc = start + offset;
          double partial = partials[offset];
          partials[offset] = 0.0;
          if (!in.slots.alive[doc]) continue;
          bool reachable = true;
          for (size_t j = essential; j-- > 0;) {
            if (out_of_reach(partial + prefix[j + 1])) {
              reachable = false;
              break;
            }
            Cursor& c = cursors[order[j]];
            c.seek_shallow(doc);
            if (c.min_slot() > doc) continue;  // no posting there, no decoding
            // The block holding the slot may bound tighter than the whole window did.
            if (out_of_reach(partial + prefix[j] + c.block_bound())) {
              reachable = false;
              break;
            }
            if (c.slot() == doc) {
              contribution[order[j]] = c.score();
              partial += contribution[order[j]];
            }
          }
          if (reachable) {
            double score = 0.0;
            for (size_t i = 0; i < n; ++i) {
              if (essential_term[i]) {
                Cursor& lookup = lookups[i];
                lookup.seek_shallow(doc);
                if (lookup.min_slot() <= doc && lookup.slot() == doc) contribution[i] = lookup.score();
              }
              score += contribution[i];  // in query order, as the exhaustive scorer adds
            }
            top.consider(doc, score);
          }
          std::fill(contribution.begin(), contribution.end(), 0.0);
        }
        hit[word] = 0;
      }
      std::fill(essential_term.begin(), essential_term.end(), 0);
    }
    for (Cursor& c : cursors) c.seek_shallow(end + 1);
  }
  return top.take();
}

}  // namespace kr::index
