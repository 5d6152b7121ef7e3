// HTTP(S) GET for URL and blob sources, safe against server-side request forgery: the host is
// resolved once and every resolved address checked against the AddressPolicy, the connection
// goes to that checked address (no second lookup a rebinding DNS could answer differently),
// each redirect is checked the same way, and the body is capped in bytes and time.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "core/status.h"
#include "sources/address_policy.h"

namespace kr::sources {

struct HttpLimits {
  int64_t max_bytes = 64ll << 20;
  double timeout_seconds = 30;  // connect, each read, and the whole transfer
  int max_redirects = 5;
  std::string ca_file;  // https: PEM CA certificates trusted instead of the system's; "" = the system's
};

struct HttpReply {
  int status = 0;
  std::map<std::string, std::string> headers;  // names lower-cased
  std::string body;
  std::string url;  // after redirects
};

struct ParsedUrl {
  std::string scheme;  // http | https
  std::string host;    // without brackets for IPv6
  int port = 0;
  std::string target;  // path + query, "/" at least
  std::string origin() const;
};
Result<ParsedUrl> parse_url(const std::string& url);
// `location` (absolute, scheme-relative, absolute-path, query-only or relative) against `base`.
std::string resolve_url(const ParsedUrl& base, const std::string& location);

// Any status is a reply (the caller judges it); errors: kInvalidArgument (bad URL),
// kPermissionDenied (refused address), kUnavailable (connect/read failed), kTooLarge,
// kDeadlineExceeded.
Result<HttpReply> safe_get(const std::string& url, const std::vector<std::pair<std::string, std::string>>& headers,
                           const AddressPolicy& policy, const HttpLimits& limits);

}  // namespace kr::sources
