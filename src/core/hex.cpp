#include "core/hex.h"

#include <cstdint>
#include <random>

namespace kr {
namespace {
constexpr char kHexDigits[] = "0123456789abcdef";
}  // namespace

std::string hex_lower(std::string_view bytes) {
  std::string out;
  out.reserve(bytes.size() * 2);
  for (unsigned char c : bytes) {
    out += kHexDigits[c >> 4];
    out += kHexDigits[c & 15];
  }
  return out;
}

std::string random_hex_id() {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  std::string id;
  id.reserve(32);
  for (int i = 0; i < 2; ++i) {
    uint64_t v = rng();
    for (int j = 0; j < 16; ++j, v >>= 4) id += kHexDigits[v & 15];
  }
  return id;
}

}  // namespace kr
