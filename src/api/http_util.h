// Shared by the route files: the router interface, JSON responses, error mapping.
// Internal to the api module (the public header is server.h).
#pragma once

#include <httplib.h>

#include <atomic>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>

#include "api/metrics.h"
#include "core/status.h"
#include "service/engine.h"

namespace kr::api {

using nlohmann::json;
using Handler = std::function<void(const httplib::Request&, httplib::Response&)>;

// Registers a handler; `label` is the route template used in logs and metrics
// (e.g. "/v1/collections/{name}"). The router wraps every handler with timing,
// access logging and exception-to-500 conversion.
class Router {
 public:
  virtual ~Router() = default;
  virtual void add(const std::string& method, const std::string& pattern, const std::string& label, Handler handler) = 0;
};

class Authorization;  // api/authorization.h

struct ApiContext {
  service::Engine& engine;
  RequestMetrics& metrics;
  const std::atomic<bool>& stopping;  // set on shutdown: long-running streams end early
  Authorization& auth;                // who the caller is, what they may read
};

void add_system_routes(Router& router, ApiContext& context);
void add_collection_routes(Router& router, ApiContext& context);
void add_document_routes(Router& router, ApiContext& context);
void add_query_routes(Router& router, ApiContext& context);
void add_openai_routes(Router& router, ApiContext& context);  // OpenAI-compatible /v1/chat/completions, /v1/models
void add_ragengine_routes(Router& router, ApiContext& context);  // KAITO RAGEngine API (routes_ragengine.cpp)
void add_auth_routes(Router& router, ApiContext& context);  // /v1/auth: config, whoami, API keys (routes_auth.cpp)

// The one mapping from error codes to HTTP statuses.
int http_status(ErrorCode code);

void send_json(httplib::Response& res, int status, const json& body);
void send_error(httplib::Response& res, const Status& status);

// Parses a JSON object body; kInvalidArgument (400) for bad JSON, kUnsupported
// (415) for a non-JSON content type, kTooLarge (413) over `max_bytes`.
Result<json> parse_json_body(const httplib::Request& req, int64_t max_bytes);

// Query parameter as an integer within bounds, or `fallback` when absent.
Result<int64_t> query_int(const httplib::Request& req, const char* name, int64_t fallback, int64_t min, int64_t max);

// Server-Sent Events framing: "event: NAME\ndata: JSON\n\n" ("data:" only when NAME is empty).
std::string sse_event(const std::string& name, const json& data);

}  // namespace kr::api
