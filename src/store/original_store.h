// Uploaded files kept as they came ("Open original", PDF page rendering in the web UI).
// Content-addressed per collection: <collections_dir>/<collection>/originals/<sha256 hex>, so a
// collection's originals go with its directory when it is deleted.
#pragma once

#include <cstdint>
#include <functional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace kr::store {

// Where originals are kept: files under the data directory (embedded) or the shared database
// (PgOriginalStore, store/pg_original_store.h), so that any replica serves any upload.
class OriginalStore {
 public:
  virtual ~OriginalStore() = default;
  // Stores `bytes` under its SHA-256 `content_hash` (lower-case hex), durably.
  // An original already present is kept: same hash, same bytes.
  virtual Status keep(const std::string& collection, const std::string& content_hash, std::string_view bytes) const = 0;
  // The same from a file (an upload's scratch file), never read whole into memory.
  virtual Status keep_file(const std::string& collection, const std::string& content_hash,
                           const std::string& path) const = 0;
  // The stored bytes; kNotFound when it was never kept (e.g. ingested from the CLI).
  virtual Result<std::string> read(const std::string& collection, const std::string& content_hash) const = 0;
  // Deletes one original; absent is fine.
  virtual Status release(const std::string& collection, const std::string& content_hash) const = 0;
  // Deletes every original whose hash is not in `live` (after a document's content changed).
  virtual Status sweep(const std::string& collection, const std::set<std::string>& live) const = 0;
  // Bytes held by a collection's originals (for its stats).
  virtual int64_t bytes(const std::string& collection) const = 0;
  // Every kept hash of a collection (migrate-store copies them).
  virtual Result<std::vector<std::string>> hashes(const std::string& collection) const = 0;
};

// The message of a read whose original was never kept.
Status original_not_kept();
// True for a lower-case SHA-256 hex digest (a path component must never be anything else).
bool valid_content_hash(const std::string& hash);

// Files: <collections_dir>/<collection>/originals/<sha256 hex>.
// Stateless over its root directory: cheap to construct per request.
// Thread-safety: concurrent calls are safe (writes go to a unique temp file, then rename).
class FileOriginalStore final : public OriginalStore {
 public:
  explicit FileOriginalStore(std::string collections_dir) : root_(std::move(collections_dir)) {}

  Status keep(const std::string& collection, const std::string& content_hash, std::string_view bytes) const override;
  // Hard-linked when on the same file system, else copied by the kernel.
  Status keep_file(const std::string& collection, const std::string& content_hash,
                   const std::string& path) const override;
  Result<std::string> read(const std::string& collection, const std::string& content_hash) const override;
  Status release(const std::string& collection, const std::string& content_hash) const override;
  Status sweep(const std::string& collection, const std::set<std::string>& live) const override;
  int64_t bytes(const std::string& collection) const override;
  Result<std::vector<std::string>> hashes(const std::string& collection) const override;

 private:
  std::string dir(const std::string& collection) const;
  // The durable part both keeps share: `write_tmp` fills and fsyncs a temp file, then it is
  // renamed into place and the directory synced. Nothing happens when the hash is already kept.
  Status keep_with(const std::string& collection, const std::string& content_hash,
                   const std::function<Status(const std::string& tmp_path)>& write_tmp) const;
  std::string root_;
};

}  // namespace kr::store
