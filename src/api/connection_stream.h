// One client connection as an httplib::Stream: buffered reads that survive
// between requests (keep-alive, pipelining), socket timeouts, and a byte budget
// for the request body that holds for Content-Length and chunked bodies alike.
#pragma once

#include <httplib.h>

#include <chrono>
#include <cstdint>
#include <string_view>
#include <vector>

namespace kr::api {

// Owns the socket (closed by the destructor). Used by one thread at a time.
class ConnectionStream : public httplib::Stream {
 public:
  explicit ConnectionStream(int fd);
  ~ConnectionStream() override;
  ConnectionStream(const ConnectionStream&) = delete;
  ConnectionStream& operator=(const ConnectionStream&) = delete;

  void set_timeouts(std::chrono::milliseconds read, std::chrono::milliseconds write);

  // From now on at most `max_bytes` more bytes may be read (the body of the
  // current request); a read beyond fails and sets body_limit_exceeded().
  void limit_body(int64_t max_bytes);
  void clear_body_limit();
  bool body_limit_exceeded() const { return limit_exceeded_; }

  // Bytes already read from the socket but not yet consumed (a pipelined request).
  std::string_view buffered() const;

  bool is_readable() const override;
  bool is_writable() const override;
  ssize_t read(char* ptr, size_t size) override;
  ssize_t write(const char* ptr, size_t size) override;
  void get_remote_ip_and_port(std::string& ip, int& port) const override;
  void get_local_ip_and_port(std::string& ip, int& port) const override;
  int socket() const override { return fd_; }

 private:
  int fd_;
  std::chrono::milliseconds read_timeout_{std::chrono::seconds(300)};
  std::chrono::milliseconds write_timeout_{std::chrono::seconds(300)};
  std::vector<char> buffer_;
  size_t buffer_begin_ = 0, buffer_end_ = 0;
  int64_t body_budget_ = -1;  // -1: no limit (request line and headers)
  bool limit_exceeded_ = false;
};

}  // namespace kr::api
