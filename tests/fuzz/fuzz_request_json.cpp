// Request bodies as the routes read them: parse_json_body, then the field readers of search/ask/
// chat/upload bodies. Every answer, error or not, must serialize (nlohmann's dump() throws on
// invalid UTF-8, which in a handler would be a 500 or worse).
#include <httplib.h>

#include "api/http_util.h"
#include "api/json_mapping.h"
#include "fuzz_common.h"

namespace api = kr::api;

namespace {

void must_serialize(const kr::Status& status) {
  if (!status.ok()) (void)api::error_json(status).dump();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  httplib::Request req;
  req.body.assign(reinterpret_cast<const char*>(data), size);
  req.headers.emplace("Content-Type", "application/json");
  auto body = api::parse_json_body(req, 1 << 20);
  if (!body) {
    must_serialize(body.status());
    return 0;
  }
  for (const char* field : {"query", "question", "model"}) {
    auto text = api::required_string(*body, field);
    must_serialize(text.status());
  }
  must_serialize(api::optional_int(*body, "top_k", 8, 1, 100).status());
  must_serialize(api::optional_double(*body, "temperature", 0.0, 0.0, 2.0).status());
  must_serialize(api::optional_bool(*body, "stream", false).status());
  kr::service::SearchRequest request;
  must_serialize(api::read_retrieval_options(*body, request));
  if (body->contains("filter")) {
    auto filter = api::filter_from_json((*body)["filter"]);
    must_serialize(filter.status());
  }
  if (body->contains("metadata")) {
    auto metadata = api::metadata_from_json((*body)["metadata"]);
    must_serialize(metadata.status());
    if (metadata) (void)api::to_json(*metadata).dump();
  }
  return 0;
}
