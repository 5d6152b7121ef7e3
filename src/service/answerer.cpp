// Answering (see answerer.h): retrieval, then a model's or an extractive answer.
#include "service/answerer.h"

#include <algorithm>
#include <map>
#include <optional>

#include "core/text.h"
#include "embed/embedder.h"
#include "generate/evidence.h"
#include "generate/prompt.h"
#include "generate/prompt_style.h"
#include "service/engine.h"

namespace kr::service {

namespace {

std::unique_ptr<generate::LlmClient> make_llm(const Config& c) {
  if (c.llm_url.empty()) return nullptr;
  generate::LlmConfig llm;
  llm.base_url = c.llm_url;
  llm.model = c.llm_model;
  llm.api_key = c.llm_api_key;
  llm.timeout_seconds = c.llm_timeout_seconds;
  llm.max_retries = c.llm_max_retries;
  llm.context_window = c.llm_context_window;
  return generate::make_openai_client(llm);
}

// With `with_sections`, each passage starts with its section path, which helps
// the model place a chunk that does not repeat its heading.
std::vector<generate::Passage> to_passages(const std::vector<SearchHit>& hits, bool with_sections) {
  std::vector<generate::Passage> passages;
  for (const auto& hit : hits) {
    std::string text = hit.text;
    if (with_sections && !hit.heading_path.empty()) {
      std::string path;
      for (const auto& h : hit.heading_path) path += (path.empty() ? "" : " > ") + h;
      text = "(section: " + path + ")\n" + text;
    }
    passages.push_back({text, hit.document_name, hit.page_start, hit.page_end});
  }
  return passages;
}

// The decline and answerability signals (answerability.h) from a search and its evidence.
generate::AnswerabilitySignals answerability_signals(const SearchResponse& retrieved, const generate::Evidence& evidence) {
  generate::AnswerabilitySignals signals;
  signals.passage_coverage = evidence.best_passage_coverage;
  signals.sentence_coverage = evidence.best_coverage;
  signals.specifics_coverage = evidence.specifics_coverage;
  signals.kind_coverage = evidence.kind_coverage;
  if (evidence.encoded) signals.sentence_similarity = evidence.best_similarity;
  const auto& hits = retrieved.hits;
  if (!hits.empty() && hits.front().dense_score) signals.top_dense = *hits.front().dense_score;
  // Agreement: the chunk BM25 ranks first is among the three dense ranks first.
  size_t best_bm25 = hits.size(), dense_known = 0;
  for (size_t i = 0; i < hits.size(); ++i) {
    if (hits[i].bm25_score && (best_bm25 == hits.size() || *hits[i].bm25_score > *hits[best_bm25].bm25_score)) best_bm25 = i;
    if (hits[i].dense_score) ++dense_known;
  }
  if (best_bm25 < hits.size() && dense_known > 0 && hits[best_bm25].dense_score) {
    size_t denser = 0;
    for (const auto& hit : hits) denser += hit.dense_score && *hit.dense_score > *hits[best_bm25].dense_score;
    signals.agreement = denser < 3 ? 1.0 : 0.0;
  }
  return signals;
}

// The citations of `answer.text`; only the sources it cites are marked cited.
void mark_cited(Answer& answer) {
  answer.citations = generate::extract_citations(answer.text);
  for (AnswerSource& source : answer.sources) source.cited = false;
  for (int number : answer.citations) {
    if (number >= 1 && number <= static_cast<int>(answer.sources.size())) answer.sources[number - 1].cited = true;
  }
}

constexpr size_t kClosestSources = 3;

constexpr const char* kNoSourcesAnswer =
    "I could not find anything about this in the documents of this collection.";

}  // namespace

Answerer::Answerer(const Config& config, AnswererHooks hooks, EngineCounters& counters)
    : config_(config), hooks_(std::move(hooks)), counters_(counters), llm_(make_llm(config_)) {}

Answerer::~Answerer() = default;

Result<Answer> Answerer::ask(const std::string& collection, const AskRequest& request, const AnswerSink& sink) {
  ChatAskRequest single;
  single.question = request.question;
  single.top_k = request.top_k;
  single.filter = request.filter;
  single.mode = request.mode;
  single.sources_budget_ratio = 1.0;  // no history to leave room for
  return respond(collection, request.retrieval_query.empty() ? request.question : request.retrieval_query, single,
                 sink);
}

Result<Answer> Answerer::respond(const std::string& collection, const std::string& query,
                                 const ChatAskRequest& request, const AnswerSink& sink, bool may_decline) {
  if (trim(request.question).empty()) return error(ErrorCode::kInvalidArgument, "question must not be empty");
  auto settings = hooks_.settings(collection);
  if (!settings) return settings.status();
  SearchRequest search_request{query, request.top_k, request.filter};
  search_request.mode = request.mode;
  auto retrieved = hooks_.search(collection, search_request);
  if (!retrieved) return retrieved.status();
  // The evidence is judged on the question retrieval used (a follow-up's standalone form).
  const auto passages = to_passages(retrieved->hits, false);
  const generate::Evidence evidence = generate::gather_evidence(query, passages, sentence_encoder());
  std::optional<generate::Answerability> answerability;
  if (!retrieved->hits.empty()) {
    const double threshold = settings->answer_threshold >= 0 ? settings->answer_threshold : config_.answer_threshold;
    answerability = generate::judge_answerability(answerability_signals(*retrieved, evidence), threshold);
  }
  Result<Answer> answer = may_decline && answerability && !answerability->answerable ? decline(*retrieved)
                          : llm_ ? answer_with_model(*retrieved, request, query, sink)
                                 : answer_extractively(*retrieved, query, evidence);
  if (answer && !answer->model.empty() && trim(answer->text).empty()) {
    // A base model may stop before writing anything: answer from the sources instead of with nothing.
    const std::string model = answer->model;
    answer = answer_extractively(*retrieved, query, evidence);
    answer->note = "the model (" + model + ") returned an empty answer; this is the extractive answer (the "
                   "best-matching sentences of the documents) instead";
  }
  (answer ? counters_.answers : counters_.answer_failures)++;
  if (!answer) return answer;
  if (!answer->model.empty()) ground(*answer, query, *settings);  // a generated answer (declines have no model)
  answer->retrieval_query = query;
  answer->answerability = answerability;
  if (answer->model.empty() && sink) sink(answer->text);  // one piece: nothing was generated
  return answer;
}

generate::SentenceEncoder Answerer::sentence_encoder() const {
  embed::Embedder* embedder = hooks_.embedder ? hooks_.embedder() : nullptr;
  if (!embedder) return {};
  return [embedder](const std::vector<std::string>& texts,
                    bool as_query) -> Result<std::vector<std::vector<float>>> {
    auto vectors = embedder->embed(
        texts, as_query ? embed::InputKind::kQuery : embed::InputKind::kPassage);
    if (!vectors) return vectors.status();
    std::vector<std::vector<float>> out;
    for (size_t i = 0; i < vectors->rows(); ++i) out.emplace_back(vectors->row(i).begin(), vectors->row(i).end());
    return out;
  };
}

Answer Answerer::decline(const SearchResponse& retrieved) const {
  Answer answer;
  answer.extractive = !llm_;
  answer.finish_reason = "stop";
  answer.text = generate::kDeclineAnswer;
  // The closest sources, so the user can look for themselves; none is cited.
  for (size_t i = 0; i < retrieved.hits.size() && i < kClosestSources; ++i) {
    AnswerSource source;
    source.number = static_cast<int>(i + 1);
    source.hit = retrieved.hits[i];
    answer.sources.push_back(std::move(source));
  }
  return answer;
}

Answer Answerer::answer_extractively(const SearchResponse& retrieved, const std::string& question,
                                     const generate::Evidence& evidence) const {
  Answer answer;
  answer.extractive = true;
  answer.finish_reason = "stop";
  if (retrieved.hits.empty()) {
    answer.text = kNoSourcesAnswer;
    return answer;
  }
  const auto sentences = generate::extractive_answer(question, evidence, to_passages(retrieved.hits, false),
                                                     static_cast<size_t>(config_.extractive_max_sentences));
  // Number sources in the order the answer first uses them.
  std::map<size_t, int> number_of_passage;
  for (const auto& sentence : sentences) {
    auto [it, inserted] = number_of_passage.try_emplace(sentence.passage, static_cast<int>(answer.sources.size() + 1));
    if (inserted) {
      AnswerSource source;
      source.number = it->second;
      source.cited = true;
      source.hit = retrieved.hits[sentence.passage];
      answer.sources.push_back(std::move(source));
      answer.citations.push_back(it->second);
    }
    if (!answer.text.empty()) answer.text += " ";
    answer.text += std::string(trim(sentence.text)) + " [" + std::to_string(it->second) + "]";
  }
  if (answer.text.empty()) answer.text = kNoSourcesAnswer;
  return answer;
}

Result<generate::ModelInfo> Answerer::model_info() {
  if (!llm_) return error(ErrorCode::kFailedPrecondition, "no language model is configured (set --llm-url)");
  auto info = llm_->model_info();
  if (!info) {
    return error(ErrorCode::kUnavailable, "the language model is unavailable: " + info.status().message() +
                                              " (search still works: use the search endpoint)");
  }
  generate::ModelInfo out = *info;
  if (config_.llm_context_window > 0) out.max_model_len = config_.llm_context_window;
  if (out.max_model_len <= 0) out.max_model_len = 4096;
  return out;
}

Result<generate::RawResponse> Answerer::forward_chat(const std::string& json_body, const generate::ByteSink& sink) {
  if (!llm_) return error(ErrorCode::kFailedPrecondition, "no language model is configured (set --llm-url)");
  return llm_->forward_chat(json_body, sink);
}

Result<Answer> Answerer::answer_with_model(const SearchResponse& retrieved, const ChatAskRequest& request,
                                           const std::string& standalone, const AnswerSink& sink) {
  Answer answer;
  auto info = model_info();
  if (!info) return info.status();
  answer.model = info->id;
  const generate::PromptStyle style =
      generate::choose_prompt_style(generate::parse_prompt_style(config_.llm_prompt_style), *info);
  answer.prompt_style = generate::prompt_style_name(style);
  const int window = info->max_model_len;
  answer.context_window = window;
  generate::Budget budget;
  budget.context_window = window;
  budget.answer_tokens = request.max_tokens > 0 ? std::min(request.max_tokens, window / 2)
                                                : std::min(config_.answer_max_tokens, window / 4);
  const auto passages = to_passages(retrieved.hits, true);
  auto prompt = [&]() -> Result<generate::AssembledPrompt> {
    if (style == generate::PromptStyle::kCompletion) {
      return generate::assemble_completion_prompt(
          standalone, passages, budget,
          [this](const std::vector<generate::ChatMessage>& m) { return llm_->count_text_tokens(m.front().content); });
    }
    std::vector<generate::ChatMessage> history;
    for (const ChatTurn& turn : request.history) history.push_back({turn.role, turn.content});
    return generate::assemble_chat_prompt(
        history, request.question, passages, budget,
        [this](const std::vector<generate::ChatMessage>& m) { return llm_->count_prompt_tokens(m); },
        request.sources_budget_ratio);
  }();
  if (!prompt) return prompt.status();
  answer.prompt_tokens = prompt->prompt_tokens;
  for (size_t n = 0; n < prompt->used_passages.size(); ++n) {
    AnswerSource source;
    source.number = static_cast<int>(n + 1);
    source.hit = retrieved.hits[prompt->used_passages[n]];
    answer.sources.push_back(std::move(source));
  }
  generate::ChatRequest chat;
  if (style == generate::PromptStyle::kCompletion) {
    chat.prompt = prompt->messages.front().content;
    chat.stop = generate::completion_stop_sequences();
  } else {
    chat.messages = prompt->messages;
  }
  chat.max_tokens = budget.answer_tokens;
  chat.temperature = request.temperature >= 0 ? request.temperature : config_.llm_temperature;
  auto completion = sink ? llm_->stream(chat, sink) : llm_->complete(chat);
  if (!completion) {
    const Status& s = completion.status();
    if (s.code() == ErrorCode::kCancelled) return s;
    return error(s.code() == ErrorCode::kInvalidArgument ? ErrorCode::kInternal : ErrorCode::kUnavailable,
                 "the language model failed to answer: " + s.message());
  }
  // A citation number without a source would send the reader nowhere.
  answer.text = generate::drop_unknown_citations(std::string(trim(completion->text)),
                                                 static_cast<int>(answer.sources.size()));
  answer.finish_reason = completion->finish_reason;
  answer.completion_tokens = completion->completion_tokens;
  if (completion->prompt_tokens > 0) answer.prompt_tokens = completion->prompt_tokens;
  mark_cited(answer);
  return answer;
}


void Answerer::ground(Answer& answer, const std::string& question, const CollectionSettings& settings) const {
  AnswerGrounding grounding;
  // "auto": a base model (completion prompt style) is replaced by the extractive answer when a sentence
  // is unsupported — measured never worse than extractive on docqa-dev, where its raw answers were —
  // while a chat model's answer is kept with the flags (BENCHMARKS.md, local-model eval).
  const generate::GroundingPolicy automatic =
      answer.prompt_style == "completion" ? generate::GroundingPolicy::kReplace : generate::GroundingPolicy::kFlag;
  grounding.policy = generate::parse_grounding_policy(settings.grounding_policy)
                         .value_or(generate::parse_grounding_policy(config_.grounding_policy).value_or(automatic));
  const double threshold =
      settings.grounding_threshold >= 0 ? settings.grounding_threshold : config_.grounding_threshold;
  std::vector<SearchHit> hits;
  for (const AnswerSource& source : answer.sources) hits.push_back(source.hit);
  const std::vector<generate::Passage> passages = to_passages(hits, false);
  const generate::SentenceEncoder encoder = sentence_encoder();
  grounding.report = generate::check_grounding(answer.text, passages, encoder, threshold);
  const int unsupported = grounding.report.unsupported;
  if (unsupported > 0) {
    switch (grounding.policy) {
      case generate::GroundingPolicy::kFlag:
        grounding.action = "flagged";
        break;
      case generate::GroundingPolicy::kRemove:
        grounding.action = "removed";
        answer.text = generate::supported_text(grounding.report);
        if (!trim(answer.text).empty()) break;
        [[fallthrough]];  // nothing left: answer extractively instead
      case generate::GroundingPolicy::kReplace: {
        grounding.action = "replaced";
        // From the same sources, so their numbers stay those of `sources`.
        const auto evidence = generate::gather_evidence(question, passages, encoder);
        const auto sentences = generate::extractive_answer(question, evidence, passages,
                                                           static_cast<size_t>(config_.extractive_max_sentences));
        answer.text.clear();
        for (const auto& sentence : sentences) {
          if (!answer.text.empty()) answer.text += " ";
          answer.text += std::string(trim(sentence.text)) + " [" + std::to_string(sentence.passage + 1) + "]";
        }
        if (answer.text.empty()) answer.text = kNoSourcesAnswer;
        answer.note = std::to_string(unsupported) + " of " + std::to_string(grounding.report.sentences.size()) +
                      " sentences of the model's answer are not supported by the sources; this is the extractive "
                      "answer (the best-matching sentences of the sources) instead";
        break;
      }
    }
  }
  mark_cited(answer);
  answer.grounding = std::move(grounding);
}

}  // namespace kr::service
