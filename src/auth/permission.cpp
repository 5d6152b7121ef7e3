#include "auth/permission.h"

#include "core/text.h"

namespace kr::auth {
namespace {

bool pattern_matches(std::string_view pattern, std::string_view name) {
  if (pattern == "*") return true;
  if (!pattern.empty() && pattern.back() == '*') {
    const std::string_view prefix = pattern.substr(0, pattern.size() - 1);
    return name.substr(0, prefix.size()) == prefix;
  }
  return pattern == name;
}

}  // namespace

std::string_view permission_name(Permission p) {
  switch (p) {
    case Permission::kRead: return "read";
    case Permission::kWrite: return "write";
    case Permission::kAdmin: return "admin";
  }
  return "read";
}

Result<Permission> parse_permission(std::string_view name) {
  if (name == "read") return Permission::kRead;
  if (name == "write") return Permission::kWrite;
  if (name == "admin") return Permission::kAdmin;
  return error(ErrorCode::kInvalidArgument,
               "unknown permission '" + std::string(name) + "': use read, write or admin");
}

Result<Grant> parse_grant(std::string_view text) {
  text = trim(text);
  const size_t colon = text.rfind(':');
  if (colon == std::string_view::npos || colon == 0) {
    return error(ErrorCode::kInvalidArgument, "scope '" + std::string(text) +
                                                  "' must be <collection>:<permission>, e.g. docs:read or *:write");
  }
  const std::string_view collection = text.substr(0, colon);
  const size_t star = collection.find('*');
  if (star != std::string_view::npos && star != collection.size() - 1) {
    return error(ErrorCode::kInvalidArgument,
                 "scope '" + std::string(text) + "': '*' may only end a collection pattern");
  }
  auto permission = parse_permission(text.substr(colon + 1));
  if (!permission) return permission.status();
  return Grant{std::string(collection), *permission};
}

std::string grant_string(const Grant& grant) {
  return grant.collection + ":" + std::string(permission_name(grant.permission));
}

Result<std::vector<Grant>> parse_grants(std::string_view text) {
  std::vector<Grant> grants;
  std::string item;
  auto flush = [&]() -> Status {
    if (trim(item).empty()) return Status::ok();
    auto grant = parse_grant(item);
    if (!grant) return grant.status();
    grants.push_back(*grant);
    item.clear();
    return Status::ok();
  };
  for (char c : text) {
    if (c == ',' || c == ' ') {
      KR_RETURN_IF_ERROR(flush());
      item.clear();
    } else {
      item += c;
    }
  }
  KR_RETURN_IF_ERROR(flush());
  return grants;
}

bool is_global_admin(const Principal& principal) {
  return principal.superuser || grants_cover(principal.grants, "*", Permission::kAdmin);
}

bool grants_cover(const std::vector<Grant>& grants, std::string_view collection, Permission needed) {
  for (const auto& grant : grants) {
    if (grant.permission < needed) continue;
    // "*" asked for (a server-wide action) is covered only by a "*" grant.
    if (collection == "*" ? grant.collection == "*" : pattern_matches(grant.collection, collection)) return true;
  }
  return false;
}

bool allows(const Principal& principal, std::string_view collection, std::string_view owner, Permission needed) {
  if (principal.superuser) return true;
  if (!owner.empty()) return principal.kind == PrincipalKind::kUser && principal.subject == owner;
  return grants_cover(principal.grants, collection, needed);
}

}  // namespace kr::auth
