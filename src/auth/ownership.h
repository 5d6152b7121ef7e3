// Owners of private collections, in <data_dir>/auth/owners.json ({"collection": "owner subject"}).
// A collection without an entry is shared. Only the server writes the file.
// Thread-safe.
#pragma once

#include <map>
#include <mutex>
#include <string>

#include "core/status.h"

namespace kr::auth {

class OwnershipStore {
 public:
  explicit OwnershipStore(std::string dir);
  // Reads the file; kDataCorruption when it is not ours (the server then refuses to start
  // rather than turn private collections into shared ones).
  Status load();
  // Empty when shared.
  std::string owner_of(const std::string& collection) const;
  // Claims `collection` for `owner`; kAlreadyExists when someone else holds it.
  Status claim(const std::string& collection, const std::string& owner);
  Status release(const std::string& collection);

 private:
  Status save_locked() const;

  const std::string dir_;
  const std::string path_;
  mutable std::mutex mutex_;
  std::map<std::string, std::string> owners_;
};

}  // namespace kr::auth
