// The XLSB parser: zip (minizip) + BIFF12 record streams (workbook, shared strings, sheets).
#include "fuzz_common.h"
#include "parse/parse_internal.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  // As parse_document() does: exceptions are per-file errors there, offsets are set afterwards.
  try {
    const kr::parse::internal::ParseContext ctx(kr::fuzz::fuzz_limits());
    auto doc = kr::parse::internal::parse_xlsb(kr::fuzz::as_view(data, size), ctx);
    if (!doc) return 0;
    kr::parse::finalize_offsets(*doc);
    kr::fuzz::check_document(*doc);
  } catch (const std::exception&) {
  }
  return 0;
}
