// RemoteEmbedder: batching, retries and response validation for remote embedding servers.
// One httplib::Client per request keeps calls independent and thread-safe; creating one costs
// nothing until it connects. HTTP conventions (timeouts, retries, error bodies) follow
// generate/openai_client.cpp.
#include "embed/remote_embedder.h"

#include <httplib.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <chrono>
#include <cmath>
#include <exception>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "core/log.h"
#include "core/text.h"

namespace kr::embed {

namespace {

using nlohmann::json;
using Clock = std::chrono::steady_clock;

constexpr double kMaxRetryAfterSeconds = 30.0;
constexpr int kMaxBatchSize = 2048;  // OpenAI's limit on inputs per request
constexpr int kMaxRetries = 10;

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

bool ends_with(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

bool all_digits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// ---- URL ----------------------------------------------------------------------------------

struct Endpoint {
  std::string scheme;  // http | https
  std::string host;    // IPv6 literals without brackets
  int port = 0;
  std::string path;    // where to POST

  std::string origin() const {
    const bool ipv6 = host.find(':') != std::string::npos;
    return scheme + "://" + (ipv6 ? "[" + host + "]" : host) + ":" + std::to_string(port);
  }
};

Status bad_url(std::string_view url, std::string_view why, RemoteProtocol protocol) {
  const char* example = protocol == RemoteProtocol::kOpenAI ? "http://host:port/v1" : "http://host:port/embed";
  return error(ErrorCode::kInvalidArgument, "invalid embedding server URL '" + std::string(url) + "': " +
                                                std::string(why) + " (expected e.g. " + example + ")");
}

// Same rules as generate::parse_llm_url; the path rule depends on the protocol.
Result<Endpoint> parse_endpoint(std::string_view raw, RemoteProtocol protocol) {
  const std::string_view url = trim(raw);
  if (url.empty()) return error(ErrorCode::kInvalidArgument, "no embedding server URL is set");
  if (url.find_first_of("?#") != std::string_view::npos) {
    return bad_url(url, "a query or fragment is not allowed", protocol);
  }
  Endpoint ep;
  std::string_view rest = url;
  if (const size_t sep = rest.find("://"); sep != std::string_view::npos) {
    ep.scheme = lower(rest.substr(0, sep));
    rest.remove_prefix(sep + 3);
  } else {
    ep.scheme = "http";
  }
  if (ep.scheme != "http" && ep.scheme != "https") return bad_url(url, "the scheme must be http or https", protocol);

  const size_t slash = rest.find('/');
  const std::string_view authority = rest.substr(0, slash);
  std::string_view path = slash == std::string_view::npos ? std::string_view() : rest.substr(slash);
  if (authority.find('@') != std::string_view::npos) {
    return bad_url(url, "credentials in the URL are not supported; use the API key setting", protocol);
  }
  std::string_view host = authority;
  std::string_view port;
  if (!authority.empty() && authority.front() == '[') {
    const size_t close = authority.find(']');
    if (close == std::string_view::npos) return bad_url(url, "unterminated IPv6 address", protocol);
    host = authority.substr(1, close - 1);
    const std::string_view after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') return bad_url(url, "unexpected text after the IPv6 address", protocol);
      port = after.substr(1);
    }
  } else if (const size_t colon = authority.rfind(':'); colon != std::string_view::npos) {
    host = authority.substr(0, colon);
    port = authority.substr(colon + 1);
  }
  if (host.empty()) return bad_url(url, "the host is missing", protocol);
  ep.host = std::string(host);
  ep.port = ep.scheme == "https" ? 443 : 80;
  if (!port.empty()) {
    if (port.size() > 5 || !all_digits(port)) return bad_url(url, "the port is not a number", protocol);
    ep.port = std::stoi(std::string(port));
    if (ep.port < 1 || ep.port > 65535) return bad_url(url, "the port is out of range", protocol);
  }

  while (!path.empty() && path.back() == '/') path.remove_suffix(1);
  if (protocol == RemoteProtocol::kTei) {
    ep.path = path.empty() ? "/embed" : std::string(path);
  } else if (ends_with(path, "/v1/embeddings")) {
    ep.path = std::string(path);
  } else if (ends_with(path, "/v1")) {
    ep.path = std::string(path) + "/embeddings";
  } else {
    ep.path = std::string(path) + "/v1/embeddings";
  }
  return ep;
}

// ---- HTTP helpers -------------------------------------------------------------------------

struct HttpOutcome {
  httplib::Error transport = httplib::Error::Success;
  int status = 0;
  std::string body;
  std::string retry_after;
  double elapsed_seconds = 0;
  int attempts = 1;
};

std::string dump(const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace); }

std::string snippet(std::string_view text, size_t max_bytes = 300) {
  const std::string_view t = trim(text);
  std::string out(utf8_prefix(t, max_bytes));
  if (out.size() < t.size()) out += "…";
  return sanitize_utf8(out);
}

std::string json_string(const json& j, const char* key) {
  if (!j.is_object()) return {};
  const auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}

// The message of an error body: {"error":{"message"}}, {"error":"..."} (TEI), {"detail":...}
// (FastAPI), {"message":...}, else the text itself.
std::string upstream_message(const std::string& body) {
  const json j = json::parse(body, nullptr, false);
  if (!j.is_discarded() && j.is_object()) {
    std::string message;
    if (const auto err = j.find("error"); err != j.end()) {
      message = err->is_string() ? err->get<std::string>() : json_string(*err, "message");
    }
    if (message.empty()) message = json_string(j, "message");
    if (const auto detail = j.find("detail"); message.empty() && detail != j.end()) {
      message = detail->is_string() ? detail->get<std::string>() : dump(*detail);
    }
    if (!message.empty()) return snippet(message, 1000);
  }
  return trim(body).empty() ? std::string("(empty response body)") : snippet(body);
}

bool retryable_status(int status) {
  return status == 429 || status == 500 || status == 502 || status == 503 || status == 504;
}

double retry_after_seconds(const std::string& header) {
  if (!all_digits(header)) return 0;  // the HTTP-date form is rare from model servers; the backoff applies
  return std::min(kMaxRetryAfterSeconds, std::stod(header.substr(0, 6)));
}

void set_timeouts(httplib::Client& cli, double seconds) {
  const double s = std::max(0.001, seconds);
  const auto sec = static_cast<time_t>(s);
  const auto usec = static_cast<time_t>((s - static_cast<double>(sec)) * 1e6);
  cli.set_connection_timeout(sec, usec);
  cli.set_read_timeout(sec, usec);
  cli.set_write_timeout(sec, usec);
}

// TEI refuses batches above --max-client-batch-size (default 32) with
// "batch size 64 > maximum allowed batch size 32"; returns that limit, else 0.
int server_batch_limit(const std::string& message) {
  static constexpr std::string_view kPhrase = "maximum allowed batch size";
  const std::string text = lower(message);
  const size_t at = text.find(kPhrase);
  if (at == std::string::npos) return 0;
  size_t i = at + kPhrase.size();
  while (i < text.size() && !std::isdigit(static_cast<unsigned char>(text[i])) && i < at + kPhrase.size() + 8) ++i;
  size_t end = i;
  while (end < text.size() && end - i < 7 && std::isdigit(static_cast<unsigned char>(text[end]))) ++end;
  return end > i ? std::stoi(text.substr(i, end - i)) : 0;
}

// ---- Response parsing ---------------------------------------------------------------------

// The vectors of one answer, row-major, not yet normalized.
struct Batch {
  int dimension = 0;
  std::vector<float> values;
  std::string model;  // reported by the server (OpenAI protocol), may be empty
};

class BatchReader {
 public:
  BatchReader(const std::string& url, size_t expected) : url_(url), expected_(expected) {}

