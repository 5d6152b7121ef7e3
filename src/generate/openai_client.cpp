// LlmClient over the OpenAI-compatible HTTP API (KAITO vLLM workspaces and friends).
// The HTTP exchange (timeouts, retries, error bodies) is upstream::HttpExchange, shared with
// the remote embedder.
#include <httplib.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <exception>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "core/text.h"
#include "generate/llm_client.h"
#include "upstream/http_exchange.h"

namespace kr::generate {

namespace {

using nlohmann::json;
using Clock = std::chrono::steady_clock;
using upstream::error_message;
using upstream::error_object;
using upstream::HttpOutcome;
using upstream::json_string;
using upstream::retryable_status;
using upstream::snippet;
using upstream::upstream_message;

constexpr size_t kMaxErrorBody = 64 * 1024;         // enough for any error JSON
constexpr size_t kMaxPlainBody = 16 * 1024 * 1024;  // a non-streamed answer

std::string dump(const json& j) { return upstream::dump_json(j); }

int json_int(const json& j, const char* key) {
  if (!j.is_object()) return 0;
  const auto it = j.find(key);
  if (it == j.end() || !it->is_number()) return 0;
  const double v = it->get<double>();
  return std::isfinite(v) ? static_cast<int>(std::clamp(v, 0.0, 2147483647.0)) : 0;
}

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

json messages_json(const std::vector<ChatMessage>& messages) {
  json out = json::array();
  for (const ChatMessage& m : messages) out.push_back({{"role", m.role}, {"content", m.content}});
  return out;
}

// An error event inside a stream: 4xx-like (bad request, context overflow) is the
// caller's fault; anything else is the server failing.
Status stream_error_status(const json& err) {
  const std::string message = snippet(error_message(err), 1000);
  const std::string type = lower(json_string(err, "type"));
  int code = 0;
  std::string code_text;
  if (err.is_object()) {
    if (const auto it = err.find("code"); it != err.end()) {
      if (it->is_number()) code = json_int(err, "code");
      if (it->is_string()) code_text = lower(it->get<std::string>());
    }
  }
  const bool invalid = (code >= 400 && code < 500 && code != 429) || type.find("badrequest") != std::string::npos ||
                       type.find("invalid_request") != std::string::npos ||
                       code_text.find("invalid_request") != std::string::npos ||
                       code_text.find("context_length") != std::string::npos;
  if (invalid) return error(ErrorCode::kInvalidArgument, "the language model rejected the request: " + message);
  return error(ErrorCode::kUnavailable, "the language model failed while answering: " + message);
}

// Choice 0 of a non-streamed chat completion.
Result<Completion> parse_completion(const std::string& body) {
  const json j = json::parse(body, nullptr, false);
  if (j.is_discarded() || !j.is_object()) {
    return error(ErrorCode::kUnavailable, "the language model returned a response that is not JSON: " + snippet(body));
  }
  if (const json* err = error_object(j)) return stream_error_status(*err);
  const auto choices = j.find("choices");
  if (choices == j.end() || !choices->is_array() || choices->empty()) {
    return error(ErrorCode::kUnavailable, "the language model returned no choices: " + snippet(body));
  }
  const json& choice = choices->front();
  Completion out;
  if (const auto msg = choice.find("message"); msg != choice.end()) out.text = json_string(*msg, "content");
  if (out.text.empty()) out.text = json_string(choice, "text");  // servers that answer in completion shape
  out.finish_reason = json_string(choice, "finish_reason");
  if (const auto usage = j.find("usage"); usage != j.end()) {
    out.prompt_tokens = json_int(*usage, "prompt_tokens");
    out.completion_tokens = json_int(*usage, "completion_tokens");
  }
  return out;
}

// Everything the stream's content receiver learns during one attempt.
struct StreamAttempt {
  int status = 0;
  bool event_stream = true;
  std::string raw;  // error body, or the whole body when the server did not stream
  SseParser parser;
  Completion completion;
  bool delivered = false;  // a token reached the sink: no more retries
  bool cancelled = false;
  bool done = false;
  bool finished = false;  // a finish_reason arrived
  std::optional<Status> failure;
  Clock::time_point last_activity = Clock::now();  // the read timeout is per read, not per call
};

class OpenAiClient final : public LlmClient {
 public:
  explicit OpenAiClient(LlmConfig config) : config_(std::move(config)) {
    auto parsed = parse_llm_url(config_.base_url);
    if (parsed) {
      endpoint_ = std::move(parsed).value();
      upstream::HttpUrl server{endpoint_.scheme, endpoint_.host, endpoint_.port, endpoint_.api_prefix};
      http_ = upstream::HttpExchange(std::move(server), config_.api_key,
                                     {config_.timeout_seconds, config_.max_retries, config_.retry_backoff_seconds});
    } else {
      invalid_ = parsed.status();
    }
  }

