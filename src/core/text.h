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

}  // namespace kr
