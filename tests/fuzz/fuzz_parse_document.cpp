// Every parser through the real entry point: format detection, then the format's parser.
// The seeds' extensions matter only as tie-breakers (see detect_format); the name is fixed.
#include "fuzz_common.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto doc = kr::parse::parse_document(kr::fuzz::as_view(data, size), "input.bin", kr::fuzz::fuzz_limits());
  if (doc) kr::fuzz::check_document(*doc);
  return 0;
}