  Status bad(const std::string& what) const {
    return error(ErrorCode::kUnavailable, "the embedding server at " + url_ + " " + what);
  }

  // Appends one vector; all must have the same length and finite values.
  Status add(const json& v, size_t row) {
    if (!v.is_array()) {
      if (v.is_string()) return bad("returned vector " + std::to_string(row) + " as a string (base64?), not numbers");
      return bad("returned vector " + std::to_string(row) + " that is not an array of numbers");
    }
    if (!v.empty() && v.front().is_array()) {
      return bad("returned one vector per token instead of one per text; the server does not pool — serve a "
                 "sentence-embedding model");
    }
    if (v.empty()) return bad("returned an empty vector for text " + std::to_string(row));
    if (batch_.dimension == 0) batch_.dimension = static_cast<int>(v.size());
    if (v.size() != static_cast<size_t>(batch_.dimension)) {
      return bad("returned vectors of different lengths in one answer (" + std::to_string(batch_.dimension) +
                 " and " + std::to_string(v.size()) + ")");
    }
    for (const json& x : v) {
      if (!x.is_number()) return bad("returned a non-numeric value in vector " + std::to_string(row) + ": " + dump(x));
      const double d = x.get<double>();
      const auto f = static_cast<float>(d);
      if (!std::isfinite(d) || !std::isfinite(f)) {
        return bad("returned a non-finite value in vector " + std::to_string(row));
      }
      batch_.values.push_back(f);
    }
    return Status::ok();
  }

