#include "api/edge_server.h"

#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <stdexcept>

#include "api/connection_stream.h"
#include "core/log.h"

namespace kr::api {
namespace {

using Clock = std::chrono::steady_clock;

constexpr size_t kProbeQueueMax = 64;
constexpr size_t kPeekBytes = 64;
// A rejected or cut-off client gets this long to read our answer while we drain
// what it still sends; closing with unread input would reset the connection
// and could destroy the answer before the client reads it.
constexpr auto kLingerTime = std::chrono::seconds(2);
constexpr int64_t kLingerMaxBytes = 8 << 20;  // then close anyway: a 1 GiB upload is not read to the end

// Every request on the socket is written in more than one send(): without
// TCP_NODELAY a keep-alive client waits ~40 ms per request (Nagle + delayed ACK).
void set_no_delay(int fd) {
  int yes = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &yes, sizeof(yes));
}

// Best effort: a nice value below 0 needs CAP_SYS_NICE (or RLIMIT_NICE), which a non-root pod
// lacks; a failure leaves the thread as it was and is logged once per process, not per thread.
void set_this_thread_nice(int nice) {
  if (::setpriority(PRIO_PROCESS, static_cast<id_t>(::syscall(SYS_gettid)), nice) == 0) return;
  const int error = errno;
  static std::atomic<bool> logged{false};
  if (logged.exchange(true)) return;
  log::warn("cannot raise the probe threads' CPU priority (a nice value below 0 needs CAP_SYS_NICE): probes keep "
            "the process's priority and still go before request workers, which lower theirs",
            {{"nice", std::to_string(nice)}, {"error", std::strerror(error)}});
}

// httplib hands accepted sockets to a task queue; EdgeServer adopts each one at
// once (process_and_close_socket returns immediately), so no thread is needed.
class InlineTaskQueue : public httplib::TaskQueue {
 public:
  void enqueue(std::function<void()> fn) override { fn(); }
  void shutdown() override {}
};

thread_local ConnectionStream* t_stream = nullptr;
thread_local bool t_close_connection = false;
thread_local bool t_accept_thread_prioritized = false;

// The leading method token of a request head if it looks like one (A-Z only:
// it ends up in a metrics label), else "".
std::string method_of(std::string_view head) {
  const size_t space = head.find(' ');
  if (space == std::string_view::npos || space == 0 || space > 10) return "";
  for (size_t i = 0; i < space; ++i) {
    if (head[i] < 'A' || head[i] > 'Z') return "";
  }
  return std::string(head.substr(0, space));
}

}  // namespace

bool is_probe_request(std::string_view head) {
  for (const std::string_view method : {"GET ", "HEAD "}) {
    if (head.substr(0, method.size()) != method) continue;
    const std::string_view target = head.substr(method.size());
    for (const std::string_view path : {"/healthz", "/readyz", "/health"}) {
      if (target.size() > path.size() && target.substr(0, path.size()) == path &&
          (target[path.size()] == ' ' || target[path.size()] == '?')) {
        return true;
      }
    }
  }
  return false;
}

struct EdgeServer::Connection {
  explicit Connection(int fd) : stream(fd) {}
  ConnectionStream stream;
  size_t requests = 0;
  Clock::time_point deadline;  // idle: keep-alive expiry; lingering: when to give up draining
  bool lingering = false;      // answered for the last time; draining input until EOF
  int64_t drained = 0;
};

EdgeServer::EdgeServer(EdgeOptions options) : options_(options) {
  if (::pipe2(wake_pipe_, O_CLOEXEC | O_NONBLOCK) != 0) throw std::runtime_error("cannot create a pipe");
  new_task_queue = [] { return new InlineTaskQueue; };
  poller_ = std::thread([this] {
    set_this_thread_nice(options_.probe_path_nice);
    poll_loop();
  });
  for (int i = 0; i < options_.workers; ++i) {
    threads_.emplace_back([this] {
      set_this_thread_nice(options_.worker_nice);
      worker_loop(false);
    });
  }
  threads_.emplace_back([this] {
    set_this_thread_nice(options_.probe_path_nice);
    worker_loop(true);
  });
}

EdgeServer::~EdgeServer() {
  shutdown_connections();
  ::close(wake_pipe_[0]);
  ::close(wake_pipe_[1]);
}

bool EdgeServer::current_body_limit_exceeded() { return t_stream && t_stream->body_limit_exceeded(); }

void EdgeServer::close_current_connection() { t_close_connection = true; }

EdgeServer::Counts EdgeServer::counts() const {
  std::lock_guard lock(mutex_);
  return {open_, work_queue_.size(), busy_};
}

void EdgeServer::wake_poller() {
  const char byte = 1;
  [[maybe_unused]] const ssize_t n = ::write(wake_pipe_[1], &byte, 1);  // a full pipe already wakes it
}

