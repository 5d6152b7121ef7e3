#include "parse/ocr.h"
#include "parse/ocr_languages.h"

#include <leptonica/allheaders.h>
#include <tesseract/baseapi.h>
#include <tesseract/ocrclass.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <filesystem>

#include "core/text.h"

namespace kr::parse::internal {

// Language names become file names under tessdata: letters, digits, '_' and
// '+' between languages only.
bool valid_language_list(std::string_view languages) {
  if (languages.empty() || languages.size() > 128) return false;
  size_t run = 0;
  for (const char c : languages) {
    if (c == '+') {
      if (run == 0) return false;
      run = 0;
    } else if (std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '_') {
      ++run;
    } else {
      return false;
    }
  }
  return run > 0;
}

namespace {

// Decoded images larger than this are refused before leptonica allocates them
// (a 20000x20000 PNG of a few KiB would otherwise take 1.6 GB).
constexpr double kMaxMegapixels = 150.0;

struct PixDeleter {
  void operator()(Pix* pix) const { pixDestroy(&pix); }
};
using PixPtr = std::unique_ptr<Pix, PixDeleter>;

std::string_view strip_cr(std::string_view line) {
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  return line;
}

}  // namespace

OcrEngine::OcrEngine(const ParseContext& ctx) : ctx_(ctx), language_(ctx.limits().ocr_language) {}

OcrEngine::~OcrEngine() {
  if (api_) api_->End();
}

Status OcrEngine::init() {
  if (initialized_) return init_status_;
  initialized_ = true;
  if (!valid_language_list(language_)) {
    init_status_ = error(ErrorCode::kInvalidArgument,
                         "OCR language '" + language_ + "' is not a Tesseract language list such as 'eng' or 'eng+deu'");
    return init_status_;
  }
  api_ = std::make_unique<tesseract::TessBaseAPI>();
  // Tesseract's own chatter goes nowhere; results and problems come back as values.
  const std::vector<std::string> vars_names = {"debug_file"}, vars_values = {"/dev/null"};
  if (api_->Init(nullptr, language_.c_str(), tesseract::OEM_LSTM_ONLY, nullptr, 0, &vars_names, &vars_values, false) !=
      0) {
    api_.reset();
    std::string packages;
    for (size_t start = 0; start <= language_.size();) {
      size_t end = language_.find('+', start);
      if (end == std::string::npos) end = language_.size();
      packages += " tesseract-ocr-" + language_.substr(start, end - start);
      start = end + 1;
    }
    init_status_ = error(ErrorCode::kUnsupported, "OCR language data for '" + language_ +
                                                      "' is not installed (Debian:" + packages + ")");
    return init_status_;
  }
  api_->SetPageSegMode(tesseract::PSM_AUTO);
  init_status_ = Status::ok();
  return init_status_;
}

Result<OcrPage> OcrEngine::recognize(const Bitmap& bitmap, double budget_seconds) {
  KR_RETURN_IF_ERROR(init());
  api_->SetImage(bitmap.data, bitmap.width, bitmap.height, bitmap.bytes_per_pixel, bitmap.bytes_per_line);
  api_->SetSourceResolution(bitmap.dpi);
  return run(budget_seconds);
}

OcrPage OcrEngine::run(double budget_seconds) {
  tesseract::ETEXT_DESC monitor;
  monitor.set_deadline_msecs(static_cast<int32_t>(std::clamp(budget_seconds, 0.5, 3600.0) * 1000));
  OcrPage page;
  // Recognize fails when the deadline cut it short; the words found so far are kept.
  page.timed_out = api_->Recognize(&monitor) != 0 || monitor.deadline_exceeded();
  std::unique_ptr<char[]> text(api_->GetUTF8Text());
  if (text) page.text = sanitize_utf8(text.get());
  page.mean_confidence = std::max(0, api_->MeanTextConf());
  api_->Clear();
  return page;
}

Result<std::vector<OcrPage>> OcrEngine::recognize_pages(std::string_view image_bytes, double budget_seconds_per_page) {
  const auto* data = reinterpret_cast<const l_uint8*>(image_bytes.data());
  l_int32 format = 0, width = 0, height = 0, bps = 0, spp = 0, cmap = 0;
  if (pixReadHeaderMem(data, image_bytes.size(), &format, &width, &height, &bps, &spp, &cmap) != 0) {
    return error(ErrorCode::kCorruptInput, "image is damaged or in a format the OCR cannot read");
  }
  const auto too_large = [](l_int32 w, l_int32 h) { return static_cast<double>(w) * h > kMaxMegapixels * 1e6; };
  if (too_large(width, height)) {
    return error(ErrorCode::kTooLarge, "image is " + std::to_string(width) + "x" + std::to_string(height) +
                                           " pixels, more than the OCR limit of " +
                                           std::to_string(static_cast<int>(kMaxMegapixels)) + " megapixels");
  }
  KR_RETURN_IF_ERROR(init());
  std::vector<OcrPage> pages;
  if (!L_FORMAT_IS_TIFF(format)) {
    PixPtr pix(pixReadMem(data, image_bytes.size()));
    if (!pix) return error(ErrorCode::kCorruptInput, "image is damaged and could not be decoded");
    auto page = recognize_pix(pix.get(), budget_seconds_per_page);
    if (!page.is_ok()) return page.status();
    pages.push_back(std::move(*page));
    return pages;
  }
  size_t offset = 0;
  do {
    if (static_cast<int>(pages.size()) >= ctx_.limits().max_pages) {
      return error(ErrorCode::kTooLarge, "TIFF has more than " + std::to_string(ctx_.limits().max_pages) + " pages");
    }
    KR_RETURN_IF_ERROR(ctx_.check_deadline("OCR of TIFF page " + std::to_string(pages.size() + 1)));
    PixPtr pix(pixReadMemFromMultipageTiff(data, image_bytes.size(), &offset));
    if (!pix) {
      if (pages.empty()) return error(ErrorCode::kCorruptInput, "TIFF image is damaged and could not be decoded");
      break;  // a damaged later page: keep the pages read so far
    }
    if (too_large(pixGetWidth(pix.get()), pixGetHeight(pix.get()))) {
      return error(ErrorCode::kTooLarge, "a TIFF page is larger than the OCR limit of " +
                                             std::to_string(static_cast<int>(kMaxMegapixels)) + " megapixels");
    }
    auto page = recognize_pix(pix.get(), std::min(budget_seconds_per_page, ctx_.seconds_left()));
    if (!page.is_ok()) return page.status();
    pages.push_back(std::move(*page));
  } while (offset != 0);
  return pages;
}

Result<OcrPage> OcrEngine::recognize_pix(Pix* pix, double budget_seconds) {
  KR_RETURN_IF_ERROR(init());
  // Tesseract wants 8-bit gray or 32-bit colour; leptonica converts the rest.
  PixPtr converted;
  const int depth = pixGetDepth(pix);
  if (pixGetColormap(pix) != nullptr || (depth != 8 && depth != 32)) {
    converted.reset(pixConvertTo8(pix, 0));
    if (!converted) return error(ErrorCode::kCorruptInput, "image has a pixel format the OCR cannot read");
    pix = converted.get();
  }
  api_->SetImage(pix);
  // Scans often carry no or a bogus resolution; Tesseract's layout needs a plausible one.
  const int dpi = pixGetXRes(pix);
  api_->SetSourceResolution(dpi >= 70 && dpi <= 1200 ? dpi : 300);
  return run(budget_seconds);
}

void add_ocr_paragraphs(std::string_view text, int page, BlockSink& sink) {
  std::string paragraph;
  for (size_t start = 0; start <= text.size();) {
    size_t end = text.find_first_of("\n\f", start);
    if (end == std::string_view::npos) end = text.size();
    const std::string_view line = trim(strip_cr(text.substr(start, end - start)));
    start = end + 1;
    if (line.empty()) {
      sink.add(paragraph, BlockKind::kParagraph, page);
      paragraph.clear();
      continue;
    }
    if (!paragraph.empty()) {
      const auto before = static_cast<unsigned char>(paragraph.size() > 1 ? paragraph[paragraph.size() - 2] : ' ');
      if (paragraph.back() == '-' && std::isalpha(before)) paragraph.pop_back();
      else paragraph += ' ';
    }
    paragraph += line;
  }
  sink.add(paragraph, BlockKind::kParagraph, page);
}

std::string ocr_note(int page, const OcrPage& result, std::string_view language) {
  std::string note = page > 0 ? "page " + std::to_string(page) + ": " : "";
  note += "text from OCR (" + std::string(language) + "), mean confidence " + std::to_string(result.mean_confidence) + "%";
  if (result.timed_out) note += "; OCR time budget ran out, the text may be incomplete";
  return note;
}

}  // namespace kr::parse::internal

