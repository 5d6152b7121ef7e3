// The HTTP front end: httplib parses requests and runs handlers, but the
// connections are ours. One poller thread watches every idle connection
// (new, or keep-alive between requests) and hands a connection with a request
// waiting to
//   - the probe thread, for GET/HEAD /healthz, /readyz and /health: probes are
//     answered while every worker is busy with slow requests;
//   - a bounded FIFO queue served by the worker threads, one request at a time
//     (a keep-alive connection goes back to the poller between requests, so idle
//     clients hold no worker and waiting connections are served in arrival order);
//   - or, when that queue is full, an immediate 503 with Retry-After.
// Every accepted socket gets TCP_NODELAY. Probe-path threads run at a better CPU priority than
// the workers and never wait for a lock a worker holds long (probes are logged at debug level).
// See DESIGN.md "Admission and limits".
#pragma once

#include <httplib.h>

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace kr::api {

struct EdgeOptions {
  int workers = 8;                 // threads running non-probe requests
  int queue_max = 64;              // requests waiting for a worker; beyond: 503
  int max_connections = 512;       // open connections (idle ones included); beyond: 503
  std::chrono::milliseconds keep_alive{2000};       // idle time before a keep-alive connection is closed
  std::chrono::milliseconds request_timeout{300000};  // socket read/write timeout of workers
  std::chrono::milliseconds probe_timeout{2000};    // the probe thread's, so a slow client cannot hold it
  size_t keep_alive_max_requests = 1000;
  int retry_after_seconds = 1;
  // CPU priority (nice) of the threads on a probe's path (accept, poller, probe thread) and of
  // the workers. The probe path asks for a negative value (needs CAP_SYS_NICE; without it it
  // stays at 0), the workers take a positive one (no privilege needed): either way a probe
  // waiting for a core goes before request work of this process. Bulk encoder threads are +10.
  int probe_path_nice = -5;
  int worker_nice = 4;
};

// True for a request head that starts "GET /healthz", "HEAD /readyz?x", ...
bool is_probe_request(std::string_view head);

class ConnectionStream;

// Thread-safety: configure (routes, hooks) before listen; stop() and
// shutdown_connections() from any thread.
class EdgeServer : public httplib::Server {
 public:
  explicit EdgeServer(EdgeOptions options);
  ~EdgeServer() override;

  // Largest body accepted for a request (after its headers are read); enforced
  // while reading, so a chunked body cannot exceed it either.
  void set_body_limit(std::function<int64_t(const httplib::Request&)> limit) { body_limit_ = std::move(limit); }
  // Requests whose multipart body the handler parses itself as it streams in
  // (api/multipart_reader.h): httplib would buffer every part. Their Content-Type
  // is moved to kRawContentTypeHeader before routing, so httplib hands over raw bytes.
  void set_raw_multipart(std::function<bool(const httplib::Request&)> raw) { raw_multipart_ = std::move(raw); }
  static constexpr const char* kRawContentTypeHeader = "X-Kr-Multipart-Content-Type";
  // Runs on the worker after each request's response is written (or abandoned).
  void set_request_done(std::function<void()> done) { request_done_ = std::move(done); }
  // Told about every connection answered 503 by the front end (method may be "").
  void set_rejection_observer(std::function<void(const std::string& method)> observer) {
    on_reject_ = std::move(observer);
  }

  // After listen returns: running requests finish, queued ones get 503, idle
  // connections are closed, threads are joined. Idempotent.
  void shutdown_connections();

  // For handlers and hooks running on an EdgeServer thread.
  static bool current_body_limit_exceeded();
  // The rest of the request is not read: close (after draining) instead of keep-alive.
  static void close_current_connection();

  struct Counts {
    size_t open = 0, queued = 0, busy = 0;
  };
  Counts counts() const;

 private:
  struct Connection;
  using ConnectionPtr = std::unique_ptr<Connection>;

  bool process_and_close_socket(socket_t sock) override;
  void poll_loop();
  void worker_loop(bool probe);
  void serve(ConnectionPtr connection, bool probe);
  void dispatch(ConnectionPtr connection, std::vector<ConnectionPtr>& idle);
  void reject(Connection& connection, const std::string& reason);
  void hand_back(ConnectionPtr connection);  // to the poller
  void wake_poller();

  EdgeOptions options_;
  std::function<int64_t(const httplib::Request&)> body_limit_;
  std::function<bool(const httplib::Request&)> raw_multipart_;
  std::function<void(const std::string&)> on_reject_;
  std::function<void()> request_done_;

  mutable std::mutex mutex_;
  std::condition_variable work_ready_;
  std::condition_variable probe_ready_;
  std::deque<ConnectionPtr> work_queue_;
  std::deque<ConnectionPtr> probe_queue_;
  std::vector<ConnectionPtr> incoming_;  // to the poller: accepted, or back from a request
  size_t open_ = 0, busy_ = 0;
  bool stopping_ = false;
  int wake_pipe_[2] = {-1, -1};
  std::thread poller_;
  std::vector<std::thread> threads_;  // workers, then the probe thread
};

}  // namespace kr::api
