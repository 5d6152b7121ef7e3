#include "store/data_dir.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <filesystem>
#include <random>

namespace kr::store {
namespace fs = std::filesystem;

namespace {
std::string random_suffix() { return std::to_string(std::random_device()()); }
}  // namespace

DataDirectory::~DataDirectory() {
  if (lock_fd_ >= 0) ::close(lock_fd_);  // releases the flock
}

Status DataDirectory::claim() {
  if (lock_fd_ >= 0) return Status::ok();
  std::error_code ec;
  fs::create_directories(root_, ec);
  const std::string lock_path = root_ + "/.lock";
  const int fd = ::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) return error(ErrorCode::kUnavailable, "cannot create " + lock_path + " (is the data directory writable?)");
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    ::close(fd);
    return error(ErrorCode::kFailedPrecondition,
                 "the data directory " + root_ +
                     " is in use by another kaito-rag process (a running server?); stop it, or send files to "
                     "the server's API (curl -F file=@doc.pdf http://HOST/v1/collections/NAME/documents)");
  }
  lock_fd_ = fd;
  return Status::ok();
}

Status DataDirectory::open(Access access) {
  access_ = access;
  if (access == Access::kReadOnly) return Status::ok();
  std::error_code ec;
  fs::create_directories(collections_dir(), ec);
  if (ec) return error(ErrorCode::kUnavailable, "cannot create data directory " + collections_dir() + ": " + ec.message());
  KR_RETURN_IF_ERROR(claim());
  fs::create_directories(scratch_dir(), ec);
  // Leftovers of an interrupted create or delete (see DESIGN.md, "On disk").
  for (const auto& entry : fs::directory_iterator(collections_dir(), ec)) {
    const std::string name = entry.path().filename().string();
    if (name.rfind(".tmp-", 0) == 0 || name.rfind(".trash-", 0) == 0) fs::remove_all(entry.path(), ec);
  }
  for (const auto& entry : fs::directory_iterator(scratch_dir(), ec)) fs::remove_all(entry.path(), ec);
  return Status::ok();
}

Status DataDirectory::require_writable() const {
  if (access_ == Access::kReadWrite) return Status::ok();
  return error(ErrorCode::kFailedPrecondition, "the data directory was opened read-only");
}

std::string DataDirectory::staging_dir(const std::string& name) const {
  return collections_dir() + "/.tmp-" + name + "-" + random_suffix();
}

std::string DataDirectory::trash_dir(const std::string& name) const {
  return collections_dir() + "/.trash-" + name + "-" + random_suffix();
}

}  // namespace kr::store
