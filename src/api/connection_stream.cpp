#include "api/connection_stream.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace kr::api {
namespace {

constexpr size_t kBufferBytes = 16 * 1024;

// Waits until `fd` has `events` or `timeout` passes; retries on EINTR.
bool wait_for(int fd, short events, std::chrono::milliseconds timeout) {
  pollfd p{fd, events, 0};
  for (;;) {
    const int n = ::poll(&p, 1, static_cast<int>(timeout.count()));
    if (n < 0 && errno == EINTR) continue;
    return n > 0 && (p.revents & (events | POLLHUP | POLLERR)) != 0;
  }
}

void address_of(const sockaddr_storage& addr, std::string& ip, int& port) {
  char text[INET6_ADDRSTRLEN] = {};
  if (addr.ss_family == AF_INET) {
    const auto* in = reinterpret_cast<const sockaddr_in*>(&addr);
    ::inet_ntop(AF_INET, &in->sin_addr, text, sizeof(text));
    port = ntohs(in->sin_port);
  } else if (addr.ss_family == AF_INET6) {
    const auto* in6 = reinterpret_cast<const sockaddr_in6*>(&addr);
    ::inet_ntop(AF_INET6, &in6->sin6_addr, text, sizeof(text));
    port = ntohs(in6->sin6_port);
  }
  ip = text;
}

}  // namespace

ConnectionStream::ConnectionStream(int fd) : fd_(fd), buffer_(kBufferBytes) {}

ConnectionStream::~ConnectionStream() { ::close(fd_); }

void ConnectionStream::set_timeouts(std::chrono::milliseconds read, std::chrono::milliseconds write) {
  read_timeout_ = read;
  write_timeout_ = write;
}

void ConnectionStream::limit_body(int64_t max_bytes) {
  body_budget_ = max_bytes;
  limit_exceeded_ = false;
}

void ConnectionStream::clear_body_limit() {
  body_budget_ = -1;
  limit_exceeded_ = false;
}

std::string_view ConnectionStream::buffered() const {
  return {buffer_.data() + buffer_begin_, buffer_end_ - buffer_begin_};
}

bool ConnectionStream::is_readable() const {
  return buffer_begin_ < buffer_end_ || wait_for(fd_, POLLIN, read_timeout_);
}

bool ConnectionStream::is_writable() const {
  if (!wait_for(fd_, POLLOUT, write_timeout_)) return false;
  // A peer that closed its side shows as readable with 0 bytes: streaming answers stop.
  pollfd p{fd_, POLLIN, 0};
  if (::poll(&p, 1, 0) <= 0) return true;
  char byte;
  return ::recv(fd_, &byte, 1, MSG_PEEK | MSG_DONTWAIT) > 0;
}

ssize_t ConnectionStream::read(char* ptr, size_t size) {
  if (body_budget_ == 0 && size > 0) {
    limit_exceeded_ = true;
    return -1;
  }
  if (body_budget_ > 0) size = std::min(size, static_cast<size_t>(body_budget_));
  if (buffer_begin_ == buffer_end_) {
    if (!wait_for(fd_, POLLIN, read_timeout_)) return -1;
    ssize_t n;
    do {
      n = ::recv(fd_, buffer_.data(), buffer_.size(), 0);
    } while (n < 0 && errno == EINTR);
    if (n <= 0) return n;
    buffer_begin_ = 0;
    buffer_end_ = static_cast<size_t>(n);
  }
  const size_t n = std::min(size, buffer_end_ - buffer_begin_);
  std::memcpy(ptr, buffer_.data() + buffer_begin_, n);
  buffer_begin_ += n;
  if (body_budget_ > 0) body_budget_ -= static_cast<int64_t>(n);
  return static_cast<ssize_t>(n);
}

ssize_t ConnectionStream::write(const char* ptr, size_t size) {
  if (!wait_for(fd_, POLLOUT, write_timeout_)) return -1;
  ssize_t n;
  do {
    n = ::send(fd_, ptr, size, MSG_NOSIGNAL);
  } while (n < 0 && errno == EINTR);
  return n;
}

void ConnectionStream::get_remote_ip_and_port(std::string& ip, int& port) const {
  sockaddr_storage addr{};
  socklen_t length = sizeof(addr);
  if (::getpeername(fd_, reinterpret_cast<sockaddr*>(&addr), &length) == 0) address_of(addr, ip, port);
}

void ConnectionStream::get_local_ip_and_port(std::string& ip, int& port) const {
  sockaddr_storage addr{};
  socklen_t length = sizeof(addr);
  if (::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &length) == 0) address_of(addr, ip, port);
}

}  // namespace kr::api
