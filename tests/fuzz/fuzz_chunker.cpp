// The chunker on arbitrary documents, checking every guarantee chunk_document() documents.
// Input: 3 option bytes, then lines; a line's first byte picks the block kind, heading level
// and page, the rest is its text (made valid like a parser would: BlockSink's rules).
#include <string>

#include "chunk/chunker.h"
#include "core/text.h"
#include "fuzz_common.h"

namespace {

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

std::string clean(std::string_view s) {
  std::string out;
  for (char c : s) out += (c == '\0') ? ' ' : c;
  size_t b = 0, e = out.size();
  while (b < e && is_space(out[b])) ++b;
  while (e > b && is_space(out[e - 1])) --e;
  return out.substr(b, e - b);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 3) return 0;
  kr::chunk::Options options;
  options.max_tokens = 8 + data[0] * 2;
  options.overlap_tokens = data[1] % 64;
  options.min_tokens = data[2] % 48;
  const std::string_view rest = kr::fuzz::as_view(data + 3, size - 3);
  if (!kr::fuzz::valid_utf8(rest)) return 0;  // parsers only ever emit valid UTF-8

  kr::parse::ParsedDocument doc;
  std::vector<std::string> headings;
  size_t start = 0;
  while (start < rest.size()) {
    size_t end = rest.find('\n', start);
    if (end == std::string_view::npos) end = rest.size();
    std::string_view line = rest.substr(start, end - start);
    start = end + 1;
    if (line.empty()) continue;
    const auto control = static_cast<unsigned char>(line[0]);
    std::string text = clean(line.substr(1));
    if (text.empty() || !kr::fuzz::valid_utf8(text)) continue;
    kr::parse::Block block;
    block.kind = static_cast<kr::parse::BlockKind>(control % 6);
    block.page = (control >> 3) % 4;
    if (block.kind == kr::parse::BlockKind::kHeading) {
      const size_t level = 1 + (control >> 5) % 3;
      headings.resize(std::min(headings.size(), level - 1));
      block.heading_path = headings;
      headings.push_back(text);
    } else {
      block.heading_path = headings;
    }
    block.text = std::move(text);
    doc.blocks.push_back(std::move(block));
  }
  kr::parse::finalize_offsets(doc);
  const std::string full = kr::parse::full_text(doc);
  const auto chunks = kr::chunk::chunk_document(doc, options);
  const auto clamped = kr::chunk::clamp_options(options);
  for (size_t i = 0; i < chunks.size(); ++i) {
    const auto& c = chunks[i];
    KR_FUZZ_CHECK(c.ordinal == static_cast<int>(i));
    KR_FUZZ_CHECK(!c.text.empty());
    KR_FUZZ_CHECK(!is_space(c.text.front()) && !is_space(c.text.back()));
    KR_FUZZ_CHECK(c.char_begin <= c.char_end && c.char_end <= full.size());
    KR_FUZZ_CHECK(full.compare(c.char_begin, c.char_end - c.char_begin, c.text) == 0);
    KR_FUZZ_CHECK(c.token_estimate == kr::estimate_tokens(c.text));
    KR_FUZZ_CHECK(c.token_estimate <= kr::chunk::max_chunk_tokens(clamped));
    KR_FUZZ_CHECK(kr::fuzz::valid_utf8(c.text));
    KR_FUZZ_CHECK(c.page_start <= c.page_end);
  }
  // Deterministic: the same input gives the same chunks.
  KR_FUZZ_CHECK(kr::chunk::chunk_document(doc, options) == chunks);
  return 0;
}