  Result<ModelInfo> model_info() override {
    try {
      return model_info_impl();
    } catch (const std::exception& e) {
      return error(ErrorCode::kInternal, std::string("reading the model list failed: ") + e.what());
    }
  }

  Result<int> count_prompt_tokens(const std::vector<ChatMessage>& messages) override {
    try {
      return count_impl(messages);
    } catch (const std::exception& e) {
      return error(ErrorCode::kInternal, std::string("counting prompt tokens failed: ") + e.what());
    }
  }

  Result<int> count_text_tokens(const std::string& text) override {
    try {
      return count_text_impl(text);
    } catch (const std::exception& e) {
      return error(ErrorCode::kInternal, std::string("counting prompt tokens failed: ") + e.what());
    }
  }

  Result<Completion> complete(const ChatRequest& request) override {
    try {
      return complete_impl(request);
    } catch (const std::exception& e) {
      return error(ErrorCode::kInternal, std::string("the chat completion failed: ") + e.what());
    }
  }

  Result<Completion> stream(const ChatRequest& request, const TokenSink& sink) override {
    try {
      return stream_impl(request, sink);
    } catch (const std::exception& e) {
      return error(ErrorCode::kInternal, std::string("the streamed chat completion failed: ") + e.what());
    }
  }

  Result<RawResponse> forward_chat(const std::string& json_body, const ByteSink& sink) override {
    try {
      return sink ? forward_stream_impl(json_body, sink) : forward_impl(json_body);
    } catch (const std::exception& e) {
      return error(ErrorCode::kInternal, std::string("forwarding the chat completion failed: ") + e.what());
    }
  }

 private:
  std::string url() const { return endpoint_.api_url(); }

  std::unique_ptr<httplib::Client> new_client() const { return http_.new_client(); }
  bool timed_out(const HttpOutcome& out) const { return http_.timed_out(out); }
  bool retryable(const HttpOutcome& out) const { return http_.retryable(out); }
  void backoff(int attempt, const std::string& retry_after) const { http_.backoff(attempt, retry_after); }
  HttpOutcome send(const std::string& path, const std::string* body) const {
    return http_.send(path, body, "the language model request");
  }