  Status check_count(size_t got) const {
    if (got == expected_) return Status::ok();
    return bad("returned " + std::to_string(got) + " vectors for " + std::to_string(expected_) + " texts");
  }

  Result<Batch> take() { return std::move(batch_); }

 private:
  const std::string& url_;
  size_t expected_;
  Batch batch_;
};

Result<Batch> read_openai(const json& j, size_t expected, const std::string& url) {
  BatchReader reader(url, expected);
  const auto data = j.is_object() ? j.find("data") : j.end();
  if (data == j.end() || !data->is_array()) {
    return reader.bad("returned no \"data\" array; is it an OpenAI-compatible /v1/embeddings endpoint? Answer: " +
                      snippet(dump(j)));
  }
  KR_RETURN_IF_ERROR(reader.check_count(data->size()));
  // Sort by "index": servers may answer out of order. Missing indices mean list order.
  std::vector<const json*> rows(expected, nullptr);
  for (size_t pos = 0; pos < data->size(); ++pos) {
    const json& item = (*data)[pos];
    size_t index = pos;
    if (const auto it = item.is_object() ? item.find("index") : item.end(); it != item.end() && !it->is_null()) {
      const long long i = it->is_number_integer() ? it->get<long long>() : -1;
      if (i < 0 || i >= static_cast<long long>(expected)) {
        return reader.bad("returned an invalid index " + dump(*it) + " for " + std::to_string(expected) + " texts");
      }
      index = static_cast<size_t>(i);
    }
    if (rows[index] != nullptr) return reader.bad("returned index " + std::to_string(index) + " twice");
    rows[index] = &item;
  }
  for (size_t i = 0; i < expected; ++i) {
    const auto emb = rows[i]->is_object() ? rows[i]->find("embedding") : rows[i]->end();
    if (emb == rows[i]->end()) return reader.bad("returned an item without \"embedding\": " + snippet(dump(*rows[i])));
    KR_RETURN_IF_ERROR(reader.add(*emb, i));
  }
  auto batch = reader.take();
  batch->model = json_string(j, "model");
  return batch;
}

Result<Batch> read_tei(const json& j, size_t expected, const std::string& url) {
  BatchReader reader(url, expected);
  const json* vectors = &j;
  if (j.is_object()) {
    const auto it = j.find("embeddings");
    if (it == j.end()) {
      return reader.bad("returned an object without \"embeddings\"; expected a JSON array of vectors: " +
                        snippet(dump(j)));
    }
    vectors = &*it;
  }
  if (!vectors->is_array()) {
    return reader.bad("returned " + snippet(dump(*vectors)) + " instead of an array of vectors");
  }
  if (expected == 1 && !vectors->empty() && vectors->front().is_number()) {
    KR_RETURN_IF_ERROR(reader.add(*vectors, 0));  // a bare vector for a single input
    return reader.take();
  }
  KR_RETURN_IF_ERROR(reader.check_count(vectors->size()));
  for (size_t i = 0; i < expected; ++i) KR_RETURN_IF_ERROR(reader.add((*vectors)[i], i));
  return reader.take();
}

}  // namespace

