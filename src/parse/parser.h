// Entry point of the parse module: bytes in, ParsedDocument or a per-file error out.
// Thread-safety: every function here is safe to call concurrently.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "core/status.h"
#include "parse/document.h"

namespace kr::parse {

// Hard limits that protect the process from hostile or broken input, and the
// OCR settings (they travel to the parse worker with the limits).
struct Limits {
  uint64_t max_file_bytes = 256ull << 20;          // larger files are rejected (kTooLarge)
  uint64_t max_zip_total_bytes = 512ull << 20;     // sum of uncompressed zip members read
  double max_zip_ratio = 200.0;                    // uncompressed/compressed per member (zip bombs)
  int max_xml_depth = 256;                         // nesting depth in XML/HTML
  int max_pages = 5000;                            // PDF pages / slides / sheets
  double max_seconds_per_file = 60.0;              // checked between pages/members (kDeadlineExceeded)
  // OCR of scanned PDF pages and images (Tesseract). Pages OCR cannot reach in
  // time stay listed in pages_needing_ocr instead of failing the file.
  bool ocr_enabled = true;
  std::string ocr_language = "eng";                // Tesseract languages, e.g. "eng+deu"
  double ocr_seconds_per_page = 20.0;              // recognition budget per page/image
  int ocr_dpi = 300;                               // rendering resolution of scanned PDF pages
};

// Detects the format from the bytes (magic numbers, zip members, markup sniffing);
// the file name's extension is only a tie-breaker between text-like formats
// (text vs markdown vs csv).
Format detect_format(std::string_view bytes, std::string_view file_name);

// Parses one file. Errors carry a code (kEncrypted, kCorruptInput, kUnsupported,
// kTooLarge, kDeadlineExceeded, kInvalidArgument for empty files) and a message a
// person can act on, e.g. "PDF is password-protected; remove the password and upload again".
// `password` opens a password-protected PDF (tried as user and as owner
// password) or OOXML file (Agile or Standard AES encryption); it is used for
// this call only, never stored or logged.
Result<ParsedDocument> parse_document(std::string_view bytes, std::string_view file_name,
                                      const Limits& limits = {}, std::string_view password = {});

}  // namespace kr::parse
