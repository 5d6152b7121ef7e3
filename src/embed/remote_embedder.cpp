// RemoteEmbedder: batching, retries and response validation for remote embedding servers.
// The HTTP exchange itself (timeouts, retries, error bodies) is upstream::HttpExchange, shared
// with the language-model client.
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
#include "upstream/http_exchange.h"
#include "upstream/http_url.h"

namespace kr::embed {

namespace {

using nlohmann::json;
using upstream::attempts_suffix;
using upstream::HttpOutcome;
using upstream::json_string;
using upstream::snippet;
using upstream::upstream_message;

constexpr int kMaxBatchSize = 2048;  // OpenAI's limit on inputs per request
constexpr int kMaxRetries = 10;

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

// The model URL's rules (upstream::parse_http_url); the path rule depends on the protocol.
Result<upstream::HttpUrl> parse_endpoint(std::string_view url, RemoteProtocol protocol) {
  const char* hint = protocol == RemoteProtocol::kOpenAI ? "expected e.g. http://host:port/v1"
                                                         : "expected e.g. http://host:port/embed";
  auto ep = upstream::parse_http_url(url, "embedding server", hint);
  if (!ep) return ep.status();
  const std::string path = ep->path;
  if (protocol == RemoteProtocol::kTei) {
    ep->path = path.empty() ? "/embed" : path;
  } else if (upstream::ends_with(path, "/v1/embeddings")) {
    ep->path = path;
  } else if (upstream::ends_with(path, "/v1")) {
    ep->path = path + "/embeddings";
  } else {
    ep->path = path + "/v1/embeddings";
  }
  return ep;
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
      if (!x.is_number()) return bad("returned a non-numeric value in vector " + std::to_string(row) + ": " + upstream::dump_json(x));
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
                      snippet(upstream::dump_json(j)));
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
        return reader.bad("returned an invalid index " + upstream::dump_json(*it) + " for " + std::to_string(expected) + " texts");
      }
      index = static_cast<size_t>(i);
    }
    if (rows[index] != nullptr) return reader.bad("returned index " + std::to_string(index) + " twice");
    rows[index] = &item;
  }
  for (size_t i = 0; i < expected; ++i) {
    const auto emb = rows[i]->is_object() ? rows[i]->find("embedding") : rows[i]->end();
    if (emb == rows[i]->end()) return reader.bad("returned an item without \"embedding\": " + snippet(upstream::dump_json(*rows[i])));
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
                        snippet(upstream::dump_json(j)));
    }
    vectors = &*it;
  }
  if (!vectors->is_array()) {
    return reader.bad("returned " + snippet(upstream::dump_json(*vectors)) + " instead of an array of vectors");
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
  Impl(RemoteEmbedderConfig c, upstream::HttpUrl ep)
      : config(std::move(c)), endpoint(std::move(ep)), url(endpoint.origin() + endpoint.path),
        http(endpoint, config.api_key, {config.timeout_seconds, config.max_retries, config.retry_backoff_seconds}),
        batch_limit(config.batch_size) {
    initial_info.model_id = config.model.empty() ? url : config.model;
    learned_info = initial_info;
    info.store(&initial_info);
  }

  const RemoteEmbedderConfig config;
  const upstream::HttpUrl endpoint;
  const std::string url;
  const upstream::HttpExchange http;
  std::atomic<int> batch_limit;  // config.batch_size, or lower once the server said its limit

  // info points at initial_info until the first answer, then at learned_info; neither changes
  // after it is published, so info() readers never race with the writer.
  EmbedderInfo initial_info;
  EmbedderInfo learned_info;
  std::atomic<const EmbedderInfo*> info{nullptr};
  std::atomic<int> dimension{0};
  std::mutex learn_mutex;  // serializes the one-time write of learned_info

  HttpOutcome send(const std::string& body) const { return http.send(endpoint.path, &body, "the embedding request"); }

  Status transport_status(const HttpOutcome& out, size_t texts) const {
    const std::string seconds = std::to_string(static_cast<int>(std::ceil(config.timeout_seconds)));
    const std::string unreachable = "the embedding server at " + url + " is unreachable" + attempts_suffix(out) + ": ";
    switch (out.transport) {
      case httplib::Error::Connection:
        return error(ErrorCode::kUnavailable, unreachable +
                                                  "connection refused or host unknown — is the embedding server "
                                                  "running, and is the URL right?");
      case httplib::Error::ConnectionTimeout:
        return error(ErrorCode::kUnavailable,
                     unreachable + "connecting timed out after " + seconds + " s — is the host reachable?");
      case httplib::Error::Read:
        if (http.timed_out(out)) {
          return error(ErrorCode::kDeadlineExceeded,
                       "the embedding server at " + url + " did not answer within " + seconds + " s (a batch of " +
                           std::to_string(texts) + " texts); raise the embedding timeout or lower the batch size");
        }
        return error(ErrorCode::kUnavailable, "the embedding server at " + url +
                                                  " closed the connection without answering" + attempts_suffix(out));
      case httplib::Error::Write:
        return error(ErrorCode::kUnavailable, "the connection to the embedding server at " + url +
                                                  " broke while sending the request" + attempts_suffix(out));
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
      return error(ErrorCode::kUnavailable, "the embedding server at " + url + " is overloaded (429" + attempts_suffix(out) +
                                                "): " + message + " — try again shortly");
    }
    if (out.status == 424 || out.status >= 500) {  // TEI: 424 is a model backend failure
      return error(ErrorCode::kUnavailable,
                   "the embedding server at " + url + " failed (" + code + attempts_suffix(out) + "): " + message);
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
    const HttpOutcome out = send(upstream::dump_json(request_body(inputs)));
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