// ---- Protocol names and config ------------------------------------------------------------

Result<RemoteProtocol> parse_remote_protocol(std::string_view name) {
  const std::string n = lower(trim(name));
  if (n == "openai") return RemoteProtocol::kOpenAI;
  if (n == "tei") return RemoteProtocol::kTei;
  return error(ErrorCode::kInvalidArgument,
               "unknown embedding protocol '" + std::string(name) + "' (expected openai or tei)");
}

std::string_view remote_protocol_name(RemoteProtocol protocol) {
  return protocol == RemoteProtocol::kTei ? "tei" : "openai";
}

Status RemoteEmbedderConfig::validate() const {
  auto ep = parse_endpoint(url, protocol);
  if (!ep) return ep.status();
  if (batch_size < 1 || batch_size > kMaxBatchSize) {
    return error(ErrorCode::kInvalidArgument, "embedding batch size must be between 1 and " +
                                                  std::to_string(kMaxBatchSize) + ", got " +
                                                  std::to_string(batch_size));
  }
  if (!std::isfinite(timeout_seconds) || timeout_seconds <= 0 || timeout_seconds > 86400) {
    return error(ErrorCode::kInvalidArgument, "embedding timeout must be a positive number of seconds");
  }
  if (max_retries < 0 || max_retries > kMaxRetries) {
    return error(ErrorCode::kInvalidArgument,
                 "embedding max retries must be between 0 and " + std::to_string(kMaxRetries));
  }
  if (!std::isfinite(retry_backoff_seconds) || retry_backoff_seconds < 0 || retry_backoff_seconds > 60) {
    return error(ErrorCode::kInvalidArgument, "embedding retry backoff must be between 0 and 60 seconds");
  }
  return Status::ok();
}

// ---- RemoteEmbedder -----------------------------------------------------------------------

struct RemoteEmbedder::Impl {
  Impl(RemoteEmbedderConfig c, Endpoint ep)
      : config(std::move(c)), endpoint(std::move(ep)), url(endpoint.origin() + endpoint.path),
        batch_limit(config.batch_size) {
    initial_info.model_id = config.model.empty() ? url : config.model;
    learned_info = initial_info;
    info.store(&initial_info);
  }

  const RemoteEmbedderConfig config;
  const Endpoint endpoint;
  const std::string url;
  std::atomic<int> batch_limit;  // config.batch_size, or lower once the server said its limit

  // info points at initial_info until the first answer, then at learned_info; neither changes
  // after it is published, so info() readers never race with the writer.
  EmbedderInfo initial_info;
  EmbedderInfo learned_info;
  std::atomic<const EmbedderInfo*> info{nullptr};
  std::atomic<int> dimension{0};
  std::mutex learn_mutex;  // serializes the one-time write of learned_info

  std::unique_ptr<httplib::Client> new_client() const {
    auto cli = std::make_unique<httplib::Client>(endpoint.origin());
    set_timeouts(*cli, config.timeout_seconds);
    if (!config.api_key.empty()) cli->set_bearer_token_auth(config.api_key);
    if (endpoint.scheme == "https") cli->enable_server_certificate_verification(true);
    return cli;
  }

