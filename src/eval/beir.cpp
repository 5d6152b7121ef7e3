#include "eval/beir.h"

#include <atomic>
#include <mutex>
#include <thread>

#include <unistd.h>

#include <cctype>
#include <chrono>
#include <optional>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <unordered_set>

#include "core/text.h"
#include "generate/llm_client.h"
#include "service/engine.h"

namespace kr::eval {
using service::Engine;
using service::IngestInput;
using service::IngestOutcome;
using service::SearchRequest;
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

Status read_jsonl(const std::string& path, const std::function<Status(const json&, size_t line)>& visit) {
  std::ifstream in(path);
  if (!in) return error(ErrorCode::kInvalidArgument, "cannot read " + path);
  std::string line;
  size_t number = 0;
  while (std::getline(in, line)) {
    ++number;
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    json value = json::parse(line, nullptr, false);
    if (value.is_discarded() || !value.is_object()) {
      return error(ErrorCode::kInvalidArgument, path + ":" + std::to_string(number) + ": not a JSON object");
    }
    KR_RETURN_IF_ERROR(visit(value, number));
  }
  return Status::ok();
}

std::string string_field(const json& object, const char* name) {
  auto it = object.find(name);
  if (it == object.end() || it->is_null()) return "";
  return it->is_string() ? it->get<std::string>() : it->dump();
}

}  // namespace

Result<BeirData> load_beir(const std::string& directory) {
  BeirData data;
  KR_RETURN_IF_ERROR(read_jsonl(directory + "/corpus.jsonl", [&](const json& j, size_t line) -> Status {
    const std::string id = string_field(j, "_id");
    if (id.empty()) return error(ErrorCode::kInvalidArgument, "corpus.jsonl:" + std::to_string(line) + ": no _id");
    const std::string title = string_field(j, "title");
    const std::string text = string_field(j, "text");
    data.corpus.emplace_back(id, title.empty() ? text : title + "\n\n" + text);
    return Status::ok();
  }));
  std::ifstream qrels(directory + "/qrels/test.tsv");
  if (!qrels) return error(ErrorCode::kInvalidArgument, "cannot read " + directory + "/qrels/test.tsv");
  std::string line;
  size_t number = 0;
  while (std::getline(qrels, line)) {
    ++number;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty() || (number == 1 && line.rfind("query-id", 0) == 0)) continue;
    const size_t tab1 = line.find('\t');
    const size_t tab2 = tab1 == std::string::npos ? tab1 : line.find('\t', tab1 + 1);
    if (tab2 == std::string::npos) {
      return error(ErrorCode::kInvalidArgument, "qrels/test.tsv:" + std::to_string(number) + ": expected 3 columns");
    }
    if (std::atof(line.c_str() + tab2 + 1) > 0) data.relevant[line.substr(0, tab1)].insert(line.substr(tab1 + 1, tab2 - tab1 - 1));
  }
  KR_RETURN_IF_ERROR(read_jsonl(directory + "/queries.jsonl", [&](const json& j, size_t) -> Status {
    const std::string id = string_field(j, "_id");
    if (!data.relevant.count(id)) return Status::ok();
    BeirQuery query{id, string_field(j, "text"), "", {}};
    if (auto meta = j.find("metadata"); meta != j.end() && meta->is_object()) {
      query.final_decision = string_field(*meta, "final_decision");
      if (auto answers = meta->find("answers"); answers != meta->end() && answers->is_array()) {
        for (const auto& a : *answers) query.answers.push_back(a.is_string() ? a.get<std::string>() : a.dump());
      }
    }
    data.queries.push_back(std::move(query));
    return Status::ok();
  }));
  if (data.corpus.empty() || data.queries.empty()) {
    return error(ErrorCode::kInvalidArgument, directory + " has no corpus or no queries with relevance judgements");
  }
  return data;
}

