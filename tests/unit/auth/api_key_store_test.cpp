#include "auth/api_key_store.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace kr::auth {
namespace {

namespace fs = std::filesystem;
constexpr int64_t kNow = 1'800'000'000;

class ApiKeyStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    static std::atomic<int> counter{0};
    dir_ = (fs::path(::testing::TempDir()) / ("kr_keys_" + std::to_string(::getpid()) + "_" + std::to_string(counter++)) /
            "auth")
               .string();
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(fs::path(dir_).parent_path(), ec);
  }
  std::string file_text() const {
    std::ifstream in(dir_ + "/api_keys.json");
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
  }
  std::string dir_;
};

TEST_F(ApiKeyStoreTest, CreatedKeyAuthenticatesWithItsScopesAndIsHashedAtRest) {
  ApiKeyStore store(dir_);
  auto key = store.create("ci", {{"docs", Permission::kRead}, {"team-*", Permission::kWrite}}, 0, kNow);
  ASSERT_TRUE(key.is_ok()) << key.status().message();
  EXPECT_TRUE(ApiKeyStore::looks_like_key(key->secret));
  auto who = store.authenticate(key->secret, kNow);
  ASSERT_TRUE(who.is_ok()) << who.status().message();
  EXPECT_EQ(who->name, "ci");
  EXPECT_EQ(who->scopes.size(), 2u);
  const std::string text = file_text();
  EXPECT_EQ(text.find(key->secret.substr(key->secret.rfind('_') + 1)), std::string::npos) << "secret stored in clear";
  EXPECT_NE(text.find("\"sha256\""), std::string::npos);
  struct stat st {};
  ASSERT_EQ(::stat((dir_ + "/api_keys.json").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  // A wrong secret with the right id, and garbage.
  std::string wrong = key->secret;
  wrong.back() = wrong.back() == 'A' ? 'B' : 'A';
  EXPECT_EQ(store.authenticate(wrong, kNow).status().code(), ErrorCode::kUnauthenticated);
  EXPECT_EQ(store.authenticate("kr_nothing", kNow).status().code(), ErrorCode::kUnauthenticated);
}

TEST_F(ApiKeyStoreTest, ValidatesInput) {
  ApiKeyStore store(dir_);
  EXPECT_EQ(store.create("bad name", {{"*", Permission::kRead}}, 0, kNow).status().code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(store.create("ok", {}, 0, kNow).status().code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(store.create("ok", {{"*", Permission::kRead}}, kNow - 1, kNow).status().code(), ErrorCode::kInvalidArgument);
  ASSERT_TRUE(store.create("ok", {{"*", Permission::kRead}}, 0, kNow).is_ok());
  EXPECT_EQ(store.create("ok", {{"*", Permission::kRead}}, 0, kNow).status().code(), ErrorCode::kAlreadyExists);
  EXPECT_EQ(store.rotate("missing", 0, kNow).status().code(), ErrorCode::kNotFound);
  EXPECT_EQ(store.revoke("missing", kNow).code(), ErrorCode::kNotFound);
}

TEST_F(ApiKeyStoreTest, ExpiryRevocationAndRotationWithGrace) {
  ApiKeyStore store(dir_);
  auto expiring = store.create("short", {{"*", Permission::kRead}}, kNow + 100, kNow);
  ASSERT_TRUE(expiring.is_ok());
  EXPECT_TRUE(store.authenticate(expiring->secret, kNow + 99).is_ok());
  EXPECT_NE(store.authenticate(expiring->secret, kNow + 100).status().message().find("expired"), std::string::npos);

  auto key = store.create("bot", {{"*", Permission::kWrite}}, 0, kNow);
  ASSERT_TRUE(key.is_ok());
  auto rotated = store.rotate("bot", 60, kNow);
  ASSERT_TRUE(rotated.is_ok());
  EXPECT_NE(rotated->secret, key->secret);
  EXPECT_EQ(rotated->info.id, key->info.id);
  EXPECT_TRUE(store.authenticate(rotated->secret, kNow).is_ok());
  EXPECT_TRUE(store.authenticate(key->secret, kNow + 59).is_ok());  // grace period
  EXPECT_FALSE(store.authenticate(key->secret, kNow + 60).is_ok());
  auto again = store.rotate("bot", 0, kNow + 1);  // no grace: the previous secret dies at once
  ASSERT_TRUE(again.is_ok());
  EXPECT_FALSE(store.authenticate(rotated->secret, kNow + 1).is_ok());

  ASSERT_TRUE(store.revoke("bot", kNow + 2).is_ok());
  EXPECT_NE(store.authenticate(again->secret, kNow + 2).status().message().find("revoked"), std::string::npos);
  // The name is free again; the revoked entry stays listed for audit.
  ASSERT_TRUE(store.create("bot", {{"*", Permission::kRead}}, 0, kNow + 3).is_ok());
  auto listed = store.list();
  ASSERT_TRUE(listed.is_ok());
  EXPECT_EQ(listed->size(), 3u);
  EXPECT_EQ(store.active_count(kNow + 3), 2u);
}

TEST_F(ApiKeyStoreTest, ASecondStoreOnTheSameDirectorySeesChangesWithoutRestart) {
  ApiKeyStore server(dir_);
  ApiKeyStore cli(dir_);
  EXPECT_EQ(server.active_count(kNow), 0u);
  auto key = cli.create("late", {{"docs", Permission::kRead}}, 0, kNow);
  ASSERT_TRUE(key.is_ok());
  EXPECT_TRUE(server.authenticate(key->secret, kNow).is_ok());
  auto rotated = cli.rotate("late", 0, kNow);
  ASSERT_TRUE(rotated.is_ok());
  EXPECT_FALSE(server.authenticate(key->secret, kNow).is_ok());
  EXPECT_TRUE(server.authenticate(rotated->secret, kNow).is_ok());
  ASSERT_TRUE(cli.revoke("late", kNow).is_ok());
  EXPECT_FALSE(server.authenticate(rotated->secret, kNow).is_ok());
}

TEST_F(ApiKeyStoreTest, AnUnreadableStoreAuthenticatesNobodyAndSaysWhy) {
  ApiKeyStore store(dir_);
  auto key = store.create("k", {{"*", Permission::kRead}}, 0, kNow);
  ASSERT_TRUE(key.is_ok());
  {
    std::ofstream out(dir_ + "/api_keys.json", std::ios::trunc);
    out << "{ broken";
  }
  ApiKeyStore fresh(dir_);
  EXPECT_EQ(fresh.authenticate(key->secret, kNow).status().code(), ErrorCode::kDataCorruption);
  EXPECT_EQ(fresh.create("x", {{"*", Permission::kRead}}, 0, kNow).status().code(), ErrorCode::kDataCorruption);
}

}  // namespace
}  // namespace kr::auth
