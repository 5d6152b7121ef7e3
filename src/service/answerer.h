// Answering: retrieve, then answer with the configured model or extractively. Owns the model
// client; the engine supplies retrieval and collection lookups through AnswererHooks.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "core/config.h"
#include "embed/embedder.h"
#include "generate/evidence.h"
#include "generate/llm_client.h"
#include "service/types.h"

namespace kr::service {

struct EngineCounters;

// Called with each streamed piece of the answer; return false to stop (client gone).
using AnswerSink = std::function<bool(const std::string& delta)>;

// What answering needs from the engine.
struct AnswererHooks {
  std::function<Result<SearchResponse>(const std::string& collection, const SearchRequest& request)> search;
  // The collection's settings; kNotFound when it does not exist.
  std::function<Result<CollectionSettings>(const std::string& collection)> settings;
  // The configured embedding model, or null (then evidence is lexical only).
  std::function<embed::Embedder*()> embedder;
};

// Thread-safety: all public methods may be called concurrently.
class Answerer {
 public:
  Answerer(const Config& config, AnswererHooks hooks, EngineCounters& counters);
  ~Answerer();

  bool has_llm() const { return llm_ != nullptr; }
  Result<Answer> ask(const std::string& collection, const AskRequest& request, const AnswerSink& sink);
  Result<Answer> chat(const std::string& collection, const ChatAskRequest& request, const AnswerSink& sink);
  Result<generate::ModelInfo> model_info();
  Result<generate::RawResponse> forward_chat(const std::string& json_body, const generate::ByteSink& sink);

 private:
  // ask() and chat(): retrieve with `query`, then answer `request` (one implementation for both).
  // `may_decline`: whether weak evidence declines (not for a follow-up that lost its context).
  Result<Answer> respond(const std::string& collection, const std::string& query, const ChatAskRequest& request,
                         const AnswerSink& sink, bool may_decline = true);
  // `standalone`: the question without its conversation, which a completion-style prompt asks.
  Result<Answer> answer_with_model(const SearchResponse& retrieved, const ChatAskRequest& request,
                                   const std::string& standalone, const AnswerSink& sink);
  // Checks a generated answer against its sources and applies the collection's grounding policy
  // (replace: the extractive answer from the same sources, with a note).
  void ground(Answer& answer, const std::string& question, const CollectionSettings& settings) const;
  Answer answer_extractively(const SearchResponse& retrieved, const std::string& question,
                             const generate::Evidence& evidence) const;
  // "I could not find this in your documents" with the closest sources, none cited.
  Answer decline(const SearchResponse& retrieved) const;
  generate::SentenceEncoder sentence_encoder() const;  // empty without an embedding model
  std::string condense_question(const ChatAskRequest& request);  // service/chat.cpp

  const Config& config_;
  AnswererHooks hooks_;
  EngineCounters& counters_;
  std::unique_ptr<generate::LlmClient> llm_;
};

}  // namespace kr::service
