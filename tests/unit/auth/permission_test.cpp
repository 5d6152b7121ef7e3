#include "auth/permission.h"

#include <gtest/gtest.h>

#include "auth/authenticator.h"

namespace kr::auth {
namespace {

Principal user(const std::string& subject, std::vector<Grant> grants) {
  return {PrincipalKind::kUser, subject, subject, std::move(grants), false, true};
}

TEST(Grant, ParsesAndPrints) {
  auto g = parse_grant(" team-*:write ");
  ASSERT_TRUE(g.is_ok());
  EXPECT_EQ(g->collection, "team-*");
  EXPECT_EQ(g->permission, Permission::kWrite);
  EXPECT_EQ(grant_string(*g), "team-*:write");
  EXPECT_FALSE(parse_grant("docs").is_ok());
  EXPECT_FALSE(parse_grant("docs:owner").is_ok());
  EXPECT_FALSE(parse_grant(":read").is_ok());
  EXPECT_FALSE(parse_grant("a*b:read").is_ok());
  auto list = parse_grants("a:read, b:admin *:read");
  ASSERT_TRUE(list.is_ok());
  EXPECT_EQ(list->size(), 3u);
}

TEST(Allows, PermissionsAreOrderedAndPatternsMatchSharedCollections) {
  const Principal p = user("u1", {{"docs", Permission::kWrite}, {"hr-*", Permission::kRead}});
  EXPECT_TRUE(allows(p, "docs", "", Permission::kRead));
  EXPECT_TRUE(allows(p, "docs", "", Permission::kWrite));
  EXPECT_FALSE(allows(p, "docs", "", Permission::kAdmin));
  EXPECT_TRUE(allows(p, "hr-policies", "", Permission::kRead));
  EXPECT_FALSE(allows(p, "hr-policies", "", Permission::kWrite));
  EXPECT_FALSE(allows(p, "finance", "", Permission::kRead));
  EXPECT_FALSE(is_global_admin(p));
  EXPECT_TRUE(is_global_admin(user("a", {{"*", Permission::kAdmin}})));
  EXPECT_FALSE(is_global_admin(user("a", {{"x*", Permission::kAdmin}})));
}

TEST(Allows, PrivateCollectionsBelongToTheirOwnerOnly) {
  const Principal owner = user("user:iss#alice", {});
  const Principal admin = user("user:iss#bob", {{"*", Permission::kAdmin}});
  Principal key{PrincipalKind::kApiKey, "user:iss#alice", "key named like alice", {{"*", Permission::kAdmin}}, false, false};
  Principal shared{PrincipalKind::kSharedKey, "shared-key", "shared", {}, true, false};
  EXPECT_TRUE(allows(owner, "notes", "user:iss#alice", Permission::kAdmin));
  EXPECT_FALSE(allows(admin, "notes", "user:iss#alice", Permission::kRead));
  EXPECT_FALSE(allows(key, "notes", "user:iss#alice", Permission::kRead));  // only users own collections
  EXPECT_TRUE(allows(shared, "notes", "user:iss#alice", Permission::kAdmin));
}

TEST(RoleMap, ParsesRolesAndGroups) {
  auto map = parse_role_map("reader=*:read; writer=*:write ;admin=*:admin;0f1e-group=hr-*:write,hr-*:read");
  ASSERT_TRUE(map.is_ok()) << map.status().message();
  EXPECT_EQ(map->size(), 4u);
  EXPECT_EQ(map->at("0f1e-group").size(), 2u);
  EXPECT_FALSE(parse_role_map("reader").is_ok());
  EXPECT_FALSE(parse_role_map("reader=*:sudo").is_ok());
  EXPECT_TRUE(parse_role_map("").value().empty());
}

TEST(BearerToken, SchemeIsCaseInsensitiveAndRequired) {
  EXPECT_EQ(bearer_token("Bearer abc"), "abc");
  EXPECT_EQ(bearer_token("bearer   abc "), "abc");
  EXPECT_EQ(bearer_token("Basic abc"), "");
  EXPECT_EQ(bearer_token("Bearer "), "");
  EXPECT_EQ(bearer_token("abc"), "");
}

}  // namespace
}  // namespace kr::auth
