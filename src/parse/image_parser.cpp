// Images (PNG, JPEG, TIFF incl. multi-page, GIF, WebP): text by OCR, one page
// per image or TIFF page, mean confidence kept as a warning.
#include <algorithm>

#include "parse/ocr.h"
#include "parse/parse_internal.h"

namespace kr::parse::internal {

Result<ParsedDocument> parse_image(std::string_view bytes, const ParseContext& ctx) {
  if (!ctx.limits().ocr_enabled) {
    return error(ErrorCode::kUnsupported, "image file, and OCR is turned off (enable parse_ocr to read text in images)");
  }
  OcrEngine ocr(ctx);
  auto pages = ocr.recognize_pages(bytes, std::min(ctx.limits().ocr_seconds_per_page, ctx.seconds_left()));
  if (!pages.is_ok()) return pages.status();
  ParsedDocument doc;
  doc.page_count = static_cast<int>(pages->size());
  BlockSink sink(doc);
  for (size_t i = 0; i < pages->size(); ++i) {
    const int page = static_cast<int>(i + 1);
    const OcrPage& result = (*pages)[i];
    const size_t before = doc.blocks.size();
    add_ocr_paragraphs(result.text, page, sink);
    if (doc.blocks.size() == before) {
      doc.pages_needing_ocr.push_back(page);
      doc.warnings.push_back("page " + std::to_string(page) + ": OCR found no text in the image");
    } else {
      doc.warnings.push_back(ocr_note(pages->size() > 1 ? page : 0, result, ocr.language()));
    }
  }
  return doc;
}

}  // namespace kr::parse::internal
