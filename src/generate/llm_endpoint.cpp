// Base-URL parsing for OpenAI-compatible servers: upstream::parse_http_url plus the /v1 rule.
#include <string>
#include <string_view>

#include "generate/llm_client.h"
#include "upstream/http_url.h"

namespace kr::generate {

std::string LlmEndpoint::origin() const { return upstream::HttpUrl{scheme, host, port, {}}.origin(); }

std::string LlmEndpoint::api_url() const { return origin() + api_prefix; }

Result<LlmEndpoint> parse_llm_url(std::string_view base_url) {
  auto url = upstream::parse_http_url(base_url, "language model", "expected e.g. http://host:port/v1; set --llm-url");
  if (!url) return url.status();
  LlmEndpoint ep;
  ep.scheme = url->scheme;
  ep.host = url->host;
  ep.port = url->port;
  const std::string_view path = url->path;
  if (upstream::ends_with(path, "/v1")) {
    ep.api_prefix = std::string(path);
    ep.root_prefix = std::string(path.substr(0, path.size() - 3));
  } else {
    ep.root_prefix = std::string(path);
    ep.api_prefix = ep.root_prefix + "/v1";
  }
  return ep;
}

}  // namespace kr::generate
