#include "auth/authenticator.h"

#include <openssl/crypto.h>

#include <cctype>
#include <ctime>

#include "core/log.h"
#include "core/text.h"

namespace kr::auth {
namespace {

// Constant-time check against every shared key: both sides hashed so lengths never leak.
bool shared_key_matches(const std::string& presented, const std::vector<std::string>& keys) {
  const std::string presented_hash = sha256_hex(presented);
  bool match = false;
  for (const auto& key : keys) {
    const std::string key_hash = sha256_hex(key);
    match |= CRYPTO_memcmp(presented_hash.data(), key_hash.data(), key_hash.size()) == 0;
  }
  return match;
}

bool looks_like_jwt(const std::string& token) {
  size_t dots = 0;
  for (char c : token) dots += c == '.';
  return dots == 2;
}

}  // namespace

Result<RoleMap> parse_role_map(std::string_view text) {
  RoleMap map;
  size_t start = 0;
  while (start <= text.size()) {
    size_t end = text.find(';', start);
    if (end == std::string_view::npos) end = text.size();
    const std::string_view entry = trim(text.substr(start, end - start));
    start = end + 1;
    if (entry.empty()) continue;
    const size_t eq = entry.find('=');
    if (eq == std::string_view::npos || eq == 0) {
      return error(ErrorCode::kInvalidArgument, "role mapping '" + std::string(entry) +
                                                    "' must be <role or group>=<collection>:<permission>[,...]");
    }
    auto grants = parse_grants(entry.substr(eq + 1));
    if (!grants) return grants.status();
    auto& target = map[std::string(trim(entry.substr(0, eq)))];
    target.insert(target.end(), grants->begin(), grants->end());
  }
  return map;
}

std::string bearer_token(const std::string& header) {
  constexpr std::string_view kScheme = "bearer ";
  if (header.size() <= kScheme.size()) return {};
  for (size_t i = 0; i < kScheme.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(header[i])) != kScheme[i]) return {};
  }
  return std::string(trim(std::string_view(header).substr(kScheme.size())));
}

Authenticator::Authenticator(AuthSettings settings, std::unique_ptr<KeySource> keys)
    : settings_(std::move(settings)), keys_(std::move(keys)), store_(settings_.key_store_text ? settings_.key_store_text : ApiKeyStore::file_text(settings_.key_store_dir)) {
  if (!keys_ && settings_.oidc) keys_ = std::make_unique<JwksCache>(settings_.jwks);
  enabled_ = !settings_.shared_keys.empty() || settings_.oidc ||
             store_.active_count(static_cast<int64_t>(std::time(nullptr))) > 0;
}

Result<Principal> Authenticator::authenticate(const std::string& header, int64_t now) {
  if (!enabled_) return Principal{PrincipalKind::kAnonymous, "anonymous", "anonymous", {}, true, false};
  if (header.empty()) {
    return error(ErrorCode::kUnauthenticated,
                 "missing credentials: send 'Authorization: Bearer <API key or access token>'");
  }
  const std::string token = bearer_token(header);
  if (token.empty()) {
    return error(ErrorCode::kUnauthenticated, "the Authorization header must be 'Bearer <API key or access token>'");
  }
  return from_token(token, now);
}

Result<Principal> Authenticator::from_token(const std::string& token, int64_t now) {
  if (!settings_.shared_keys.empty() && shared_key_matches(token, settings_.shared_keys)) {
    return Principal{PrincipalKind::kSharedKey, "shared-key", "shared API key", {}, true, false};
  }
  if (ApiKeyStore::looks_like_key(token)) {
    auto key = store_.authenticate(token, now);
    if (!key) {
      if (key.status().code() != ErrorCode::kUnauthenticated) {
        log::error("the API key store cannot be read", {{"error", key.status().message()}});
        return error(ErrorCode::kUnavailable, "the API key store cannot be read; see the server log");
      }
      return key.status();
    }
    return Principal{PrincipalKind::kApiKey, "key:" + key->name, key->name, key->scopes, false, false};
  }
  if (settings_.oidc && looks_like_jwt(token)) {
    auto identity = validate_jwt(token, settings_.policy, *keys_, now);
    if (!identity) return identity.status();
    Principal p{PrincipalKind::kUser, "user:" + identity->issuer + "#" + identity->subject,
                identity->name.empty() ? identity->subject : identity->name, {}, false, false};
    for (const auto& role : identity->roles) {
      if (const auto it = settings_.roles.find(role); it != settings_.roles.end()) {
        p.grants.insert(p.grants.end(), it->second.begin(), it->second.end());
      }
    }
    // Only users the issuer gave a mapped role may keep private documents here.
    p.may_own_private = settings_.private_collections && !p.grants.empty();
    return p;
  }
  return error(ErrorCode::kUnauthenticated, settings_.oidc ? "invalid API key or access token" : "invalid API key");
}

}  // namespace kr::auth
