// Shared helpers of the parse module: deadline, block building, text decoding.
#include <algorithm>
#include <array>

#include "core/text.h"
#include "parse/parse_internal.h"

namespace kr::parse::internal {

Status ParseContext::check_deadline(std::string_view where) const {
  const std::chrono::duration<double> elapsed = std::chrono::steady_clock::now() - start_;
  if (elapsed.count() <= limits_.max_seconds_per_file) return Status::ok();
  return error(ErrorCode::kDeadlineExceeded,
               "parsing took longer than " + std::to_string(static_cast<int>(limits_.max_seconds_per_file)) +
                   " s (stopped while " + std::string(where) + "); split the file into smaller parts");
}

double ParseContext::seconds_left() const {
  const std::chrono::duration<double> elapsed = std::chrono::steady_clock::now() - start_;
  return limits_.max_seconds_per_file - elapsed.count();
}

namespace {

// Length of a Unicode space (NBSP, U+2000-200B, U+3000, BOM) at s[i], else 0.
size_t unicode_space_at(std::string_view s, size_t i) {
  const auto b = [&](size_t k) { return i + k < s.size() ? static_cast<unsigned char>(s[i + k]) : 0; };
  if (b(0) == 0xC2 && b(1) == 0xA0) return 2;
  if (b(0) == 0xE2 && b(1) == 0x80 && b(2) >= 0x80 && b(2) <= 0x8B) return 3;
  if (b(0) == 0xE3 && b(1) == 0x80 && b(2) == 0x80) return 3;
  if (b(0) == 0xEF && b(1) == 0xBB && b(2) == 0xBF) return 3;
  return 0;
}

// trim() plus the Unicode spaces documents use for layout.
std::string_view trim_spaces(std::string_view s) {
  for (;;) {
    s = trim(s);
    if (const size_t n = unicode_space_at(s, 0); n > 0) {
      s.remove_prefix(n);
      continue;
    }
    bool cut = false;
    for (const size_t n : {size_t{2}, size_t{3}}) {
      if (s.size() >= n && unicode_space_at(s, s.size() - n) == n) {
        s.remove_suffix(n);
        cut = true;
        break;
      }
    }
    if (!cut) return s;
  }
}

}  // namespace

bool BlockSink::add(std::string_view text, BlockKind kind, int page) {
  const std::string clean = sanitize_utf8(text);
  const std::string_view trimmed = trim_spaces(clean);
  if (trimmed.empty()) return false;
  Block block;
  block.text = std::string(trimmed);
  block.kind = kind;
  block.page = page;
  block.heading_path.reserve(path_.size());
  for (const auto& level : path_) block.heading_path.push_back(level.text);
  doc_.blocks.push_back(std::move(block));
  return true;
}

void BlockSink::heading(std::string_view text, int level, int page) {
  const std::string clean = collapse_whitespace(sanitize_utf8(text));
  const std::string_view trimmed = trim_spaces(clean);
  if (trimmed.empty()) return;
  while (!path_.empty() && path_.back().level >= level) path_.pop_back();
  add(trimmed, BlockKind::kHeading, page);
  path_.push_back({level, std::string(trimmed)});
  if (doc_.title.empty()) doc_.title = std::string(trimmed);
}

void BlockSink::set_path(std::vector<std::string> path) {
  path_.clear();
  int level = 0;
  for (auto& text : path) path_.push_back({++level, std::move(text)});
}

std::string collapse_whitespace(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  bool space = false;
  for (size_t i = 0; i < s.size(); ++i) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    const bool nbsp = c == 0xC2 && i + 1 < s.size() && static_cast<unsigned char>(s[i + 1]) == 0xA0;
    if (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v' || nbsp) {
      space = true;
      if (nbsp) ++i;
      continue;
    }
    if (space && !out.empty()) out += ' ';
    space = false;
    out += static_cast<char>(c);
  }
  return out;
}

std::string utf16_to_utf8(std::string_view b, bool big_endian) {
  std::string out;
  out.reserve(b.size());
  const auto unit = [&](size_t i) -> uint32_t {
    const auto hi = static_cast<unsigned char>(b[big_endian ? i : i + 1]);
    const auto lo = static_cast<unsigned char>(b[big_endian ? i + 1 : i]);
    return (static_cast<uint32_t>(hi) << 8) | lo;
  };
  for (size_t i = 0; i + 1 < b.size(); i += 2) {
    uint32_t cp = unit(i);
    if (cp >= 0xD800 && cp <= 0xDBFF && i + 3 < b.size()) {
      const uint32_t low = unit(i + 2);
      if (low >= 0xDC00 && low <= 0xDFFF) {
        cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
        i += 2;
      }
    }
    append_utf8(out, cp);
  }
  return out;
}

