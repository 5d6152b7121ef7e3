#include "auth/jwt.h"

#include <gtest/gtest.h>

#include <openssl/hmac.h>

#include <map>

#include "test_keys.h"

namespace kr::auth {
namespace {

using nlohmann::json;
using testing::KeyPair;

// A fixed set of keys, as a JWKS document would give them.
class FixedKeys : public KeySource {
 public:
  explicit FixedKeys(const std::string& jwks_text) : keys_(parse_jwks(jwks_text).value()) {}
  Result<VerificationKey> key_for(const std::string& kid, KeyType type) override {
    for (const auto& k : keys_) {
      if (k.kid == kid && k.type == type) return k;
    }
    return error(ErrorCode::kUnauthenticated, "invalid token: unknown signing key");
  }

 private:
  std::vector<VerificationKey> keys_;
};

constexpr int64_t kNow = 1'800'000'000;

class JwtTest : public ::testing::Test {
 protected:
  JwtTest() : rsa_(testing::rsa_pair("rsa-1")), ec_(testing::ec_pair("ec-1")), keys_(testing::jwks({rsa_, ec_})) {
    policy_.issuer = "https://issuer.example/v2.0";
    policy_.audiences = {"api://kaito-rag", "11111111-2222"};
    policy_.clock_skew_seconds = 60;
  }
  json claims() const {
    return {{"iss", policy_.issuer}, {"aud", "api://kaito-rag"}, {"sub", "user-1"},   {"exp", kNow + 600},
            {"nbf", kNow - 10},      {"iat", kNow - 10},         {"roles", {"reader"}}, {"preferred_username", "ada@x"}};
  }
  Result<TokenIdentity> check(const std::string& token) { return validate_jwt(token, policy_, keys_, kNow); }
  void expect_rejected(const std::string& token, const std::string& why) {
    auto r = check(token);
    ASSERT_FALSE(r.is_ok()) << why;
    EXPECT_EQ(r.status().code(), ErrorCode::kUnauthenticated);
    EXPECT_NE(r.status().message().find(why), std::string::npos) << r.status().message();
  }

  KeyPair rsa_, ec_;
  FixedKeys keys_;
  JwtPolicy policy_;
};

TEST_F(JwtTest, AcceptsRs256AndEs256WithClaims) {
  for (const KeyPair* key : {&rsa_, &ec_}) {
    auto r = check(testing::token(*key, claims()));
    ASSERT_TRUE(r.is_ok()) << r.status().message();
    EXPECT_EQ(r->subject, "user-1");
    EXPECT_EQ(r->issuer, policy_.issuer);
    EXPECT_EQ(r->name, "ada@x");
    EXPECT_EQ(r->roles, std::vector<std::string>{"reader"});
    EXPECT_EQ(r->expires_at, kNow + 600);
  }
}

TEST_F(JwtTest, AudienceMayBeAnArrayHoldingOneAcceptedValue) {
  json c = claims();
  c["aud"] = {"other", "11111111-2222"};
  EXPECT_TRUE(check(testing::token(rsa_, c)).is_ok());
  c["aud"] = {"other", "more"};
  expect_rejected(testing::token(rsa_, c), "wrong audience");
}

TEST_F(JwtTest, RefusesTimeAndIdentityViolations) {
  json c = claims();
  c["exp"] = kNow - 61;
  expect_rejected(testing::token(rsa_, c), "expired");
  c["exp"] = kNow - 59;  // within the clock skew
  EXPECT_TRUE(check(testing::token(rsa_, c)).is_ok());
  c = claims();
  c["nbf"] = kNow + 61;
  expect_rejected(testing::token(rsa_, c), "not yet valid");
  c["nbf"] = kNow + 59;
  EXPECT_TRUE(check(testing::token(rsa_, c)).is_ok());
  c = claims();
  c.erase("exp");
  expect_rejected(testing::token(rsa_, c), "no expiry");
  c = claims();
  c["iss"] = "https://issuer.example/v2.0/";
  expect_rejected(testing::token(rsa_, c), "wrong issuer");
  c = claims();
  c["aud"] = "api://other";
  expect_rejected(testing::token(rsa_, c), "wrong audience");
  c = claims();
  c.erase("sub");
  expect_rejected(testing::token(rsa_, c), "no subject");
}

TEST_F(JwtTest, RefusesAlgNoneAndHmacWithThePublicKey) {
  const std::string payload = base64url_encode(claims().dump());
  expect_rejected(base64url_encode(json{{"alg", "none"}, {"kid", "rsa-1"}}.dump()) + "." + payload + ".",
                  "algorithm 'none' is not accepted");
  // HS256 "signed" with the RSA public key's JWK text as the secret: the classic confusion attack.
  const std::string header = base64url_encode(json{{"alg", "HS256"}, {"kid", "rsa-1"}}.dump());
  unsigned char mac[32];
  unsigned int mac_len = 0;
  const std::string secret = testing::jwk(rsa_).dump();
  const std::string input = header + "." + payload;
  HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()), reinterpret_cast<const unsigned char*>(input.data()),
       input.size(), mac, &mac_len);
  expect_rejected(input + "." + base64url_encode(std::string(reinterpret_cast<char*>(mac), mac_len)),
                  "algorithm 'HS256' is not accepted");
}

