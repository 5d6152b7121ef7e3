// Answer evaluation on docqa-style question sets (../shared/eval/docqa-dev/questions.jsonl and
// tests/fixtures/eval/*.jsonl): ingest the files the questions name, ask every question through
// the product's answer path, score answers, citations and declines.
#pragma once

#include <functional>
#include <map>
#include <string>
#include <vector>

#include "core/config.h"
#include "core/status.h"
#include "generate/answerability.h"

namespace kr::eval {

struct QaQuestion {
  std::string id;
  std::string question;
  std::vector<std::string> answers;  // ["NOT_IN_DOCS"] for a negative
  std::string file;                  // relative to the corpus directory; "" for negatives
  int page = 0;                      // 1-based PDF page / PPTX slide; 0 = the file alone decides
  std::string type;
  std::string split = "dev";         // dev | calibration | check
  std::string set;                   // the question file's stem, e.g. "questions", "docqa-negatives"
  bool negative() const { return type == "negative"; }
};

// Reads a questions.jsonl; kInvalidArgument with file:line on malformed lines.
Result<std::vector<QaQuestion>> load_questions(const std::string& path);

// docqa-dev's answer matching: case-insensitive substring after collapsing whitespace, folding
// typographic dashes and quotes to ASCII and dropping thousands separators (as its check.py).
bool answer_matches(const std::string& answer, const std::vector<std::string>& expected);
// docqa-dev's decline rule: one of its decline phrases ("could not find", "not in the documents", ...).
bool is_decline(const std::string& answer);

struct QaOutcome {
  std::string id, set, split, type;
  bool negative = false;
  std::string answer;
  std::vector<std::string> cited;  // "file#page" of each cited source
  bool declined = false;
  bool answer_correct = false;     // answerable: matched and not declined
  bool citation_correct = false;   // answerable: a cited source names the file (and page)
  bool has_answerability = false;
  generate::Answerability answerability;
  double seconds = 0;
  std::string mode;             // generative | extractive (an empty model answer falls back to extractive)
  std::string prompt_style;     // a generated answer: chat | completion
  std::string grounding_action; // a generated answer: none | flagged | removed | replaced
  std::vector<std::string> sources;  // "file#page: text" of every source offered, best first (for misses)
};

struct QaScores {
  size_t answerable = 0, answer_correct = 0, citation_correct = 0, both_correct = 0, answered = 0;
  size_t negatives = 0, declined = 0;
};

struct QaReport {
  std::vector<QaOutcome> outcomes;
  std::map<std::string, QaScores> by_group;  // "<set>/<split>" and "all"
  std::string model;                         // "" = extractive
  std::string mode;                          // retrieval mode that ran
  size_t documents = 0, chunks = 0;
  double ingest_seconds = 0, answer_seconds = 0;
};

struct QaOptions {
  std::string corpus_dir;  // question files' paths are relative to it
  // Empty: a scratch directory removed afterwards; else kept and reused when it already holds the files.
  std::string index_dir;
  int top_k = 5;
  std::function<void(const std::string& phase, size_t done, size_t total)> progress;
};

Result<QaReport> evaluate_qa(const Config& config, const std::vector<QaQuestion>& questions, const QaOptions& options);

}  // namespace kr::eval
