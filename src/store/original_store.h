// Uploaded files kept as they came ("Open original", PDF page rendering in the web UI).
// Content-addressed per collection: <collections_dir>/<collection>/originals/<sha256 hex>, so a
// collection's originals go with its directory when it is deleted.
#pragma once

#include <cstdint>
#include <functional>
#include <set>
#include <string>

#include "core/status.h"

namespace kr::store {

// Stateless over its root directory: cheap to construct per request.
// Thread-safety: concurrent calls are safe (writes go to a unique temp file, then rename).
class OriginalStore {
 public:
  explicit OriginalStore(std::string collections_dir) : root_(std::move(collections_dir)) {}

  // Stores `bytes` under its SHA-256 `content_hash` (lower-case hex), durably (fsync + rename).
  // A file already present is kept: same hash, same bytes.
  Status keep(const std::string& collection, const std::string& content_hash, std::string_view bytes) const;
  // The same from a file (an upload's scratch file): hard-linked when on the same file
  // system, else copied by the kernel; never read into memory.
  Status keep_file(const std::string& collection, const std::string& content_hash, const std::string& path) const;
  // The stored file's bytes; kNotFound when it was never kept (e.g. ingested from the CLI).
  Result<std::string> read(const std::string& collection, const std::string& content_hash) const;
  // Deletes one original; absent is fine.
  Status release(const std::string& collection, const std::string& content_hash) const;
  // Deletes every original whose hash is not in `live` (after a document's content changed).
  Status sweep(const std::string& collection, const std::set<std::string>& live) const;
  // Bytes held by a collection's originals (for its stats).
  int64_t bytes(const std::string& collection) const;

 private:
  std::string dir(const std::string& collection) const;
  // The durable part both keeps share: `write_tmp` fills and fsyncs a temp file, then it is
  // renamed into place and the directory synced. Nothing happens when the hash is already kept.
  Status keep_with(const std::string& collection, const std::string& content_hash,
                   const std::function<Status(const std::string& tmp_path)>& write_tmp) const;
  std::string root_;
};

}  // namespace kr::store
