// kaito-rag eval --qa FILE --corpus DIR: answers, citations and declines on question sets.
#include <unistd.h>

#include <fstream>
#include <iomanip>
#include <iostream>
#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "eval/qa_eval.h"

namespace kr::cli {

namespace {

std::string ratio(size_t n, size_t of) { return std::to_string(n) + "/" + std::to_string(of); }

nlohmann::json scores_json(const eval::QaScores& s) {
  auto frac = [](size_t n, size_t of) { return of ? static_cast<double>(n) / static_cast<double>(of) : 0.0; };
  return {{"answerable", s.answerable},
          {"answer_correct", frac(s.answer_correct, s.answerable)},
          {"citation_correct", frac(s.citation_correct, s.answerable)},
          {"both_correct", frac(s.both_correct, s.answerable)},
          {"answered", frac(s.answered, s.answerable)},
          {"negatives", s.negatives},
          {"declined", frac(s.declined, s.negatives)}};
}

nlohmann::json outcome_json(const eval::QaOutcome& o) {
  nlohmann::json j = {{"id", o.id},         {"set", o.set},
                      {"split", o.split},   {"negative", o.negative},
                      {"answer", o.answer}, {"cited", o.cited},
                      {"declined", o.declined}, {"answer_correct", o.answer_correct},
                      {"citation_correct", o.citation_correct}, {"seconds", o.seconds},
                      {"mode", o.mode}, {"sources", o.sources}};
  if (!o.prompt_style.empty()) j["prompt_style"] = o.prompt_style;
  if (!o.grounding_action.empty()) j["grounding_action"] = o.grounding_action;
  if (o.has_answerability) {
    const auto& a = o.answerability;
    j["answerability"] = {{"answerable", a.answerable},
                          {"score", a.score},
                          {"threshold", a.threshold},
                          {"passage_coverage", a.signals.passage_coverage},
                          {"sentence_coverage", a.signals.sentence_coverage},
                          {"sentence_similarity", a.signals.sentence_similarity},
                          {"top_dense", a.signals.top_dense},
                          {"agreement", a.signals.agreement},
                          {"specifics_coverage", a.signals.specifics_coverage},
                          {"kind_coverage", a.signals.kind_coverage}};
  }
  return j;
}

}  // namespace

int eval_qa(const Config& config, const EvalArgs& args) {
  std::vector<eval::QaQuestion> questions;
  for (const std::string& file : args.qa_files) {
    auto loaded = eval::load_questions(file);
    if (!loaded) {
      std::cerr << "kaito-rag: " << loaded.status().message() << "\n";
      return 1;
    }
    questions.insert(questions.end(), loaded->begin(), loaded->end());
  }
  const bool tty = isatty(STDERR_FILENO);
  eval::QaOptions options;
  options.corpus_dir = args.corpus_dir;
  options.index_dir = args.index_dir;
  options.top_k = args.top_k;
  options.progress = [tty](const std::string& phase, size_t done, size_t total) {
    if (!tty && done != total) return;
    std::cerr << (tty ? "\r\033[K" : "") << phase << " " << done << "/" << total << (tty ? "" : "\n") << std::flush;
  };
  auto report = eval::evaluate_qa(config, questions, options);
  if (tty) std::cerr << "\n";
  if (!report) {
    std::cerr << "kaito-rag: " << report.status().message() << "\n";
    return 1;
  }
  if (!args.dump_file.empty()) {
    std::ofstream out(args.dump_file);
    for (const auto& o : report->outcomes) out << outcome_json(o).dump() << "\n";
  }
  const std::string answerer = report->model.empty() ? "extractive" : report->model;
  if (args.json) {
    nlohmann::json groups = nlohmann::json::object();
    for (const auto& [name, s] : report->by_group) groups[name] = scores_json(s);
    nlohmann::json outcomes = nlohmann::json::array();
    for (const auto& o : report->outcomes) outcomes.push_back(outcome_json(o));
    std::cout << nlohmann::json{{"answers", answerer},
                                {"search_mode", report->mode},
                                {"top_k", args.top_k},
                                {"answer_threshold", config.answer_threshold},
                                {"documents", report->documents},
                                {"chunks", report->chunks},
                                {"ingest_seconds", report->ingest_seconds},
                                {"answer_seconds", report->answer_seconds},
                                {"groups", groups},
                                {"outcomes", outcomes}}
                     .dump(2)
              << "\n";
    return 0;
  }
  std::cout << "answers: " << answerer << "; search " << report->mode << ", top-k " << args.top_k
            << ", answer threshold " << config.answer_threshold << "; " << report->documents << " files, "
            << report->chunks << " chunks\n";
  std::cout << std::left << std::setw(34) << "questions" << std::setw(10) << "answer" << std::setw(10) << "citation"
            << std::setw(10) << "both" << std::setw(10) << "answered" << "declined\n";
  for (const auto& [name, s] : report->by_group) {
    std::cout << std::setw(34) << name << std::setw(10) << ratio(s.answer_correct, s.answerable) << std::setw(10)
              << ratio(s.citation_correct, s.answerable) << std::setw(10) << ratio(s.both_correct, s.answerable)
              << std::setw(10) << ratio(s.answered, s.answerable) << ratio(s.declined, s.negatives) << "\n";
  }
  std::cout << std::setprecision(1) << std::fixed << "ingest " << report->ingest_seconds << " s, answers "
            << report->answer_seconds << " s (" << report->outcomes.size() << " questions)\n";
  return 0;
}

}  // namespace kr::cli