  Status transport_status(const HttpOutcome& out) const {
    const std::string seconds = std::to_string(static_cast<int>(std::ceil(config_.timeout_seconds)));
    switch (out.transport) {
      case httplib::Error::Connection:
        return error(ErrorCode::kUnavailable, "cannot reach the language model at " + url() +
                                                  ": connection refused or host unreachable — is the model server "
                                                  "running? (set --llm-url)");
      case httplib::Error::ConnectionTimeout:
        return error(ErrorCode::kDeadlineExceeded, "cannot reach the language model at " + url() +
                                                       ": connecting timed out after " + seconds +
                                                       " s — is the host reachable? (set --llm-url)");
      case httplib::Error::Read:
        if (timed_out(out)) {
          return error(ErrorCode::kDeadlineExceeded, "the language model at " + url() + " did not answer within " +
                                                         seconds + " s; raise the LLM timeout or ask for fewer tokens");
        }
        return error(ErrorCode::kUnavailable,
                     "the language model at " + url() + " closed the connection without answering");
      case httplib::Error::Write:
        return error(ErrorCode::kUnavailable,
                     "the connection to the language model at " + url() + " broke while sending the request");
      case httplib::Error::SSLConnection:
      case httplib::Error::SSLLoadingCerts:
      case httplib::Error::SSLServerVerification:
        return error(ErrorCode::kUnavailable, "TLS connection to the language model at " + url() + " failed (" +
                                                  httplib::to_string(out.transport) +
                                                  ") — check the certificate and whether the URL should be http");
      default:
        return error(ErrorCode::kUnavailable,
                     "request to the language model at " + url() + " failed: " + httplib::to_string(out.transport));
    }
  }

  // Maps a non-2xx answer; 404 is left to callers that know what was not found.
  Status http_status(const HttpOutcome& out) const {
    const std::string code = std::to_string(out.status);
    const std::string message = upstream_message(out.body);
    const std::string tries = out.attempts > 1 ? " after " + std::to_string(out.attempts) + " attempts" : "";
    if (out.status == 401 || out.status == 403) {
      return error(ErrorCode::kUnauthenticated, "the language model at " + url() + " refused our credentials (" +
                                                    code + "): " + message + " — check the API key");
    }
    if (out.status == 404 && trim(out.body).empty()) {
      // KAITO answers 404 with an empty body on every path while it downloads the model.
      return error(ErrorCode::kUnavailable, "the language model at " + url() +
                                                " is not ready yet (404 with an empty body; still downloading the model?)");
    }
    if (out.status == 429) {
      return error(ErrorCode::kUnavailable,
                   "the language model is overloaded (429" + tries + "): " + message + " — try again shortly");
    }
    if (out.status >= 500) {
      return error(ErrorCode::kUnavailable, "the language model failed (" + code + tries + "): " + message);
    }
    if (out.status == 404) {
      return error(ErrorCode::kNotFound, "the server at " + endpoint_.origin() + " has no such endpoint (404): " +
                                             message + " — is --llm-url an OpenAI-compatible server?");
    }
    if (out.status >= 400) {
      return error(ErrorCode::kInvalidArgument, "the language model rejected the request (" + code + "): " + message);
    }
    return error(ErrorCode::kUnavailable, "unexpected answer from the language model at " + url() + " (HTTP " + code +
                                              "): " + message);
  }

  Status failure(const HttpOutcome& out) const {
    return out.transport != httplib::Error::Success ? transport_status(out) : http_status(out);
  }

  Result<std::vector<ModelInfo>> list_models() const {
    const HttpOutcome out = send(endpoint_.api_prefix + "/models", nullptr);
    if (out.transport != httplib::Error::Success || out.status != 200) return failure(out);
    const json j = json::parse(out.body, nullptr, false);
    const auto data = j.is_object() ? j.find("data") : j.end();
    if (j.is_discarded() || data == j.end() || !data->is_array()) {
      return error(ErrorCode::kUnavailable,
                   "the model list from " + url() + "/models is not in OpenAI format: " + snippet(out.body));
    }
    std::vector<ModelInfo> models;
    for (const json& entry : *data) {
      ModelInfo info;
      info.id = json_string(entry, "id");
      info.max_model_len = json_int(entry, "max_model_len");
      info.root = json_string(entry, "root");
      if (!info.id.empty()) models.push_back(std::move(info));
    }
    return models;
  }

