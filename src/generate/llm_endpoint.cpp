// Base-URL parsing for OpenAI-compatible servers.
#include <algorithm>
#include <cctype>
#include <string>
#include <string_view>

#include "core/text.h"
#include "generate/llm_client.h"

namespace kr::generate {

namespace {

Status bad_url(std::string_view url, std::string_view why) {
  return error(ErrorCode::kInvalidArgument,
               "invalid language model URL '" + std::string(url) + "': " + std::string(why) +
                   " (expected e.g. http://host:port/v1; set --llm-url)");
}

bool ends_with(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

}  // namespace

std::string LlmEndpoint::origin() const {
  const bool ipv6 = host.find(':') != std::string::npos;
  return scheme + "://" + (ipv6 ? "[" + host + "]" : host) + ":" + std::to_string(port);
}

std::string LlmEndpoint::api_url() const { return origin() + api_prefix; }

Result<LlmEndpoint> parse_llm_url(std::string_view base_url) {
  const std::string_view url = trim(base_url);
  if (url.empty()) return error(ErrorCode::kInvalidArgument, "no language model URL is set (set --llm-url)");
  if (url.find_first_of("?#") != std::string_view::npos) return bad_url(url, "a query or fragment is not allowed");

  LlmEndpoint ep;
  std::string_view rest = url;
  if (const size_t sep = rest.find("://"); sep != std::string_view::npos) {
    ep.scheme = std::string(rest.substr(0, sep));
    std::transform(ep.scheme.begin(), ep.scheme.end(), ep.scheme.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    rest.remove_prefix(sep + 3);
  } else {
    ep.scheme = "http";  // "host:port" is common in CLI use
  }
  if (ep.scheme != "http" && ep.scheme != "https") return bad_url(url, "the scheme must be http or https");

  const size_t slash = rest.find('/');
  const std::string_view authority = rest.substr(0, slash);
  std::string_view path = slash == std::string_view::npos ? std::string_view() : rest.substr(slash);
  if (authority.find('@') != std::string_view::npos) {
    return bad_url(url, "credentials in the URL are not supported; use the API key setting");
  }

  std::string_view host = authority;
  std::string_view port;
  if (!authority.empty() && authority.front() == '[') {
    const size_t close = authority.find(']');
    if (close == std::string_view::npos) return bad_url(url, "unterminated IPv6 address");
    host = authority.substr(1, close - 1);
    const std::string_view after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') return bad_url(url, "unexpected text after the IPv6 address");
      port = after.substr(1);
    }
  } else if (const size_t colon = authority.rfind(':'); colon != std::string_view::npos) {
    host = authority.substr(0, colon);
    port = authority.substr(colon + 1);
  }
  if (host.empty()) return bad_url(url, "the host is missing");
  ep.host = std::string(host);

  ep.port = ep.scheme == "https" ? 443 : 80;
  if (!port.empty()) {
    if (port.size() > 5 || !std::all_of(port.begin(), port.end(), [](char c) { return c >= '0' && c <= '9'; })) {
      return bad_url(url, "the port is not a number");
    }
    ep.port = std::stoi(std::string(port));
    if (ep.port < 1 || ep.port > 65535) return bad_url(url, "the port is out of range");
  }

  while (!path.empty() && path.back() == '/') path.remove_suffix(1);
  if (ends_with(path, "/v1")) {
    ep.api_prefix = std::string(path);
    ep.root_prefix = std::string(path.substr(0, path.size() - 3));
  } else {
    ep.root_prefix = std::string(path);
    ep.api_prefix = ep.root_prefix + "/v1";
  }
  return ep;
}

}  // namespace kr::generate
