#include "auth/api_key_store.h"

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include <nlohmann/json.hpp>

#include "auth/jwk.h"
#include "core/hex.h"
#include "core/text.h"

namespace kr::auth {
namespace {

using nlohmann::json;

constexpr std::string_view kPrefix = "kr_";
constexpr size_t kIdChars = 12;

std::string random_bytes(size_t n) {
  std::string bytes(n, '\0');
  if (RAND_bytes(reinterpret_cast<unsigned char*>(bytes.data()), static_cast<int>(n)) != 1) return {};
  return bytes;
}

std::string hex(std::string_view bytes) { return hex_lower(bytes); }

bool valid_name(const std::string& name) {
  if (name.empty() || name.size() > 64) return false;
  for (char c : name) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_' && c != '.') return false;
  }
  return true;
}

bool hash_equals(const std::string& a, const std::string& b) {
  return a.size() == b.size() && !a.empty() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

// The key's id: the characters between "kr_" and the next '_'.
std::string id_of(const std::string& token) {
  if (token.rfind(kPrefix, 0) != 0 || token.size() < kPrefix.size() + kIdChars + 2) return {};
  if (token[kPrefix.size() + kIdChars] != '_') return {};
  return token.substr(kPrefix.size(), kIdChars);
}

}  // namespace

std::shared_ptr<SharedText> ApiKeyStore::file_text(std::string dir) {
  return std::make_shared<FileSharedText>(std::move(dir), "api_keys.json", "api_keys.lock");
}

ApiKeyStore::ApiKeyStore(std::string dir) : ApiKeyStore(file_text(std::move(dir))) {}

ApiKeyStore::ApiKeyStore(std::shared_ptr<SharedText> text) : text_(std::move(text)) {}

bool ApiKeyStore::looks_like_key(const std::string& token) { return !id_of(token).empty(); }

Result<std::vector<ApiKeyStore::Entry>> ApiKeyStore::parse(const std::string& text) const {
  std::vector<Entry> entries;
  if (text.empty()) return entries;  // never written: no keys
  const std::string where = text_->describe();
  const json doc = json::parse(text, nullptr, false);
  if (!doc.is_object() || !doc.contains("keys") || !doc["keys"].is_array()) {
    return error(ErrorCode::kDataCorruption, where + " is not a key store (expected {\"keys\":[...]}); "
                                                 "fix or move it away");
  }
  try {
    for (const json& k : doc["keys"]) {
      Entry e;
      e.info.id = k.at("id").get<std::string>();
      e.info.name = k.at("name").get<std::string>();
      for (const auto& scope : k.at("scopes")) {
        auto grant = parse_grant(scope.get<std::string>());
        if (!grant) return error(ErrorCode::kDataCorruption, where + ": key '" + e.info.name + "': " + grant.status().message());
        e.info.scopes.push_back(*grant);
      }
      e.info.created_at = k.value("created_at", int64_t{0});
      e.info.expires_at = k.value("expires_at", int64_t{0});
      e.info.revoked_at = k.value("revoked_at", int64_t{0});
      e.info.rotated_at = k.value("rotated_at", int64_t{0});
      e.info.previous_valid_until = k.value("previous_valid_until", int64_t{0});
      e.hash = k.at("sha256").get<std::string>();
      e.previous_hash = k.value("previous_sha256", "");
      entries.push_back(std::move(e));
    }
  } catch (const json::exception& ex) {
    return error(ErrorCode::kDataCorruption, where + " has a malformed key entry: " + ex.what());
  }
  return entries;
}

std::string ApiKeyStore::serialize(const std::vector<Entry>& entries) {
  json keys = json::array();
  for (const auto& e : entries) {
    json scopes = json::array();
    for (const auto& g : e.info.scopes) scopes.push_back(grant_string(g));
    keys.push_back({{"id", e.info.id},
                    {"name", e.info.name},
                    {"scopes", scopes},
                    {"created_at", e.info.created_at},
                    {"expires_at", e.info.expires_at},
                    {"revoked_at", e.info.revoked_at},
                    {"rotated_at", e.info.rotated_at},
                    {"previous_valid_until", e.info.previous_valid_until},
                    {"sha256", e.hash},
                    {"previous_sha256", e.previous_hash}});
  }
  return json{{"version", 1}, {"keys", keys}}.dump(1) + "\n";
}

Status ApiKeyStore::modify(const std::function<Status(std::vector<Entry>&)>& change) {
  std::vector<Entry> changed;
  Status updated = text_->update([&](std::string& text) -> Status {
    auto entries = parse(text);
    if (!entries) return entries.status();
    KR_RETURN_IF_ERROR(change(*entries));
    text = serialize(*entries);
    changed = std::move(*entries);
    return Status::ok();
  });
  if (!updated) return updated;
  std::lock_guard guard(mutex_);
  entries_ = std::move(changed);
  loaded_ = text_->stamp();
  return Status::ok();
}

Status ApiKeyStore::reload_if_changed_locked() {
  const std::string now = text_->stamp();
  if (now == loaded_) return Status::ok();
  auto text = text_->read();
  if (!text) return text.status();
  auto entries = parse(*text);
  if (!entries) return entries.status();
  entries_ = std::move(*entries);
  loaded_ = now;
  return Status::ok();
}

Result<NewApiKey> ApiKeyStore::create(const std::string& name, const std::vector<Grant>& scopes, int64_t expires_at,
                                      int64_t now) {
  if (!valid_name(name)) {
    return error(ErrorCode::kInvalidArgument, "key name must be 1-64 letters, digits, '-', '_' or '.'");
  }
  if (scopes.empty()) return error(ErrorCode::kInvalidArgument, "a key needs at least one scope, e.g. docs:read");
  if (expires_at != 0 && expires_at <= now) return error(ErrorCode::kInvalidArgument, "expiry must be in the future");
  NewApiKey created;
  Status s = modify([&](std::vector<Entry>& entries) -> Status {
    for (const auto& e : entries) {
      if (e.info.name == name && e.info.revoked_at == 0) {
        return error(ErrorCode::kAlreadyExists, "an active key named '" + name + "' exists; rotate or revoke it");
      }
    }
    const std::string id = hex(random_bytes(kIdChars / 2));
    const std::string secret_part = base64url_encode(random_bytes(32));
    if (id.size() != kIdChars || secret_part.empty()) return error(ErrorCode::kInternal, "no randomness available");
    Entry e;
    e.info = {id, name, scopes, now, expires_at, 0, 0, 0};
    created.secret = std::string(kPrefix) + id + "_" + secret_part;
    e.hash = sha256_hex(created.secret);
    created.info = e.info;
    entries.push_back(std::move(e));
    return Status::ok();
  });
  if (!s) return s;
  return created;
}

Result<NewApiKey> ApiKeyStore::rotate(const std::string& name, int64_t grace_seconds, int64_t now) {
  if (grace_seconds < 0) return error(ErrorCode::kInvalidArgument, "grace period must not be negative");
  NewApiKey rotated;
  Status s = modify([&](std::vector<Entry>& entries) -> Status {
    for (auto& e : entries) {
      if (e.info.name != name || e.info.revoked_at != 0) continue;
      const std::string secret_part = base64url_encode(random_bytes(32));
      if (secret_part.empty()) return error(ErrorCode::kInternal, "no randomness available");
      e.previous_hash = grace_seconds > 0 ? e.hash : "";
      e.info.previous_valid_until = grace_seconds > 0 ? now + grace_seconds : 0;
      rotated.secret = std::string(kPrefix) + e.info.id + "_" + secret_part;
      e.hash = sha256_hex(rotated.secret);
      e.info.rotated_at = now;
      rotated.info = e.info;
      return Status::ok();
    }
    return error(ErrorCode::kNotFound, "no active key named '" + name + "'");
  });
  if (!s) return s;
  return rotated;
}

Status ApiKeyStore::revoke(const std::string& name, int64_t now) {
  return modify([&](std::vector<Entry>& entries) -> Status {
    for (auto& e : entries) {
      if (e.info.name != name || e.info.revoked_at != 0) continue;
      e.info.revoked_at = now;
      e.previous_hash.clear();
      return Status::ok();
    }
    return error(ErrorCode::kNotFound, "no active key named '" + name + "'");
  });
}

Result<std::vector<ApiKeyInfo>> ApiKeyStore::list() {
  std::lock_guard guard(mutex_);
  KR_RETURN_IF_ERROR(reload_if_changed_locked());
  std::vector<ApiKeyInfo> out;
  for (const auto& e : entries_) out.push_back(e.info);
  return out;
}

size_t ApiKeyStore::active_count(int64_t now) {
  auto keys = list();
  if (!keys) return 0;
  size_t n = 0;
  for (const auto& k : *keys) n += k.revoked_at == 0 && (k.expires_at == 0 || k.expires_at > now);
  return n;
}

Result<ApiKeyInfo> ApiKeyStore::authenticate(const std::string& secret, int64_t now) {
  const std::string id = id_of(secret);
  if (id.empty()) return error(ErrorCode::kUnauthenticated, "invalid API key");
  const std::string hash = sha256_hex(secret);
  std::lock_guard guard(mutex_);
  // A store we cannot read authenticates nobody (and says why in the log via the caller).
  KR_RETURN_IF_ERROR(reload_if_changed_locked());
  for (const auto& e : entries_) {
    if (e.info.id != id) continue;
    const bool current = hash_equals(hash, e.hash);
    const bool previous = now < e.info.previous_valid_until && hash_equals(hash, e.previous_hash);
    if (!current && !previous) break;
    if (e.info.revoked_at != 0) return error(ErrorCode::kUnauthenticated, "API key '" + e.info.name + "' was revoked");
    if (e.info.expires_at != 0 && now >= e.info.expires_at) {
      return error(ErrorCode::kUnauthenticated, "API key '" + e.info.name + "' has expired");
    }
    return e.info;
  }
  return error(ErrorCode::kUnauthenticated, "invalid API key");
}

}  // namespace kr::auth
