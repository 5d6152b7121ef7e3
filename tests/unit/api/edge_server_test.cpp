#include "api/edge_server.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace kr::api {
namespace {

using namespace std::chrono_literals;

// A blocking loopback client speaking just enough HTTP/1.1 for these tests.
class Client {
 public:
  explicit Client(int port) : fd_(::socket(AF_INET, SOCK_STREAM, 0)) {
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<uint16_t>(port));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    timeval timeout{10, 0};
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
    EXPECT_EQ(::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  }
  ~Client() { ::close(fd_); }

  bool send(const std::string& bytes) { return ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL) > 0; }

  // The status line and headers, then the Content-Length body, of the next response.
  std::string response() {
    while (buffer_.find("\r\n\r\n") == std::string::npos) {
      if (!fill()) return "";
    }
    const size_t head_end = buffer_.find("\r\n\r\n") + 4;
    size_t length = 0;
    if (const size_t at = buffer_.find("Content-Length: "); at != std::string::npos && at < head_end) {
      length = std::stoul(buffer_.substr(at + 16));
    }
    while (buffer_.size() < head_end + length) {
      if (!fill()) break;
    }
    std::string out = buffer_.substr(0, head_end + length);
    buffer_.erase(0, head_end + length);
    return out;
  }

  int fd() const { return fd_; }

 private:
  bool fill() {
    char chunk[65536];
    const ssize_t n = ::recv(fd_, chunk, sizeof(chunk), 0);
    if (n <= 0) return false;
    buffer_.append(chunk, static_cast<size_t>(n));
    return true;
  }
  int fd_;
  std::string buffer_;
};

std::string get(const std::string& path) { return "GET " + path + " HTTP/1.1\r\nHost: t\r\n\r\n"; }

// An EdgeServer on a free loopback port with a /slow route that blocks until released.
class EdgeServerTest : public ::testing::Test {
 protected:
  void start(EdgeOptions options) {
    server_ = std::make_unique<EdgeServer>(options);
    if (body_limit_ >= 0) server_->set_body_limit([limit = body_limit_](const httplib::Request&) { return limit; });
    server_->Get("/slow", [this](const httplib::Request&, httplib::Response& res) {
      std::unique_lock lock(mutex_);
      ++entered_;
      entered_cv_.notify_all();
      release_cv_.wait(lock, [this] { return released_; });
      res.set_content("slow done", "text/plain");
    });
    server_->Get("/fast", [](const httplib::Request&, httplib::Response& res) { res.set_content("fast", "text/plain"); });
    server_->Get("/healthz", [](const httplib::Request&, httplib::Response& res) { res.set_content("ok", "text/plain"); });
    server_->Post("/echo", [](const httplib::Request& req, httplib::Response& res) {
      res.set_content(std::to_string(req.body.size()), "text/plain");
    });
    server_->set_error_handler([this](const httplib::Request&, httplib::Response& res) {
      limit_hit_ = EdgeServer::current_body_limit_exceeded();
      res.set_content("error " + std::to_string(res.status), "text/plain");
    });
    port_ = server_->bind_to_any_port("127.0.0.1");
    ASSERT_GT(port_, 0);
    listener_ = std::thread([this] { server_->listen_after_bind(); });
  }

  void TearDown() override {
    release();
    if (server_) server_->stop();
    if (listener_.joinable()) listener_.join();
    if (server_) server_->shutdown_connections();
  }

  void wait_entered(int n) {
    std::unique_lock lock(mutex_);
    ASSERT_TRUE(entered_cv_.wait_for(lock, 10s, [&] { return entered_ >= n; }));
  }
  void wait_queued(size_t n) {
    for (int i = 0; i < 1000 && server_->counts().queued < n; ++i) std::this_thread::sleep_for(5ms);
    ASSERT_EQ(server_->counts().queued, n);
  }
  void release() {
    std::lock_guard lock(mutex_);
    released_ = true;
    release_cv_.notify_all();
  }

  std::unique_ptr<EdgeServer> server_;
  std::thread listener_;
  int port_ = 0;
  int64_t body_limit_ = -1;
  std::mutex mutex_;
  std::condition_variable entered_cv_, release_cv_;
  int entered_ = 0;
  bool released_ = false;
  std::atomic<bool> limit_hit_{false};
};

TEST(ProbeRequest, OnlyHealthPathsAreProbes) {
  EXPECT_TRUE(is_probe_request("GET /healthz HTTP/1.1\r\n"));
  EXPECT_TRUE(is_probe_request("GET /readyz?verbose=1 HTTP/1.1\r\n"));
  EXPECT_TRUE(is_probe_request("HEAD /health HTTP/1.1\r\n"));
  EXPECT_FALSE(is_probe_request("GET /healthzz HTTP/1.1\r\n"));
  EXPECT_FALSE(is_probe_request("POST /healthz HTTP/1.1\r\n"));
  EXPECT_FALSE(is_probe_request("GET /v1/collections HTTP/1.1\r\n"));
  EXPECT_FALSE(is_probe_request("GET /heal"));  // incomplete: a worker reads the rest
  EXPECT_FALSE(is_probe_request(""));
}

