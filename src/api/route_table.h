// What the router answers when no handler matched a request (as FastAPI/Starlette do):
// 405 with the methods the path does accept, or a 307 redirect when the path matches
// a route once its trailing slash is added or removed, else 404.
#pragma once

#include <regex>
#include <string>
#include <vector>

namespace kr::api {

class RouteTable {
 public:
  // `pattern` is the regex the router matches whole paths against.
  void add(const std::string& method, const std::string& pattern);

  // Methods some route accepts for `path`, in registration order without repeats
  // (HEAD after GET: the router answers HEAD with the GET handler). Empty: no route.
  std::vector<std::string> allowed_methods(const std::string& path) const;

  // `path` with its trailing slash toggled when that form is routed (any method),
  // else "". "/" never redirects.
  std::string slash_redirect(const std::string& path) const;

 private:
  bool routed(const std::string& path) const;

  struct Route {
    std::string method;
    std::regex pattern;
  };
  std::vector<Route> routes_;
};

// "GET, HEAD, POST" for an Allow header.
std::string allow_header(const std::vector<std::string>& methods);

}  // namespace kr::api