namespace kr::parse {

std::vector<std::string> installed_ocr_languages() {
  // Where Tesseract looks (ccutil.cpp): TESSDATA_PREFIX, else the path Debian builds in.
  const char* prefix = std::getenv("TESSDATA_PREFIX");
  const std::filesystem::path dir = prefix && *prefix ? prefix : "/usr/share/tesseract-ocr/5/tessdata";
  std::vector<std::string> languages;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
    const auto& path = entry.path();
    if (path.extension() == ".traineddata" && path.stem() != "osd") languages.push_back(path.stem().string());
  }
  std::sort(languages.begin(), languages.end());
  return languages;
}

Status check_ocr_languages(const std::string& languages) {
  if (languages == "off") return Status::ok();
  if (!internal::valid_language_list(languages)) {
    return error(ErrorCode::kInvalidArgument, "ocr_languages '" + languages +
                                                  "' is not a Tesseract language list such as 'eng' or 'eng+deu' "
                                                  "(or 'off')");
  }
  const auto installed = installed_ocr_languages();
  std::string missing, packages, have;
  for (size_t start = 0; start <= languages.size();) {
    const size_t end = std::min(languages.find('+', start), languages.size());
    const std::string language = languages.substr(start, end - start);
    if (!std::binary_search(installed.begin(), installed.end(), language)) {
      missing += (missing.empty() ? "" : ", ") + language;
      packages += " tesseract-ocr-" + language;
    }
    start = end + 1;
  }
  if (missing.empty()) return Status::ok();
  for (const auto& language : installed) have += (have.empty() ? "" : ", ") + language;
  return error(ErrorCode::kInvalidArgument, "OCR language data for " + missing + " is not installed (Debian:" +
                                                packages + "); installed: " + (have.empty() ? "none" : have));
}

}  // namespace kr::parse
