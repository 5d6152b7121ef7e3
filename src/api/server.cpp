#include "api/server.h"

#include <chrono>

#include "api/authorization.h"
#include "api/http_util.h"
#include "core/log.h"

namespace kr::api {
namespace {

// httplib serves one request per worker thread at a time, so per-request
// bookkeeping between the pre-routing hook, the handler and the logger can live
// in thread-locals.
thread_local std::chrono::steady_clock::time_point t_request_start;
thread_local std::string t_route_label;

}  // namespace

struct Server::Impl : Router {
  explicit Impl(service::Engine& e) : engine(e), authorization(e.config()), context{e, metrics, stopping, authorization} {}

  void add(const std::string& method, const std::string& pattern, const std::string& label, Handler handler) override {
    authorization.register_route(method, label);
    Handler wrapped = [label, handler = std::move(handler)](const httplib::Request& req, httplib::Response& res) {
      t_route_label = label;
      try {
        handler(req, res);
      } catch (const std::exception& e) {
        log::error("unhandled exception in handler", {{"route", label}, {"what", e.what()}});
        send_error(res, error(ErrorCode::kInternal, "internal error; see the server log"));
      }
    };
    if (method == "GET") http.Get(pattern, wrapped);
    else if (method == "POST") http.Post(pattern, wrapped);
    else if (method == "PUT") http.Put(pattern, wrapped);
    else if (method == "DELETE") http.Delete(pattern, wrapped);
  }

  void configure() {
    const Config& config = engine.config();
    http.new_task_queue = [threads = config.http_threads] { return new httplib::ThreadPool(static_cast<size_t>(threads)); };
    http.set_payload_max_length(static_cast<size_t>(config.max_upload_bytes));
    http.set_read_timeout(config.request_timeout_seconds, 0);
    http.set_write_timeout(config.request_timeout_seconds, 0);
    http.set_keep_alive_max_count(1000);
    http.set_keep_alive_timeout(2);  // an idle client must not hold a worker (or shutdown) for long
    // httplib's default also sets SO_REUSEPORT, which lets a second server bind the
    // same port and silently split the traffic; we want "address in use" instead.
    http.set_socket_options([](socket_t sock) {
      int yes = 1;
      setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, reinterpret_cast<const void*>(&yes), sizeof(yes));
    });

    http.set_pre_routing_handler([this](const httplib::Request& req, httplib::Response& res) {
      t_request_start = std::chrono::steady_clock::now();
      t_route_label = "unmatched";
      if (authorization.reject(req, res)) {
        t_route_label = res.status == 401 ? "unauthenticated" : "forbidden";
        return httplib::Server::HandlerResponse::Handled;
      }
      return httplib::Server::HandlerResponse::Unhandled;
    });

    // Errors httplib produces itself (no route, body too large, bad request line).
    http.set_error_handler([](const httplib::Request& req, httplib::Response& res) {
      if (!res.body.empty()) return;
      switch (res.status) {
        case 404:
          send_error(res, error(ErrorCode::kNotFound, "no route for " + req.method + " " + req.path +
                                                          " (see GET /openapi.json)"));
          break;
        case 413:
          send_error(res, error(ErrorCode::kTooLarge, "request body is larger than the server accepts "
                                                      "(max_upload_bytes)"));
          break;
        default: {
          Status status(res.status >= 500 ? ErrorCode::kInternal : ErrorCode::kInvalidArgument,
                        "HTTP error " + std::to_string(res.status));
          const int code = res.status;
          send_error(res, status);
          res.status = code;
        }
      }
    });

    http.set_exception_handler([](const httplib::Request&, httplib::Response& res, std::exception_ptr) {
      send_error(res, error(ErrorCode::kInternal, "internal error; see the server log"));
    });

    http.set_logger([this](const httplib::Request& req, const httplib::Response& res) {
      const double seconds =
          std::chrono::duration<double>(std::chrono::steady_clock::now() - t_request_start).count();
      metrics.observe(t_route_label, req.method, res.status, seconds);
      log::info("request", {{"method", req.method},
                            {"route", t_route_label},
                            {"path", req.path},
                            {"status", std::to_string(res.status)},
                            {"ms", std::to_string(static_cast<int64_t>(seconds * 1000))}});
    });

    add_system_routes(*this, context);
    add_collection_routes(*this, context);
    add_document_routes(*this, context);
    add_query_routes(*this, context);
    add_openai_routes(*this, context);
    add_ragengine_routes(*this, context);
    add_auth_routes(*this, context);
  }

  service::Engine& engine;
  RequestMetrics metrics;
  std::atomic<bool> stopping{false};
  Authorization authorization;
  ApiContext context;
  httplib::Server http;
};

Server::Server(service::Engine& engine) : impl_(std::make_unique<Impl>(engine)) { impl_->configure(); }

Server::~Server() = default;

Result<int> Server::bind(const std::string& host, int port) {
  if (port == 0) {
    const int bound = impl_->http.bind_to_any_port(host);
    if (bound <= 0) return error(ErrorCode::kUnavailable, "cannot bind to " + host);
    return bound;
  }
  if (!impl_->http.bind_to_port(host, port)) {
    return error(ErrorCode::kUnavailable, "cannot listen on " + host + ":" + std::to_string(port) +
                                              " (in use? choose another with --port)");
  }
  return port;
}

std::vector<std::string> Server::routes() const {
  std::vector<std::string> out;
  for (const auto& rule : impl_->authorization.registered()) {
    std::string line = rule.method + " " + rule.label + " " + access_name(rule.access);
    if (rule.access == Access::kCollection) line += ":" + std::string(auth::permission_name(rule.permission));
    out.push_back(std::move(line));
  }
  return out;
}

void Server::run() { impl_->http.listen_after_bind(); }

void Server::stop() {
  impl_->stopping = true;  // streaming answers end at their next token
  impl_->http.stop();
}

}  // namespace kr::api
