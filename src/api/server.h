// The HTTP server: wires routes to the engine. HTTP details stay behind this interface.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "core/status.h"
#include "service/engine.h"

namespace kr::api {

// Thread-safety: bind() then run() from one thread; stop() from any thread.
class Server {
 public:
  explicit Server(service::Engine& engine);
  ~Server();

  // Binds host:port (port 0 = any free port); returns the bound port.
  Result<int> bind(const std::string& host, int port);
  // Serves until stop(); returns when the listener is closed.
  void run();
  void stop();
  // Every registered route with the authorization it needs: "METHOD /template access[:permission]".
  std::vector<std::string> routes() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace kr::api