namespace {

std::string utf32_to_utf8(std::string_view b, bool big_endian) {
  std::string out;
  out.reserve(b.size() / 2);
  for (size_t i = 0; i + 3 < b.size(); i += 4) {
    uint32_t cp = 0;
    for (int k = 0; k < 4; ++k) {
      const size_t at = big_endian ? i + k : i + 3 - k;
      cp = (cp << 8) | static_cast<unsigned char>(b[at]);
    }
    append_utf8(out, cp);
  }
  return out;
}

bool starts_with(std::string_view s, std::string_view prefix) { return s.substr(0, prefix.size()) == prefix; }

// BOM-less UTF-16: text in Latin scripts has a NUL in every other byte.
// Returns 1 for LE, 2 for BE, 0 for neither.
int utf16_by_nul_pattern(std::string_view b) {
  const size_t n = std::min<size_t>(b.size(), 4096) & ~size_t{1};
  if (n < 4) return 0;
  size_t even = 0, odd = 0;
  for (size_t i = 0; i < n; i += 2) {
    if (b[i] == '\0') ++even;
    if (b[i + 1] == '\0') ++odd;
  }
  const size_t pairs = n / 2;
  if (odd * 10 >= pairs * 4 && even * 20 < pairs) return 1;
  if (even * 10 >= pairs * 4 && odd * 20 < pairs) return 2;
  return 0;
}

}  // namespace

std::string cp1252_to_utf8(std::string_view bytes) {
  // 0x80-0x9F in cp1252; 0 marks the five undefined bytes (kept as Latin-1 C1).
  static constexpr std::array<uint16_t, 32> kHigh = {
      0x20AC, 0,      0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021, 0x02C6, 0x2030, 0x0160,
      0x2039, 0x0152, 0,      0x017D, 0,      0,      0x2018, 0x2019, 0x201C, 0x201D, 0x2022,
      0x2013, 0x2014, 0x02DC, 0x2122, 0x0161, 0x203A, 0x0153, 0,      0x017E, 0x0178};
  std::string out;
  out.reserve(bytes.size() + bytes.size() / 8);
  for (const char ch : bytes) {
    const auto c = static_cast<unsigned char>(ch);
    if (c < 0x80) {
      out += ch;
    } else if (c < 0xA0 && kHigh[c - 0x80] != 0) {
      append_utf8(out, kHigh[c - 0x80]);
    } else {
      append_utf8(out, c);
    }
  }
  return out;
}

DecodedText decode_text(std::string_view b) {
  if (starts_with(b, std::string_view("\xFF\xFE\x00\x00", 4))) return {utf32_to_utf8(b.substr(4), false), "utf-32le"};
  if (starts_with(b, std::string_view("\x00\x00\xFE\xFF", 4))) return {utf32_to_utf8(b.substr(4), true), "utf-32be"};
  if (starts_with(b, "\xEF\xBB\xBF")) {
    const std::string_view rest = b.substr(3);
    if (is_valid_utf8(rest)) return {std::string(rest), "utf-8"};
    return {sanitize_utf8(rest), "utf-8"};
  }
  if (starts_with(b, "\xFE\xFF")) return {utf16_to_utf8(b.substr(2), true), "utf-16be"};
  if (starts_with(b, "\xFF\xFE")) return {utf16_to_utf8(b.substr(2), false), "utf-16le"};
  if (const int pattern = utf16_by_nul_pattern(b); pattern != 0) {
    return {utf16_to_utf8(b, pattern == 2), pattern == 2 ? "utf-16be" : "utf-16le"};
  }
  if (is_valid_utf8(b)) return {std::string(b), "utf-8"};
  return {cp1252_to_utf8(b), "cp1252"};
}

bool looks_binary(std::string_view b) {
  if (starts_with(b, "\xFE\xFF") || starts_with(b, "\xFF\xFE") || starts_with(b, "\xEF\xBB\xBF") ||
      starts_with(b, std::string_view("\x00\x00\xFE\xFF", 4)) || utf16_by_nul_pattern(b) != 0) {
    return false;
  }
  const std::string_view sample = b.substr(0, 8192);
  size_t nul = 0, control = 0;
  for (const char ch : sample) {
    const auto c = static_cast<unsigned char>(ch);
    if (c == 0) ++nul;
    else if ((c < 0x20 && c != '\t' && c != '\n' && c != '\r' && c != '\f' && c != '\v' && c != 0x1B) || c == 0x7F)
      ++control;
  }
  // Text may carry a stray NUL or control byte; binary formats have many.
  return nul * 100 > sample.size() || (nul + control) * 20 > sample.size();
}

}  // namespace kr::parse::internal
