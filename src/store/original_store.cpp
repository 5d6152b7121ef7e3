#include "store/original_store.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <random>
#include <sstream>

namespace kr::store {
namespace fs = std::filesystem;
namespace {

Status io_error(const std::string& what, const std::string& path) {
  return error(ErrorCode::kUnavailable, what + " " + path + ": " + std::strerror(errno));
}

Status write_all(int fd, std::string_view bytes, const std::string& path) {
  while (!bytes.empty()) {
    const ssize_t n = ::write(fd, bytes.data(), bytes.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return io_error("cannot write", path);
    bytes.remove_prefix(static_cast<size_t>(n));
  }
  return Status::ok();
}

bool valid_hash(const std::string& hash) { return valid_content_hash(hash); }

}  // namespace

bool valid_content_hash(const std::string& hash) {
  if (hash.size() != 64) return false;
  for (char c : hash) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

Status original_not_kept() {
  return error(ErrorCode::kNotFound, "the original file of this document was not kept (it was added before "
                                     "originals were stored, or not through the upload API); upload it again");
}

std::string FileOriginalStore::dir(const std::string& collection) const { return root_ + "/" + collection + "/originals"; }

Status FileOriginalStore::keep_with(const std::string& collection, const std::string& content_hash,
                                const std::function<Status(const std::string& tmp_path)>& write_tmp) const {
  if (!valid_hash(content_hash)) return error(ErrorCode::kInvalidArgument, "not a SHA-256 hex digest: " + content_hash);
  const std::string final_path = dir(collection) + "/" + content_hash;
  std::error_code ec;
  if (fs::exists(final_path, ec)) return Status::ok();
  // Only the originals folder, never the collection's: a collection deleted since its
  // upload committed must stay deleted (a recreated folder would block creating it again).
  fs::create_directory(dir(collection), ec);
  if (ec == std::errc::no_such_file_or_directory) {
    return error(ErrorCode::kNotFound, "collection '" + collection + "' was deleted");
  }
  if (ec) return error(ErrorCode::kUnavailable, "cannot create " + dir(collection) + ": " + ec.message());
  const std::string tmp_path = final_path + ".tmp-" + std::to_string(std::random_device()());
  Status status = write_tmp(tmp_path);
  if (status && ::rename(tmp_path.c_str(), final_path.c_str()) != 0) status = io_error("cannot rename", tmp_path);
  if (!status) {
    ::unlink(tmp_path.c_str());
    return status;
  }
  // The rename is durable once the directory entry is.
  if (const int dir_fd = ::open(dir(collection).c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC); dir_fd >= 0) {
    ::fsync(dir_fd);
    ::close(dir_fd);
  }
  return Status::ok();
}

Status FileOriginalStore::keep(const std::string& collection, const std::string& content_hash, std::string_view bytes) const {
  return keep_with(collection, content_hash, [&](const std::string& tmp_path) {
    const int fd = ::open(tmp_path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd < 0) return io_error("cannot create", tmp_path);
    Status status = write_all(fd, bytes, tmp_path);
    if (status && ::fsync(fd) != 0) status = io_error("cannot sync", tmp_path);
    ::close(fd);
    return status;
  });
}

Status FileOriginalStore::keep_file(const std::string& collection, const std::string& content_hash,
                                const std::string& path) const {
  return keep_with(collection, content_hash, [&](const std::string& tmp_path) {
    if (::link(path.c_str(), tmp_path.c_str()) != 0) {
      std::error_code ec;
      fs::copy_file(path, tmp_path, ec);  // another file system: copy_file_range/sendfile
      if (ec == std::errc::no_space_on_device) {
        return error(ErrorCode::kInsufficientStorage, "no space left to keep the original " + tmp_path);
      }
      if (ec) return error(ErrorCode::kUnavailable, "cannot copy to " + tmp_path + ": " + ec.message());
    }
    const int fd = ::open(tmp_path.c_str(), O_RDONLY | O_CLOEXEC);
    const bool synced = fd >= 0 && ::fsync(fd) == 0;
    if (fd >= 0) ::close(fd);
    return synced ? Status::ok() : io_error("cannot sync", tmp_path);
  });
}

Result<std::string> FileOriginalStore::read(const std::string& collection, const std::string& content_hash) const {
  if (!valid_hash(content_hash)) return error(ErrorCode::kInvalidArgument, "not a SHA-256 hex digest: " + content_hash);
  const std::string path = dir(collection) + "/" + content_hash;
  std::ifstream in(path, std::ios::binary);
  if (!in) return original_not_kept();
  std::ostringstream out;
  out << in.rdbuf();
  if (in.bad()) return io_error("cannot read", path);
  return std::move(out).str();
}

Status FileOriginalStore::release(const std::string& collection, const std::string& content_hash) const {
  if (!valid_hash(content_hash)) return Status::ok();
  std::error_code ec;
  fs::remove(dir(collection) + "/" + content_hash, ec);
  if (ec) return error(ErrorCode::kUnavailable, "cannot delete original " + content_hash + ": " + ec.message());
  return Status::ok();
}

Status FileOriginalStore::sweep(const std::string& collection, const std::set<std::string>& live) const {
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(dir(collection), ec)) {
    const std::string name = entry.path().filename().string();
    if (name.find(".tmp-") != std::string::npos) continue;  // a keep() in progress
    if (!live.contains(name)) fs::remove(entry.path(), ec);
  }
  return Status::ok();
}

int64_t FileOriginalStore::bytes(const std::string& collection) const {
  int64_t total = 0;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(dir(collection), ec)) {
    const auto size = entry.file_size(ec);
    if (!ec) total += static_cast<int64_t>(size);
  }
  return total;
}

Result<std::vector<std::string>> FileOriginalStore::hashes(const std::string& collection) const {
  std::vector<std::string> out;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(dir(collection), ec)) {
    const std::string name = entry.path().filename().string();
    if (valid_hash(name)) out.push_back(name);
  }
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace kr::store
