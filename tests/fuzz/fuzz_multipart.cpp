// multipart/form-data uploads through cpp-httplib's parser (Debian's libcpp-httplib, not
// instrumented: this target is black-box for httplib and coverage-guided only for our side) into
// the upload route's metadata handling, on a real loopback server. The server must answer every
// request with an HTTP response and keep running.
#include <arpa/inet.h>
#include <httplib.h>
#include <sys/socket.h>
#include <unistd.h>

#include <thread>

#include "api/json_mapping.h"
#include "fuzz_common.h"

namespace {

constexpr const char* kBoundary = "kr-fuzz-boundary";

int server_port() {
  static const int port = [] {
    static httplib::Server server;
    server.Post("/upload", [](const httplib::Request& req, httplib::Response& res) {
      if (req.has_file("metadata")) {
        auto value = nlohmann::json::parse(req.get_file_value("metadata").content, nullptr, false);
        if (!value.is_discarded()) {
          auto metadata = kr::api::metadata_from_json(value);
          if (metadata) (void)kr::api::to_json(*metadata).dump();
          else (void)kr::api::error_json(metadata.status()).dump();
        }
      }
      size_t bytes = 0;
      for (const auto& [field, part] : req.files) bytes += field.size() + part.filename.size() + part.content.size();
      res.set_content(std::to_string(bytes), "text/plain");
    });
    const int bound = server.bind_to_any_port("127.0.0.1");
    static std::thread thread([] { server.listen_after_bind(); });
    while (!server.is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    return bound;
  }();
  return port;
}

std::string round_trip(int port, const std::string& request) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  KR_FUZZ_CHECK(::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
  for (size_t sent = 0; sent < request.size();) {
    const ssize_t n = ::send(fd, request.data() + sent, request.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) break;  // the server may answer (and close) before reading everything
    sent += static_cast<size_t>(n);
  }
  ::shutdown(fd, SHUT_WR);
  std::string response;
  char buffer[4096];
  for (ssize_t n; (n = ::recv(fd, buffer, sizeof buffer, 0)) > 0;) response.append(buffer, static_cast<size_t>(n));
  ::close(fd);
  return response;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const int port = server_port();
  std::string request = "POST /upload HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n"
                        "Content-Type: multipart/form-data; boundary=" + std::string(kBoundary) +
                        "\r\nContent-Length: " + std::to_string(size) + "\r\n\r\n";
  request.append(reinterpret_cast<const char*>(data), size);
  const std::string response = round_trip(port, request);
  KR_FUZZ_CHECK(response.rfind("HTTP/1.1 ", 0) == 0);
  return 0;
}
