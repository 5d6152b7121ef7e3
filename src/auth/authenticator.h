// Turns an Authorization header into a Principal: shared keys (--api-keys), named API keys
// (ApiKeyStore) or OIDC access tokens (validate_jwt), roles mapped to grants.
// Thread-safe.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "auth/api_key_store.h"
#include "auth/jwks_cache.h"
#include "auth/jwt.h"
#include "auth/permission.h"

namespace kr::auth {

// role or group value -> grants, e.g. {"reader": [*:read]}
using RoleMap = std::map<std::string, std::vector<Grant>>;

// "reader=*:read; writer=*:write; admin=*:admin; 1b2c...=hr-*:write" (';'-separated, grants ','-separated).
Result<RoleMap> parse_role_map(std::string_view text);

struct AuthSettings {
  std::vector<std::string> shared_keys;
  std::string key_store_dir;        // <data_dir>/auth
  std::shared_ptr<SharedText> key_store_text;  // when set, the keys live there (--store postgres)
  bool oidc = false;                // validate access tokens from policy.issuer
  JwtPolicy policy;
  JwksConfig jwks;
  RoleMap roles;
  bool private_collections = true;  // signed-in users may own private collections
};

class Authenticator {
 public:
  // `keys` replaces the JWKS cache (tests); null = a JwksCache over settings.jwks.
  explicit Authenticator(AuthSettings settings, std::unique_ptr<KeySource> keys = nullptr);

  // True when some credential source exists: shared keys, OIDC or named keys in the store.
  // Without one the server runs open (loopback only, or --allow-unauthenticated).
  bool enabled() const { return enabled_; }
  const AuthSettings& settings() const { return settings_; }
  ApiKeyStore& key_store() { return store_; }
  KeySource* key_source() { return keys_.get(); }

  // kUnauthenticated (401) with a message saying what is wrong; the anonymous superuser when disabled.
  Result<Principal> authenticate(const std::string& authorization_header, int64_t now);

 private:
  Result<Principal> from_token(const std::string& token, int64_t now);

  const AuthSettings settings_;
  std::unique_ptr<KeySource> keys_;
  ApiKeyStore store_;
  bool enabled_ = false;
};

// The token of "Bearer <token>" (scheme case-insensitive, RFC 7235); empty when absent.
std::string bearer_token(const std::string& header);

}  // namespace kr::auth
