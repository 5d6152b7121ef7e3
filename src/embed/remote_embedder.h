// Embedder backed by a remote embedding server, in one of two wire protocols:
//  - kOpenAI: POST {base}/v1/embeddings {"model", "input": [...]} -> {"data": [{"index", "embedding"}]}
//    (vLLM, KAITO workspaces, Ollama, llama.cpp server, OpenAI-style gateways, Kaito-RAG itself);
//  - kTei: POST <url> {"inputs": [...], "truncate": true} -> [[...], ...] (Hugging Face
//    text-embeddings-inference; KAITO RAGEngine's REMOTE_EMBEDDING_URL).
#pragma once

#include <memory>
#include <span>
#include <string>
#include <string_view>

#include "embed/embedder.h"

namespace kr::embed {

enum class RemoteProtocol { kOpenAI, kTei };

// "openai" | "tei" (case-insensitive); kInvalidArgument otherwise.
Result<RemoteProtocol> parse_remote_protocol(std::string_view name);
std::string_view remote_protocol_name(RemoteProtocol protocol);

struct RemoteEmbedderConfig {
  RemoteProtocol protocol = RemoteProtocol::kOpenAI;
  // kOpenAI: a base URL, "/v1" optional ("http://vllm:8000", "http://vllm:8000/v1"); a full
  //   ".../v1/embeddings" URL is used as is.
  // kTei: the endpoint as given ("http://tei:8080/embed"); with no path, "/embed".
  std::string url;
  std::string model;              // kOpenAI: sent as "model" when set; the info().model_id when set
  std::string api_key;            // sent as "Authorization: Bearer <key>" when set
  int batch_size = 64;            // texts per request (lowered automatically when TEI says its limit)
  double timeout_seconds = 60;    // per connect / read / write
  int max_retries = 3;            // for connect failures, 429 and 500/502/503/504
  double retry_backoff_seconds = 0.5;  // doubled after each retry; Retry-After wins when longer (<= 30 s)
  std::string query_prefix;       // prepended to InputKind::kQuery texts (e.g. "query: ")
  std::string passage_prefix;     // prepended to InputKind::kPassage texts (e.g. "passage: ")

  // kInvalidArgument naming the field: bad URL, batch_size < 1, non-positive timeout, ...
  Status validate() const;
};

// Thread-safety: embed() and probe() may be called concurrently; each request uses its own
// connection. info() may be read at any time: it returns one of two immutable snapshots, the
// one before and the one after the dimension was learned.
//
// Errors: server down -> kUnavailable; 401/403 -> kUnauthenticated; other 4xx -> kInvalidArgument
// with the server's message (404 -> kNotFound); 429/5xx after retries -> kUnavailable; a read
// that ran into the timeout -> kDeadlineExceeded (not retried); a malformed response (not JSON,
// wrong vector count, ragged or non-finite vectors) -> kUnavailable; vectors whose dimension
// differs from earlier answers (the model behind the URL changed) -> kFailedPrecondition.
class RemoteEmbedder final : public Embedder {
 public:
  ~RemoteEmbedder() override;

  // dimension is 0 until the first successful answer (call probe() at start-up); model_id is the
  // configured model, else the model the server reports (OpenAI protocol), else the URL.
  const EmbedderInfo& info() const override;
  // Texts that are empty after adding the prefix are sent as " " (servers reject ""), so every
  // text gets a vector. No texts: an empty result without a request.
  Result<Embeddings> embed(std::span<const std::string> texts, InputKind kind) override;
  // Embeds "ping" to check the server and learn the dimension.
  Status probe();
  // Where the requests go, e.g. "http://vllm:8000/v1/embeddings".
  const std::string& endpoint_url() const;

  struct Impl;

 private:
  friend Result<std::unique_ptr<RemoteEmbedder>> make_remote_embedder(const RemoteEmbedderConfig& config);
  explicit RemoteEmbedder(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// Validates the configuration; does not contact the server.
Result<std::unique_ptr<RemoteEmbedder>> make_remote_embedder(const RemoteEmbedderConfig& config);

}  // namespace kr::embed
