#include "auth/jwks_cache.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>

#include "test_keys.h"

namespace kr::auth {
namespace {

namespace fs = std::filesystem;

class JwksFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    static std::atomic<int> counter{0};
    path_ = (fs::path(::testing::TempDir()) / ("kr_jwks_" + std::to_string(::getpid()) + "_" + std::to_string(counter++) +
                                               ".json"))
                .string();
  }
  void TearDown() override { fs::remove(path_); }
  void write(const std::string& text) {
    std::ofstream out(path_, std::ios::trunc);
    out << text;
  }
  std::string path_;
};

TEST_F(JwksFileTest, UnknownKidRereadsTheFileAtMostOncePerInterval) {
  const auto first = testing::rsa_pair("k1");
  const auto second = testing::ec_pair("k2");
  write(testing::jwks({first}));
  JwksCache cache({"", "", path_, /*min_refresh_seconds=*/0.3, 3600, 5});
  EXPECT_TRUE(cache.key_for("k1", KeyType::kRsa).is_ok());
  EXPECT_EQ(cache.fetches(), 1u);
  EXPECT_TRUE(cache.key_for("k1", KeyType::kRsa).is_ok());
  EXPECT_EQ(cache.fetches(), 1u);  // cached

  write(testing::jwks({second, first}));  // the issuer rotated
  usleep(350'000);
  auto rotated = cache.key_for("k2", KeyType::kEcP256);
  ASSERT_TRUE(rotated.is_ok()) << rotated.status().message();
  EXPECT_EQ(cache.fetches(), 2u);
  // Garbage kids right after: no new fetch inside the interval.
  EXPECT_EQ(cache.key_for("nope", KeyType::kRsa).status().code(), ErrorCode::kUnauthenticated);
  EXPECT_EQ(cache.key_for("nope2", KeyType::kRsa).status().code(), ErrorCode::kUnauthenticated);
  EXPECT_EQ(cache.fetches(), 2u);
  // Type must match as well as kid.
  EXPECT_FALSE(cache.key_for("k2", KeyType::kRsa).is_ok());
}

TEST_F(JwksFileTest, MissingOrBrokenSourcesAuthenticateNobody) {
  JwksCache missing({"", "", path_ + ".absent", 0, 3600, 5});
  EXPECT_NE(missing.key_for("k", KeyType::kRsa).status().message().find("unavailable"), std::string::npos);
  write("{\"keys\": []}");
  JwksCache empty({"", "", path_, 0, 3600, 5});
  EXPECT_FALSE(empty.refresh().is_ok());
  JwksCache nowhere({"http://127.0.0.1:9", "", "", 0, 3600, 0.5});
  EXPECT_EQ(nowhere.key_for("k", KeyType::kRsa).status().code(), ErrorCode::kUnauthenticated);
}

}  // namespace
}  // namespace kr::auth
