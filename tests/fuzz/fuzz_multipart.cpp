// multipart/form-data upload bodies through the server's own streaming reader
// (api/multipart_reader.h), the parser every upload goes through. The input is the body with the
// boundary "kr-fuzz-boundary"; its length picks the feed size (1-64 bytes), so delimiters and
// headers split across feeds are explored. The property: feeding in pieces yields exactly what
// feeding the whole body at once does (same parts, bytes and verdict), and a "metadata" field
// goes through the route's JSON mapping.
#include <nlohmann/json.hpp>

#include <algorithm>
#include <string>
#include <vector>

#include "api/json_mapping.h"
#include "api/multipart_reader.h"
#include "fuzz_common.h"

namespace {

constexpr const char* kBoundary = "kr-fuzz-boundary";

struct Part {
  kr::api::MultipartPartHeader header;
  std::string data;
};

class CollectingSink final : public kr::api::MultipartSink {
 public:
  kr::Status begin_part(const kr::api::MultipartPartHeader& header) override {
    parts.push_back({header, {}});
    return kr::Status::ok();
  }
  kr::Status part_data(std::string_view bytes) override {
    KR_FUZZ_CHECK(!parts.empty());
    parts.back().data.append(bytes);
    return kr::Status::ok();
  }
  kr::Status end_part() override { return kr::Status::ok(); }
  std::vector<Part> parts;
};

struct Outcome {
  bool ok = false;
  std::vector<Part> parts;
};

Outcome read_body(std::string_view body, size_t piece) {
  kr::api::MultipartLimits limits;
  limits.max_parts = 64;
  CollectingSink sink;
  kr::api::MultipartReader reader(kBoundary, limits, sink);
  kr::Status status = kr::Status::ok();
  for (size_t at = 0; status && at < body.size(); at += piece) status = reader.feed(body.substr(at, piece));
  if (status) status = reader.finish();
  return {static_cast<bool>(status), std::move(sink.parts)};
}

bool same(const Outcome& a, const Outcome& b) {
  if (a.ok != b.ok) return false;
  if (!a.ok) return true;  // an error may be found at different parts, after different bytes
  if (a.parts.size() != b.parts.size()) return false;
  for (size_t i = 0; i < a.parts.size(); ++i) {
    const auto& x = a.parts[i];
    const auto& y = b.parts[i];
    if (x.data != y.data || x.header.name != y.header.name || x.header.filename != y.header.filename ||
        x.header.content_type != y.header.content_type)
      return false;
  }
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view body(reinterpret_cast<const char*>(data), size);
  const size_t piece = 1 + size % 64;
  const Outcome whole = read_body(body, std::max<size_t>(size, 1));
  const Outcome pieces = read_body(body, piece);
  KR_FUZZ_CHECK(same(whole, pieces));
  for (const Part& part : whole.parts) {
    if (part.header.name != "metadata") continue;
    auto value = nlohmann::json::parse(part.data, nullptr, false);
    if (value.is_discarded()) continue;
    auto metadata = kr::api::metadata_from_json(value);
    if (metadata) (void)kr::api::to_json(*metadata).dump();
    else (void)kr::api::error_json(metadata.status()).dump();
  }
  (void)kr::api::multipart_boundary(body.substr(0, std::min<size_t>(size, 200)));
  return 0;
}
