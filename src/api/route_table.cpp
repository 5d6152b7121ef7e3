#include "api/route_table.h"

#include <algorithm>

namespace kr::api {

void RouteTable::add(const std::string& method, const std::string& pattern) {
  routes_.push_back({method, std::regex(pattern)});
}

std::vector<std::string> RouteTable::allowed_methods(const std::string& path) const {
  std::vector<std::string> methods;
  const auto add_once = [&methods](const std::string& method) {
    if (std::find(methods.begin(), methods.end(), method) == methods.end()) methods.push_back(method);
  };
  for (const auto& route : routes_) {
    if (!std::regex_match(path, route.pattern)) continue;
    add_once(route.method);
    if (route.method == "GET") add_once("HEAD");
  }
  return methods;
}

bool RouteTable::routed(const std::string& path) const {
  return std::any_of(routes_.begin(), routes_.end(),
                     [&path](const Route& route) { return std::regex_match(path, route.pattern); });
}

std::string RouteTable::slash_redirect(const std::string& path) const {
  if (path.empty() || path == "/") return "";
  const std::string toggled = path.back() == '/' ? path.substr(0, path.size() - 1) : path + "/";
  return !toggled.empty() && routed(toggled) ? toggled : "";
}

std::string allow_header(const std::vector<std::string>& methods) {
  std::string header;
  for (const auto& method : methods) header += (header.empty() ? "" : ", ") + method;
  return header;
}

}  // namespace kr::api
