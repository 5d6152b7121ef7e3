#include "auth/ownership.h"

#include <fcntl.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

namespace kr::auth {

OwnershipStore::OwnershipStore(std::string dir) : dir_(std::move(dir)), path_(dir_ + "/owners.json") {}

Status OwnershipStore::load() {
  std::lock_guard lock(mutex_);
  owners_.clear();
  std::ifstream in(path_, std::ios::binary);
  if (!in) return Status::ok();
  std::ostringstream buffer;
  buffer << in.rdbuf();
  const auto doc = nlohmann::json::parse(buffer.str(), nullptr, false);
  if (!doc.is_object()) return error(ErrorCode::kDataCorruption, path_ + " is not a JSON object; fix or restore it");
  for (const auto& [collection, owner] : doc.items()) {
    if (!owner.is_string()) return error(ErrorCode::kDataCorruption, path_ + ": owner of '" + collection + "' is not a string");
    owners_[collection] = owner.get<std::string>();
  }
  return Status::ok();
}

std::string OwnershipStore::owner_of(const std::string& collection) const {
  std::lock_guard lock(mutex_);
  const auto it = owners_.find(collection);
  return it == owners_.end() ? std::string() : it->second;
}

Status OwnershipStore::claim(const std::string& collection, const std::string& owner) {
  std::lock_guard lock(mutex_);
  const auto it = owners_.find(collection);
  if (it != owners_.end()) {
    if (it->second == owner) return Status::ok();
    return error(ErrorCode::kAlreadyExists, "collection '" + collection + "' already exists");
  }
  owners_[collection] = owner;
  Status saved = save_locked();
  if (!saved) owners_.erase(collection);
  return saved;
}

Status OwnershipStore::release(const std::string& collection) {
  std::lock_guard lock(mutex_);
  const auto it = owners_.find(collection);
  if (it == owners_.end()) return Status::ok();
  const std::string owner = it->second;
  owners_.erase(it);
  Status saved = save_locked();
  if (!saved) owners_[collection] = owner;
  return saved;
}

Status OwnershipStore::save_locked() const {
  std::error_code ec;
  std::filesystem::create_directories(dir_, ec);
  const std::string text = nlohmann::json(owners_).dump(1) + "\n";
  const std::string tmp = path_ + ".tmp";
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return error(ErrorCode::kUnavailable, "cannot write " + tmp);
  const bool written = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size()) && ::fsync(fd) == 0;
  ::close(fd);
  if (!written || std::rename(tmp.c_str(), path_.c_str()) != 0) return error(ErrorCode::kUnavailable, "cannot write " + path_);
  return Status::ok();
}

}  // namespace kr::auth