RetrievalMetrics score_run(const std::map<std::string, std::vector<std::string>>& run,
                           const std::map<std::string, std::set<std::string>>& relevant) {
  RetrievalMetrics m;
  for (const auto& [query, rel] : relevant) {
    if (rel.empty()) continue;
    ++m.queries;
    auto it = run.find(query);
    if (it == run.end()) continue;
    const auto& ranked = it->second;
    double dcg = 0, idcg = 0;
    size_t hits5 = 0, hits10 = 0, hits100 = 0;
    double reciprocal = 0;
    for (size_t i = 0; i < ranked.size() && i < 100; ++i) {
      if (!rel.count(ranked[i])) continue;
      if (i < 10) {
        dcg += 1.0 / std::log2(static_cast<double>(i) + 2.0);
        if (reciprocal == 0) reciprocal = 1.0 / static_cast<double>(i + 1);
        ++hits10;
      }
      if (i < 5) ++hits5;
      ++hits100;
    }
    for (size_t i = 0; i < std::min<size_t>(rel.size(), 10); ++i) idcg += 1.0 / std::log2(static_cast<double>(i) + 2.0);
    const double r = static_cast<double>(rel.size());
    m.ndcg_at_10 += dcg / idcg;
    m.recall_at_5 += static_cast<double>(hits5) / r;
    m.recall_at_10 += static_cast<double>(hits10) / r;
    m.recall_at_100 += static_cast<double>(hits100) / r;
    m.mrr_at_10 += reciprocal;
  }
  if (m.queries > 0) {
    const double n = static_cast<double>(m.queries);
    m.ndcg_at_10 /= n;
    m.recall_at_5 /= n;
    m.recall_at_10 /= n;
    m.recall_at_100 /= n;
    m.mrr_at_10 /= n;
  }
  return m;
}

std::string first_decision(const std::string& answer) {
  std::string word;
  for (size_t i = 0; i <= answer.size(); ++i) {
    const char c = i < answer.size() ? static_cast<char>(std::tolower(static_cast<unsigned char>(answer[i]))) : ' ';
    if (c >= 'a' && c <= 'z') {
      word += c;
      continue;
    }
    if (word == "yes" || word == "no" || word == "maybe") return word;
    word.clear();
  }
  return "";
}

AnswerMetrics score_decisions(const std::map<std::string, std::string>& predictions,
                              const std::map<std::string, std::string>& references) {
  AnswerMetrics m;
  m.predictions = predictions;
  std::map<std::string, double> tp, fp, fn;
  size_t correct = 0;
  for (const auto& [id, gold] : references) {
    ++m.questions;
    auto it = predictions.find(id);
    const std::string predicted = it == predictions.end() ? "" : it->second;
    if (predicted == gold) {
      ++correct;
      tp[gold] += 1;
    } else {
      fn[gold] += 1;
      if (!predicted.empty()) fp[predicted] += 1;
    }
  }
  if (m.questions == 0) return m;
  m.accuracy = static_cast<double>(correct) / static_cast<double>(m.questions);
  double f1_sum = 0;
  for (const char* label : {"yes", "no", "maybe"}) {
    const double precision_denominator = tp[label] + fp[label], recall_denominator = tp[label] + fn[label];
    const double precision = precision_denominator > 0 ? tp[label] / precision_denominator : 0;
    const double recall = recall_denominator > 0 ? tp[label] / recall_denominator : 0;
    f1_sum += precision + recall > 0 ? 2 * precision * recall / (precision + recall) : 0;
  }
  m.macro_f1 = f1_sum / 3.0;
  return m;
}

