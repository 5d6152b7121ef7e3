// Named API keys for automation, hashed at rest in <data_dir>/auth/api_keys.json (or, with
// --store postgres, in the shared database: core/shared_text.h).
// The server and `kaito-rag keys` share it: every change takes an exclusive lock (api_keys.lock
// or the row), re-reads, and writes the whole document; the server notices a change on its next
// lookup, so keys are created, rotated and revoked without a restart. Secrets are 256-bit random, so one SHA-256 is enough (no slow hash needed); the
// plaintext is shown once, on create and rotate.
// Thread-safe.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "auth/permission.h"
#include "core/shared_text.h"
#include "core/status.h"

namespace kr::auth {

struct ApiKeyInfo {
  std::string id;             // public part of the key ("kr_<id>_<secret>")
  std::string name;
  std::vector<Grant> scopes;
  int64_t created_at = 0;
  int64_t expires_at = 0;     // 0 = never
  int64_t revoked_at = 0;     // 0 = active
  int64_t rotated_at = 0;
  int64_t previous_valid_until = 0;  // the secret before the last rotation works until then
};

struct NewApiKey {
  ApiKeyInfo info;
  std::string secret;  // shown once
};

class ApiKeyStore {
 public:
  // `dir` is created on first write (mode 0700).
  explicit ApiKeyStore(std::string dir);
  explicit ApiKeyStore(std::shared_ptr<SharedText> text);
  // The file store under `dir` (the embedded default).
  static std::shared_ptr<SharedText> file_text(std::string dir);

  Result<NewApiKey> create(const std::string& name, const std::vector<Grant>& scopes, int64_t expires_at, int64_t now);
  // New secret for the active key `name`; the old one keeps working for `grace_seconds`.
  Result<NewApiKey> rotate(const std::string& name, int64_t grace_seconds, int64_t now);
  Status revoke(const std::string& name, int64_t now);
  Result<std::vector<ApiKeyInfo>> list();
  // The active, unexpired key this secret belongs to; kUnauthenticated otherwise.
  Result<ApiKeyInfo> authenticate(const std::string& secret, int64_t now);
  // True when the presented token has this store's shape (so other credential kinds are tried otherwise).
  static bool looks_like_key(const std::string& token);
  // Active keys at the moment (used to decide whether authentication is configured).
  size_t active_count(int64_t now);

 private:
  struct Entry {
    ApiKeyInfo info;
    std::string hash;
    std::string previous_hash;
  };
  Status reload_if_changed_locked();
  Result<std::vector<Entry>> parse(const std::string& text) const;
  static std::string serialize(const std::vector<Entry>& entries);
  // Runs `change` on the freshest entries under the store's lock and writes the result.
  Status modify(const std::function<Status(std::vector<Entry>&)>& change);

  std::shared_ptr<SharedText> text_;
  std::mutex mutex_;
  std::vector<Entry> entries_;
  std::string loaded_;  // stamp of what entries_ holds
};

}  // namespace kr::auth
