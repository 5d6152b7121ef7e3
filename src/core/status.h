// Transport-neutral error codes, Status and Result<T>.
// Expected failures travel as values; exceptions are caught at module edges.
#pragma once

#include <cassert>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace kr {

enum class ErrorCode {
  kOk = 0,
  kInvalidArgument,     // the caller sent something malformed (400)
  kNotFound,            // a named thing does not exist (404)
  kAlreadyExists,       // creation of something that exists (409)
  kFailedPrecondition,  // valid request, wrong state (409)
  kUnsupported,         // a format or feature we do not handle (415 for uploads)
  kEncrypted,           // a password-protected file (422)
  kCorruptInput,        // input bytes are broken or truncated (422)
  kTooLarge,            // input exceeds a configured limit (413)
  kResourceExhausted,   // a limit on work or memory was hit (429/413)
  kDeadlineExceeded,    // took longer than allowed (504)
  kUnauthenticated,     // missing/bad credentials (401)
  kPermissionDenied,    // valid credentials, not allowed to do this (403)
  kUnavailable,         // a dependency is down or not ready (503)
  kCancelled,           // the client went away
  kDataCorruption,      // our own stored data is damaged (500)
  kInternal,            // a bug or an unexpected third-party failure (500)
  kInsufficientStorage,  // the disk holding the data directory is full (507)
};

std::string_view error_code_name(ErrorCode code);

class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(ErrorCode code, std::string message) : code_(code), message_(std::move(message)) {}

  static Status ok() { return {}; }
  bool is_ok() const { return code_ == ErrorCode::kOk; }
  explicit operator bool() const { return is_ok(); }
  ErrorCode code() const { return code_; }
  const std::string& message() const { return message_; }
  // "NotFound: collection 'x' does not exist"
  std::string to_string() const;

 private:
  ErrorCode code_ = ErrorCode::kOk;
  std::string message_;
};

inline Status error(ErrorCode code, std::string message) { return {code, std::move(message)}; }

// Either a value or a non-ok Status.
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : data_(std::move(value)) {}  // NOLINT(implicit)
  Result(Status status) : data_(std::move(status)) {  // NOLINT(implicit)
    assert(!std::get<Status>(data_).is_ok() && "Result built from an ok Status");
  }
  bool is_ok() const { return std::holds_alternative<T>(data_); }
  explicit operator bool() const { return is_ok(); }

  const T& value() const& { return std::get<T>(data_); }
  T& value() & { return std::get<T>(data_); }
  T&& value() && { return std::get<T>(std::move(data_)); }
  const T& operator*() const& { return value(); }
  T& operator*() & { return value(); }
  const T* operator->() const { return &value(); }
  T* operator->() { return &value(); }

  Status status() const { return is_ok() ? Status::ok() : std::get<Status>(data_); }

 private:
  std::variant<T, Status> data_;
};

}  // namespace kr

// Early return of a non-ok Status from a function returning Status or Result<T>.
#define KR_RETURN_IF_ERROR(expr)              \
  do {                                        \
    ::kr::Status kr_status_ = (expr);         \
    if (!kr_status_.is_ok()) return kr_status_; \
  } while (0)