TEST_F(EdgeServerTest, FullQueueAnswers503WithRetryAfterAndProbesStillAnswer) {
  EdgeOptions options;
  options.workers = 1;
  options.queue_max = 1;
  start(options);
  Client busy(port_), queued(port_), refused(port_), probe(port_);
  ASSERT_TRUE(busy.send(get("/slow")));
  wait_entered(1);
  ASSERT_TRUE(queued.send(get("/fast")));
  wait_queued(1);

  ASSERT_TRUE(refused.send(get("/fast")));
  const std::string answer = refused.response();
  EXPECT_EQ(answer.rfind("HTTP/1.1 503 Service Unavailable\r\n", 0), 0u) << answer;
  EXPECT_NE(answer.find("Retry-After: 1\r\n"), std::string::npos) << answer;
  EXPECT_NE(answer.find("Connection: close\r\n"), std::string::npos) << answer;
  EXPECT_NE(answer.find(R"({"error":{"code":"unavailable","message":"server busy: )"), std::string::npos) << answer;

  ASSERT_TRUE(probe.send(get("/healthz")));
  EXPECT_EQ(probe.response().rfind("HTTP/1.1 200 OK\r\n", 0), 0u);

  release();
  EXPECT_NE(busy.response().find("slow done"), std::string::npos);
  const std::string served = queued.response();  // queued, then served: never dropped
  EXPECT_EQ(served.rfind("HTTP/1.1 200 OK\r\n", 0), 0u) << served;
  EXPECT_NE(served.find("fast"), std::string::npos);
}

TEST_F(EdgeServerTest, KeepAliveClientsBeyondTheWorkerCountTakeTurns) {
  EdgeOptions options;
  options.workers = 2;
  start(options);
  std::vector<std::unique_ptr<Client>> clients;
  for (int i = 0; i < 8; ++i) clients.push_back(std::make_unique<Client>(port_));
  // Eight keep-alive connections, two workers: idle connections hold no worker.
  for (int round = 0; round < 20; ++round) {
    for (auto& client : clients) ASSERT_TRUE(client->send(get("/fast")));
    for (auto& client : clients) {
      const std::string answer = client->response();
      ASSERT_EQ(answer.rfind("HTTP/1.1 200 OK\r\n", 0), 0u) << "round " << round << ": " << answer;
    }
  }
  EXPECT_EQ(server_->counts().open, 8u);
}

TEST_F(EdgeServerTest, KeepAliveResponsesDoNotWaitForDelayedAcks) {
  EdgeOptions options;
  start(options);
  Client client(port_);
  std::vector<std::chrono::steady_clock::duration> times;
  for (int i = 0; i < 21; ++i) {
    const auto begin = std::chrono::steady_clock::now();
    ASSERT_TRUE(client.send(get("/fast")));
    ASSERT_EQ(client.response().rfind("HTTP/1.1 200 OK\r\n", 0), 0u);
    times.push_back(std::chrono::steady_clock::now() - begin);
  }
  // Without TCP_NODELAY on the accepted socket, Nagle + delayed ACK made each
  // keep-alive response (written in two send()s) wait ~40 ms.
  std::sort(times.begin(), times.end());
  EXPECT_LT(times[times.size() / 2], 20ms);
}

TEST_F(EdgeServerTest, ChunkedBodyIsCutOffAtTheLimit) {
  body_limit_ = 4096;
  EdgeOptions options;
  start(options);
  Client small(port_);
  ASSERT_TRUE(small.send("POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n"));
  const std::string ok = small.response();
  EXPECT_EQ(ok.rfind("HTTP/1.1 200 OK\r\n", 0), 0u) << ok;
  EXPECT_NE(ok.find("\r\n\r\n5"), std::string::npos) << ok;

  Client big(port_);
  ASSERT_TRUE(big.send("POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"));
  const std::string chunk = "1000\r\n" + std::string(4096, 'x') + "\r\n";
  for (int i = 0; i < 4; ++i) big.send(chunk);
  const std::string refused = big.response();
  EXPECT_EQ(refused.rfind("HTTP/1.1 400", 0), 0u) << refused;  // api/server.cpp maps it to 413
  EXPECT_TRUE(limit_hit_.load());
  // The rest of the body is never read as a next request: the server closes the connection.
  EXPECT_EQ(big.response(), "");
}

}  // namespace
}  // namespace kr::api
