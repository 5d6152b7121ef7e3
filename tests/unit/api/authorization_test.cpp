#include "api/authorization.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <ctime>
#include <filesystem>

#include "core/log.h"

namespace kr::api {
namespace {

namespace fs = std::filesystem;

class AuthorizationTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { log::configure("error", false); }
  static void TearDownTestSuite() { log::configure("info", false); }
  void SetUp() override {
    static std::atomic<int> counter{0};
    config_.data_dir = (fs::path(::testing::TempDir()) /
                        ("kr_authz_" + std::to_string(::getpid()) + "_" + std::to_string(counter++)))
                           .string();
    config_.api_keys = {"shared-secret"};
    auth::ApiKeyStore store(auth_dir(config_));
    const int64_t now = static_cast<int64_t>(std::time(nullptr));
    reader_ = store.create("docs-reader", {{"docs", auth::Permission::kRead}}, 0, now).value().secret;
    admin_ = store.create("all-admin", {{"*", auth::Permission::kAdmin}}, 0, now).value().secret;
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(config_.data_dir, ec);
  }
  // The status the pre-routing check answers with, or 0 when it lets the request through.
  int check(Authorization& authz, const std::string& method, const std::string& path, const std::string& key = "") {
    httplib::Request req;
    req.method = method;
    req.path = path;
    if (!key.empty()) req.headers.emplace("Authorization", "Bearer " + key);
    httplib::Response res;
    return authz.reject(req, res) ? res.status : 0;
  }

  Config config_;
  std::string reader_, admin_;
};

TEST_F(AuthorizationTest, PublicRoutesOnlyAnswerWithoutACredential) {
  Authorization authz(config_);
  for (const char* path : {"/healthz", "/readyz", "/health", "/openapi.json", "/v1/auth/config", "/metrics"}) {
    EXPECT_EQ(check(authz, "GET", path), 0) << path;
  }
  EXPECT_EQ(check(authz, "HEAD", "/healthz"), 0);
  for (const auto& rule : route_rules()) {
    std::string path = rule.label;
    for (const char* placeholder : {"{name}", "{index_name}", "{doc_id}"}) {
      if (const size_t at = path.find(placeholder); at != std::string::npos) path.replace(at, std::string(placeholder).size(), "docs");
    }
    const bool open = rule.access == Access::kPublic || rule.access == Access::kMetrics;
    EXPECT_EQ(check(authz, rule.method, path), open ? 0 : 401) << rule.method << " " << path;
    EXPECT_EQ(check(authz, rule.method, path, "shared-secret"), 0) << rule.method << " " << path;
  }
  EXPECT_EQ(check(authz, "GET", "/v1/no-such-route"), 401);
  EXPECT_EQ(check(authz, "GET", "/v1/no-such-route", "shared-secret"), 0);  // then 404 from the router
}

TEST_F(AuthorizationTest, NamedKeyScopesDecidePerRoute) {
  Authorization authz(config_);
  EXPECT_EQ(check(authz, "GET", "/v1/collections/docs", reader_), 0);
  EXPECT_EQ(check(authz, "POST", "/v1/collections/docs/search", reader_), 0);
  EXPECT_EQ(check(authz, "GET", "/indexes/docs/documents", reader_), 0);
  EXPECT_EQ(check(authz, "POST", "/v1/collections/docs/documents", reader_), 403);
  EXPECT_EQ(check(authz, "DELETE", "/v1/collections/docs", reader_), 403);
  EXPECT_EQ(check(authz, "GET", "/v1/collections/other", reader_), 403);
  EXPECT_EQ(check(authz, "POST", "/persist/docs", reader_), 403);
  EXPECT_EQ(check(authz, "GET", "/v1/auth/keys", reader_), 403);
  EXPECT_EQ(check(authz, "GET", "/v1/collections", reader_), 0);  // listing is filtered by the handler
  EXPECT_EQ(check(authz, "GET", "/v1/auth/keys", admin_), 0);
  EXPECT_EQ(check(authz, "POST", "/load/docs", admin_), 0);
  EXPECT_EQ(check(authz, "GET", "/v1/collections", "kr_000000000000_nope"), 401);
}

TEST_F(AuthorizationTest, OthersPrivateCollectionsAnswer404EvenToGlobalAdmins) {
  Authorization authz(config_);
  ASSERT_TRUE(authz.owners().claim("notes", "user:https://issuer#alice").is_ok());
  EXPECT_EQ(check(authz, "GET", "/v1/collections/notes", admin_), 404);
  EXPECT_EQ(check(authz, "POST", "/v1/collections/notes/search", admin_), 404);
  EXPECT_FALSE(authz.can_read("notes"));
  EXPECT_EQ(check(authz, "GET", "/v1/collections/notes", "shared-secret"), 0);
  EXPECT_TRUE(authz.can_read("notes"));
  // Ownership survives a restart.
  Authorization again(config_);
  EXPECT_EQ(check(again, "GET", "/v1/collections/notes", admin_), 404);
  ASSERT_TRUE(again.owners().release("notes").is_ok());
  EXPECT_EQ(check(again, "GET", "/v1/collections/notes", admin_), 0);
}

TEST_F(AuthorizationTest, UnlistedRoutesAreClosedToAllButGlobalAdmins) {
  Authorization authz(config_);
  EXPECT_TRUE(authz.register_route("GET", "/v1/collections/{name}"));
  EXPECT_FALSE(authz.register_route("GET", "/v1/debug/{name}/dump"));
  EXPECT_EQ(check(authz, "GET", "/v1/debug/docs/dump", reader_), 403);
  EXPECT_EQ(check(authz, "GET", "/v1/debug/docs/dump", admin_), 0);
  ASSERT_EQ(authz.registered().size(), 2u);
  EXPECT_EQ(authz.registered()[1].access, Access::kGlobalAdmin);
}

TEST_F(AuthorizationTest, MetricsCanRequireAuth) {
  config_.metrics_require_auth = true;
  Authorization authz(config_);
  EXPECT_EQ(check(authz, "GET", "/metrics"), 401);
  EXPECT_EQ(check(authz, "GET", "/metrics", reader_), 0);
}

TEST_F(AuthorizationTest, WithoutAnyCredentialSourceEverythingIsOpenButOnlyOnLoopback) {
  config_.api_keys.clear();
  fs::remove_all(auth_dir(config_));
  Authorization authz(config_);
  EXPECT_EQ(check(authz, "DELETE", "/v1/collections/docs"), 0);
  config_.host = "127.0.0.1";
  EXPECT_TRUE(check_auth_startup(config_).is_ok());
  config_.host = "0.0.0.0";
  const Status refused = check_auth_startup(config_);
  EXPECT_EQ(refused.code(), ErrorCode::kFailedPrecondition);
  EXPECT_NE(refused.message().find("--allow-unauthenticated"), std::string::npos);
  config_.allow_unauthenticated = true;
  EXPECT_TRUE(check_auth_startup(config_).is_ok());
  config_.allow_unauthenticated = false;
  config_.api_keys = {"k"};
  EXPECT_TRUE(check_auth_startup(config_).is_ok());
  config_.oidc_role_map = "reader";
  EXPECT_EQ(check_auth_startup(config_).code(), ErrorCode::kInvalidArgument);
}

}  // namespace
}  // namespace kr::api
