// count_terms() and the stored TermFreqs encoding.
//
// Format (version 1), all integers unsigned LEB128 varints:
//   u8 version = 1
//   count
//   count x { shared_prefix_len, suffix_len, suffix bytes, tf }
// Terms are strictly increasing, so each shares a prefix with the one before it;
// prefix compression roughly halves the size of stemmed English vocabularies.
#include <algorithm>
#include <limits>
#include <string_view>

#include "index/tokenizer.h"

namespace kr::index {
namespace {

constexpr uint8_t kFormatVersion = 1;

void put_varint(uint64_t v, std::string& out) {
  while (v >= 0x80) {
    out += static_cast<char>(static_cast<uint8_t>(v) | 0x80);
    v >>= 7;
  }
  out += static_cast<char>(v);
}

// Reads a varint at `pos`; false on truncation or a value that overflows 64 bits.
bool get_varint(std::string_view in, size_t& pos, uint64_t& value) {
  value = 0;
  for (int shift = 0; shift < 64; shift += 7) {
    if (pos >= in.size()) return false;
    const auto byte = static_cast<uint8_t>(in[pos++]);
    const uint64_t bits = byte & 0x7F;
    if (shift == 63 && bits > 1) return false;
    value |= bits << shift;
    if ((byte & 0x80) == 0) return true;
  }
  return false;
}

size_t common_prefix(std::string_view a, std::string_view b) {
  const size_t n = std::min(a.size(), b.size());
  size_t i = 0;
  while (i < n && a[i] == b[i]) ++i;
  return i;
}

bool strictly_sorted_positive(const TermFreqs& tf) {
  for (size_t i = 0; i < tf.size(); ++i) {
    if (tf[i].second == 0) return false;
    if (i > 0 && !(tf[i - 1].first < tf[i].first)) return false;
  }
  return true;
}

TermFreqs canonical(const TermFreqs& tf) {
  TermFreqs sorted = tf;
  std::sort(sorted.begin(), sorted.end(),
            [](const auto& a, const auto& b) { return a.first < b.first; });
  TermFreqs out;
  out.reserve(sorted.size());
  for (auto& entry : sorted) {
    if (entry.second == 0) continue;
    if (!out.empty() && out.back().first == entry.first) {
      const uint64_t sum = uint64_t{out.back().second} + entry.second;
      out.back().second = static_cast<uint32_t>(
          std::min<uint64_t>(sum, std::numeric_limits<uint32_t>::max()));
    } else {
      out.push_back(std::move(entry));
    }
  }
  return out;
}

Status corrupt(std::string_view what) {
  return error(ErrorCode::kDataCorruption, "term frequencies: " + std::string(what));
}

}  // namespace

TermFreqs count_terms(const std::vector<std::string>& terms) {
  std::vector<std::string_view> sorted(terms.begin(), terms.end());
  std::sort(sorted.begin(), sorted.end());
  TermFreqs out;
  for (size_t i = 0; i < sorted.size();) {
    size_t j = i + 1;
    while (j < sorted.size() && sorted[j] == sorted[i]) ++j;
    out.emplace_back(std::string(sorted[i]), static_cast<uint32_t>(j - i));
    i = j;
  }
  return out;
}

std::string encode_term_freqs(const TermFreqs& tf) {
  if (!strictly_sorted_positive(tf)) return encode_term_freqs(canonical(tf));
  std::string out;
  out += static_cast<char>(kFormatVersion);
  put_varint(tf.size(), out);
  std::string_view previous;
  for (const auto& [term, freq] : tf) {
    const size_t shared = common_prefix(previous, term);
    put_varint(shared, out);
    put_varint(term.size() - shared, out);
    out.append(term, shared, std::string::npos);
    put_varint(freq, out);
    previous = term;
  }
  return out;
}

Result<TermFreqs> decode_term_freqs(std::string_view bytes) {
  if (bytes.empty()) return corrupt("empty input");
  if (static_cast<uint8_t>(bytes[0]) != kFormatVersion) {
    return corrupt("unknown format version " + std::to_string(static_cast<uint8_t>(bytes[0])));
  }
  size_t pos = 1;
  uint64_t count = 0;
  if (!get_varint(bytes, pos, count)) return corrupt("truncated count");
  // Every entry takes at least 3 bytes; checking first keeps a corrupt count from
  // triggering a huge allocation.
  if (count > (bytes.size() - pos) / 3) return corrupt("count exceeds input size");
  TermFreqs out;
  out.reserve(static_cast<size_t>(count));
  for (uint64_t i = 0; i < count; ++i) {
    uint64_t shared = 0, suffix = 0, freq = 0;
    if (!get_varint(bytes, pos, shared) || !get_varint(bytes, pos, suffix)) {
      return corrupt("truncated entry");
    }
    const std::string* previous = out.empty() ? nullptr : &out.back().first;
    if (shared > (previous ? previous->size() : 0)) return corrupt("prefix longer than previous term");
    if (suffix > bytes.size() - pos) return corrupt("term runs past end of input");
    std::string term;
    term.reserve(static_cast<size_t>(shared + suffix));
    if (previous) term.assign(*previous, 0, static_cast<size_t>(shared));
    term.append(bytes.substr(pos, static_cast<size_t>(suffix)));
    pos += static_cast<size_t>(suffix);
    if (!get_varint(bytes, pos, freq)) return corrupt("truncated frequency");
    if (freq == 0 || freq > std::numeric_limits<uint32_t>::max()) return corrupt("frequency out of range");
    if (previous && !(*previous < term)) return corrupt("terms not strictly increasing");
    out.emplace_back(std::move(term), static_cast<uint32_t>(freq));
  }
  if (pos != bytes.size()) return corrupt("trailing bytes");
  return out;
}

}  // namespace kr::index
