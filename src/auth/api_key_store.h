// Named API keys for automation, hashed at rest in <data_dir>/auth/api_keys.json.
// The server and `kaito-rag keys` share the file: every change takes an exclusive lock on
// api_keys.lock, re-reads, writes a temporary file and renames it over the old one; the server
// notices a changed file on its next lookup, so keys are created, rotated and revoked without a
// restart. Secrets are 256-bit random, so one SHA-256 is enough (no slow hash needed); the
// plaintext is shown once, on create and rotate.
// Thread-safe.
#pragma once

#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <sys/types.h>
#include <vector>

#include "auth/permission.h"
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
  struct FileStamp {
    int64_t mtime_ns = -1;
    int64_t size = -1;
    ino_t inode = 0;
    bool operator==(const FileStamp&) const = default;
  };

  Status reload_if_changed_locked();
  Result<std::vector<Entry>> read_file() const;
  Status write_file(const std::vector<Entry>& entries) const;
  // Runs `change` on the freshest entries under the file lock and writes the result.
  Status modify(const std::function<Status(std::vector<Entry>&)>& change);
  FileStamp stamp() const;

  const std::string dir_;
  const std::string path_;
  std::mutex mutex_;
  std::vector<Entry> entries_;
  FileStamp loaded_;
};

}  // namespace kr::auth
