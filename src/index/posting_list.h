// Compressed posting lists for the BM25 index: sealed blocks of 128 postings
// (bit-packed slot deltas and term frequencies) plus an uncompressed tail of the
// latest postings. Each sealed block carries a few (tf, length) impacts that bound
// the best BM25 score of its postings under any collection statistics, so the
// bounds never go stale as N, df and the average length move with every update.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

namespace kr::index {

// One BM25 term contribution. Both scorers call this one function so that equal
// inputs give bit-identical scores, and the impact bounds use it too: it grows
// with tf and shrinks with length, also in floating point (rounding is monotone).
inline double bm25_term_score(double weight, uint32_t tf, uint32_t length, double c0, double c1) {
  const double f = tf;
  return weight * f / (f + c0 + c1 * length);
}

struct Impact {
  uint32_t tf;
  uint32_t length;
};

// At most N impacts such that each summarized posting (tf, length) is dominated
// by one of them (impact.tf >= tf and impact.length <= length). Kept as a Pareto
// frontier sorted by tf; past N entries two neighbours merge into one that
// dominates both, which loosens the bound but keeps it valid.
template <size_t N>
class ImpactSet {
 public:
  void add(Impact impact);
  template <size_t M>
  void add_all(const ImpactSet<M>& other) {
    for (uint8_t i = 0; i < other.size(); ++i) add(other[i]);
  }
  uint8_t size() const { return size_; }
  const Impact& operator[](size_t i) const { return items_[i]; }
  // weight * best score over the impacts; 0 when empty.
  double bound(double weight, double c0, double c1) const {
    double best = 0.0;
    for (uint8_t i = 0; i < size_; ++i) {
      const double s = bm25_term_score(weight, items_[i].tf, items_[i].length, c0, c1);
      if (s > best) best = s;
    }
    return best;
  }

 private:
  std::array<Impact, N> items_{};
  uint8_t size_ = 0;
};

// Postings {slot, tf} of one term in strictly increasing slot order.
// Not synchronized: the index guards it with its own locks.
class PostingList {
 public:
  static constexpr uint32_t kBlockSize = 128;
  // An end marker past every slot.
  static constexpr uint32_t kNoSlot = UINT32_MAX;

  PostingList() = default;
  PostingList(PostingList&&) noexcept = default;
  PostingList& operator=(PostingList&&) noexcept = default;

  // `slot` must exceed every slot already in the list; `length` is the chunk's.
  void append(uint32_t slot, uint32_t tf, uint32_t length);

  size_t size() const;  // postings, including those of deleted chunks
  // Blocks in slot order; the unsealed tail, when not empty, is the last one.
  size_t block_count() const { return sealed_count() + (tail_.empty() ? 0 : 1); }
  // Highest slot in the block.
  uint32_t block_last(size_t block) const {
    return block < sealed_count() ? sealed_->blocks[block].last : tail_.back().slot;
  }
  bool is_sealed(size_t block) const { return block < sealed_count(); }
  // Bound over one sealed block / over all sealed blocks (the tail is not summarized:
  // callers bound it exactly with tail_bound()).
  double sealed_block_bound(size_t block, double weight, double c0, double c1) const;
  double sealed_bound(double weight, double c0, double c1) const;
  // Exact best score in the tail.
  double tail_bound(double weight, double c0, double c1) const;
  // Writes the block's slots and tfs (room for kBlockSize each); returns the count.
  uint32_t decode(size_t block, uint32_t* slots, uint32_t* tfs) const;
  // Heap bytes owned by the list.
  size_t memory_bytes() const;

 private:
  struct Block {
    uint32_t last;    // highest slot
    uint32_t offset;  // into data
    uint8_t count;    // 1..128 (stored as count - 1)
    uint8_t slot_bits;
    uint8_t tf_bits;
    ImpactSet<4> impacts;
  };
  struct Sealed {
    std::vector<Block> blocks;
    std::vector<uint8_t> data;  // packed blocks, then kPadding zero bytes for word-wide reads
    ImpactSet<8> impacts;       // over every sealed block
  };
  struct Posting {
    uint32_t slot;
    uint32_t tf;
    uint32_t length;  // for the block's impacts
  };
  void seal_tail();
  size_t sealed_count() const { return sealed_ ? sealed_->blocks.size() : 0; }

  // Most terms are rare and never fill a block: they cost only these two members.
  std::unique_ptr<Sealed> sealed_;
  std::vector<Posting> tail_;
};

}  // namespace kr::index
