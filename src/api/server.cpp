#include "api/server.h"

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <regex>

#include "api/authorization.h"
#include "api/edge_server.h"
#include "api/http_util.h"
#include "api/originals.h"
#include "api/route_table.h"
#include "core/log.h"

namespace kr::api {
namespace {

// httplib serves one request per worker thread at a time, so per-request
// bookkeeping between the pre-routing hook, the handler and the logger can live
// in thread-locals.
thread_local std::chrono::steady_clock::time_point t_request_start;
thread_local std::string t_route_label;
// The body limit of the current request and the option that sets it.
thread_local int64_t t_body_limit = 0;
thread_local const char* t_body_limit_option = "";

// Multipart uploads get max_upload_bytes; every other route takes JSON (or nothing).
void choose_body_limit(const httplib::Request& req, const Config& config) {
  static const std::regex upload(R"(/v1/collections/[^/]+/documents)");
  const bool is_upload = req.method == "POST" && std::regex_match(req.path, upload);
  t_body_limit = is_upload ? config.max_upload_bytes : config.max_json_bytes;
  t_body_limit_option = is_upload ? "max_upload_bytes" : "max_json_bytes";
}

Status body_too_large(const std::string& size) {
  return error(ErrorCode::kTooLarge, "request body is " + size + "; this route accepts at most " +
                                         std::to_string(t_body_limit) + " bytes (" + t_body_limit_option + ")");
}

// Content-Length over the limit: answered before a byte of the body is read.
bool declared_too_large(const httplib::Request& req) {
  const std::string length = req.get_header_value("Content-Length");
  if (length.empty()) return false;
  errno = 0;
  const unsigned long long bytes = std::strtoull(length.c_str(), nullptr, 10);
  return errno == ERANGE || bytes > static_cast<unsigned long long>(t_body_limit);
}

bool has_body(const httplib::Request& req) {
  return req.has_header("Transfer-Encoding") ||
         (req.has_header("Content-Length") && req.get_header_value("Content-Length") != "0");
}

}  // namespace

struct Server::Impl : Router {
  explicit Impl(service::Engine& e)
      : engine(e),
        model_slots(e.config().llm_max_concurrent, e.config().llm_max_waiting,
                    std::chrono::milliseconds(static_cast<int64_t>(e.config().llm_timeout_seconds * 1000))),
        authorization(e.config()),
        sources(e),
        context{e, metrics, stopping, model_slots, authorization, sources},
        http(edge_options(e.config())) {}

  static EdgeOptions edge_options(const Config& config) {
    EdgeOptions options;
    options.workers = config.http_threads;
    options.queue_max = config.http_queue_max;
    options.max_connections = config.http_max_connections;
    options.request_timeout = std::chrono::seconds(config.request_timeout_seconds);
    return options;
  }

  void add(const std::string& method, const std::string& pattern, const std::string& label, Handler handler) override {
    authorization.register_route(method, label);
    route_table.add(method, pattern);
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
    else if (method == "PATCH") http.Patch(pattern, wrapped);
  }

  void add_upload(const std::string& pattern, const std::string& label, UploadHandler handler) override {
    authorization.register_route("POST", label);
    http.Post(pattern, [label, handler = std::move(handler)](const httplib::Request& req, httplib::Response& res,
                                                              const httplib::ContentReader& reader) {
      t_route_label = label;
      try {
        handler(req, res, reader);
      } catch (const std::exception& e) {
        log::error("unhandled exception in handler", {{"route", label}, {"what", e.what()}});
        send_error(res, error(ErrorCode::kInternal, "internal error; see the server log"));
      }
    });
  }

  void configure() {
    const Config& config = engine.config();
    // Per-route limits are enforced by the pre-routing hook (Content-Length) and the
    // connection's body budget (while reading, chunked included); this is the outer bound.
    http.set_payload_max_length(static_cast<size_t>(std::max(config.max_upload_bytes, config.max_json_bytes)));
    http.set_body_limit([&config](const httplib::Request& req) {
      choose_body_limit(req, config);
      return t_body_limit;
    });
    http.set_raw_multipart([](const httplib::Request& req) {
      static const std::regex upload(R"(/v1/collections/[^/]+/documents)");
      return req.method == "POST" && std::regex_match(req.path, upload);
    });
    http.set_request_done([] { ModelSlots::release_request_slot(); });
    http.set_rejection_observer([this](const std::string& method) { metrics.observe("(busy)", method, 503, 0); });
    http.set_read_timeout(config.request_timeout_seconds, 0);
    http.set_write_timeout(config.request_timeout_seconds, 0);
    // Advertised in the Keep-Alive header; EdgeOptions (same values) enforces them.
    http.set_keep_alive_max_count(1000);
    http.set_keep_alive_timeout(2);
    // httplib's default also sets SO_REUSEPORT, which lets a second server bind the
    // same port and silently split the traffic; we want "address in use" instead.
    // (EdgeServer sets TCP_NODELAY on every accepted socket.)
    http.set_socket_options([](socket_t sock) {
      int yes = 1;
      setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, reinterpret_cast<const void*>(&yes), sizeof(yes));
    });

