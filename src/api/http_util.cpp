#include "api/http_util.h"

#include <cctype>
#include <chrono>

namespace kr::api {

int http_status(ErrorCode code) {
  switch (code) {
    case ErrorCode::kOk: return 200;
    case ErrorCode::kInvalidArgument: return 400;
    case ErrorCode::kUnauthenticated: return 401;
    case ErrorCode::kPermissionDenied: return 403;
    case ErrorCode::kNotFound: return 404;
    case ErrorCode::kAlreadyExists: return 409;
    case ErrorCode::kFailedPrecondition: return 409;
    case ErrorCode::kTooLarge: return 413;
    case ErrorCode::kResourceExhausted: return 413;
    case ErrorCode::kUnsupported: return 415;
    case ErrorCode::kEncrypted: return 422;
    case ErrorCode::kCorruptInput: return 422;
    case ErrorCode::kCancelled: return 499;
    case ErrorCode::kUnavailable: return 503;
    case ErrorCode::kDeadlineExceeded: return 504;
    case ErrorCode::kDataCorruption: return 500;
    case ErrorCode::kInternal: return 500;
    case ErrorCode::kInsufficientStorage: return 507;
  }
  return 500;
}

Handler count_operation(RequestMetrics& metrics, const std::string& name, Handler handler) {
  metrics.declare_operation(name);
  return [&metrics, name, handler = std::move(handler)](const httplib::Request& req, httplib::Response& res) {
    const auto start = std::chrono::steady_clock::now();
    const auto seconds = [&start] { return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count(); };
    try {
      handler(req, res);
    } catch (...) {
      metrics.observe_operation(name, false, seconds());
      throw;
    }
    metrics.observe_operation(name, res.status >= 200 && res.status < 400, seconds());
  };
}

void send_json(httplib::Response& res, int status, const json& body) {
  res.status = status;
  res.set_content(body.dump(-1, ' ', false, json::error_handler_t::replace), "application/json");
}

void send_error(httplib::Response& res, const Status& status) {
  json body = {{"error", {{"code", std::string(error_code_name(status.code()))}, {"message", status.message()}}}};
  send_json(res, http_status(status.code()), body);
  if (status.code() == ErrorCode::kUnauthenticated) res.set_header("WWW-Authenticate", "Bearer");
  // Every 503 is temporary (a full queue, a model or collection not ready): say when to retry.
  if (http_status(status.code()) == 503 && !res.has_header("Retry-After")) res.set_header("Retry-After", "1");
}

bool json_nests_deeper_than(std::string_view text, int max_depth) {
  int depth = 0;
  bool in_string = false;
  bool escaped = false;
  for (const char c : text) {
    if (in_string) {
      if (escaped) escaped = false;
      else if (c == '\\') escaped = true;
      else if (c == '"') in_string = false;
    } else if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      if (++depth > max_depth) return true;
    } else if ((c == ']' || c == '}') && depth > 0) {
      --depth;
    }
  }
  return false;
}

void send_busy(httplib::Response& res, const Status& status) {
  send_error(res, status);
  res.set_header("Retry-After", "1");
}

Result<json> parse_client_json(std::string_view text, std::string_view what, int max_depth) {
  if (json_nests_deeper_than(text, max_depth)) {
    return error(ErrorCode::kInvalidArgument, std::string(what) + " nests arrays/objects deeper than " +
                                                  std::to_string(max_depth) + " levels; flatten it");
  }
  try {
    return json::parse(text);
  } catch (const json::exception& e) {  // parse_error, or out_of_range for a number like 1e400
    return error(ErrorCode::kInvalidArgument, std::string(what) + " is not valid JSON: " + e.what());
  }
}

Result<json> parse_json_body(const httplib::Request& req, int64_t max_bytes) {
  if (static_cast<int64_t>(req.body.size()) > max_bytes) {
    return error(ErrorCode::kTooLarge, "request body is " + std::to_string(req.body.size()) +
                                           " bytes; JSON requests are limited to " + std::to_string(max_bytes) +
                                           " bytes (max_json_bytes)");
  }
  std::string type = req.get_header_value("Content-Type");
  for (char& c : type) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));  // media types ignore case
  if (!type.empty() && type.find("application/json") == std::string::npos && type.find("+json") == std::string::npos) {
    return error(ErrorCode::kUnsupported, "expected Content-Type: application/json, got '" + type + "'");
  }
  auto body = parse_client_json(req.body, "request body");
  if (!body) return body.status();
  if (!body->is_object()) return error(ErrorCode::kInvalidArgument, "request body must be a JSON object");
  return body;
}

Result<int64_t> query_int(const httplib::Request& req, const char* name, int64_t fallback, int64_t min, int64_t max) {
  if (!req.has_param(name)) return fallback;
  const std::string text = req.get_param_value(name);
  try {
    size_t used = 0;
    const long long value = std::stoll(text, &used);
    if (used != text.size()) throw std::invalid_argument(text);
    if (value < min || value > max) {
      return error(ErrorCode::kInvalidArgument, std::string("query parameter '") + name + "' must be between " +
                                                    std::to_string(min) + " and " + std::to_string(max));
    }
    return static_cast<int64_t>(value);
  } catch (const std::exception&) {
    return error(ErrorCode::kInvalidArgument, std::string("query parameter '") + name + "' must be an integer");
  }
}

std::string sse_event(const std::string& name, const json& data) {
  std::string out;
  if (!name.empty()) out += "event: " + name + "\n";
  out += "data: " + data.dump(-1, ' ', false, json::error_handler_t::replace) + "\n\n";
  return out;
}

void Router::add_upload(const std::string& pattern, const std::string& label, UploadHandler) {
  add("POST", pattern, label, [](const httplib::Request&, httplib::Response& res) {
    send_error(res, error(ErrorCode::kInternal, "this router cannot stream request bodies"));
  });
}

}  // namespace kr::api
