// OCR with Tesseract for pages that have no text layer: scanned PDF pages
// (rendered by poppler) and image files. Runs wherever the parser runs, i.e.
// inside the parse worker process when isolation is on.
// Not thread-safe: one OcrEngine per parse.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"
#include "parse/parse_internal.h"

struct Pix;  // leptonica
namespace tesseract {
class TessBaseAPI;
}

namespace kr::parse::internal {

struct OcrPage {
  std::string text;         // Tesseract's UTF-8 text: lines, blank lines between paragraphs
  int mean_confidence = 0;  // 0..100, Tesseract's mean word confidence
  bool timed_out = false;   // the page budget ran out; `text` holds what was recognised
};

// A grayscale or colour bitmap: 1 (gray) or 4 (BGRA/XRGB) bytes per pixel.
struct Bitmap {
  const unsigned char* data = nullptr;
  int width = 0;
  int height = 0;
  int bytes_per_pixel = 1;
  int bytes_per_line = 0;
  int dpi = 300;
};

class OcrEngine {
 public:
  // Loads the language data lazily on first use; kUnsupported with the Debian
  // package to install when a language is missing, kInvalidArgument for a
  // malformed language list.
  explicit OcrEngine(const ParseContext& ctx);
  ~OcrEngine();
  OcrEngine(const OcrEngine&) = delete;
  OcrEngine& operator=(const OcrEngine&) = delete;

  Result<OcrPage> recognize(const Bitmap& bitmap, double budget_seconds);
  // An encoded image (PNG, JPEG, GIF, WebP, BMP) decoded by leptonica, or every
  // page of a multi-page TIFF.
  Result<std::vector<OcrPage>> recognize_pages(std::string_view image_bytes, double budget_seconds_per_page);

  // "eng", "eng+deu": the languages used.
  const std::string& language() const { return language_; }

 private:
  Status init();
  Result<OcrPage> recognize_pix(Pix* pix, double budget_seconds);
  OcrPage run(double budget_seconds);
  const ParseContext& ctx_;
  std::string language_;
  std::unique_ptr<tesseract::TessBaseAPI> api_;
  Status init_status_;
  bool initialized_ = false;
};

// Letters, digits and '_' per language, '+' between languages: safe as tessdata file names.
bool valid_language_list(std::string_view languages);

// Tesseract output to paragraph blocks (lines joined, hyphenation undone) on `page`.
void add_ocr_paragraphs(std::string_view text, int page, BlockSink& sink);

// Warning text recording OCR confidence, e.g. "page 2: text from OCR (eng), mean confidence 91%".
std::string ocr_note(int page, const OcrPage& result, std::string_view language);

}  // namespace kr::parse::internal
