#include "fuzz_common.h"

#include <string>

namespace kr::fuzz {
bool valid_utf8(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    size_t n = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xE ? 3 : (c >> 3) == 0x1E ? 4 : 0;
    if (n == 0 || i + n > s.size()) return false;
    for (size_t k = 1; k < n; ++k) {
      if ((static_cast<unsigned char>(s[i + k]) & 0xC0) != 0x80) return false;
    }
    i += n;
  }
  return true;
}

namespace {

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

}  // namespace

void check_document(const parse::ParsedDocument& doc) {
  const std::string text = parse::full_text(doc);
  for (const auto& block : doc.blocks) {
    KR_FUZZ_CHECK(!block.text.empty());
    KR_FUZZ_CHECK(valid_utf8(block.text));
    KR_FUZZ_CHECK(block.text.find('\0') == std::string::npos);
    KR_FUZZ_CHECK(!is_space(block.text.front()) && !is_space(block.text.back()));
    KR_FUZZ_CHECK(block.char_end == block.char_begin + block.text.size());
    KR_FUZZ_CHECK(text.compare(block.char_begin, block.text.size(), block.text) == 0);
    for (const auto& heading : block.heading_path) KR_FUZZ_CHECK(valid_utf8(heading));
  }
  KR_FUZZ_CHECK(valid_utf8(doc.title));
}

}  // namespace kr::fuzz
