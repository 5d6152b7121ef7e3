// kaito-rag eval --beir DIR: retrieval quality on a BEIR-layout folder.
#include <unistd.h>

#include <fstream>
#include <iomanip>
#include <iostream>
#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "eval/beir.h"

namespace kr::cli {

int eval(const Config& config, const EvalArgs& args) {
  auto data = eval::load_beir(args.beir_dir);
  if (!data) {
    std::cerr << "kaito-rag: " << data.status().message() << "\n";
    return 1;
  }
  const bool tty = isatty(STDERR_FILENO);
  eval::EvalOptions options;
  options.mode = args.mode;
  options.scratch_dir = args.index_dir;
  options.answers = args.answers;
  options.answer_limit = args.limit;
  options.answer_top_k = args.top_k;
  options.progress = [tty](const std::string& phase, size_t done, size_t total) {
    if (done != total && done % (tty ? 50 : 1000) != 0) return;
    if (tty) std::cerr << "\r\033[K";
    std::cerr << phase << " " << done << "/" << total << (tty ? "" : "\n") << std::flush;
  };
  std::cerr << "Evaluating " << args.beir_dir << ": " << data->corpus.size() << " passages, " << data->queries.size()
            << " queries, mode " << args.mode << "\n";
  auto report = eval::evaluate_beir(config, *data, options);
  if (tty) std::cerr << "\n";
  if (!report) {
    std::cerr << "kaito-rag: " << report.status().message() << "\n";
    return 1;
  }
  const auto& m = report->metrics;
  if (!args.run_file.empty()) {
    std::ofstream out(args.run_file);
    for (const auto& [query, ranked] : report->run) {
      for (size_t i = 0; i < ranked.size(); ++i) {
        out << query << " Q0 " << ranked[i] << " " << (i + 1) << " " << (ranked.size() - i) << " kaito-rag-" << args.mode
            << "\n";
      }
    }
  }
  const auto answer_json = [](const eval::AnswerMetrics& a) {
    return nlohmann::json{{"questions", a.questions},
                          {"accuracy", a.accuracy},
                          {"macro_f1", a.macro_f1},
                          {"mean_ttft_seconds", a.mean_ttft_seconds},
                          {"tokens_per_second", a.tokens_per_second},
                          {"predictions", a.predictions}};
  };
  if (args.json) {
    nlohmann::json out = {{"mode", args.mode},
                          {"queries", m.queries},
                          {"documents", report->documents},
                          {"chunks", report->chunks},
                          {"ndcg@10", m.ndcg_at_10},
                          {"recall@5", m.recall_at_5},
                          {"recall@10", m.recall_at_10},
                          {"recall@100", m.recall_at_100},
                          {"mrr@10", m.mrr_at_10},
                          {"ingest_seconds", report->ingest_seconds},
                          {"query_seconds", report->query_seconds},
                          {"settings",
                           {{"bm25_k1", config.bm25_k1},
                            {"bm25_b", config.bm25_b},
                            {"language", config.language},
                            {"chunk_max_tokens", config.chunk_max_tokens},
                            {"embedding_model", config.embedding_model.empty() ? config.embedding_url
                                                                               : config.embedding_model},
                            {"fusion", config.fusion},
                            {"hybrid_alpha", config.hybrid_alpha},
                            {"rrf_k", config.rrf_k}}}};
    if (args.answers) {
      out["answers"] = {{"model", report->model},
                        {"top_k", args.top_k},
                        {"with_retrieval", answer_json(report->with_retrieval)},
                        {"without_retrieval", answer_json(report->without_retrieval)}};
    }
    std::cout << out.dump(2) << "\n";
    return 0;
  }
  std::cout << std::fixed << std::setprecision(4) << "mode " << args.mode << " (k1 " << config.bm25_k1 << ", b "
            << config.bm25_b << ", " << config.language;
  if (args.mode != "bm25") {
    std::cout << "; " << (config.embedding_model.empty() ? config.embedding_url : config.embedding_model);
  }
  if (args.mode == "hybrid") std::cout << "; " << config.fusion << ", alpha " << config.hybrid_alpha;
  std::cout << ")\n"
            << "  nDCG@10    " << m.ndcg_at_10 << "\n"
            << "  Recall@5   " << m.recall_at_5 << "\n"
            << "  Recall@10  " << m.recall_at_10 << "\n"
            << "  Recall@100 " << m.recall_at_100 << "\n"
            << "  MRR@10     " << m.mrr_at_10 << "\n"
            << std::setprecision(1) << "  " << m.queries << " queries; ingest " << report->ingest_seconds
            << " s (" << report->documents << " passages, " << report->chunks << " chunks); queries "
            << report->query_seconds << " s\n";
  if (args.answers) {
    for (const auto* a : {&report->with_retrieval, &report->without_retrieval}) {
      std::cout << std::setprecision(4) << "answers " << (a == &report->with_retrieval ? "with" : "without")
                << " retrieval (" << report->model << ", " << a->questions << " questions): accuracy " << a->accuracy
                << ", macro-F1 " << a->macro_f1 << std::setprecision(2) << ", TTFT " << a->mean_ttft_seconds
                << " s, " << a->tokens_per_second << " tokens/s\n";
    }
  }
  return 0;
}

}  // namespace kr::cli