  Result<ModelInfo> model_info_impl() {
    if (!invalid_.is_ok()) return invalid_;
    {
      std::lock_guard lock(mutex_);
      if (model_info_) return *model_info_;
    }
    auto models = list_models();
    if (!models) return models.status();
    ModelInfo info;
    if (config_.model.empty()) {
      if (models->empty()) {
        return error(ErrorCode::kUnavailable, "the language model server at " + url() + " lists no models");
      }
      info = models->front();
    } else {
      info.id = config_.model;
      const auto it = std::find_if(models->begin(), models->end(),
                                   [&](const ModelInfo& m) { return m.id == config_.model; });
      if (it != models->end()) {
        info.max_model_len = it->max_model_len;
        info.root = it->root;
      } else if (!models->empty()) {
        info.max_model_len = models->front().max_model_len;
      }
    }
    if (config_.context_window > 0) info.max_model_len = config_.context_window;
    info.has_chat_template = probe_chat_template();
    std::lock_guard lock(mutex_);
    model_info_ = info;
    return info;
  }

  // The model to name in a request: configured, else the first served one. Servers
  // without /v1/models (some gateways) get no "model" field.
  Result<std::string> request_model() {
    if (!config_.model.empty()) return config_.model;
    auto info = model_info_impl();
    if (info) return info->id;
    if (info.status().code() == ErrorCode::kNotFound) return std::string();
    return info.status();
  }

  // llama.cpp's server says in GET /props which chat template it applies; a model without one
  // is a base model. Other servers have no such route: unknown.
  std::optional<bool> probe_chat_template() const {
    const HttpOutcome out = send(endpoint_.root_prefix + "/props", nullptr);
    if (out.transport != httplib::Error::Success || out.status != 200) return std::nullopt;
    const json j = json::parse(out.body, nullptr, false);
    if (j.is_discarded() || !j.is_object()) return std::nullopt;
    const auto it = j.find("chat_template");
    if (it == j.end() || !(it->is_string() || it->is_null())) return std::nullopt;
    return it->is_string() && !trim(it->get<std::string>()).empty();
  }

  // Chat requests go to /chat/completions; completion-style ones (a prompt text) to /completions.
  std::string request_path(const ChatRequest& request) const {
    return endpoint_.api_prefix + (request.prompt.empty() ? "/chat/completions" : "/completions");
  }

  json chat_body(const ChatRequest& request, const std::string& model, bool streaming) const {
    json body = {{"max_tokens", request.max_tokens}, {"temperature", request.temperature}, {"stream", streaming}};
    if (request.prompt.empty()) {
      body["messages"] = messages_json(request.messages);
    } else {
      body["prompt"] = request.prompt;
    }
    if (!request.stop.empty()) body["stop"] = request.stop;
    if (!model.empty()) body["model"] = model;
    if (streaming) body["stream_options"] = {{"include_usage", true}};
    return body;
  }

  // A chat 404 is usually an unknown model; say which ones exist.
  Status chat_failure(const HttpOutcome& out, const std::string& model) const {
    if (out.transport != httplib::Error::Success || out.status != 404 || trim(out.body).empty()) return failure(out);
    const std::string message = upstream_message(out.body);
    if (lower(message).find("model") == std::string::npos) return failure(out);
    auto models = list_models();
    if (!models) {
      return error(ErrorCode::kNotFound, "model '" + model + "' not found on the server: " + message);
    }
    std::string available;
    for (const ModelInfo& m : *models) available += (available.empty() ? "" : ", ") + m.id;
    return error(ErrorCode::kNotFound, "model '" + model + "' not found on the server; available: " +
                                           (available.empty() ? std::string("(none)") : available));
  }

