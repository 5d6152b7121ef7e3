// Private scratch files for uploaded parts: each file part of a multipart body
// is written to its own 0600 file in the server's scratch directory while its
// SHA-256 is computed, so the bytes are never held in memory whole. A
// ScratchFile removes its file when destroyed, however the request ends.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "core/status.h"

namespace kr::api {

class ScratchFile {
 public:
  // Creates a new, empty file (O_EXCL, mode 0600) under `dir`.
  static Result<std::unique_ptr<ScratchFile>> create(const std::string& dir);
  ~ScratchFile();
  ScratchFile(const ScratchFile&) = delete;
  ScratchFile& operator=(const ScratchFile&) = delete;

  // Appends; a full disk is kInsufficientStorage (507), other failures kInternal.
  Status append(std::string_view bytes);
  // Flushes the hash; no more appends. The file stays until destruction.
  Status close();

  const std::string& path() const { return path_; }
  int64_t size() const { return size_; }
  const std::string& sha256_hex() const { return sha256_hex_; }  // after close()

 private:
  ScratchFile(std::string path, int fd);
  struct Hash;

  std::string path_;
  int fd_;
  int64_t size_ = 0;
  std::unique_ptr<Hash> hash_;
  std::string sha256_hex_;
};

// write(2) all of `bytes` to `fd`, retrying short writes and EINTR; ENOSPC/EDQUOT
// become kInsufficientStorage naming `what`.
Status write_all(int fd, std::string_view bytes, const std::string& what);

}  // namespace kr::api
