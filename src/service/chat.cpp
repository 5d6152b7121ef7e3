// Multi-turn chat: a follow-up question is condensed into a standalone question with the
// model before retrieval, then answered by the same code as Engine::ask (Answerer::respond).
#include <algorithm>
#include <string>
#include <vector>

#include "core/log.h"
#include "core/text.h"
#include "generate/prompt.h"
#include "service/answerer.h"

namespace kr::service {

namespace {

constexpr int kCondenseMaxTokens = 96;  // a question, not an answer
constexpr int kCondenseMargin = 32;     // chat-template overhead we cannot see
constexpr size_t kCondenseMaxTurns = 6;

bool has_conversation(const ChatAskRequest& request) {
  return std::any_of(request.history.begin(), request.history.end(), [](const ChatTurn& t) {
    return (t.role == "user" || t.role == "assistant") && !trim(t.content).empty();
  });
}

}  // namespace

Result<Answer> Answerer::chat(const std::string& collection, const ChatAskRequest& request, const AnswerSink& sink) {
  if (trim(request.question).empty()) return error(ErrorCode::kInvalidArgument, "question must not be empty");
  if (!(request.sources_budget_ratio > 0.0 && request.sources_budget_ratio <= 1.0)) {
    return error(ErrorCode::kInvalidArgument, "the share of the prompt for sources must be in (0, 1]");
  }
  auto settings = hooks_.settings(collection);  // before spending a model call on the question
  if (!settings) return settings.status();
  const bool follow_up = llm_ && has_conversation(request);
  const std::string query = follow_up ? condense_question(request) : request.question;
  // A follow-up that could not be condensed lacks its context: its evidence cannot be judged.
  const bool judge = !follow_up || query != request.question;
  return respond(collection, query, request, sink, judge);
}

std::string Answerer::condense_question(const ChatAskRequest& request) {
  const std::string& raw = request.question;
  auto info = model_info();
  if (!info) return raw;  // answering reports the model's state
  const int limit = info->max_model_len - kCondenseMaxTokens - kCondenseMargin;

  std::vector<generate::ChatMessage> turns;
  for (const ChatTurn& t : request.history) {
    if ((t.role == "user" || t.role == "assistant") && !trim(t.content).empty()) turns.push_back({t.role, t.content});
  }
  // The latest turns whose condensing request fits the context window.
  std::vector<generate::ChatMessage> messages;
  bool counter_failed = false;
  for (size_t keep = std::min(turns.size(), kCondenseMaxTurns); keep > 0; --keep) {
    const std::vector<generate::ChatMessage> slice(turns.end() - static_cast<std::ptrdiff_t>(keep), turns.end());
    auto candidate = generate::condense_question_messages(slice, raw);
    int tokens = 0;
    if (!counter_failed) {
      auto counted = llm_->count_prompt_tokens(candidate);
      if (counted) tokens = *counted;
      counter_failed = !counted;
    }
    if (counter_failed) tokens = generate::estimate_messages_tokens(candidate);
    if (tokens <= limit) {
      messages = std::move(candidate);
      break;
    }
  }
  if (messages.empty()) {
    log::warn("follow-up question not condensed: the conversation does not fit the context window");
    return raw;
  }
  generate::ChatRequest condense;
  condense.messages = std::move(messages);
  condense.max_tokens = kCondenseMaxTokens;
  condense.temperature = 0;
  auto completion = llm_->complete(condense);
  if (!completion) {
    log::warn("follow-up question not condensed; retrieving with it as asked",
              {{"error", completion.status().message()}});
    return raw;
  }
  std::string standalone = generate::clean_condensed_question(completion->text);
  if (standalone.empty()) return raw;
  log::debug("condensed follow-up question", {{"standalone", standalone}});
  return standalone;
}

}  // namespace kr::service