    http.set_pre_routing_handler([this](const httplib::Request& req, httplib::Response& res) {
      t_request_start = std::chrono::steady_clock::now();
      t_route_label = "unmatched";
      // A request answered here leaves its body unread: its connection closes after the answer.
      if (authorization.reject(req, res)) {
        t_route_label = res.status == 401 ? "unauthenticated" : "forbidden";
        if (has_body(req)) {
          EdgeServer::close_current_connection();
          res.set_header("Connection", "close");
        }
        return httplib::Server::HandlerResponse::Handled;
      }
      if (declared_too_large(req)) {
        t_route_label = "too_large";
        EdgeServer::close_current_connection();
        send_error(res, body_too_large(req.get_header_value("Content-Length") + " bytes"));
        res.set_header("Connection", "close");
        return httplib::Server::HandlerResponse::Handled;
      }
      return httplib::Server::HandlerResponse::Unhandled;
    });

    http.set_expect_100_continue_handler([](const httplib::Request& req, httplib::Response& res) {
      t_request_start = std::chrono::steady_clock::now();
      if (!declared_too_large(req)) return 100;
      t_route_label = "too_large";
      EdgeServer::close_current_connection();
      send_error(res, body_too_large(req.get_header_value("Content-Length") + " bytes"));
      res.set_header("Connection", "close");
      return 413;
    });
    // Errors httplib produces itself (no route, body too large, bad request line).
    http.set_error_handler([this](const httplib::Request& req, httplib::Response& res) {
      if (!res.body.empty()) return;
      if (EdgeServer::current_body_limit_exceeded()) {  // httplib reports the cut-off read as 400
        t_route_label = "too_large";
        send_error(res, body_too_large("larger than that"));
        res.set_header("Connection", "close");
        return;
      }
      switch (res.status) {
        case 404:
          answer_unrouted(req, res);
          break;
        case 413:
          send_error(res, body_too_large("larger than that"));
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
      // Probes every few seconds would flood the log, and the log's lock (held while a line
      // reaches a possibly slow stderr pipe) is one a probe must never wait for.
      const bool probe = is_probe_request(req.method + " " + req.path + " ");
      log::write(probe ? log::Level::kDebug : log::Level::kInfo, "request", {{"method", req.method},
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
    add_original_routes(*this, context);
    add_conversation_routes(*this, context);
    add_auth_routes(*this, context);
    add_source_routes(*this, context);
    if (config.webui) add_ui_routes(*this, context);
  }

  // No handler matched: 405 when the path takes other methods, 307 to the path with its
  // trailing slash toggled when that one is routed (FastAPI's answers), else 404.
  void answer_unrouted(const httplib::Request& req, httplib::Response& res) const {
    if (const auto allowed = route_table.allowed_methods(req.path); !allowed.empty()) {
      const std::string allow = allow_header(allowed);
      send_json(res, 405, {{"error", {{"code", "method_not_allowed"},
                                      {"message", req.method + " is not allowed on " + req.path + "; use " + allow}}}});
      res.set_header("Allow", allow);
      return;
    }
    if (!route_table.slash_redirect(req.path).empty()) {
      // Toggle the slash on the raw target so percent-encoding and the query survive; a
      // decoded path whose slash came from "%2F" has no raw slash to toggle (404 below).
      const auto query = req.target.find('?');
      std::string raw = req.target.substr(0, query);
      if (!raw.empty() && (raw.back() == '/') == (req.path.back() == '/')) {
        if (raw.back() == '/') raw.pop_back();
        else raw.push_back('/');
        res.status = 307;
        res.set_header("Location", query == std::string::npos ? raw : raw + req.target.substr(query));
        return;
      }
    }
    send_error(res, error(ErrorCode::kNotFound, "no route for " + req.method + " " + req.path + " (see GET /openapi.json)"));
  }

  service::Engine& engine;
  RouteTable route_table;
  RequestMetrics metrics;
  std::atomic<bool> stopping{false};
  ModelSlots model_slots;
  Authorization authorization;
  sources::SourceManager sources;  // before context: handlers reach it through there
  ApiContext context;
  EdgeServer http;
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

void Server::run() {
  impl_->sources.start_scheduler(impl_->engine.config().source_scheduler_seconds);
  impl_->http.listen_after_bind();
  impl_->http.shutdown_connections();  // running requests finish, idle connections close
}

void Server::stop() {
  impl_->stopping = true;  // streaming answers end at their next token
  impl_->model_slots.shutdown();  // requests waiting for the model answer 503 now
  impl_->http.stop();
}

}  // namespace kr::api
