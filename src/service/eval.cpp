#include "service/eval.h"

#include <unistd.h>

#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <unordered_set>

#include "service/engine.h"

namespace kr::service {
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
    if (data.relevant.count(id)) data.queries.push_back({id, string_field(j, "text")});
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

Result<EvalReport> evaluate_beir(const Config& config, const BeirData& data, const EvalOptions& options) {
  if (options.mode != "bm25") {
    return error(ErrorCode::kUnsupported, "eval mode '" + options.mode +
                                              "' needs the local encoder (dense/hybrid retrieval), which is not "
                                              "built yet; use --mode bm25");
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
  scratch_config.llm_url.clear();
  Engine engine(scratch_config, "");
  KR_RETURN_IF_ERROR(engine.open());
  const std::string collection = "eval";
  auto created = engine.create_collection(collection, engine.default_settings());
  if (!created) return created.status();

  EvalReport report;
  auto started = std::chrono::steady_clock::now();
  for (size_t i = 0; i < data.corpus.size(); ++i) {
    IngestInput input;
    input.name = data.corpus[i].first;
    input.source = data.corpus[i].first;
    input.bytes = data.corpus[i].second;
    input.allow_duplicate_content = true;  // distinct ids may share a text; each is judged on its own
    auto result = engine.ingest(collection, std::move(input), false);
    if (!result) return result.status();
    if (result->outcome == IngestOutcome::kFailed) {
      return error(result->error.code(), "passage " + data.corpus[i].first + ": " + result->error.message());
    }
    report.chunks += static_cast<size_t>(result->chunks);
    if (options.progress) options.progress("ingest", i + 1, data.corpus.size());
  }
  report.documents = data.corpus.size();
  report.ingest_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();

  started = std::chrono::steady_clock::now();
  for (size_t q = 0; q < data.queries.size(); ++q) {
    // Chunks map back to their passage; keep each passage's best-ranked chunk.
    // Over-fetch chunks so that `depth` distinct passages remain.
    auto found = engine.search(collection, {data.queries[q].text, std::min(1000, options.depth * 3), {}});
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
  return report;
}

}  // namespace kr::service