  // A dropped connection is worth retrying; a read that ran into the timeout is not (the
  // server is slow, and trying again would multiply the wait).
  bool timed_out(const HttpOutcome& out) const {
    return out.transport == httplib::Error::Read && out.elapsed_seconds >= 0.95 * config.timeout_seconds;
  }

  bool retryable(const HttpOutcome& out) const {
    switch (out.transport) {
      case httplib::Error::Success: return retryable_status(out.status);
      case httplib::Error::Connection:
      case httplib::Error::ConnectionTimeout:
      case httplib::Error::Write: return true;
      case httplib::Error::Read: return !timed_out(out);
      default: return false;
    }
  }

  void backoff(int attempt, const std::string& retry_after) const {
    double wait = config.retry_backoff_seconds * std::pow(2.0, attempt);
    wait = std::min(std::max(wait, retry_after_seconds(retry_after)), kMaxRetryAfterSeconds);
    std::this_thread::sleep_for(std::chrono::duration<double>(wait));
  }

  HttpOutcome send(const std::string& body) const {
    HttpOutcome out;
    for (int attempt = 0;; ++attempt) {
      auto cli = new_client();
      const httplib::Headers headers = {{"Accept", "application/json"}};
      const auto start = Clock::now();
      auto res = cli->Post(endpoint.path, headers, body, "application/json");
      out = HttpOutcome{};
      out.attempts = attempt + 1;
      out.elapsed_seconds = std::chrono::duration<double>(Clock::now() - start).count();
      out.transport = res.error();
      if (res) {
        out.status = res->status;
        out.body = std::move(res->body);
        out.retry_after = res->get_header_value("Retry-After");
      }
      if (attempt >= config.max_retries || !retryable(out)) return out;
      log::debug("retrying the embedding request", {{"url", url},
                                                   {"attempt", std::to_string(attempt + 1)},
                                                   {"status", std::to_string(out.status)},
                                                   {"error", httplib::to_string(out.transport)}});
      backoff(attempt, out.retry_after);
    }
  }

  std::string tries(const HttpOutcome& out) const {
    return out.attempts > 1 ? " after " + std::to_string(out.attempts) + " attempts" : "";
  }

  Status transport_status(const HttpOutcome& out, size_t texts) const {
    const std::string seconds = std::to_string(static_cast<int>(std::ceil(config.timeout_seconds)));
    const std::string unreachable = "the embedding server at " + url + " is unreachable" + tries(out) + ": ";
    switch (out.transport) {
      case httplib::Error::Connection:
        return error(ErrorCode::kUnavailable, unreachable +
                                                  "connection refused or host unknown — is the embedding server "
                                                  "running, and is the URL right?");
      case httplib::Error::ConnectionTimeout:
        return error(ErrorCode::kUnavailable,
                     unreachable + "connecting timed out after " + seconds + " s — is the host reachable?");
      case httplib::Error::Read:
        if (timed_out(out)) {
          return error(ErrorCode::kDeadlineExceeded,
                       "the embedding server at " + url + " did not answer within " + seconds + " s (a batch of " +
                           std::to_string(texts) + " texts); raise the embedding timeout or lower the batch size");
        }
        return error(ErrorCode::kUnavailable, "the embedding server at " + url +
                                                  " closed the connection without answering" + tries(out));
      case httplib::Error::Write:
        return error(ErrorCode::kUnavailable, "the connection to the embedding server at " + url +
                                                  " broke while sending the request" + tries(out));
      case httplib::Error::SSLConnection:
      case httplib::Error::SSLLoadingCerts:
      case httplib::Error::SSLServerVerification:
        return error(ErrorCode::kUnavailable, "TLS connection to the embedding server at " + url + " failed (" +
                                                  httplib::to_string(out.transport) +
                                                  ") — check the certificate and whether the URL should be http");
      default:
        return error(ErrorCode::kUnavailable,
                     "request to the embedding server at " + url + " failed: " + httplib::to_string(out.transport));
    }
  }