// Called by httplib's accept loop for each accepted socket: adopt it and return at once.
bool EdgeServer::process_and_close_socket(socket_t sock) {
  // Runs on httplib's accept thread (the one in listen()): a new probe connection passes here.
  if (!t_accept_thread_prioritized) {
    set_this_thread_nice(options_.probe_path_nice);
    t_accept_thread_prioritized = true;
  }
  set_no_delay(sock);
  auto connection = std::make_unique<Connection>(sock);
  connection->deadline = Clock::now() + options_.keep_alive;
  {
    std::lock_guard lock(mutex_);
    if (stopping_) return false;  // the destructor of `connection` closes the socket
    if (open_ >= static_cast<size_t>(options_.max_connections)) {
      reject(*connection, "too many open connections (" + std::to_string(open_) + ")");
    }
    ++open_;
    incoming_.push_back(std::move(connection));
  }
  wake_poller();
  return true;
}

void EdgeServer::reject(Connection& connection, const std::string& reason) {
  const std::string body = R"({"error":{"code":"unavailable","message":"server busy: )" + reason +
                           R"(; retry after )" + std::to_string(options_.retry_after_seconds) + R"( s"}})";
  const std::string response = "HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\nRetry-After: " +
                               std::to_string(options_.retry_after_seconds) +
                               "\r\nConnection: close\r\nContent-Length: " + std::to_string(body.size()) +
                               "\r\n\r\n" + body;
  char head[kPeekBytes];
  const ssize_t peeked = ::recv(connection.stream.socket(), head, sizeof(head), MSG_PEEK | MSG_DONTWAIT);
  const std::string method = peeked > 0 ? method_of(std::string_view(head, static_cast<size_t>(peeked))) : "";
  // Small enough for an empty socket buffer: never blocks the caller.
  [[maybe_unused]] const ssize_t sent =
      ::send(connection.stream.socket(), response.data(), response.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
  ::shutdown(connection.stream.socket(), SHUT_WR);
  connection.lingering = true;
  connection.deadline = Clock::now() + kLingerTime;
  if (on_reject_) on_reject_(method);
}

void EdgeServer::dispatch(ConnectionPtr connection, std::vector<ConnectionPtr>& idle) {
  std::string_view head = connection->stream.buffered();
  char peeked[kPeekBytes];
  if (head.empty()) {
    const ssize_t n = ::recv(connection->stream.socket(), peeked, sizeof(peeked), MSG_PEEK | MSG_DONTWAIT);
    if (n > 0) head = std::string_view(peeked, static_cast<size_t>(n));
  }
  const bool probe = is_probe_request(head);
  std::unique_lock lock(mutex_);
  auto& queue = probe ? probe_queue_ : work_queue_;
  const size_t limit = probe ? kProbeQueueMax : static_cast<size_t>(options_.queue_max);
  if (queue.size() >= limit || stopping_) {
    lock.unlock();
    reject(*connection, stopping_ ? std::string("shutting down")
                                  : "all " + std::to_string(options_.workers) + " workers are busy and " +
                                        std::to_string(limit) + " requests are waiting");
    idle.push_back(std::move(connection));
    return;
  }
  queue.push_back(std::move(connection));
  (probe ? probe_ready_ : work_ready_).notify_one();
}

void EdgeServer::hand_back(ConnectionPtr connection) {
  {
    std::lock_guard lock(mutex_);
    if (stopping_) {  // the poller is gone: close
      --open_;
      return;
    }
    incoming_.push_back(std::move(connection));
  }
  wake_poller();
}

