#include "upstream/http_url.h"

#include <algorithm>
#include <cctype>

#include "core/text.h"

namespace kr::upstream {

namespace {

bool all_digits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

}  // namespace

bool ends_with(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

std::string HttpUrl::origin() const {
  const bool ipv6 = host.find(':') != std::string::npos;
  return scheme + "://" + (ipv6 ? "[" + host + "]" : host) + ":" + std::to_string(port);
}

Result<HttpUrl> parse_http_url(std::string_view raw, std::string_view what, std::string_view hint) {
  const std::string_view url = trim(raw);
  const auto bad = [&](std::string_view why) {
    return error(ErrorCode::kInvalidArgument, "invalid " + std::string(what) + " URL '" + std::string(url) +
                                                  "': " + std::string(why) + " (" + std::string(hint) + ")");
  };
  if (url.empty()) {
    return error(ErrorCode::kInvalidArgument, "no " + std::string(what) + " URL is set (" + std::string(hint) + ")");
  }
  if (url.find_first_of("?#") != std::string_view::npos) return bad("a query or fragment is not allowed");

  HttpUrl out;
  std::string_view rest = url;
  if (const size_t sep = rest.find("://"); sep != std::string_view::npos) {
    out.scheme = std::string(rest.substr(0, sep));
    std::transform(out.scheme.begin(), out.scheme.end(), out.scheme.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    rest.remove_prefix(sep + 3);
  } else {
    out.scheme = "http";  // "host:port" is common in CLI use
  }
  if (out.scheme != "http" && out.scheme != "https") return bad("the scheme must be http or https");

  const size_t slash = rest.find('/');
  const std::string_view authority = rest.substr(0, slash);
  std::string_view path = slash == std::string_view::npos ? std::string_view() : rest.substr(slash);
  if (authority.find('@') != std::string_view::npos) {
    return bad("credentials in the URL are not supported; use the API key setting");
  }

  std::string_view host = authority;
  std::string_view port;
  if (!authority.empty() && authority.front() == '[') {
    const size_t close = authority.find(']');
    if (close == std::string_view::npos) return bad("unterminated IPv6 address");
    host = authority.substr(1, close - 1);
    const std::string_view after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') return bad("unexpected text after the IPv6 address");
      port = after.substr(1);
    }
  } else if (const size_t colon = authority.rfind(':'); colon != std::string_view::npos) {
    host = authority.substr(0, colon);
    port = authority.substr(colon + 1);
  }
  if (host.empty()) return bad("the host is missing");
  out.host = std::string(host);

  out.port = out.scheme == "https" ? 443 : 80;
  if (!port.empty()) {
    if (port.size() > 5 || !all_digits(port)) return bad("the port is not a number");
    out.port = std::stoi(std::string(port));
    if (out.port < 1 || out.port > 65535) return bad("the port is out of range");
  }
  while (!path.empty() && path.back() == '/') path.remove_suffix(1);
  out.path = std::string(path);
  return out;
}

}  // namespace kr::upstream
