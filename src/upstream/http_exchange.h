// One HTTP client for every upstream server Kaito-RAG calls (the language model, remote
// embeddings): timeouts, bearer auth, TLS verification, retries with backoff and Retry-After,
// and readable messages from whatever error body a server sends. Callers keep only what is
// specific to their protocol (paths, response shapes, the wording of their errors).
#pragma once

#include <httplib.h>

#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "upstream/http_url.h"

namespace kr::upstream {

struct RetryPolicy {
  double timeout_seconds = 60;  // connect, read and write, each
  int max_retries = 2;
  double backoff_seconds = 0.5;  // doubled per attempt; a longer Retry-After wins
};

// What one HTTP exchange produced (after its retries).
struct HttpOutcome {
  httplib::Error transport = httplib::Error::Success;
  int status = 0;
  std::string body;
  std::string retry_after;
  double elapsed_seconds = 0;
  int attempts = 1;
};

class HttpExchange {
 public:
  HttpExchange() = default;
  HttpExchange(HttpUrl server, std::string api_key, RetryPolicy policy)
      : server_(std::move(server)), api_key_(std::move(api_key)), policy_(policy) {}

  // A fresh client per call keeps calls independent and thread-safe; creating one costs
  // nothing until it connects.
  std::unique_ptr<httplib::Client> new_client() const;

  // One GET (body == nullptr) or JSON POST, retried while retryable(). `log_what` names the
  // call in the debug line of each retry.
  HttpOutcome send(const std::string& path, const std::string* body, std::string_view log_what) const;

  // A read that ran into the timeout: the server is slow, and trying again would multiply the wait.
  bool timed_out(const HttpOutcome& out) const;
  // Dropped connections, refused connects and 429/5xx are worth another attempt.
  bool retryable(const HttpOutcome& out) const;
  // Sleeps before attempt `attempt + 1`.
  void backoff(int attempt, const std::string& retry_after) const;

  const HttpUrl& server() const { return server_; }
  const RetryPolicy& policy() const { return policy_; }

 private:
  HttpUrl server_;
  std::string api_key_;
  RetryPolicy policy_;
};

bool retryable_status(int status);
// " after N attempts" when there was more than one, else "".
std::string attempts_suffix(const HttpOutcome& out);

// Short, valid UTF-8 excerpt of a body for an error message.
std::string snippet(std::string_view text, size_t max_bytes = 300);
std::string dump_json(const nlohmann::json& j);
// j[key] when it is a string, else "".
std::string json_string(const nlohmann::json& j, const char* key);
// The error object of a body: nested {"error":{...}}, {"error":"text"} or vLLM's flat
// {"object":"error","message":...}; null when there is none.
const nlohmann::json* error_object(const nlohmann::json& j);
// The message of an error object: "text", {"message"}, or FastAPI's {"detail"}.
std::string error_message(const nlohmann::json& err);
// A readable message from an error response body, whatever its shape.
std::string upstream_message(const std::string& body);

}  // namespace kr::upstream
