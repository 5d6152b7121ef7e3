// kaito-rag serve
#include <pthread.h>
#include <signal.h>

#include <iostream>
#include <thread>

#include "api/server.h"
#include "cli/commands.h"
#include "core/log.h"
#include "service/engine.h"

namespace kr::cli {

int serve(const Config& config, const std::string& self) {
  // Signals go to one waiting thread, never into the middle of a handler.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  signal(SIGPIPE, SIG_IGN);

  service::Engine engine(config, self);
  api::Server server(engine);
  auto port = server.bind(config.host, config.port);
  if (!port) {
    log::error(port.status().message());
    return 1;
  }
  std::thread http([&server] { server.run(); });
  std::thread signal_waiter([&server, signals] {
    int received = 0;
    sigwait(&signals, &received);
    log::info("shutting down", {{"signal", std::to_string(received)}});
    server.stop();
  });
  log::info("listening", {{"url", "http://" + config.host + ":" + std::to_string(*port)},
                          {"data_dir", config.data_dir},
                          {"llm", config.llm_url.empty() ? "none (extractive answers)" : config.llm_url},
                          {"auth", config.api_keys.empty() ? "off" : "bearer"}});
  Status opened = engine.open();  // /readyz answers 503 until this returns
  int exit_code = 0;
  if (!opened) {
    log::error("cannot open the data directory: " + opened.message());
    server.stop();
    exit_code = 1;
  } else {
    log::info("ready");
  }
  http.join();
  if (exit_code != 0) pthread_kill(signal_waiter.native_handle(), SIGTERM);
  signal_waiter.join();
  return exit_code;
}

}  // namespace kr::cli
