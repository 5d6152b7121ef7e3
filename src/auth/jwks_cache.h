// Verification keys of an OIDC issuer: fetched from its discovery document's jwks_uri (or a
// configured JWKS URL), or read from a file for air-gapped clusters; cached, and refreshed when a
// token names an unknown kid (key rotation) or the cache is old -- at most once per
// min_refresh_seconds, so garbage kids cannot make us hammer the issuer.
// Thread-safe.
#pragma once

#include <chrono>
#include <cstdint>
#include <mutex>
#include <string>
#include <vector>

#include "auth/jwt.h"

namespace kr::auth {

struct JwksConfig {
  std::string issuer;         // discovery at <issuer>/.well-known/openid-configuration
  std::string jwks_url;       // overrides discovery
  std::string jwks_file;      // overrides both: re-read on refresh
  double min_refresh_seconds = 30;
  double max_age_seconds = 3600;
  double http_timeout_seconds = 5;
};

class JwksCache : public KeySource {
 public:
  explicit JwksCache(JwksConfig config);
  Result<VerificationKey> key_for(const std::string& kid, KeyType type) override;
  // Loads the keys now (at start-up, to report a bad configuration early).
  Status refresh();
  size_t fetches() const;

 private:
  Status refresh_locked();
  Result<std::string> fetch_text(const std::string& url) const;
  const VerificationKey* find_locked(const std::string& kid, KeyType type) const;

  const JwksConfig config_;
  mutable std::mutex mutex_;
  std::vector<VerificationKey> keys_;
  std::string jwks_uri_;  // discovered once
  std::chrono::steady_clock::time_point last_attempt_{};
  std::chrono::steady_clock::time_point loaded_at_{};
  bool attempted_ = false;
  size_t fetches_ = 0;
};

}  // namespace kr::auth
