#include "core/shared_text.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace kr {
namespace {

// Holds an exclusive flock on a file for its lifetime.
class FileLock {
 public:
  explicit FileLock(const std::string& path) : fd_(::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600)) {
    if (fd_ >= 0 && ::flock(fd_, LOCK_EX) != 0) {
      ::close(fd_);
      fd_ = -1;
    }
  }
  ~FileLock() {
    if (fd_ >= 0) ::close(fd_);  // closing releases the lock
  }
  FileLock(const FileLock&) = delete;
  FileLock& operator=(const FileLock&) = delete;
  bool ok() const { return fd_ >= 0; }

 private:
  int fd_;
};

}  // namespace

Result<std::string> FileSharedText::read() const {
  std::ifstream in(path_, std::ios::binary);
  if (!in) return std::string();  // never written
  std::ostringstream buffer;
  buffer << in.rdbuf();
  if (in.bad()) return error(ErrorCode::kUnavailable, "cannot read " + path_);
  return std::move(buffer).str();
}

Status FileSharedText::update(const std::function<Status(std::string& content)>& change) {
  namespace fs = std::filesystem;
  std::error_code ec;
  fs::create_directories(dir_, ec);
  fs::permissions(dir_, fs::perms::owner_all, fs::perm_options::replace, ec);
  FileLock lock(lock_path_);
  if (!lock.ok()) return error(ErrorCode::kUnavailable, "cannot lock " + lock_path_);
  auto text = read();
  if (!text) return text.status();
  KR_RETURN_IF_ERROR(change(*text));
  const std::string tmp = path_ + ".tmp";
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return error(ErrorCode::kUnavailable, "cannot write " + tmp);
  const bool written = ::write(fd, text->data(), text->size()) == static_cast<ssize_t>(text->size()) && ::fsync(fd) == 0;
  ::close(fd);
  if (!written || std::rename(tmp.c_str(), path_.c_str()) != 0) {
    return error(ErrorCode::kUnavailable, "cannot write " + path_ + " (disk full or read-only?)");
  }
  return Status::ok();
}

std::string FileSharedText::stamp() const {
  struct stat st {};
  if (::stat(path_.c_str(), &st) != 0) return "absent";
  return std::to_string(st.st_mtim.tv_sec) + "." + std::to_string(st.st_mtim.tv_nsec) + ":" +
         std::to_string(st.st_size) + ":" + std::to_string(st.st_ino);
}

}  // namespace kr
