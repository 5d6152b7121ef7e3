#include "core/text.h"

#include <openssl/evp.h>

#include <array>
#include <cmath>

#include "core/hex.h"

namespace kr {
namespace {

// Length of the well-formed UTF-8 sequence at s[i], or 0 when ill-formed.
size_t utf8_sequence_length(std::string_view s, size_t i) {
  const auto byte = [&](size_t k) { return static_cast<unsigned char>(s[k]); };
  const unsigned char c = byte(i);
  if (c < 0x80) return 1;
  size_t need = 0;
  uint32_t min_cp = 0;
  uint32_t cp = 0;
  if ((c & 0xE0) == 0xC0) { need = 2; cp = c & 0x1F; min_cp = 0x80; }
  else if ((c & 0xF0) == 0xE0) { need = 3; cp = c & 0x0F; min_cp = 0x800; }
  else if ((c & 0xF8) == 0xF0) { need = 4; cp = c & 0x07; min_cp = 0x10000; }
  else return 0;
  if (i + need > s.size()) return 0;
  for (size_t k = 1; k < need; ++k) {
    if ((byte(i + k) & 0xC0) != 0x80) return 0;
    cp = (cp << 6) | (byte(i + k) & 0x3F);
  }
  if (cp < min_cp || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
  return need;
}

}  // namespace

bool is_valid_utf8(std::string_view s) {
  for (size_t i = 0; i < s.size();) {
    const size_t n = utf8_sequence_length(s, i);
    if (n == 0) return false;
    i += n;
  }
  return true;
}

std::string sanitize_utf8(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size();) {
    const size_t n = utf8_sequence_length(s, i);
    if (n == 0) {
      out += "\xEF\xBF\xBD";  // U+FFFD
      ++i;
    } else {
      if (!(n == 1 && s[i] == '\0')) out.append(s.substr(i, n));
      i += n;
    }
  }
  return out;
}

std::string sha256_hex(std::string_view bytes) {
  std::array<unsigned char, EVP_MAX_MD_SIZE> digest{};
  unsigned int length = 0;
  EVP_Digest(bytes.data(), bytes.size(), digest.data(), &length, EVP_sha256(), nullptr);
  return hex_lower(std::string_view(reinterpret_cast<const char*>(digest.data()), length));
}

int estimate_tokens(std::string_view text) {
  // Two views of the same text, take the larger: BPE tokenizers average ~4 bytes
  // per token on English prose but split digits, punctuation and non-Latin
  // scripts much finer. Words count ~1.35 tokens each; every non-ASCII code point
  // and every punctuation or digit run adds more.
  size_t words = 0, symbols = 0, non_ascii = 0;
  bool in_word = false;
  for (unsigned char c : text) {
    if (c >= 0x80) {
      if ((c & 0xC0) != 0x80) ++non_ascii;
      in_word = false;
      continue;
    }
    const bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
    if (alpha) {
      if (!in_word) ++words;
      in_word = true;
    } else {
      in_word = false;
      if (c != ' ' && c != '\n' && c != '\t' && c != '\r') ++symbols;
    }
  }
  const double by_words = words * 1.35 + symbols * 0.75 + non_ascii * 1.0;
  const double by_bytes = static_cast<double>(text.size()) / 3.6;
  return static_cast<int>(std::ceil(std::max(by_words, by_bytes)));
}

std::string_view trim(std::string_view s) {
  const auto space = [](char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; };
  while (!s.empty() && space(s.front())) s.remove_prefix(1);
  while (!s.empty() && space(s.back())) s.remove_suffix(1);
  return s;
}

std::string_view utf8_prefix(std::string_view s, size_t max_bytes) {
  if (s.size() <= max_bytes) return s;
  size_t end = max_bytes;
  while (end > 0 && (static_cast<unsigned char>(s[end]) & 0xC0) == 0x80) --end;
  return s.substr(0, end);
}

std::string base64_encode(std::string_view bytes) {
  static constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  size_t i = 0;
  for (; i + 2 < bytes.size(); i += 3) {
    const uint32_t v = (static_cast<uint8_t>(bytes[i]) << 16) | (static_cast<uint8_t>(bytes[i + 1]) << 8) |
                       static_cast<uint8_t>(bytes[i + 2]);
    for (int shift : {18, 12, 6, 0}) out += kAlphabet[(v >> shift) & 63];
  }
  if (i < bytes.size()) {
    uint32_t v = static_cast<uint8_t>(bytes[i]) << 16;
    if (i + 1 < bytes.size()) v |= static_cast<uint8_t>(bytes[i + 1]) << 8;
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += i + 1 < bytes.size() ? kAlphabet[(v >> 6) & 63] : '=';
    out += '=';
  }
  return out;
}

}  // namespace kr
