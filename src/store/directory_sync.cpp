#include "store/directory_sync.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "core/log.h"

namespace kr::store {

Status sync_directory(const std::string& directory) {
  const int fd = ::open(directory.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  int failure = fd < 0 ? errno : 0;
  if (fd >= 0) {
    if (::fsync(fd) != 0) failure = errno;
    ::close(fd);
  }
  if (failure == 0) return Status::ok();
  const std::string message = "cannot fsync directory " + directory + ": " + std::strerror(failure);
  log::error(message);
  return error(failure == ENOSPC ? ErrorCode::kInsufficientStorage : ErrorCode::kUnavailable, message);
}

}  // namespace kr::store
