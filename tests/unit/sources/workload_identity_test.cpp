#include "sources/workload_identity.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <vector>

namespace kr::sources {
namespace {

using namespace std::chrono_literals;

struct Exchanged {
  std::string assertion;
  std::string scope;
};

class TokenCacheTest : public ::testing::Test {
 protected:
  void SetUp() override {
    file_ = std::filesystem::temp_directory_path() / ("kr-wi-" + std::to_string(::getpid()) + ".jwt");
    write_token("federated-1\n");
    identity_ = {"client-a", "tenant-b", file_.string(), "https://login.example/"};
  }
  void TearDown() override { std::filesystem::remove(file_); }

  void write_token(const std::string& text) { std::ofstream(file_, std::ios::trunc) << text; }

  EntraTokenCache cache(std::chrono::seconds lifetime) {
    return EntraTokenCache(
        [this, lifetime](const WorkloadIdentity&, const std::string& assertion, const std::string& scope)
            -> Result<AccessToken> {
          calls_.push_back({assertion, scope});
          if (refuse_) return error(ErrorCode::kPermissionDenied, "refused");
          return AccessToken{"access-" + std::to_string(calls_.size()), lifetime};
        },
        [this] { return now_; });
  }

  std::filesystem::path file_;
  WorkloadIdentity identity_;
  std::vector<Exchanged> calls_;
  bool refuse_ = false;
  std::chrono::steady_clock::time_point now_{};
};

TEST_F(TokenCacheTest, CachesUntilFiveMinutesBeforeExpiryThenRereadsTheRotatedFile) {
  auto c = cache(3600s);
  EXPECT_EQ(*c.token(identity_, kStorageScope), "access-1");
  now_ += 54min;
  EXPECT_EQ(*c.token(identity_, kStorageScope), "access-1");  // 6 min left: still used
  ASSERT_EQ(calls_.size(), 1u);
  EXPECT_EQ(calls_[0].assertion, "federated-1");  // trailing newline trimmed
  EXPECT_EQ(calls_[0].scope, "https://storage.azure.com/.default");

  write_token("federated-2");  // the kubelet rotated the projected token
  now_ += 2min;                // 4 min left: renewed
  EXPECT_EQ(*c.token(identity_, kStorageScope), "access-2");
  ASSERT_EQ(calls_.size(), 2u);
  EXPECT_EQ(calls_[1].assertion, "federated-2");
}

TEST_F(TokenCacheTest, ShortLivedTokensAreRenewedAtHalfTheirLifetime) {
  auto c = cache(60s);
  EXPECT_EQ(*c.token(identity_, kStorageScope), "access-1");
  now_ += 29s;
  EXPECT_EQ(*c.token(identity_, kStorageScope), "access-1");
  now_ += 2s;
  EXPECT_EQ(*c.token(identity_, kStorageScope), "access-2");
}

TEST_F(TokenCacheTest, EachScopeAndClientHasItsOwnToken) {
  auto c = cache(3600s);
  EXPECT_EQ(*c.token(identity_, kStorageScope), "access-1");
  EXPECT_EQ(*c.token(identity_, "https://vault.azure.net/.default"), "access-2");
  WorkloadIdentity other = identity_;
  other.client_id = "client-c";
  EXPECT_EQ(*c.token(other, kStorageScope), "access-3");
  EXPECT_EQ(*c.token(identity_, kStorageScope), "access-1");
}

TEST_F(TokenCacheTest, RefusalIsNotCachedAndAMissingFileIsNamed) {
  auto c = cache(3600s);
  refuse_ = true;
  EXPECT_EQ(c.token(identity_, kStorageScope).status().code(), ErrorCode::kPermissionDenied);
  refuse_ = false;
  EXPECT_EQ(*c.token(identity_, kStorageScope), "access-2");  // tried again, not a cached failure

  WorkloadIdentity missing = identity_;
  missing.token_file = file_.string() + ".absent";
  auto r = cache(3600s).token(missing, kStorageScope);  // nothing cached yet: the file is read
  ASSERT_FALSE(r);
  EXPECT_NE(r.status().message().find(missing.token_file), std::string::npos);
  EXPECT_NE(r.status().message().find("AZURE_FEDERATED_TOKEN_FILE"), std::string::npos);

  write_token(" \n");
  auto empty = cache(3600s).token(identity_, kStorageScope);
  ASSERT_FALSE(empty);
  EXPECT_NE(empty.status().message().find("empty"), std::string::npos);
}

TEST(WorkloadIdentityEnv, NamesWhatIsMissingAndDefaultsTheAuthority) {
  ::unsetenv("AZURE_CLIENT_ID");
  ::unsetenv("AZURE_FEDERATED_TOKEN_FILE");
  ::unsetenv("AZURE_AUTHORITY_HOST");
  ::setenv("AZURE_TENANT_ID", "tenant-b", 1);
  auto missing = workload_identity_from_env();
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.status().code(), ErrorCode::kFailedPrecondition);
  EXPECT_NE(missing.status().message().find("AZURE_CLIENT_ID, AZURE_FEDERATED_TOKEN_FILE"), std::string::npos);
  EXPECT_EQ(missing.status().message().find("AZURE_TENANT_ID"), std::string::npos);

  ::setenv("AZURE_CLIENT_ID", "client-a", 1);
  ::setenv("AZURE_FEDERATED_TOKEN_FILE", "/var/run/secrets/azure/tokens/azure-identity-token", 1);
  auto found = workload_identity_from_env();
  ASSERT_TRUE(found);
  EXPECT_EQ(found->token_url(), "https://login.microsoftonline.com/tenant-b/oauth2/v2.0/token");
  ::setenv("AZURE_AUTHORITY_HOST", "https://login.microsoftonline.us", 1);  // no trailing slash
  EXPECT_EQ(workload_identity_from_env()->token_url(), "https://login.microsoftonline.us/tenant-b/oauth2/v2.0/token");
  for (const char* name : {"AZURE_CLIENT_ID", "AZURE_TENANT_ID", "AZURE_FEDERATED_TOKEN_FILE", "AZURE_AUTHORITY_HOST"}) {
    ::unsetenv(name);
  }
}

}  // namespace
}  // namespace kr::sources
