// The address of an upstream HTTP server (model, embeddings) from a configured URL.
#pragma once

#include <string>
#include <string_view>

#include "core/status.h"

namespace kr::upstream {

struct HttpUrl {
  std::string scheme;  // http | https
  std::string host;    // IPv6 literals without brackets
  int port = 0;        // explicit or the scheme's default
  std::string path;    // without trailing slashes; empty at the root

  // "http://host:port" (brackets around IPv6), as httplib::Client expects it.
  std::string origin() const;
};

// Accepts "http(s)://host[:port][/path]" and "host:port" (http). kInvalidArgument for an empty
// URL, another scheme, credentials, a bad port, a query or fragment. `what` names the server in
// the message ("language model"), `hint` ends it ("expected e.g. http://host:port/v1; set --llm-url").
Result<HttpUrl> parse_http_url(std::string_view url, std::string_view what, std::string_view hint);

bool ends_with(std::string_view s, std::string_view suffix);

}  // namespace kr::upstream
