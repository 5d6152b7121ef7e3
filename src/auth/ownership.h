// Owners of private collections, in <data_dir>/auth/owners.json ({"collection": "owner subject"}),
// or with --store postgres in the shared database (core/shared_text.h), so every replica
// enforces the same owners. A collection without an entry is shared. Only the server writes it.
// Thread-safe.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "core/shared_text.h"
#include "core/status.h"

namespace kr::auth {

class OwnershipStore {
 public:
  explicit OwnershipStore(std::string dir);
  explicit OwnershipStore(std::shared_ptr<SharedText> text) : text_(std::move(text)) {}
  // Reads the owners; kDataCorruption when they are not ours (the server then refuses to start
  // rather than turn private collections into shared ones).
  Status load();
  // Empty when shared. Re-reads when another process (replica) changed the owners; when they
  // cannot be read, the last ones read stay in force.
  std::string owner_of(const std::string& collection) const;
  // Claims `collection` for `owner`; kAlreadyExists when someone else holds it.
  Status claim(const std::string& collection, const std::string& owner);
  Status release(const std::string& collection);

 private:
  Result<std::map<std::string, std::string>> parse(const std::string& text) const;
  Status reload_if_changed_locked() const;
  // Applies `change` to the freshest owners under the store's lock and writes them.
  Status modify(const std::function<Status(std::map<std::string, std::string>&)>& change);

  std::shared_ptr<SharedText> text_;
  mutable std::mutex mutex_;
  mutable std::map<std::string, std::string> owners_;
  mutable std::string loaded_;  // stamp of what owners_ holds
};

}  // namespace kr::auth