void EdgeServer::poll_loop() {
  std::vector<ConnectionPtr> idle;
  std::vector<pollfd> fds;
  for (;;) {
    std::vector<ConnectionPtr> arrived;
    {
      std::lock_guard lock(mutex_);
      if (stopping_) break;
      arrived.swap(incoming_);
    }
    for (auto& connection : arrived) {
      // A pipelined request is already buffered: poll() would not report it.
      if (!connection->lingering && !connection->stream.buffered().empty()) dispatch(std::move(connection), idle);
      else idle.push_back(std::move(connection));
    }

    const auto now = Clock::now();
    auto next_deadline = now + std::chrono::seconds(1);
    fds.assign(1, pollfd{wake_pipe_[0], POLLIN, 0});
    for (const auto& connection : idle) {
      fds.push_back(pollfd{connection->stream.socket(), POLLIN, 0});
      next_deadline = std::min(next_deadline, connection->deadline);
    }
    const auto wait = std::chrono::duration_cast<std::chrono::milliseconds>(next_deadline - now).count() + 1;
    if (::poll(fds.data(), fds.size(), static_cast<int>(std::max<int64_t>(wait, 0))) < 0 && errno != EINTR) continue;
    if (fds[0].revents & POLLIN) {
      char drain[256];
      while (::read(wake_pipe_[0], drain, sizeof(drain)) > 0) {
      }
    }

    const auto after = Clock::now();
    std::vector<ConnectionPtr> still_idle;
    size_t closed = 0;
    for (size_t i = 0; i < idle.size(); ++i) {
      ConnectionPtr& connection = idle[i];
      const short events = fds[i + 1].revents;
      if (connection->lingering) {
        bool done = after >= connection->deadline;
        if (events) {
          char sink[16384];
          ssize_t n = -1;
          while (connection->drained < kLingerMaxBytes &&
                 (n = ::recv(connection->stream.socket(), sink, sizeof(sink), MSG_DONTWAIT)) > 0) {
            connection->drained += n;
          }
          done |= connection->drained >= kLingerMaxBytes || n == 0 ||
                  (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK);
        }
        if (done) ++closed;
        else still_idle.push_back(std::move(connection));
        continue;
      }
      if (events & (POLLIN | POLLHUP | POLLERR)) {
        char byte;
        const ssize_t n = ::recv(connection->stream.socket(), &byte, 1, MSG_PEEK | MSG_DONTWAIT);
        if (n > 0) dispatch(std::move(connection), still_idle);
        else if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK)) ++closed;  // the client hung up
        else still_idle.push_back(std::move(connection));
      } else if (after >= connection->deadline) {
        ++closed;  // keep-alive timeout
      } else {
        still_idle.push_back(std::move(connection));
      }
    }
    // Connections not moved to still_idle or a queue are closed here.
    idle = std::move(still_idle);
    if (closed) {
      std::lock_guard lock(mutex_);
      open_ -= closed;
    }
  }
  std::lock_guard lock(mutex_);
  open_ -= idle.size();
  open_ -= incoming_.size();
  incoming_.clear();
}

void EdgeServer::worker_loop(bool probe) {
  auto& queue = probe ? probe_queue_ : work_queue_;
  auto& ready = probe ? probe_ready_ : work_ready_;
  for (;;) {
    ConnectionPtr connection;
    {
      std::unique_lock lock(mutex_);
      ready.wait(lock, [&] { return stopping_ || !queue.empty(); });
      if (queue.empty()) return;  // stopping
      connection = std::move(queue.front());
      queue.pop_front();
      if (stopping_) {
        lock.unlock();
        reject(*connection, "shutting down");
        std::lock_guard relock(mutex_);
        --open_;
        continue;  // closed without lingering: the server is going away
      }
      ++busy_;
    }
    serve(std::move(connection), probe);
    std::lock_guard lock(mutex_);
    --busy_;
  }
}

void EdgeServer::serve(ConnectionPtr connection, bool probe) {
  const auto timeout = probe ? options_.probe_timeout : options_.request_timeout;
  ConnectionStream& stream = connection->stream;
  stream.set_timeouts(timeout, timeout);
  stream.clear_body_limit();
  t_stream = &stream;
  t_close_connection = false;
  bool stopping;
  {
    std::lock_guard lock(mutex_);
    stopping = stopping_;
  }
  const bool last = ++connection->requests >= options_.keep_alive_max_requests || stopping;
  bool client_closes = false;
  const bool ok = process_request(stream, last, client_closes, [this, &stream](httplib::Request& req) {
    if (body_limit_) stream.limit_body(body_limit_(req));
    req.headers.erase(kRawContentTypeHeader);  // only ever set by us
    if (raw_multipart_ && req.is_multipart_form_data() && raw_multipart_(req)) {
      const std::string content_type = req.get_header_value("Content-Type");
      req.headers.erase("Content-Type");
      req.headers.emplace(kRawContentTypeHeader, content_type);
    }
  });
  if (request_done_) request_done_();
  const bool cut_off = t_close_connection || stream.body_limit_exceeded();
  t_stream = nullptr;
  t_close_connection = false;
  if (ok && !client_closes && !last && !cut_off) {
    connection->deadline = Clock::now() + options_.keep_alive;
    return hand_back(std::move(connection));
  }
  if (cut_off) {
    // Part of the body is unread: drain it while the client reads our answer.
    ::shutdown(stream.socket(), SHUT_WR);
    connection->lingering = true;
    connection->deadline = Clock::now() + kLingerTime;
    return hand_back(std::move(connection));
  }
  std::lock_guard lock(mutex_);
  --open_;
}

void EdgeServer::shutdown_connections() {
  {
    std::lock_guard lock(mutex_);
    if (stopping_ && !poller_.joinable()) return;
    stopping_ = true;
  }
  wake_poller();
  work_ready_.notify_all();
  probe_ready_.notify_all();
  if (poller_.joinable()) poller_.join();
  for (auto& thread : threads_) {
    if (thread.joinable()) thread.join();
  }
  threads_.clear();
}

}  // namespace kr::api
