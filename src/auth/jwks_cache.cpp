#include "auth/jwks_cache.h"

#include <httplib.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "core/log.h"

namespace kr::auth {
namespace {

constexpr size_t kMaxDocumentBytes = 1 << 20;

// "https://host:port/path?q" -> ("https://host:port", "/path?q")
std::pair<std::string, std::string> split_url(const std::string& url) {
  const size_t scheme = url.find("://");
  const size_t path = scheme == std::string::npos ? std::string::npos : url.find('/', scheme + 3);
  if (path == std::string::npos) return {url, "/"};
  return {url.substr(0, path), url.substr(path)};
}

}  // namespace

JwksCache::JwksCache(JwksConfig config) : config_(std::move(config)) {}

size_t JwksCache::fetches() const {
  std::lock_guard lock(mutex_);
  return fetches_;
}

Result<std::string> JwksCache::fetch_text(const std::string& url) const {
  if (url.rfind("https://", 0) != 0 && url.rfind("http://", 0) != 0) {
    return error(ErrorCode::kInvalidArgument, "'" + url + "' is not an http(s) URL");
  }
  const auto [origin, path] = split_url(url);
  httplib::Client client(origin);
  const auto timeout = std::chrono::duration<double>(config_.http_timeout_seconds);
  client.set_connection_timeout(std::chrono::duration_cast<std::chrono::microseconds>(timeout));
  client.set_read_timeout(std::chrono::duration_cast<std::chrono::microseconds>(timeout));
  if (url.rfind("https://", 0) == 0) client.enable_server_certificate_verification(true);
  auto res = client.Get(path);
  if (!res) return error(ErrorCode::kUnavailable, "GET " + url + " failed: " + httplib::to_string(res.error()));
  if (res->status != 200) {
    return error(ErrorCode::kUnavailable, "GET " + url + " answered HTTP " + std::to_string(res->status));
  }
  if (res->body.size() > kMaxDocumentBytes) return error(ErrorCode::kUnavailable, "GET " + url + ": document over 1 MiB");
  return res->body;
}

Status JwksCache::refresh() {
  std::lock_guard lock(mutex_);
  return refresh_locked();
}

Status JwksCache::refresh_locked() {
  attempted_ = true;
  last_attempt_ = std::chrono::steady_clock::now();
  ++fetches_;
  Result<std::string> text = std::string();
  std::string from;
  if (!config_.jwks_file.empty()) {
    from = config_.jwks_file;
    std::ifstream in(config_.jwks_file, std::ios::binary);
    if (!in) return error(ErrorCode::kUnavailable, "cannot read the JWKS file " + config_.jwks_file);
    std::ostringstream buffer;
    buffer << in.rdbuf();
    text = buffer.str();
  } else {
    if (jwks_uri_.empty()) jwks_uri_ = config_.jwks_url;
    if (jwks_uri_.empty()) {
      std::string issuer = config_.issuer;
      while (!issuer.empty() && issuer.back() == '/') issuer.pop_back();
      const std::string discovery_url = issuer + "/.well-known/openid-configuration";
      auto discovery = fetch_text(discovery_url);
      if (!discovery) return discovery.status();
      const auto doc = nlohmann::json::parse(*discovery, nullptr, false);
      if (!doc.is_object() || !doc.contains("jwks_uri") || !doc["jwks_uri"].is_string()) {
        return error(ErrorCode::kUnavailable, discovery_url + " has no jwks_uri");
      }
      jwks_uri_ = doc["jwks_uri"].get<std::string>();
    }
    from = jwks_uri_;
    text = fetch_text(jwks_uri_);
  }
  if (!text) return text.status();
  auto keys = parse_jwks(*text);
  if (!keys) return error(ErrorCode::kUnavailable, from + ": " + keys.status().message());
  keys_ = std::move(*keys);
  loaded_at_ = last_attempt_;
  log::info("loaded OIDC signing keys", {{"from", from}, {"keys", std::to_string(keys_.size())}});
  return Status::ok();
}

const VerificationKey* JwksCache::find_locked(const std::string& kid, KeyType type) const {
  const VerificationKey* only = nullptr;
  size_t of_type = 0;
  for (const auto& key : keys_) {
    if (key.type != type) continue;
    if (!kid.empty() && key.kid == kid) return &key;
    ++of_type;
    only = &key;
  }
  return kid.empty() && of_type == 1 ? only : nullptr;
}

Result<VerificationKey> JwksCache::key_for(const std::string& kid, KeyType type) {
  std::lock_guard lock(mutex_);
  const auto now = std::chrono::steady_clock::now();
  const auto since_attempt = std::chrono::duration<double>(now - last_attempt_).count();
  const bool stale = std::chrono::duration<double>(now - loaded_at_).count() > config_.max_age_seconds;
  const VerificationKey* key = find_locked(kid, type);
  if ((!key || stale) && (!attempted_ || since_attempt >= config_.min_refresh_seconds)) {
    if (Status s = refresh_locked(); !s) log::warn("refreshing the OIDC signing keys failed", {{"error", s.message()}});
    key = find_locked(kid, type);
  }
  if (!key) {
    return error(ErrorCode::kUnauthenticated, keys_.empty() ? "invalid token: the issuer's signing keys are unavailable"
                                                            : "invalid token: unknown signing key (kid '" + kid + "')");
  }
  return *key;
}

}  // namespace kr::auth