namespace {

// Normalizes a free-text answer against the query's references: the decision word
// when references are decisions, else "correct"/"wrong" by containment.
std::string judge(const BeirQuery& query, const std::string& answer, std::string& reference) {
  if (!query.final_decision.empty()) {
    reference = query.final_decision;
    return first_decision(answer);
  }
  reference = "correct";
  std::string lower = answer;
  for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  for (std::string expected : query.answers) {
    for (char& c : expected) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (!expected.empty() && lower.find(expected) != std::string::npos) return "correct";
  }
  return "wrong";
}

constexpr const char* kDecisionInstruction =
    "\n\nStart your answer with exactly one word: yes, no or maybe. Then explain briefly.";

// Asks every selected query twice (with retrieval through the product's ask path,
// and the bare model), timing the first token and the generation speed.
Status evaluate_answers(Engine& engine, const Config& config, const BeirData& data, const EvalOptions& options,
                        EvalReport& report) {
  generate::LlmConfig llm;
  llm.base_url = config.llm_url;
  llm.model = config.llm_model;
  llm.api_key = config.llm_api_key;
  llm.timeout_seconds = config.llm_timeout_seconds;
  llm.context_window = config.llm_context_window;
  auto direct = generate::make_openai_client(llm);
  auto info = direct->model_info();
  if (!info) return error(ErrorCode::kUnavailable, "answer evaluation needs the model: " + info.status().message());
  report.model = info->id;

  const size_t n = options.answer_limit == 0 ? data.queries.size() : std::min(options.answer_limit, data.queries.size());
  std::map<std::string, std::string> references, with_retrieval, without_retrieval;
  struct Timing {
    double ttft = 0, tokens = 0, generation_seconds = 0;
    size_t answers = 0;
  } timed[2];
  for (size_t q = 0; q < n; ++q) {
    const BeirQuery& query = data.queries[q];
    const std::string question = query.text + (query.final_decision.empty() ? "" : kDecisionInstruction);
    for (int retrieval = 1; retrieval >= 0; --retrieval) {
      const auto started = std::chrono::steady_clock::now();
      std::optional<std::chrono::steady_clock::time_point> first_token;
      size_t pieces = 0;  // streamed deltas: one token each from llama.cpp and vLLM
      auto sink = [&first_token, &pieces](const std::string&) {
        if (!first_token) first_token = std::chrono::steady_clock::now();
        ++pieces;
        return true;
      };
      std::string text;
      int completion_tokens = 0;
      if (retrieval) {
        // Retrieval sees the question alone, the model also the answer-format instruction.
        auto answer = engine.ask("eval", {question, options.answer_top_k, {}, query.text}, sink);
        if (!answer) return answer.status();
        text = answer->text;
        completion_tokens = answer->completion_tokens;
      } else {
        generate::ChatRequest chat;
        chat.messages = {{"user", question}};
        chat.max_tokens = config.answer_max_tokens;
        chat.temperature = config.llm_temperature;
        auto completion = direct->stream(chat, sink);
        if (!completion) return completion.status();
        text = completion->text;
        completion_tokens = completion->completion_tokens;
      }
      const auto ended = std::chrono::steady_clock::now();
      Timing& t = timed[retrieval];
      if (first_token) {
        t.ttft += std::chrono::duration<double>(*first_token - started).count();
        t.generation_seconds += std::chrono::duration<double>(ended - *first_token).count();
        // Tokens after the first: the server's usage when it reports one, else the streamed pieces.
        const size_t tokens = completion_tokens > 0 ? static_cast<size_t>(completion_tokens) : pieces;
        t.tokens += tokens > 1 ? static_cast<double>(tokens - 1) : 0;
        ++t.answers;
      }
      std::string reference;
      const std::string verdict = judge(query, text, reference);
      references[query.id] = reference;
      (retrieval ? with_retrieval : without_retrieval)[query.id] = verdict;
    }
    if (options.progress) options.progress("answer", q + 1, n);
  }
  report.with_retrieval = score_decisions(with_retrieval, references);
  report.without_retrieval = score_decisions(without_retrieval, references);
  for (int retrieval = 0; retrieval < 2; ++retrieval) {
    AnswerMetrics& m = retrieval ? report.with_retrieval : report.without_retrieval;
    const Timing& t = timed[retrieval];
    m.mean_ttft_seconds = t.answers ? t.ttft / static_cast<double>(t.answers) : 0;
    m.tokens_per_second = t.generation_seconds > 0 ? t.tokens / t.generation_seconds : 0;
  }
  return Status::ok();
}

}  // namespace

