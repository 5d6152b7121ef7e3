// PDF via poppler-cpp: one pass over the pages, text split into paragraphs,
// pages without a text layer recognised by OCR (or reported when OCR cannot run).
#include <poppler-document.h>
#include <poppler-global.h>
#include <poppler-page-renderer.h>
#include <poppler-page.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <memory>
#include <mutex>
#include <vector>

#include "core/text.h"
#include "parse/ocr.h"
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

// Rendered pages above this size are drawn at a lower resolution (a poster-sized
// page at 300 dpi would be hundreds of megapixels).
constexpr double kMaxRenderMegapixels = 40.0;

// OCR for pages without a text layer: render in gray at the configured
// resolution, recognise within the page budget. Problems that concern every
// page (language data missing, no time left) are reported once and stop OCR.
// True when no pixel is dark enough to be ink: empty pages skip recognition.
bool blank(const poppler::image& gray) {
  const auto* data = reinterpret_cast<const unsigned char*>(gray.const_data());
  for (int y = 0; y < gray.height(); ++y) {
    const unsigned char* row = data + static_cast<size_t>(y) * static_cast<size_t>(gray.bytes_per_row());
    for (int x = 0; x < gray.width(); ++x) {
      if (row[x] < 128) return false;
    }
  }
  return true;
}

class PdfOcr {
 public:
  explicit PdfOcr(const ParseContext& ctx) : ctx_(ctx), engine_(ctx) {}

  // True when the page got text from OCR.
  bool run(const poppler::page& page, int number, ParsedDocument& doc, BlockSink& sink) {
    if (stopped_ || !ctx_.limits().ocr_enabled) return false;
    // Leave a second of the file's budget for the remaining pages' text layer.
    const double budget = std::min(ctx_.limits().ocr_seconds_per_page, ctx_.seconds_left() - 1.0);
    if (budget < 1.0) {
      stop(doc, "OCR stopped at page " + std::to_string(number) + ": the file's parse time limit is reached; "
                "raise parse_max_seconds to OCR every page");
      return false;
    }
    const poppler::rectf box = page.page_rect();
    double dpi = ctx_.limits().ocr_dpi;
    const double megapixels = box.width() * box.height() / (72.0 * 72.0) * dpi * dpi / 1e6;
    if (megapixels > kMaxRenderMegapixels) dpi *= std::sqrt(kMaxRenderMegapixels / megapixels);
    poppler::page_renderer renderer;
    renderer.set_image_format(poppler::image::format_gray8);
    renderer.set_render_hints(poppler::page_renderer::antialiasing | poppler::page_renderer::text_antialiasing);
    const poppler::image image = renderer.render_page(&page, dpi, dpi);
    if (!image.is_valid() || blank(image)) return false;
    const Bitmap bitmap{reinterpret_cast<const unsigned char*>(image.const_data()), image.width(), image.height(), 1,
                        image.bytes_per_row(), static_cast<int>(dpi)};
    auto result = engine_.recognize(bitmap, budget);
    if (!result.is_ok()) {
      stop(doc, "OCR is unavailable: " + result.status().message());
      return false;
    }
    const size_t before = doc.blocks.size();
    add_ocr_paragraphs(result->text, number, sink);
    if (doc.blocks.size() == before) return false;
    doc.warnings.push_back(ocr_note(number, *result, engine_.language()));
    return true;
  }

 private:
  void stop(ParsedDocument& doc, std::string why) {
    stopped_ = true;
    doc.warnings.push_back(std::move(why));
  }

  const ParseContext& ctx_;
  OcrEngine engine_;
  bool stopped_ = false;
};

}  // namespace

Result<ParsedDocument> parse_pdf(std::string_view bytes, const ParseContext& ctx) {
  silence_poppler();
  if (bytes.size() > static_cast<size_t>(std::numeric_limits<int>::max())) {
    return error(ErrorCode::kTooLarge, "PDF is larger than 2 GiB");
  }
  // One password serves as user or owner password: people know "the" password.
  const std::string password(ctx.password());
  std::unique_ptr<poppler::document> pdf(
      poppler::document::load_from_raw_data(bytes.data(), static_cast<int>(bytes.size()), password, password));
  if (!pdf) {
    return error(ErrorCode::kCorruptInput, "PDF is damaged or truncated and could not be opened");
  }
  if (pdf->is_locked() && !password.empty()) {
    return error(ErrorCode::kEncrypted, "the password given does not open this PDF; check it and upload again");
  }
  if (pdf->is_locked()) {
    return error(ErrorCode::kEncrypted,
                 "PDF is password-protected; upload it again with its password (form field 'password'; CLI: ingest "
                 "--password-file) "
                 "or remove the password (e.g. qpdf --decrypt)");
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
  std::unique_ptr<PdfOcr> ocr;  // created at the first page without text
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
    if (doc.blocks.size() != before) continue;
    if (page) {
      if (!ocr) ocr = std::make_unique<PdfOcr>(ctx);
      if (ocr->run(*page, i + 1, doc, sink)) continue;
    }
    doc.pages_needing_ocr.push_back(i + 1);
    doc.warnings.push_back("page " + std::to_string(i + 1) + " has no extractable text (scanned image?) — needs OCR");
  }
  return doc;
}

}  // namespace kr::parse::internal