  Status http_status(const HttpOutcome& out) const {
    const std::string code = std::to_string(out.status);
    const std::string message = upstream_message(out.body);
    if (out.status == 401 || out.status == 403) {
      return error(ErrorCode::kUnauthenticated, "the embedding server at " + url + " refused our credentials (" +
                                                    code + "): " + message + " — check the API key");
    }
    if (out.status == 404 && trim(out.body).empty()) {
      // KAITO answers 404 with an empty body on every path while it downloads the model.
      return error(ErrorCode::kUnavailable, "the embedding server at " + url +
                                                " is not ready yet (404 with an empty body; still loading the model?)");
    }
    if (out.status == 429) {
      return error(ErrorCode::kUnavailable, "the embedding server at " + url + " is overloaded (429" + tries(out) +
                                                "): " + message + " — try again shortly");
    }
    if (out.status == 424 || out.status >= 500) {  // TEI: 424 is a model backend failure
      return error(ErrorCode::kUnavailable,
                   "the embedding server at " + url + " failed (" + code + tries(out) + "): " + message);
    }
    if (out.status == 404) {
      const char* hint = config.protocol == RemoteProtocol::kOpenAI
                             ? " — is it an OpenAI-compatible server, and is the model name right?"
                             : " — is the URL the server's embed endpoint?";
      return error(ErrorCode::kNotFound, "the embedding server at " + url + " answered 404: " + message + hint);
    }
    if (out.status >= 400) {
      return error(ErrorCode::kInvalidArgument,
                   "the embedding server at " + url + " rejected the request (" + code + "): " + message);
    }
    return error(ErrorCode::kUnavailable,
                 "unexpected answer from the embedding server at " + url + " (HTTP " + code + "): " + message);
  }

  json request_body(std::span<const std::string> inputs) const {
    json list = json::array();
    for (const std::string& s : inputs) list.push_back(s);
    if (config.protocol == RemoteProtocol::kTei) {
      // Truncate over-long inputs like the local encoder does instead of failing the batch.
      return json{{"inputs", std::move(list)}, {"truncate", true}};
    }
    json body = {{"input", std::move(list)}};
    if (!config.model.empty()) body["model"] = config.model;
    return body;
  }

  // One request. `server_limit` is set when the server refused the batch as too large.
  Result<Batch> embed_batch(std::span<const std::string> inputs, int& server_limit) const {
    const HttpOutcome out = send(dump(request_body(inputs)));
    if (out.transport != httplib::Error::Success) return transport_status(out, inputs.size());
    if (out.status < 200 || out.status >= 300) {
      if (out.status >= 400 && out.status < 500) server_limit = server_batch_limit(upstream_message(out.body));
      return http_status(out);
    }
    const json j = json::parse(out.body, nullptr, false);
    if (j.is_discarded()) {
      const bool non_finite =
          out.body.find("NaN") != std::string::npos || out.body.find("Infinity") != std::string::npos;
      return error(ErrorCode::kUnavailable,
                   "the embedding server at " + url + " returned " +
                       (non_finite ? std::string("non-finite numbers (NaN/Infinity) — the model failed on this input")
                                   : "a response that is not JSON: " + snippet(out.body)));
    }
    if (j.is_object() && j.contains("error") && !j.contains("data") && !j.contains("embeddings")) {
      return error(ErrorCode::kUnavailable,
                   "the embedding server at " + url + " answered with an error: " + upstream_message(out.body));
    }
    return config.protocol == RemoteProtocol::kTei ? read_tei(j, inputs.size(), url)
                                                   : read_openai(j, inputs.size(), url);
  }

