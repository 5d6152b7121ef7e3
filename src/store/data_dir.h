// The data directory: who owns it, where collections and scratch files live.
//
// One process owns a data directory read-write (an exclusive flock on <root>/.lock):
// each owner keeps in-memory indexes that another process's writes would never reach.
// Read-only users (the CLI next to a running server) take no lock and write nothing.
#pragma once

#include <string>

#include "core/status.h"

namespace kr::store {

class DataDirectory {
 public:
  enum class Access {
    kReadWrite,  // owns the directory: an exclusive lock, scratch cleanup, all operations
    kReadOnly,   // no lock, nothing written: search, ask, listings
  };

  explicit DataDirectory(std::string root) : root_(std::move(root)) {}
  ~DataDirectory();  // releases the lock
  DataDirectory(const DataDirectory&) = delete;
  DataDirectory& operator=(const DataDirectory&) = delete;

  // Read-write: creates the folders, takes the lock (kFailedPrecondition when another
  // process holds it), removes leftovers of interrupted collection creates/deletes and
  // the parse workers' scratch files. Read-only: nothing.
  Status open(Access access);
  // Takes the exclusive lock only (lets a server fail fast before it listens).
  Status claim();

  Access access() const { return access_; }
  // kFailedPrecondition when opened read-only.
  Status require_writable() const;

  const std::string& root() const { return root_; }
  std::string collections_dir() const { return root_ + "/collections"; }
  std::string scratch_dir() const { return root_ + "/tmp"; }
  std::string collection_dir(const std::string& name) const { return collections_dir() + "/" + name; }
  // Fresh names inside collections_dir() for a collection being built or removed:
  // both kinds are swept at start-up, so a crash never leaves one visible.
  std::string staging_dir(const std::string& name) const;
  std::string trash_dir(const std::string& name) const;

 private:
  std::string root_;
  Access access_ = Access::kReadWrite;
  int lock_fd_ = -1;  // flock()ed <root>/.lock while read-write
};

}  // namespace kr::store
