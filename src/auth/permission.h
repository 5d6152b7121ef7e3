// Who a caller is and what they may do with which collection.
// Plain data and pure functions: no I/O, thread-safe.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace kr::auth {

// Ordered: admin implies write implies read.
enum class Permission { kRead = 1, kWrite = 2, kAdmin = 3 };

std::string_view permission_name(Permission p);
Result<Permission> parse_permission(std::string_view name);

// `collection` is an exact name, "*" (every shared collection) or a prefix pattern "team-*".
// Grants never reach another user's private collection (see allows()).
struct Grant {
  std::string collection;
  Permission permission = Permission::kRead;
  bool operator==(const Grant&) const = default;
};

// "docs:read", "*:write", "team-*:admin"
Result<Grant> parse_grant(std::string_view text);
std::string grant_string(const Grant& grant);
// Comma- or space-separated grants.
Result<std::vector<Grant>> parse_grants(std::string_view text);

enum class PrincipalKind { kAnonymous, kSharedKey, kApiKey, kUser };

struct Principal {
  PrincipalKind kind = PrincipalKind::kAnonymous;
  std::string subject;       // stable id: "user:<iss>#<sub>", "key:<name>", "shared-key", "anonymous"
  std::string display_name;  // for logs and whoami; never used for decisions
  std::vector<Grant> grants;
  bool superuser = false;    // shared --api-keys and unauthenticated mode: everything, private ones included
  bool may_own_private = false;  // signed-in users may create private collections
};

// Anyone holding admin on "*" manages keys and sees server-wide state.
bool is_global_admin(const Principal& principal);

// May `principal` use `collection` (owned by `owner`, empty = shared) with `needed`?
// A private collection is its owner's (admin) and a superuser's only.
bool allows(const Principal& principal, std::string_view collection, std::string_view owner, Permission needed);

// True when some grant could cover a shared collection called `collection` with `needed`.
bool grants_cover(const std::vector<Grant>& grants, std::string_view collection, Permission needed);

}  // namespace kr::auth
