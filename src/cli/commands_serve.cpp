// kaito-rag serve
#include <pthread.h>
#include <signal.h>

#include <atomic>
#include <chrono>
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
  if (Status claimed = engine.claim_data_dir(); !claimed) {
    log::error(claimed.message());
    return 1;
  }
  api::Server server(engine);
  auto port = server.bind(config.host, config.port);
  if (!port) {
    log::error(port.status().message());
    return 1;
  }
  std::atomic<bool> http_done{false};
  std::thread http([&server, &http_done] {
    server.run();
    http_done = true;
  });
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
    // stop() is a no-op until the listener runs; repeat until it has stopped.
    while (!http_done) {
      server.stop();
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
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
