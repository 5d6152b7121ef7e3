// Client for OpenAI-compatible chat-completion servers (KAITO vLLM workspaces,
// vLLM, llama.cpp server, Ollama, Azure OpenAI-style gateways).
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace kr::generate {

struct LlmConfig {
  std::string base_url;       // e.g. http://workspace-phi-3-mini-4k/v1 ("/v1" optional); empty = no model
  std::string model;          // empty: use the first id from GET /v1/models
  std::string api_key;        // sent as "Authorization: Bearer <key>" when set
  double timeout_seconds = 120.0;
  int max_retries = 2;        // for connect failures, 429 and 5xx before any token was streamed
  double retry_backoff_seconds = 0.5;  // doubled after each retry
  int context_window = 0;     // overrides max_model_len when > 0
};

struct ChatMessage {
  std::string role;     // system | user | assistant
  std::string content;
};

struct ChatRequest {
  std::vector<ChatMessage> messages;
  // Completion style (base models): when set, this text goes to /v1/completions instead of
  // `messages` to /v1/chat/completions.
  std::string prompt;
  std::vector<std::string> stop;  // stop sequences (the server's default when empty)
  int max_tokens = 512;
  double temperature = 0.1;
};

struct ModelInfo {
  std::string id;
  int max_model_len = 0;  // 0 when the server does not say
  std::string root;       // vLLM: the model the id serves (e.g. the Hugging Face repository)
  // llama.cpp server's /props: whether the model carries a chat template; unknown elsewhere.
  std::optional<bool> has_chat_template;
};

struct Completion {
  std::string text;
  std::string finish_reason;
  int prompt_tokens = 0;      // from usage, 0 when absent
  int completion_tokens = 0;
};

// Called for each streamed piece of text; return false to cancel the request.
using TokenSink = std::function<bool(const std::string& delta)>;

// A chat request forwarded unchanged to the model server (OpenAI passthrough) and its answer.
struct RawResponse {
  int status = 0;            // the model server's HTTP status
  std::string content_type;
  std::string body;          // the whole body; for a streamed 200 the bytes went to the sink instead
};
// Receives the bytes of a streamed 200 answer as they arrive; return false to cancel.
using ByteSink = std::function<bool(std::string_view bytes)>;

// Thread-safety: all methods may be called concurrently.
class LlmClient {
 public:
  virtual ~LlmClient() = default;
  // GET {base}/v1/models: the served id and max_model_len. Cached after the first success.
  virtual Result<ModelInfo> model_info() = 0;
  // POST {server root}/tokenize in chat form; kUnsupported when the server has no such route.
  virtual Result<int> count_prompt_tokens(const std::vector<ChatMessage>& messages) = 0;
  // Tokens of a plain completion prompt: POST {root}/tokenize {"prompt"} (vLLM, llama.cpp), else
  // llama-cpp-python's /extras/tokenize/count; kUnsupported when the server has neither.
  virtual Result<int> count_text_tokens(const std::string& text) {
    (void)text;
    return error(ErrorCode::kUnsupported, "this language model client cannot count tokens");
  }
  virtual Result<Completion> complete(const ChatRequest& request) = 0;
  // Streams with "stream": true over SSE. kCancelled when the sink returned false.
  virtual Result<Completion> stream(const ChatRequest& request, const TokenSink& sink) = 0;
  // POST {base}/v1/chat/completions with `json_body` as is. Any HTTP answer is a RawResponse
  // (errors included, retried like complete() for 429/5xx); transport failures are errors as
  // above. With `sink`, a 200 answer's bytes are passed on as they arrive (no retry once
  // bytes flowed; a connection lost mid-stream is kUnavailable); kCancelled when the sink
  // returned false. The default implementation answers kUnsupported.
  virtual Result<RawResponse> forward_chat(const std::string& json_body, const ByteSink& sink = {}) {
    (void)json_body;
    (void)sink;
    return error(ErrorCode::kUnsupported, "this language model client cannot forward requests");
  }
};

// Errors map to codes: connection refused/timeout -> kUnavailable/kDeadlineExceeded,
// 401/403 -> kUnauthenticated, 400 -> kInvalidArgument (context overflow included),
// 404 -> kNotFound (unknown model), 429/5xx after retries -> kUnavailable.
// An invalid base_url does not throw: every call then fails with kInvalidArgument
// (use parse_llm_url() to validate configuration at start-up).
std::unique_ptr<LlmClient> make_openai_client(const LlmConfig& config);

// Where an OpenAI-compatible server lives, split from a base URL such as
// "http://host:port", "http://host/v1" or "https://x.example.com/openai/deployments/d".
struct LlmEndpoint {
  std::string scheme;      // http | https
  std::string host;        // IPv6 literals without brackets
  int port = 0;            // explicit or the scheme's default
  std::string api_prefix;  // path ending in "/v1": "/v1", "/openai/deployments/d/v1"
  std::string root_prefix; // api_prefix without "/v1" ("" at the root); /tokenize lives here
  // "http://host:port" (brackets around IPv6), as httplib::Client expects it.
  std::string origin() const;
  // origin() + api_prefix, for messages.
  std::string api_url() const;
};

// kInvalidArgument for an empty URL, an unknown scheme, a bad port, a query or fragment.
Result<LlmEndpoint> parse_llm_url(std::string_view base_url);

// Incremental parser for text/event-stream: feed bytes, get complete events'
// data payloads (multiple data: lines joined with '\n'; one optional space after
// "data:" stripped; \n\n and \r\n\r\n separators).
class SseParser {
 public:
  std::vector<std::string> feed(std::string_view bytes);
 private:
  void take_line(std::string_view line, std::vector<std::string>& events);

  std::string buffer_;     // an incomplete line
  std::string data_;       // data lines of the event being read
  bool has_data_ = false;
  bool skip_lf_ = false;   // the last chunk ended in '\r'; a leading '\n' belongs to it
};

}  // namespace kr::generate
