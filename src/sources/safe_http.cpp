#include "sources/safe_http.h"

#include <httplib.h>
#include <netdb.h>
#include <sys/socket.h>

#include <algorithm>
#include <chrono>
#include <cctype>

namespace kr::sources {

namespace {

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

// Every address `host` resolves to, each checked: one refused address refuses the host.
Result<std::string> resolve_checked(const std::string& host, const AddressPolicy& policy) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  if (int rc = ::getaddrinfo(host.c_str(), nullptr, &hints, &found); rc != 0) {
    return error(ErrorCode::kUnavailable, "cannot resolve " + host + ": " + gai_strerror(rc));
  }
  std::vector<std::string> addresses;
  for (addrinfo* a = found; a; a = a->ai_next) {
    char text[NI_MAXHOST];
    if (::getnameinfo(a->ai_addr, a->ai_addrlen, text, sizeof text, nullptr, 0, NI_NUMERICHOST) == 0) {
      addresses.emplace_back(text);
    }
  }
  ::freeaddrinfo(found);
  if (addresses.empty()) return error(ErrorCode::kUnavailable, "no address for " + host);
  for (const auto& address : addresses) {
    if (Status allowed = policy.check(address); !allowed) {
      return error(ErrorCode::kPermissionDenied, host + ": " + allowed.message());
    }
  }
  return addresses.front();
}

}  // namespace

std::string resolve_url(const ParsedUrl& base, const std::string& location) {
  if (location.find("://") != std::string::npos) return location;
  if (location.rfind("//", 0) == 0) return base.scheme + ":" + location;
  if (!location.empty() && location[0] == '/') return base.origin() + location;
  const std::string path = base.target.substr(0, base.target.find('?'));
  if (!location.empty() && location[0] == '?') return base.origin() + path + location;
  const std::string dir = path.substr(0, path.find_last_of('/') + 1);
  return base.origin() + dir + location;
}

std::string ParsedUrl::origin() const {
  const bool v6 = host.find(':') != std::string::npos;
  const std::string h = v6 ? "[" + host + "]" : host;
  const bool default_port = (scheme == "http" && port == 80) || (scheme == "https" && port == 443);
  return scheme + "://" + h + (default_port ? "" : ":" + std::to_string(port));
}

Result<ParsedUrl> parse_url(const std::string& url) {
  auto bad = [&](const std::string& why) {
    return error(ErrorCode::kInvalidArgument, "'" + url + "' is not a usable URL: " + why);
  };
  const size_t sep = url.find("://");
  if (sep == std::string::npos) return bad("expected http://host/path or https://host/path");
  ParsedUrl p;
  p.scheme = lower(url.substr(0, sep));
  if (p.scheme != "http" && p.scheme != "https") return bad("only http and https are fetched");
  const size_t host_begin = sep + 3;
  const size_t path_begin = url.find_first_of("/?#", host_begin);
  std::string authority = url.substr(host_begin, path_begin == std::string::npos ? std::string::npos
                                                                                  : path_begin - host_begin);
  if (authority.find('@') != std::string::npos) return bad("credentials in the URL are not accepted");
  std::string port_text;
  if (!authority.empty() && authority[0] == '[') {
    const size_t close = authority.find(']');
    if (close == std::string::npos) return bad("unclosed IPv6 bracket");
    p.host = authority.substr(1, close - 1);
    if (close + 1 < authority.size()) {
      if (authority[close + 1] != ':') return bad("junk after the IPv6 address");
      port_text = authority.substr(close + 2);
    }
  } else {
    const size_t colon = authority.rfind(':');
    p.host = authority.substr(0, colon);
    if (colon != std::string::npos) port_text = authority.substr(colon + 1);
  }
  if (p.host.empty()) return bad("no host");
  p.port = p.scheme == "https" ? 443 : 80;
  if (!port_text.empty()) {
    if (port_text.size() > 5 || !std::all_of(port_text.begin(), port_text.end(), ::isdigit)) return bad("bad port");
    p.port = std::stoi(port_text);
    if (p.port < 1 || p.port > 65535) return bad("bad port");
  }
  p.target = path_begin == std::string::npos ? "/" : url.substr(path_begin);
  if (const size_t hash = p.target.find('#'); hash != std::string::npos) p.target.resize(hash);
  if (p.target.empty() || p.target[0] != '/') p.target = "/" + p.target;
  return p;
}

Result<HttpReply> safe_get(const std::string& start_url,
                           const std::vector<std::pair<std::string, std::string>>& headers,
                           const AddressPolicy& policy, const HttpLimits& limits) {
  using clock = std::chrono::steady_clock;
  const auto deadline = clock::now() + std::chrono::duration_cast<clock::duration>(
                                           std::chrono::duration<double>(limits.timeout_seconds));
  std::string url = start_url;
  for (int hop = 0;; ++hop) {
    auto parsed = parse_url(url);
    if (!parsed) return parsed.status();
    auto address = resolve_checked(parsed->host, policy);
    if (!address) return address.status();

    httplib::Client client(parsed->origin());
    client.set_hostname_addr_map({{parsed->host, *address}});  // connect to the checked address only
    const auto seconds = static_cast<time_t>(limits.timeout_seconds);
    const auto micros = static_cast<time_t>((limits.timeout_seconds - static_cast<double>(seconds)) * 1e6);
    client.set_connection_timeout(seconds, micros);
    client.set_read_timeout(seconds, micros);
    if (!limits.ca_file.empty()) client.set_ca_cert_path(limits.ca_file);
    client.set_follow_location(false);  // redirects are followed here, each target checked
    httplib::Headers request_headers;
    for (const auto& [name, value] : headers) request_headers.emplace(name, value);

    HttpReply reply;
    reply.url = url;
    bool too_large = false, too_slow = false;
    auto result = client.Get(
        parsed->target, request_headers,
        [&](const httplib::Response& head) {
          const std::string length = head.get_header_value("Content-Length");
          if (!length.empty() && std::all_of(length.begin(), length.end(), ::isdigit) && length.size() < 19 &&
              std::stoll(length) > limits.max_bytes) {
            too_large = true;
            return false;
          }
          return true;
        },
        [&](const char* data, size_t length) {
          if (static_cast<int64_t>(reply.body.size() + length) > limits.max_bytes) {
            too_large = true;
            return false;
          }
          if (clock::now() > deadline) {
            too_slow = true;
            return false;
          }
          reply.body.append(data, length);
          return true;
        });
    if (too_large) {
      return error(ErrorCode::kTooLarge,
                   url + " is larger than source_max_bytes (" + std::to_string(limits.max_bytes) + " bytes)");
    }
    if (too_slow || clock::now() > deadline) {
      return error(ErrorCode::kDeadlineExceeded,
                   url + " took longer than source_timeout_seconds (" + std::to_string(limits.timeout_seconds) + " s)");
    }
    if (!result) {
      return error(ErrorCode::kUnavailable, "cannot fetch " + url + ": " + httplib::to_string(result.error()));
    }
    reply.status = result->status;
    for (const auto& [name, value] : result->headers) reply.headers[lower(name)] = value;
    const bool redirect = reply.status == 301 || reply.status == 302 || reply.status == 303 ||
                          reply.status == 307 || reply.status == 308;
    if (!redirect || !reply.headers.count("location")) return reply;
    if (hop >= limits.max_redirects) {
      return error(ErrorCode::kUnavailable, start_url + " redirects more than " +
                                                std::to_string(limits.max_redirects) + " times");
    }
    url = resolve_url(*parsed, reply.headers["location"]);
  }
}

}  // namespace kr::sources