TEST_F(JwtTest, RefusesOtherKeysTamperingAndMismatchedAlgorithms) {
  const KeyPair impostor = testing::rsa_pair("rsa-1");  // same kid, another key
  expect_rejected(testing::token(impostor, claims()), "signature does not verify");
  const KeyPair unknown = testing::rsa_pair("rsa-9");
  expect_rejected(testing::token(unknown, claims()), "unknown signing key");
  // ES256 header naming the RSA key.
  expect_rejected(testing::token(ec_, claims(), {{"alg", "ES256"}, {"kid", "rsa-1"}}), "unknown signing key");
  // A valid token whose payload is swapped for another (roles escalated).
  const std::string good = testing::token(rsa_, claims());
  json escalated = claims();
  escalated["roles"] = {"admin"};
  const size_t d1 = good.find('.'), d2 = good.rfind('.');
  expect_rejected(good.substr(0, d1 + 1) + base64url_encode(escalated.dump()) + good.substr(d2),
                  "signature does not verify");
}

TEST_F(JwtTest, RefusesMalformedTokens) {
  for (const std::string& bad : std::vector<std::string>{"", "abc", "a.b", "a.b.c.d", "!!.e30.x", "e30.e30.e30", std::string(20000, 'a')}) {
    auto r = check(bad);
    ASSERT_FALSE(r.is_ok()) << bad.substr(0, 20);
    EXPECT_EQ(r.status().code(), ErrorCode::kUnauthenticated);
  }
  json header = {{"alg", "RS256"}, {"kid", "rsa-1"}, {"crit", {"exp"}}};
  expect_rejected(testing::token(rsa_, claims(), header), "critical header");
}

TEST(Base64Url, RoundTripsAndRefusesOtherAlphabets) {
  for (const std::string& s : std::vector<std::string>{"", "f", "fo", "foo", "foob", std::string("\xff\xfe\x00\x01", 4)}) {
    EXPECT_EQ(base64url_decode(base64url_encode(s)).value(), s);
  }
  EXPECT_EQ(base64url_encode("\xfb\xff"), "-_8");
  EXPECT_FALSE(base64url_decode("ab+/").is_ok());
  EXPECT_FALSE(base64url_decode("ab==").is_ok());
  EXPECT_FALSE(base64url_decode("a").is_ok());
}

TEST(Jwks, SkipsUnusableKeysAndRefusesEmptySets) {
  const KeyPair small = testing::rsa_pair("small", 1024);
  const KeyPair good = testing::ec_pair("good");
  json doc = json::parse(testing::jwks({small, good}));
  doc["keys"].push_back({{"kty", "RSA"}, {"use", "enc"}, {"n", "AQAB"}, {"e", "AQAB"}});
  doc["keys"].push_back({{"kty", "oct"}, {"k", "c2VjcmV0"}});
  auto keys = parse_jwks(doc.dump());
  ASSERT_TRUE(keys.is_ok()) << keys.status().message();
  ASSERT_EQ(keys->size(), 1u);
  EXPECT_EQ((*keys)[0].kid, "good");
  EXPECT_FALSE(parse_jwks(testing::jwks({small})).is_ok());
  EXPECT_FALSE(parse_jwks("{\"keys\": 3}").is_ok());
  EXPECT_FALSE(parse_jwks("not json").is_ok());
  json off_curve = testing::jwk(good);
  off_curve["y"] = off_curve["x"];
  EXPECT_FALSE(parse_jwks(json{{"keys", {off_curve}}}.dump()).is_ok());
}

}  // namespace
}  // namespace kr::auth