  Result<int> count_impl(const std::vector<ChatMessage>& messages) {
    if (!invalid_.is_ok()) return invalid_;
    if (tokenize_unsupported_.load()) {
      return error(ErrorCode::kUnsupported, "the language model server has no chat-form /tokenize");
    }
    auto model = request_model();
    if (!model) return model.status();
    json body = {{"messages", messages_json(messages)}, {"add_generation_prompt", true}, {"add_special_tokens", false}};
    if (!model->empty()) body["model"] = *model;
    const std::string text = dump(body);
    const HttpOutcome out = send(endpoint_.root_prefix + "/tokenize", &text);
    if (out.transport == httplib::Error::Success &&
        ((out.status == 404 && !trim(out.body).empty()) || out.status == 405 || out.status == 422)) {
      tokenize_unsupported_.store(true);  // no route, or an older vLLM without the chat form
      return error(ErrorCode::kUnsupported, "the language model server has no chat-form /tokenize (" +
                                                std::to_string(out.status) + ")");
    }
    if (out.transport != httplib::Error::Success || out.status != 200) return failure(out);
    const json j = json::parse(out.body, nullptr, false);
    const auto count = j.is_object() ? j.find("count") : j.end();
    if (j.is_discarded() || count == j.end() || !count->is_number_integer()) {
      return error(ErrorCode::kUnavailable, "unexpected /tokenize response: " + snippet(out.body));
    }
    return count->get<int>();
  }

  // vLLM and llama.cpp count a prompt at /tokenize (vLLM: "prompt" → count; llama.cpp:
  // "content" → tokens); llama-cpp-python at /extras/tokenize/count ("input" → count).
  Result<int> count_text_impl(const std::string& prompt) {
    if (!invalid_.is_ok()) return invalid_;
    auto model = request_model();
    if (!model) return model.status();
    const struct {
      std::string path;
      const char* field;
    } routes[] = {{endpoint_.root_prefix + "/tokenize", "prompt"},
                  {endpoint_.root_prefix + "/extras/tokenize/count", "input"}};
    const int known = text_tokenize_route_.load();
    for (int r = known >= 0 ? known : 0; r < 2; ++r) {
      json body = {{routes[r].field, prompt}, {"add_special_tokens", true}};
      if (r == 0) body["content"] = prompt;
      if (!model->empty()) body["model"] = *model;
      const std::string text = dump(body);
      const HttpOutcome out = send(routes[r].path, &text);
      if (out.transport != httplib::Error::Success || out.status >= 500) return failure(out);
      const json j = out.status == 200 ? json::parse(out.body, nullptr, false) : json();
      if (j.is_object()) {
        const auto count = j.find("count");
        const auto tokens = j.find("tokens");
        if (count != j.end() && count->is_number_integer()) {
          text_tokenize_route_.store(r);
          return count->get<int>();
        }
        if (tokens != j.end() && tokens->is_array()) {
          text_tokenize_route_.store(r);
          return static_cast<int>(tokens->size());
        }
      }
      if (known >= 0) break;  // the route that worked before no longer does
    }
    text_tokenize_route_.store(2);  // neither: estimate from now on
    return error(ErrorCode::kUnsupported, "the language model server has no /tokenize for plain prompts");
  }

  Result<Completion> complete_impl(const ChatRequest& request) {
    if (!invalid_.is_ok()) return invalid_;
    auto model = request_model();
    if (!model) return model.status();
    const std::string text = dump(chat_body(request, *model, false));
    const HttpOutcome out = send(request_path(request), &text);
    if (out.transport != httplib::Error::Success || out.status != 200) return chat_failure(out, *model);
    return parse_completion(out.body);
  }

