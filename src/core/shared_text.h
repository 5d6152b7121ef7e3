// A small text document that several processes change: the API key store, the owners of private
// collections. A file under the data directory (FileSharedText), or with --store postgres a row
// of the shared database (store::PgSharedText), so every replica sees the same keys and owners.
#pragma once

#include <functional>
#include <string>

#include "core/status.h"

namespace kr {

class SharedText {
 public:
  virtual ~SharedText() = default;
  // The content; "" when never written.
  virtual Result<std::string> read() const = 0;
  // Under an exclusive lock across processes: reads the freshest content, lets `change` rewrite
  // it, stores it durably. Nothing is stored when `change` fails.
  virtual Status update(const std::function<Status(std::string& content)>& change) = 0;
  // Differs whenever the content does (readers re-read only then). May lag another process's
  // update by a bounded, documented interval.
  virtual std::string stamp() const = 0;
  // Where it lives, for error messages.
  virtual std::string describe() const = 0;
};

// <dir>/<name>: rewritten through a temporary file and a rename, under flock on <dir>/<lock_name>;
// <dir> is created with mode 0700. The stamp is mtime, size and inode (no lag).
class FileSharedText final : public SharedText {
 public:
  FileSharedText(std::string dir, const std::string& name, const std::string& lock_name)
      : dir_(std::move(dir)), path_(dir_ + "/" + name), lock_path_(dir_ + "/" + lock_name) {}
  Result<std::string> read() const override;
  Status update(const std::function<Status(std::string& content)>& change) override;
  std::string stamp() const override;
  std::string describe() const override { return path_; }

 private:
  const std::string dir_;
  const std::string path_;
  const std::string lock_path_;
};

}  // namespace kr
