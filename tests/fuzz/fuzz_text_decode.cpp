// Text decoding: BOM/UTF-16/UTF-8/cp1252 detection must always give valid UTF-8, and the text
// parser on top of it a valid document.
#include "fuzz_common.h"
#include "parse/parse_internal.h"

namespace internal = kr::parse::internal;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view bytes = kr::fuzz::as_view(data, size);
  (void)internal::looks_binary(bytes);
  const internal::DecodedText decoded = internal::decode_text(bytes);
  KR_FUZZ_CHECK(!decoded.encoding.empty());
  KR_FUZZ_CHECK(kr::fuzz::valid_utf8(decoded.utf8));
  KR_FUZZ_CHECK(kr::fuzz::valid_utf8(internal::cp1252_to_utf8(bytes)));
  try {  // as parse_document(): exceptions are per-file errors, offsets are set afterwards
    const internal::ParseContext ctx(kr::fuzz::fuzz_limits());
    auto doc = internal::parse_text(bytes, ctx);
    if (!doc) return 0;
    kr::parse::finalize_offsets(*doc);
    kr::fuzz::check_document(*doc);
  } catch (const std::exception&) {
  }
  return 0;
}
