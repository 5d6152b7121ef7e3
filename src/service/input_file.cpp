#include "service/input_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace kr::service {
namespace {

// Closes the descriptor however the read ends.
struct OpenFile {
  int fd;
  ~OpenFile() {
    if (fd >= 0) ::close(fd);
  }
};

Status cannot_read(const std::string& path, int err) {
  return error(ErrorCode::kNotFound, "cannot read " + path + ": " + std::strerror(err));
}

// Reads up to `length` bytes from the start of `fd` into `out` (resized to what was read).
Status read_prefix(int fd, const std::string& path, size_t length, std::string& out) {
  out.resize(length);
  size_t done = 0;
  while (done < length) {
    const ssize_t n = ::read(fd, out.data() + done, length - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return cannot_read(path, errno);
    if (n == 0) break;
    done += static_cast<size_t>(n);
  }
  out.resize(done);
  return Status::ok();
}

}  // namespace

Result<int64_t> input_file_size(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return cannot_read(path, errno);
  if (!S_ISREG(st.st_mode)) return error(ErrorCode::kInvalidArgument, path + " is not a regular file");
  return static_cast<int64_t>(st.st_size);
}

Result<std::string> read_file_head(const std::string& path, size_t max_bytes) {
  OpenFile file{::open(path.c_str(), O_RDONLY | O_CLOEXEC)};
  if (file.fd < 0) return cannot_read(path, errno);
  std::string head;
  KR_RETURN_IF_ERROR(read_prefix(file.fd, path, max_bytes, head));
  return head;
}

Result<std::string> read_whole_file(const std::string& path, int64_t max_bytes, const std::string& limit_name) {
  OpenFile file{::open(path.c_str(), O_RDONLY | O_CLOEXEC)};
  if (file.fd < 0) return cannot_read(path, errno);
  struct stat st {};
  if (::fstat(file.fd, &st) != 0) return cannot_read(path, errno);
  if (!S_ISREG(st.st_mode)) return error(ErrorCode::kInvalidArgument, path + " is not a regular file");
  if (st.st_size > max_bytes) {
    return error(ErrorCode::kTooLarge, "file is " + std::to_string(st.st_size) + " bytes, over the limit of " +
                                           std::to_string(max_bytes) + " (" + limit_name + ")");
  }
  // One read of the size fstat gave: a file growing meanwhile is cut there, never read past the bound.
  std::string bytes;
  KR_RETURN_IF_ERROR(read_prefix(file.fd, path, static_cast<size_t>(st.st_size), bytes));
  return bytes;
}

}  // namespace kr::service