  // Handles one SSE payload; false stops reading the response.
  static bool on_event(const std::string& payload, StreamAttempt& st, const TokenSink& sink) {
    const std::string_view data = trim(payload);
    if (data.empty()) return true;
    if (data == "[DONE]") {
      st.done = true;
      return false;
    }
    const json j = json::parse(data, nullptr, false);
    if (j.is_discarded() || !j.is_object()) {
      st.failure = error(ErrorCode::kUnavailable, "the language model sent a malformed stream event: " + snippet(data));
      return false;
    }
    if (const json* err = error_object(j)) {
      st.failure = stream_error_status(*err);
      return false;
    }
    if (const auto usage = j.find("usage"); usage != j.end() && usage->is_object()) {
      st.completion.prompt_tokens = json_int(*usage, "prompt_tokens");
      st.completion.completion_tokens = json_int(*usage, "completion_tokens");
    }
    const auto choices = j.find("choices");
    if (choices == j.end() || !choices->is_array() || choices->empty()) return true;
    const json& choice = choices->front();
    const std::string reason = json_string(choice, "finish_reason");
    if (!reason.empty()) {
      st.completion.finish_reason = reason;
      st.finished = true;
    }
    // Chat chunks carry delta.content; completion chunks carry text.
    const auto delta = choice.find("delta");
    const std::string piece = delta != choice.end() ? json_string(*delta, "content") : json_string(choice, "text");
    if (piece.empty()) return true;
    st.completion.text += piece;
    st.delivered = true;
    if (!sink(piece)) {
      st.cancelled = true;
      return false;
    }
    return true;
  }

  Result<Completion> stream_impl(const ChatRequest& request, const TokenSink& sink) {
    if (!invalid_.is_ok()) return invalid_;
    auto model = request_model();
    if (!model) return model.status();
    const std::string text = dump(chat_body(request, *model, true));

    for (int attempt = 0;; ++attempt) {
      StreamAttempt st;
      httplib::Request req;
      req.method = "POST";
      req.path = request_path(request);
      req.body = text;
      req.set_header("Content-Type", "application/json");
      req.set_header("Accept", "text/event-stream");
      req.response_handler = [&st](const httplib::Response& res) {
        st.status = res.status;
        st.event_stream = res.get_header_value("Content-Type").find("text/event-stream") != std::string::npos;
        return true;
      };
      req.content_receiver = [&st, &sink](const char* data, size_t size, uint64_t, uint64_t) {
        st.last_activity = Clock::now();
        if (st.status != 200 || !st.event_stream) {
          const size_t cap = st.status == 200 ? kMaxPlainBody : kMaxErrorBody;
          st.raw.append(data, std::min(size, cap - std::min(cap, st.raw.size())));
          return st.raw.size() < cap || st.status != 200;
        }
        for (const std::string& payload : st.parser.feed(std::string_view(data, size))) {
          if (!on_event(payload, st, sink)) return false;
        }
        return true;
      };

      auto cli = new_client();
      httplib::Response res;
      httplib::Error transport = httplib::Error::Success;
      st.last_activity = Clock::now();
      cli->send(req, res, transport);

      if (transport == httplib::Error::Success && st.status == 200 && st.event_stream && !st.done && !st.cancelled &&
          !st.failure) {
        // A last event without its blank line still counts.
        for (const std::string& payload : st.parser.feed("\n\n")) {
          if (!on_event(payload, st, sink)) break;
        }
      }
      if (st.cancelled) return error(ErrorCode::kCancelled, "the answer stream was cancelled");
      if (st.failure) return *st.failure;
      if (st.done) return st.completion;

      HttpOutcome out;
      out.attempts = attempt + 1;
      out.elapsed_seconds = std::chrono::duration<double>(Clock::now() - st.last_activity).count();
      out.transport = transport;
      out.status = st.status;
      out.body = st.raw;
      out.retry_after = res.get_header_value("Retry-After");
      if (transport == httplib::Error::Success && st.status == 200) {
        if (!st.event_stream) {
          // The server ignored "stream": deliver its whole answer as one piece.
          auto whole = parse_completion(st.raw);
          if (whole && !whole->text.empty() && !sink(whole->text)) {
            return error(ErrorCode::kCancelled, "the answer stream was cancelled");
          }
          return whole;
        }
        if (st.finished) return st.completion;
        return error(ErrorCode::kUnavailable, "the language model's stream ended before the answer was finished");
      }
      if (st.delivered) {
        // Tokens already reached the caller: a retry would repeat them.
        if (timed_out(out)) {
          return error(ErrorCode::kDeadlineExceeded, "the language model stopped sending tokens for " +
                                                         std::to_string(static_cast<int>(config_.timeout_seconds)) +
                                                         " s in the middle of the answer");
        }
        return error(ErrorCode::kUnavailable, "the language model's stream broke off after " +
                                                  std::to_string(st.completion.text.size()) +
                                                  " bytes: " + httplib::to_string(transport));
      }
      if (attempt >= config_.max_retries || !retryable(out)) return chat_failure(out, *model);
      backoff(attempt, out.retry_after);
    }
  }

