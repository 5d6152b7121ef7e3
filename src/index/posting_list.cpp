// Block layout: the slot deltas (the first relative to the previous block's last
// slot) bit-packed at the block's width, then tf - 1 packed the same way, each part
// starting on a byte. Fixed-width packing decodes with one unaligned 64-bit load per
// value, which is why the data ends with padding bytes.
#include "index/posting_list.h"

#include <algorithm>
#include <bit>
#include <cstring>

namespace kr::index {
namespace {

constexpr size_t kPadding = 8;

uint8_t bits_for(uint32_t max_value) { return static_cast<uint8_t>(std::bit_width(max_value)); }

void pack(const uint32_t* values, uint32_t n, uint8_t bits, std::vector<uint8_t>& out) {
  const size_t start = out.size();
  out.resize(start + (size_t{n} * bits + 7) / 8 + kPadding, 0);
  uint8_t* base = out.data() + start;
  for (uint32_t i = 0; i < n; ++i) {
    const size_t bit = size_t{i} * bits;
    uint64_t word;
    std::memcpy(&word, base + bit / 8, sizeof word);
    word |= uint64_t{values[i]} << (bit % 8);
    std::memcpy(base + bit / 8, &word, sizeof word);
  }
  out.resize(out.size() - kPadding);
}

// Reads n values; may read up to kPadding bytes past the packed ones.
const uint8_t* unpack(const uint8_t* in, uint32_t n, uint8_t bits, uint32_t* out) {
  if (bits == 0) {
    std::fill_n(out, n, 0u);
    return in;
  }
  const uint64_t mask = (uint64_t{1} << bits) - 1;
  for (uint32_t i = 0; i < n; ++i) {
    const size_t bit = size_t{i} * bits;
    uint64_t word;
    std::memcpy(&word, in + bit / 8, sizeof word);
    out[i] = static_cast<uint32_t>((word >> (bit % 8)) & mask);
  }
  return in + (size_t{n} * bits + 7) / 8;
}

}  // namespace

template <size_t N>
void ImpactSet<N>::add(Impact impact) {
  for (uint8_t i = 0; i < size_; ++i) {
    if (items_[i].tf >= impact.tf && items_[i].length <= impact.length) return;  // already dominated
  }
  std::array<Impact, N + 1> next;
  size_t n = 0;
  bool placed = false;
  for (uint8_t i = 0; i < size_; ++i) {
    const Impact& e = items_[i];
    if (e.tf <= impact.tf && e.length >= impact.length) continue;  // the new one dominates it
    if (!placed && e.tf > impact.tf) {
      next[n++] = impact;
      placed = true;
    }
    next[n++] = e;
  }
  if (!placed) next[n++] = impact;
  if (n > N) {
    // Merge the neighbours closest in tf: {tf of the right one, length of the left one}.
    size_t best = 0;
    double best_ratio = 0;
    for (size_t i = 0; i + 1 < n; ++i) {
      const double ratio = static_cast<double>(next[i + 1].tf) / next[i].tf;
      if (i == 0 || ratio < best_ratio) {
        best = i;
        best_ratio = ratio;
      }
    }
    next[best] = {next[best + 1].tf, next[best].length};
    std::copy(next.begin() + best + 2, next.begin() + n, next.begin() + best + 1);
    --n;
  }
  std::copy_n(next.begin(), n, items_.begin());
  size_ = static_cast<uint8_t>(n);
}

template class ImpactSet<4>;
template class ImpactSet<8>;

void PostingList::append(uint32_t slot, uint32_t tf, uint32_t length) {
  tail_.push_back({slot, tf, length});
  if (tail_.size() == kBlockSize) seal_tail();
}

void PostingList::seal_tail() {
  if (!sealed_) sealed_ = std::make_unique<Sealed>();
  Sealed& s = *sealed_;
  const uint32_t n = static_cast<uint32_t>(tail_.size());
  std::array<uint32_t, kBlockSize> deltas, tfs;
  uint32_t previous = s.blocks.empty() ? 0 : s.blocks.back().last;
  uint32_t max_delta = 0, max_tf = 0;
  Block block{tail_.back().slot, static_cast<uint32_t>(s.data.size()), static_cast<uint8_t>(n - 1), 0, 0, {}};
  for (uint32_t i = 0; i < n; ++i) {
    deltas[i] = tail_[i].slot - previous;
    previous = tail_[i].slot;
    tfs[i] = tail_[i].tf - 1;
    max_delta = std::max(max_delta, deltas[i]);
    max_tf = std::max(max_tf, tfs[i]);
    block.impacts.add({tail_[i].tf, tail_[i].length});
  }
  block.slot_bits = bits_for(max_delta);
  block.tf_bits = bits_for(max_tf);
  if (!s.data.empty()) s.data.resize(s.data.size() - kPadding);
  block.offset = static_cast<uint32_t>(s.data.size());
  pack(deltas.data(), n, block.slot_bits, s.data);
  pack(tfs.data(), n, block.tf_bits, s.data);
  s.data.resize(s.data.size() + kPadding, 0);
  s.impacts.add_all(block.impacts);
  s.blocks.push_back(block);
  tail_.clear();
  tail_.shrink_to_fit();  // lists that grow past a block rarely stay small
}

size_t PostingList::size() const {
  return (sealed_ ? sealed_->blocks.size() * kBlockSize : 0) + tail_.size();
}

double PostingList::sealed_block_bound(size_t block, double weight, double c0, double c1) const {
  return sealed_->blocks[block].impacts.bound(weight, c0, c1);
}

double PostingList::sealed_bound(double weight, double c0, double c1) const {
  return sealed_ ? sealed_->impacts.bound(weight, c0, c1) : 0.0;
}

double PostingList::tail_bound(double weight, double c0, double c1) const {
  double best = 0.0;
  for (const Posting& p : tail_) best = std::max(best, bm25_term_score(weight, p.tf, p.length, c0, c1));
  return best;
}

uint32_t PostingList::decode(size_t block, uint32_t* slots, uint32_t* tfs) const {
  if (!is_sealed(block)) {
    for (size_t i = 0; i < tail_.size(); ++i) {
      slots[i] = tail_[i].slot;
      tfs[i] = tail_[i].tf;
    }
    return static_cast<uint32_t>(tail_.size());
  }
  const Block& b = sealed_->blocks[block];
  const uint32_t n = uint32_t{b.count} + 1;
  const uint8_t* in = unpack(sealed_->data.data() + b.offset, n, b.slot_bits, slots);
  unpack(in, n, b.tf_bits, tfs);
  uint32_t slot = block == 0 ? 0 : sealed_->blocks[block - 1].last;
  for (uint32_t i = 0; i < n; ++i) {
    slot += slots[i];
    slots[i] = slot;
    tfs[i] += 1;
  }
  return n;
}

size_t PostingList::memory_bytes() const {
  size_t bytes = tail_.capacity() * sizeof(Posting);
  if (sealed_) bytes += sizeof(Sealed) + sealed_->blocks.capacity() * sizeof(Block) + sealed_->data.capacity();
  return bytes;
}

}  // namespace kr::index
