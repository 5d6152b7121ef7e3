// Validation of OIDC access tokens (JWS compact serialization, RFC 7515/7519):
// RS256 or ES256 only, signature by OpenSSL, then iss, aud, exp and nbf.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "auth/jwk.h"
#include "core/status.h"

namespace kr::auth {

// Where verification keys come from (a JWKS URL or file, a fixed set in tests).
class KeySource {
 public:
  virtual ~KeySource() = default;
  // The key with this id (empty kid: the only key of `type`); may refresh its cache once.
  // kUnauthenticated when there is none.
  virtual Result<VerificationKey> key_for(const std::string& kid, KeyType type) = 0;
};

struct JwtPolicy {
  std::string issuer;                  // exact match with "iss"
  std::vector<std::string> audiences;  // "aud" must hold one of them
  int64_t clock_skew_seconds = 60;
  std::string roles_claim = "roles";   // a string or array of strings, e.g. Entra app roles or "groups"
};

struct TokenIdentity {
  std::string issuer;
  std::string subject;             // "sub"
  std::string name;                // preferred_username, name, azp or appid: for display only
  std::vector<std::string> roles;  // values of JwtPolicy::roles_claim
  int64_t expires_at = 0;
};

// Every failure is kUnauthenticated with a message that names the failed check (never the key).
Result<TokenIdentity> validate_jwt(std::string_view token, const JwtPolicy& policy, KeySource& keys, int64_t now_seconds);

// Verifies `signature` over `signing_input` with `key` for "RS256" / "ES256" (raw r||s).
bool verify_signature(const VerificationKey& key, std::string_view alg, std::string_view signing_input,
                      std::string_view signature);

}  // namespace kr::auth