  // KAITO answers 404 with an empty body while it downloads the model: not an answer to forward.
  static bool not_ready(int status, const std::string& body) { return status == 404 && trim(body).empty(); }

  Result<RawResponse> forward_impl(const std::string& json_body) {
    if (!invalid_.is_ok()) return invalid_;
    const HttpOutcome out = send(endpoint_.api_prefix + "/chat/completions", &json_body);
    if (out.transport != httplib::Error::Success || not_ready(out.status, out.body)) return failure(out);
    return RawResponse{out.status, "application/json", out.body};
  }

  Result<RawResponse> forward_stream_impl(const std::string& json_body, const ByteSink& sink) {
    if (!invalid_.is_ok()) return invalid_;
    for (int attempt = 0;; ++attempt) {
      RawResponse raw;
      bool delivered = false, cancelled = false;
      httplib::Request req;
      req.method = "POST";
      req.path = endpoint_.api_prefix + "/chat/completions";
      req.body = json_body;
      req.set_header("Content-Type", "application/json");
      req.set_header("Accept", "text/event-stream");
      req.response_handler = [&raw](const httplib::Response& res) {
        raw.status = res.status;
        raw.content_type = res.get_header_value("Content-Type");
        return true;
      };
      req.content_receiver = [&](const char* data, size_t size, uint64_t, uint64_t) {
        if (raw.status != 200) {
          raw.body.append(data, std::min(size, kMaxErrorBody - std::min(kMaxErrorBody, raw.body.size())));
          return true;
        }
        delivered = true;
        if (!sink(std::string_view(data, size))) {
          cancelled = true;
          return false;
        }
        return true;
      };
      auto cli = new_client();
      httplib::Response res;
      httplib::Error transport = httplib::Error::Success;
      const auto start = Clock::now();
      cli->send(req, res, transport);
      if (cancelled) return error(ErrorCode::kCancelled, "the answer stream was cancelled");
      HttpOutcome out;
      out.attempts = attempt + 1;
      out.elapsed_seconds = std::chrono::duration<double>(Clock::now() - start).count();
      out.transport = transport;
      out.status = raw.status;
      out.body = raw.body;
      out.retry_after = res.get_header_value("Retry-After");
      if (delivered) {
        if (transport == httplib::Error::Success) return raw;
        return error(ErrorCode::kUnavailable, "the language model's stream broke off: " + httplib::to_string(transport));
      }
      if (attempt < config_.max_retries && retryable(out)) {
        backoff(attempt, out.retry_after);
        continue;
      }
      if (transport != httplib::Error::Success || not_ready(out.status, out.body)) return failure(out);
      return raw;
    }
  }

  const LlmConfig config_;
  LlmEndpoint endpoint_;
  upstream::HttpExchange http_;
  Status invalid_;  // non-ok when base_url did not parse

  std::mutex mutex_;  // guards model_info_
  std::optional<ModelInfo> model_info_;
  std::atomic<bool> tokenize_unsupported_{false};
  std::atomic<int> text_tokenize_route_{-1};  // count_text_impl: -1 unknown, 0 /tokenize, 1 extras, 2 none
};

}  // namespace

std::unique_ptr<LlmClient> make_openai_client(const LlmConfig& config) {
  return std::make_unique<OpenAiClient>(config);
}

}  // namespace kr::generate
