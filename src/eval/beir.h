// Retrieval evaluation on a BEIR-layout folder (corpus.jsonl, queries.jsonl,
// qrels/test.tsv): ingest into a scratch collection, query, score.
#pragma once

#include <functional>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "core/config.h"
#include "core/status.h"

namespace kr::eval {

struct BeirQuery {
  std::string id;
  std::string text;
  // Reference answers from metadata: PubMedQA's final_decision (yes|no|maybe) and/or a
  // list of acceptable strings ("answers"). Never shown to the system under test.
  std::string final_decision;
  std::vector<std::string> answers;
};

struct BeirData {
  std::vector<std::pair<std::string, std::string>> corpus;  // id -> title + text
  std::vector<BeirQuery> queries;                            // only queries with qrels
  std::map<std::string, std::set<std::string>> relevant;     // query id -> relevant corpus ids
};

// Reads a BEIR folder; kInvalidArgument with the file and line on malformed input.
Result<BeirData> load_beir(const std::string& directory);

struct RetrievalMetrics {
  double ndcg_at_10 = 0;
  double recall_at_5 = 0;
  double recall_at_10 = 0;
  double recall_at_100 = 0;
  double mrr_at_10 = 0;
  size_t queries = 0;
};

// BEIR / pytrec_eval definitions with binary relevance, averaged over every query
// in `relevant` (a query without results scores 0). `run`: query id -> ranked
// distinct corpus ids.
RetrievalMetrics score_run(const std::map<std::string, std::vector<std::string>>& run,
                           const std::map<std::string, std::set<std::string>>& relevant);

struct EvalOptions {
  std::string mode = "bm25";  // bm25 (dense and hybrid need the local encoder)
  int depth = 100;            // ranked ids per query
  bool answers = false;       // also score answers through the ask path (needs llm_url)
  size_t answer_limit = 0;    // first N judged queries for answers; 0 = all
  int answer_top_k = 5;       // passages retrieved per answer
  // Empty: a fresh directory under the system temp dir, removed afterwards. Else kept, and a
  // collection already there holding every passage (same count) is reused without re-ingesting,
  // so several modes or fusion settings can be compared after one embedding pass.
  std::string scratch_dir;
  std::function<void(const std::string& phase, size_t done, size_t total)> progress;
};

struct AnswerMetrics {
  size_t questions = 0;
  double accuracy = 0;
  double macro_f1 = 0;        // over yes/no/maybe, when the references are decisions
  double mean_ttft_seconds = 0;
  double tokens_per_second = 0;
  std::map<std::string, std::string> predictions;  // query id -> normalized prediction
};

// "yes" | "no" | "maybe" | "" — the first of these words in the answer.
std::string first_decision(const std::string& answer);
// Accuracy and macro-F1 (yes/no/maybe) of predictions against references.
AnswerMetrics score_decisions(const std::map<std::string, std::string>& predictions,
                              const std::map<std::string, std::string>& references);

struct EvalReport {
  RetrievalMetrics metrics;
  std::map<std::string, std::vector<std::string>> run;
  size_t documents = 0;
  size_t chunks = 0;
  double ingest_seconds = 0;
  double query_seconds = 0;
  std::string model;                 // answers: the served model
  AnswerMetrics with_retrieval;      // answers through the ask path
  AnswerMetrics without_retrieval;   // the same model asked directly
};

// Uses `config` for chunking and BM25 parameters (chunk_max_tokens, bm25_k1, bm25_b, language).
Result<EvalReport> evaluate_beir(const Config& config, const BeirData& data, const EvalOptions& options);

}  // namespace kr::eval
