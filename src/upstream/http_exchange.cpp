#include "upstream/http_exchange.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <thread>

#include "core/log.h"
#include "core/text.h"

namespace kr::upstream {

namespace {

using nlohmann::json;
using Clock = std::chrono::steady_clock;

constexpr double kMaxWaitSeconds = 30.0;  // the longest backoff or Retry-After we honour

double retry_after_seconds(const std::string& header) {
  if (header.empty() || !std::all_of(header.begin(), header.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    return 0;  // the HTTP-date form is rare from model servers; the backoff applies
  }
  return std::min(kMaxWaitSeconds, std::stod(header.substr(0, 6)));
}

void set_timeouts(httplib::Client& cli, double seconds) {
  const double s = std::max(0.001, seconds);
  const auto sec = static_cast<time_t>(s);
  const auto usec = static_cast<time_t>((s - static_cast<double>(sec)) * 1e6);
  cli.set_connection_timeout(sec, usec);
  cli.set_read_timeout(sec, usec);
  cli.set_write_timeout(sec, usec);
}

}  // namespace

std::unique_ptr<httplib::Client> HttpExchange::new_client() const {
  auto cli = std::make_unique<httplib::Client>(server_.origin());
  set_timeouts(*cli, policy_.timeout_seconds);
  if (!api_key_.empty()) cli->set_bearer_token_auth(api_key_);
  if (server_.scheme == "https") cli->enable_server_certificate_verification(true);
  return cli;
}

bool HttpExchange::timed_out(const HttpOutcome& out) const {
  return out.transport == httplib::Error::Read && out.elapsed_seconds >= 0.95 * policy_.timeout_seconds;
}

bool HttpExchange::retryable(const HttpOutcome& out) const {
  switch (out.transport) {
    case httplib::Error::Success: return retryable_status(out.status);
    case httplib::Error::Connection:
    case httplib::Error::ConnectionTimeout:
    case httplib::Error::Write: return true;
    case httplib::Error::Read: return !timed_out(out);
    default: return false;
  }
}

void HttpExchange::backoff(int attempt, const std::string& retry_after) const {
  double wait = std::max(0.0, policy_.backoff_seconds) * std::pow(2.0, attempt);
  wait = std::min(std::max(wait, retry_after_seconds(retry_after)), kMaxWaitSeconds);
  std::this_thread::sleep_for(std::chrono::duration<double>(wait));
}

HttpOutcome HttpExchange::send(const std::string& path, const std::string* body, std::string_view log_what) const {
  HttpOutcome out;
  for (int attempt = 0;; ++attempt) {
    auto cli = new_client();
    const httplib::Headers headers = {{"Accept", "application/json"}};
    const auto start = Clock::now();
    auto res = body ? cli->Post(path, headers, *body, "application/json") : cli->Get(path, headers);
    out = HttpOutcome{};
    out.attempts = attempt + 1;
    out.elapsed_seconds = std::chrono::duration<double>(Clock::now() - start).count();
    out.transport = res.error();
    if (res) {
      out.status = res->status;
      out.body = std::move(res->body);
      out.retry_after = res->get_header_value("Retry-After");
    }
    if (attempt >= policy_.max_retries || !retryable(out)) return out;
    log::debug("retrying " + std::string(log_what), {{"url", server_.origin() + path},
                                                      {"attempt", std::to_string(attempt + 1)},
                                                      {"status", std::to_string(out.status)},
                                                      {"error", httplib::to_string(out.transport)}});
    backoff(attempt, out.retry_after);
  }
}

bool retryable_status(int status) {
  return status == 429 || status == 500 || status == 502 || status == 503 || status == 504;
}

std::string attempts_suffix(const HttpOutcome& out) {
  return out.attempts > 1 ? " after " + std::to_string(out.attempts) + " attempts" : "";
}

std::string snippet(std::string_view text, size_t max_bytes) {
  const std::string_view t = trim(text);
  std::string out(utf8_prefix(t, max_bytes));
  if (out.size() < t.size()) out += "…";
  return sanitize_utf8(out);
}

std::string dump_json(const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace); }

std::string json_string(const json& j, const char* key) {
  if (!j.is_object()) return {};
  const auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}

const json* error_object(const json& j) {
  if (!j.is_object()) return nullptr;
  if (const auto it = j.find("error"); it != j.end() && !it->is_null()) return &*it;
  if (json_string(j, "object") == "error") return &j;
  return nullptr;
}

std::string error_message(const json& err) {
  if (err.is_string()) return err.get<std::string>();
  std::string message = json_string(err, "message");
  if (message.empty() && err.is_object()) {
    if (const auto it = err.find("detail"); it != err.end()) {  // FastAPI's own errors
      message = it->is_string() ? it->get<std::string>() : dump_json(*it);
    }
  }
  return message;
}

std::string upstream_message(const std::string& body) {
  const json j = json::parse(body, nullptr, false);
  if (!j.is_discarded()) {
    const json* err = error_object(j);
    std::string message = error_message(err ? *err : j);
    if (!message.empty()) return snippet(message, 1000);
  }
  return trim(body).empty() ? std::string("(empty response body)") : snippet(body);
}

}  // namespace kr::upstream
