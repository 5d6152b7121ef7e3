#include "api/upload_scratch.h"

#include <fcntl.h>
#include <openssl/evp.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>

#include "core/hex.h"

namespace kr::api {

struct ScratchFile::Hash {
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  ~Hash() { EVP_MD_CTX_free(ctx); }
};

Status write_all(int fd, std::string_view bytes, const std::string& what) {
  while (!bytes.empty()) {
    const ssize_t n = ::write(fd, bytes.data(), bytes.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      const int err = errno;
      if (err == ENOSPC || err == EDQUOT) {
        return error(ErrorCode::kInsufficientStorage,
                     "no space left on the disk holding the data directory while writing " + what +
                         "; free space or enlarge the volume, then retry");
      }
      return error(ErrorCode::kInternal, "cannot write " + what + ": " + std::strerror(err));
    }
    bytes.remove_prefix(static_cast<size_t>(n));
  }
  return Status::ok();
}

Result<std::unique_ptr<ScratchFile>> ScratchFile::create(const std::string& dir) {
  static std::atomic<uint64_t> counter{0};
  for (int attempt = 0; attempt < 100; ++attempt) {
    const std::string path = dir + "/upload-" + std::to_string(::getpid()) + "-" + std::to_string(counter++);
    const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd >= 0) return std::unique_ptr<ScratchFile>(new ScratchFile(path, fd));
    if (errno == EEXIST) continue;
    const int err = errno;
    if (err == ENOSPC || err == EDQUOT) {
      return error(ErrorCode::kInsufficientStorage, "no space left for an upload's scratch file in " + dir);
    }
    return error(ErrorCode::kInternal, "cannot create a scratch file in " + dir + ": " + std::strerror(err));
  }
  return error(ErrorCode::kInternal, "cannot create a unique scratch file in " + dir);
}

ScratchFile::ScratchFile(std::string path, int fd) : path_(std::move(path)), fd_(fd), hash_(new Hash) {
  EVP_DigestInit_ex(hash_->ctx, EVP_sha256(), nullptr);
}

ScratchFile::~ScratchFile() {
  if (fd_ >= 0) ::close(fd_);
  ::unlink(path_.c_str());
}

Status ScratchFile::append(std::string_view bytes) {
  if (fd_ < 0) return error(ErrorCode::kFailedPrecondition, "scratch file already closed");
  KR_RETURN_IF_ERROR(write_all(fd_, bytes, "an uploaded file"));
  EVP_DigestUpdate(hash_->ctx, bytes.data(), bytes.size());
  size_ += static_cast<int64_t>(bytes.size());
  return Status::ok();
}

Status ScratchFile::close() {
  if (fd_ < 0) return Status::ok();
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  EVP_DigestFinal_ex(hash_->ctx, digest, &length);
  sha256_hex_ = hex_lower(std::string_view(reinterpret_cast<const char*>(digest), length));
  const int rc = ::close(fd_);
  fd_ = -1;
  if (rc != 0 && (errno == ENOSPC || errno == EDQUOT)) {
    return error(ErrorCode::kInsufficientStorage, "no space left while closing an upload's scratch file");
  }
  return Status::ok();
}

}  // namespace kr::api
