// Shared by the libFuzzer targets in tests/fuzz: input helpers and invariant checks that abort
// (libFuzzer saves the input as a crash) instead of returning.
#pragma once

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>

#include "parse/document.h"
#include "parse/parser.h"

namespace kr::fuzz {

inline std::string_view as_view(const uint8_t* data, size_t size) {
  return {reinterpret_cast<const char*>(data), size};
}

// Limits small enough that one input costs milliseconds, like a server under attack would set.
inline parse::Limits fuzz_limits() {
  parse::Limits limits;
  limits.max_file_bytes = 1 << 20;
  limits.max_zip_total_bytes = 8 << 20;
  limits.max_pages = 50;
  limits.max_seconds_per_file = 5.0;
  return limits;
}

[[noreturn]] inline void invariant_failed(const char* what, const char* file, int line) {
  std::fprintf(stderr, "invariant violated at %s:%d: %s\n", file, line, what);
  std::abort();
}

bool valid_utf8(std::string_view s);

// What parse::Block promises: valid UTF-8, no NUL, trimmed, offsets into full_text().
void check_document(const parse::ParsedDocument& doc);

}  // namespace kr::fuzz

#define KR_FUZZ_CHECK(cond) \
  do {                      \
    if (!(cond)) ::kr::fuzz::invariant_failed(#cond, __FILE__, __LINE__); \
  } while (0)
