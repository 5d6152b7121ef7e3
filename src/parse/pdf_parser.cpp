// PDF via poppler-cpp: one pass over the pages, text split into paragraphs,
// pages without text reported for OCR.
#include <poppler-document.h>
#include <poppler-global.h>
#include <poppler-page.h>

#include <algorithm>
#include <limits>
#include <memory>
#include <mutex>
#include <vector>

#include "core/text.h"
#include "parse/parse_internal.h"

namespace kr::parse::internal {
namespace {

void silence_poppler() {
  static std::once_flag once;
  std::call_once(once, [] { poppler::set_debug_error_function([](const std::string&, void*) {}, nullptr); });
}

std::string_view strip_cr(std::string_view line) {
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  return line;
}

// Poppler gives lines, not paragraphs. A paragraph ends at a blank line or at
// a line clearly shorter than the page's full lines (the ragged last line of a
// paragraph, or a heading); lines in between are joined with spaces.
void add_page_paragraphs(std::string_view text, int page, BlockSink& sink) {
  std::vector<std::string_view> lines;
  for (size_t start = 0; start <= text.size();) {
    size_t end = text.find_first_of("\n\f", start);
    if (end == std::string_view::npos) end = text.size();
    lines.push_back(trim(strip_cr(text.substr(start, end - start))));
    start = end + 1;
  }
  std::vector<size_t> lengths;
  for (const auto line : lines) {
    if (!line.empty()) lengths.push_back(line.size());
  }
  if (lengths.empty()) return;
  // The 90th percentile: robust against a few overlong table lines.
  std::sort(lengths.begin(), lengths.end());
  const size_t full = lengths[lengths.size() * 9 / 10];
  std::string paragraph;
  for (const std::string_view line : lines) {
    if (line.empty()) {
      sink.add(paragraph, BlockKind::kParagraph, page);
      paragraph.clear();
      continue;
    }
    if (!paragraph.empty()) {
      // A word hyphenated across lines is joined back; other lines get a space.
      const auto before = static_cast<unsigned char>(paragraph.size() > 1 ? paragraph[paragraph.size() - 2] : ' ');
      if (paragraph.back() == '-' && std::isalpha(before)) {
        paragraph.pop_back();
      } else {
        paragraph += ' ';
      }
    }
    paragraph += line;
    if (line.size() * 10 < full * 7) {
      sink.add(paragraph, BlockKind::kParagraph, page);
      paragraph.clear();
    }
  }
  sink.add(paragraph, BlockKind::kParagraph, page);
}

}  // namespace

Result<ParsedDocument> parse_pdf(std::string_view bytes, const ParseContext& ctx) {
  silence_poppler();
  if (bytes.size() > static_cast<size_t>(std::numeric_limits<int>::max())) {
    return error(ErrorCode::kTooLarge, "PDF is larger than 2 GiB");
  }
  std::unique_ptr<poppler::document> pdf(
      poppler::document::load_from_raw_data(bytes.data(), static_cast<int>(bytes.size())));
  if (!pdf) {
    return error(ErrorCode::kCorruptInput, "PDF is damaged or truncated and could not be opened");
  }
  if (pdf->is_locked()) {
    return error(ErrorCode::kEncrypted,
                 "PDF is password-protected; remove the password (e.g. print to PDF or qpdf --decrypt) "
                 "and upload again");
  }
  ParsedDocument doc;
  const int pages = pdf->pages();
  if (pages <= 0) return error(ErrorCode::kCorruptInput, "PDF has no readable pages (damaged page tree)");
  if (pages > ctx.limits().max_pages) {
    return error(ErrorCode::kTooLarge, "PDF has " + std::to_string(pages) + " pages, more than the limit of " +
                                           std::to_string(ctx.limits().max_pages));
  }
  doc.page_count = pages;
  const poppler::ustring title = pdf->info_key("Title");
  if (!title.empty()) {
    const poppler::byte_array utf8 = title.to_utf8();
    doc.title = std::string(trim(collapse_whitespace(sanitize_utf8(std::string_view(utf8.data(), utf8.size())))));
  }
  BlockSink sink(doc);
  for (int i = 0; i < pages; ++i) {
    KR_RETURN_IF_ERROR(ctx.check_deadline("reading page " + std::to_string(i + 1)));
    std::unique_ptr<poppler::page> page(pdf->create_page(i));
    std::string text;
    if (page) {
      const poppler::byte_array utf8 = page->text(poppler::rectf(), poppler::page::raw_order_layout).to_utf8();
      text.assign(utf8.data(), utf8.size());
    }
    const size_t before = doc.blocks.size();
    add_page_paragraphs(sanitize_utf8(text), i + 1, sink);
    if (doc.blocks.size() == before) {
      doc.pages_needing_ocr.push_back(i + 1);
      doc.warnings.push_back("page " + std::to_string(i + 1) + " has no extractable text (scanned image?) — needs OCR");
    }
  }
  return doc;
}

}  // namespace kr::parse::internal