  // Records the dimension (and the reported model) on the first answer; later answers must agree.
  Status learn(const Batch& batch) {
    int known = dimension.load(std::memory_order_acquire);
    if (known == 0) {
      std::lock_guard lock(learn_mutex);
      known = dimension.load(std::memory_order_acquire);
      if (known == 0) {
        learned_info.dimension = batch.dimension;
        if (config.model.empty() && !batch.model.empty()) learned_info.model_id = batch.model;
        info.store(&learned_info, std::memory_order_release);
        dimension.store(batch.dimension, std::memory_order_release);
        return Status::ok();
      }
    }
    if (known == batch.dimension) return Status::ok();
    return error(ErrorCode::kFailedPrecondition,
                 "the embedding server at " + url + " now returns " + std::to_string(batch.dimension) +
                     "-dimensional vectors but returned " + std::to_string(known) +
                     " before: the model behind the URL changed" +
                     (batch.model.empty() ? std::string() : " (now '" + batch.model + "')") +
                     ". Vectors of different models cannot be mixed: restore the model (" +
                     info.load(std::memory_order_acquire)->model_id + ") or re-index into a new collection");
  }

  Result<Embeddings> embed(std::span<const std::string> texts, InputKind kind) {
    Embeddings result;
    result.dimension = dimension.load(std::memory_order_acquire);
    if (texts.empty()) return result;

    const std::string& prefix = kind == InputKind::kQuery ? config.query_prefix : config.passage_prefix;
    std::vector<std::string> inputs;
    inputs.reserve(texts.size());
    for (const std::string& t : texts) {
      std::string s = prefix + t;
      if (s.empty()) s = " ";  // OpenAI and TEI reject "" ("`inputs` cannot be empty")
      inputs.push_back(std::move(s));
    }

    for (size_t pos = 0; pos < inputs.size();) {
      const size_t take = std::min(static_cast<size_t>(batch_limit.load()), inputs.size() - pos);
      int server_limit = 0;
      auto batch = embed_batch(std::span<const std::string>(inputs).subspan(pos, take), server_limit);
      if (!batch) {
        if (server_limit > 0 && static_cast<size_t>(server_limit) < take) {
          int current = batch_limit.load();
          while (server_limit < current && !batch_limit.compare_exchange_weak(current, server_limit)) {
          }
          log::warn("the embedding server limits batches; sending smaller ones",
                    {{"url", url}, {"batch_size", std::to_string(server_limit)}});
          continue;  // the same texts again, in smaller batches
        }
        return batch.status();
      }
      KR_RETURN_IF_ERROR(learn(*batch));
      const size_t dim = static_cast<size_t>(batch->dimension);
      for (size_t row = 0; row < take; ++row) {
        normalize_l2(std::span<float>(batch->values).subspan(row * dim, dim));
      }
      result.values.insert(result.values.end(), batch->values.begin(), batch->values.end());
      result.dimension = batch->dimension;
      pos += take;
    }
    return result;
  }
};

RemoteEmbedder::RemoteEmbedder(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
RemoteEmbedder::~RemoteEmbedder() = default;

const EmbedderInfo& RemoteEmbedder::info() const { return *impl_->info.load(std::memory_order_acquire); }

const std::string& RemoteEmbedder::endpoint_url() const { return impl_->url; }

Result<Embeddings> RemoteEmbedder::embed(std::span<const std::string> texts, InputKind kind) {
  try {
    return impl_->embed(texts, kind);
  } catch (const std::exception& e) {
    return error(ErrorCode::kInternal, "embedding with the server at " + impl_->url + " failed: " + e.what());
  }
}

Status RemoteEmbedder::probe() {
  const std::string ping = "ping";
  auto out = embed(std::span<const std::string>(&ping, 1), InputKind::kQuery);
  return out ? Status::ok() : out.status();
}

Result<std::unique_ptr<RemoteEmbedder>> make_remote_embedder(const RemoteEmbedderConfig& config) {
  KR_RETURN_IF_ERROR(config.validate());
  auto endpoint = parse_endpoint(config.url, config.protocol);
  if (!endpoint) return endpoint.status();
  auto impl = std::make_unique<RemoteEmbedder::Impl>(config, std::move(endpoint).value());
  return std::unique_ptr<RemoteEmbedder>(new RemoteEmbedder(std::move(impl)));
}

}  // namespace kr::embed
