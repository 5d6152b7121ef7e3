// Plain text: decode, then one paragraph block per run of non-blank lines.
#include "core/text.h"
#include "parse/parse_internal.h"

namespace kr::parse::internal {
namespace {

// A paragraph this long (e.g. a log without blank lines) is cut at a line end
// so one block never holds a whole book.
constexpr size_t kMaxParagraphBytes = 16 * 1024;

}  // namespace

Result<ParsedDocument> parse_text(std::string_view bytes, const ParseContext&) {
  ParsedDocument doc;
  const DecodedText decoded = decode_text(bytes);
  if (decoded.encoding == "cp1252") doc.warnings.push_back("text is not valid UTF-8; decoded as Windows-1252");
  BlockSink sink(doc);
  std::string paragraph;
  const std::string_view text = decoded.utf8;
  size_t start = 0;
  while (start <= text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(start, end - start);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (trim(line).empty()) {
      sink.add(paragraph, BlockKind::kParagraph);
      paragraph.clear();
    } else {
      if (!paragraph.empty()) paragraph += '\n';
      paragraph += line;
      if (paragraph.size() > kMaxParagraphBytes) {
        sink.add(paragraph, BlockKind::kParagraph);
        paragraph.clear();
      }
    }
    start = end + 1;
  }
  sink.add(paragraph, BlockKind::kParagraph);
  return doc;
}

}  // namespace kr::parse::internal
