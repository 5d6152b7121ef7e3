#include "auth/ownership.h"

#include <nlohmann/json.hpp>

#include "core/log.h"

namespace kr::auth {

OwnershipStore::OwnershipStore(std::string dir)
    : OwnershipStore(std::make_shared<FileSharedText>(std::move(dir), "owners.json", "owners.lock")) {}

Result<std::map<std::string, std::string>> OwnershipStore::parse(const std::string& text) const {
  std::map<std::string, std::string> owners;
  if (text.empty()) return owners;
  const auto doc = nlohmann::json::parse(text, nullptr, false);
  if (!doc.is_object()) {
    return error(ErrorCode::kDataCorruption, text_->describe() + " is not a JSON object; fix or restore it");
  }
  for (const auto& [collection, owner] : doc.items()) {
    if (!owner.is_string()) {
      return error(ErrorCode::kDataCorruption, text_->describe() + ": owner of '" + collection + "' is not a string");
    }
    owners[collection] = owner.get<std::string>();
  }
  return owners;
}

Status OwnershipStore::reload_if_changed_locked() const {
  const std::string now = text_->stamp();
  if (now == loaded_) return Status::ok();
  auto text = text_->read();
  if (!text) return text.status();
  auto owners = parse(*text);
  if (!owners) return owners.status();
  owners_ = std::move(*owners);
  loaded_ = now;
  return Status::ok();
}

Status OwnershipStore::load() {
  std::lock_guard lock(mutex_);
  loaded_.clear();
  owners_.clear();
  return reload_if_changed_locked();
}

std::string OwnershipStore::owner_of(const std::string& collection) const {
  std::lock_guard lock(mutex_);
  if (Status s = reload_if_changed_locked(); !s) log::warn("private collection owners", {{"error", s.message()}});
  const auto it = owners_.find(collection);
  return it == owners_.end() ? std::string() : it->second;
}

Status OwnershipStore::modify(const std::function<Status(std::map<std::string, std::string>&)>& change) {
  std::lock_guard lock(mutex_);
  std::map<std::string, std::string> changed;
  Status updated = text_->update([&](std::string& text) -> Status {
    auto owners = parse(text);
    if (!owners) return owners.status();
    KR_RETURN_IF_ERROR(change(*owners));
    text = nlohmann::json(*owners).dump(1) + "\n";
    changed = std::move(*owners);
    return Status::ok();
  });
  if (!updated) return updated;
  owners_ = std::move(changed);
  loaded_ = text_->stamp();
  return Status::ok();
}

Status OwnershipStore::claim(const std::string& collection, const std::string& owner) {
  return modify([&](std::map<std::string, std::string>& owners) -> Status {
    const auto it = owners.find(collection);
    if (it != owners.end()) {
      if (it->second == owner) return Status::ok();
      return error(ErrorCode::kAlreadyExists, "collection '" + collection + "' already exists");
    }
    owners[collection] = owner;
    return Status::ok();
  });
}

Status OwnershipStore::release(const std::string& collection) {
  return modify([&](std::map<std::string, std::string>& owners) -> Status {
    owners.erase(collection);
    return Status::ok();
  });
}

}  // namespace kr::auth
