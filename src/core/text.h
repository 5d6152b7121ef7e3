// Small text utilities shared by every module: UTF-8 hygiene, hashing, token estimates.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace kr {

// True when `s` is well-formed UTF-8 (no overlongs, no surrogates, <= U+10FFFF).
bool is_valid_utf8(std::string_view s);

// Replaces every ill-formed sequence with U+FFFD and drops NUL bytes, so the
// result is always safe to store, tokenize and put in JSON.
std::string sanitize_utf8(std::string_view s);

// Lower-case hex SHA-256 of the bytes.
std::string sha256_hex(std::string_view bytes);
// Standard base64 (RFC 4648, with padding).
std::string base64_encode(std::string_view bytes);

// A conservative (over-)estimate of how many tokens a typical LLM tokenizer
// (BPE/SentencePiece, 32k-100k vocabularies) produces for `text`. Used for chunk
// sizing and, when the model server cannot count for us, for prompt budgeting.
// It never underestimates English prose by more than a few percent in practice
// (see tests/unit/core/text_test.cpp for the calibration).
int estimate_tokens(std::string_view text);

// Trims ASCII whitespace at both ends.
std::string_view trim(std::string_view s);

// Truncates to at most `max_bytes` without splitting a UTF-8 sequence.
std::string_view utf8_prefix(std::string_view s, size_t max_bytes);

// Appends `cp` encoded as UTF-8; a surrogate or a value above U+10FFFF becomes U+FFFD.
// Inline: the tokenizers call it once per code point.
inline void append_utf8(std::string& out, char32_t cp) {
  if (cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) cp = 0xFFFD;
  if (cp < 0x80) {
    out.push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    const char b[2] = {static_cast<char>(0xC0 | (cp >> 6)), static_cast<char>(0x80 | (cp & 0x3F))};
    out.append(b, 2);
  } else if (cp < 0x10000) {
    const char b[3] = {static_cast<char>(0xE0 | (cp >> 12)), static_cast<char>(0x80 | ((cp >> 6) & 0x3F)),
                       static_cast<char>(0x80 | (cp & 0x3F))};
    out.append(b, 3);
  } else {
    const char b[4] = {static_cast<char>(0xF0 | (cp >> 18)), static_cast<char>(0x80 | ((cp >> 12) & 0x3F)),
                       static_cast<char>(0x80 | ((cp >> 6) & 0x3F)), static_cast<char>(0x80 | (cp & 0x3F))};
    out.append(b, 4);
  }
}

}  // namespace kr