Result<EvalReport> evaluate_beir(const Config& config, const BeirData& data, const EvalOptions& options) {
  const auto mode = retrieve::parse_search_mode(options.mode);
  if (!mode) return error(ErrorCode::kInvalidArgument, "eval mode must be bm25, dense or hybrid");
  if (*mode != retrieve::SearchMode::kBm25 && config.embedding_model.empty() && config.embedding_url.empty()) {
    return error(ErrorCode::kInvalidArgument, "--mode " + options.mode +
                                                  " needs an embedding model: set --embedding-model (a local "
                                                  "sentence-transformers folder) or --embedding-url");
  }
  std::string scratch = options.scratch_dir;
  if (scratch.empty()) {
    std::string pattern = (fs::temp_directory_path() / "kaito-rag-eval-XXXXXX").string();
    if (!::mkdtemp(pattern.data())) return error(ErrorCode::kUnavailable, "cannot create a scratch directory");
    scratch = pattern;
  }
  struct Cleanup {
    std::string dir;
    bool owned;
    ~Cleanup() {
      std::error_code ec;
      if (owned) fs::remove_all(dir, ec);
    }
  } cleanup{scratch, options.scratch_dir.empty()};

  Config scratch_config = config;
  scratch_config.data_dir = scratch;
  scratch_config.parse_isolation = "inline";  // plain text from our own loader
  if (!options.answers) scratch_config.llm_url.clear();
  if (options.answers && scratch_config.llm_url.empty()) {
    return error(ErrorCode::kInvalidArgument, "--answers needs a model: set --llm-url");
  }
  Engine engine(scratch_config, "");
  KR_RETURN_IF_ERROR(engine.open());
  const std::string collection = "eval";
  EvalReport report;
  auto existing = engine.get_collection(collection);
  const bool reuse = existing && existing->documents == static_cast<int64_t>(data.corpus.size());
  if (existing && !reuse) {
    return error(ErrorCode::kFailedPrecondition, "the index directory " + scratch + " holds a different corpus (" +
                                                     std::to_string(existing->documents) +
                                                     " passages); use an empty directory");
  }
  if (!existing) {
    auto created = engine.create_collection(collection, engine.default_settings());
    if (!created) return created.status();
  }
  auto started = std::chrono::steady_clock::now();
  // Passages are ingested by several threads (one embedding each keeps a core busy).
  std::atomic<size_t> next{0}, done{0}, chunks{0};
  std::mutex failure_mutex, progress_mutex;
  Status failure;
  auto ingest_worker = [&] {
    for (size_t i = next++; i < data.corpus.size(); i = next++) {
      IngestInput input;
      input.name = data.corpus[i].first;
      input.source = data.corpus[i].first;
      input.bytes = data.corpus[i].second;
      input.allow_duplicate_content = true;  // distinct ids may share a text; each is judged on its own
      auto result = engine.ingest(collection, std::move(input), false);
      Status status = !result ? result.status()
                      : result->outcome == IngestOutcome::kFailed
                          ? error(result->error.code(), "passage " + data.corpus[i].first + ": " + result->error.message())
                          : Status::ok();
      if (!status) {
        std::lock_guard lock(failure_mutex);
        if (failure.is_ok()) failure = status;
        next = data.corpus.size();
        return;
      }
      chunks += static_cast<size_t>(result->chunks);
      const size_t finished = ++done;
      if (options.progress) {
        std::lock_guard lock(progress_mutex);
        options.progress("ingest", finished, data.corpus.size());
      }
    }
  };
  {
    std::vector<std::jthread> workers;
    const unsigned count = std::max(1u, std::min(4u, std::thread::hardware_concurrency()));
    if (reuse) next = data.corpus.size();  // already ingested by an earlier run
    for (unsigned w = 1; w < count; ++w) workers.emplace_back(ingest_worker);
    ingest_worker();
  }
  KR_RETURN_IF_ERROR(failure);
  report.chunks = reuse ? static_cast<size_t>(existing->chunks) : chunks.load();
  report.documents = data.corpus.size();
  report.ingest_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();

  started = std::chrono::steady_clock::now();
  for (size_t q = 0; q < data.queries.size(); ++q) {
    // Chunks map back to their passage; keep each passage's best-ranked chunk.
    // Over-fetch chunks so that `depth` distinct passages remain.
    SearchRequest request{data.queries[q].text, std::min(1000, options.depth * 3), {}};
    request.mode = *mode;
    auto found = engine.search(collection, request);
    if (!found) return found.status();
    std::vector<std::string>& ranked = report.run[data.queries[q].id];
    std::unordered_set<std::string> seen;
    for (const auto& hit : found->hits) {
      if (static_cast<int>(ranked.size()) >= options.depth) break;
      if (seen.insert(hit.document_name).second) ranked.push_back(hit.document_name);
    }
    if (options.progress) options.progress("query", q + 1, data.queries.size());
  }
  report.query_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  report.metrics = score_run(report.run, data.relevant);
  if (options.answers) KR_RETURN_IF_ERROR(evaluate_answers(engine, scratch_config, data, options, report));
  return report;
}

}  // namespace kr::eval
