// The SSE parser of the model client: any bytes, fed whole or cut into arbitrary pieces (as TCP
// delivers them), give the same events.
#include "fuzz_common.h"
#include "generate/llm_client.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const size_t step = 1 + data[0] % 17;  // piece sizes cycle through step, step+1, ...
  const std::string_view stream = kr::fuzz::as_view(data + 1, size - 1);

  kr::generate::SseParser whole;
  const std::vector<std::string> expected = whole.feed(stream);

  kr::generate::SseParser pieces;
  std::vector<std::string> got;
  size_t at = 0, n = step;
  while (at < stream.size()) {
    const size_t len = std::min(n, stream.size() - at);
    for (auto& event : pieces.feed(stream.substr(at, len))) got.push_back(std::move(event));
    at += len;
    n = n % 23 + 1;
  }
  KR_FUZZ_CHECK(got == expected);
  return 0;
}
