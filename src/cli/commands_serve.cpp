// kaito-rag serve
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <iostream>
#include <thread>

#include "api/authorization.h"
#include "api/server.h"
#include "cli/commands.h"
#include "core/log.h"
#include "service/engine.h"

namespace kr::cli {
namespace {

// SIGINT/SIGTERM write their number to a pipe that one thread reads. A handler (not sigwait with
// blocked signals) because libraries start threads before main() — OpenBLAS' pool does — and a
// signal delivered to such a thread would otherwise take its default action and kill the process.
int g_signal_pipe[2] = {-1, -1};

void on_shutdown_signal(int signal_number) {
  const int saved = errno;
  const unsigned char byte = static_cast<unsigned char>(signal_number);
  [[maybe_unused]] const ssize_t written = write(g_signal_pipe[1], &byte, 1);
  errno = saved;
}

}  // namespace

int serve(const Config& config, const std::string& self) {
  if (pipe2(g_signal_pipe, O_CLOEXEC) != 0) {
    log::error("cannot create the signal pipe");
    return 1;
  }
  struct sigaction action {};
  action.sa_handler = on_shutdown_signal;
  sigemptyset(&action.sa_mask);
  action.sa_flags = SA_RESTART;
  sigaction(SIGINT, &action, nullptr);
  sigaction(SIGTERM, &action, nullptr);
  signal(SIGPIPE, SIG_IGN);

  if (Status safe = api::check_auth_startup(config); !safe) {
    log::error(safe.message());
    return 1;
  }
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
  std::thread signal_waiter([&server] {
    unsigned char received = 0;
    while (read(g_signal_pipe[0], &received, 1) < 0 && errno == EINTR) {
    }
    if (received != 0) log::info("shutting down", {{"signal", std::to_string(received)}});
    server.stop();
  });
  log::info("listening", {{"url", "http://" + config.host + ":" + std::to_string(*port)},
                          {"data_dir", config.data_dir},
                          {"llm", config.llm_url.empty() ? "none (extractive answers)" : config.llm_url},
                          {"auth", !config.oidc_issuer.empty() ? "oidc+keys" : config.api_keys.empty() ? "keys or off" : "keys"}});
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
  if (exit_code != 0) {
    const unsigned char wake = 0;  // no signal: the listener failed; let the waiter finish
    [[maybe_unused]] const ssize_t written = write(g_signal_pipe[1], &wake, 1);
  }
  signal_waiter.join();
  return exit_code;
}

}  // namespace kr::cli
