// Grounding check of a generated answer: each sentence scored against the sources it cites
// (all sources when it cites none) by lexical coverage, embedding similarity and
// contradiction cues (a number the source lacks, a negation it does not share, a content word
// its closest sentence lacks: grounding_alignment.h). The answerer
// applies the collection's policy to the result (service/answerer.cpp).
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "generate/evidence.h"
#include "generate/prompt.h"

namespace kr::generate {

enum class GroundingPolicy { kFlag, kRemove, kReplace };
std::optional<GroundingPolicy> parse_grounding_policy(std::string_view name);  // flag | remove | replace
std::string_view grounding_policy_name(GroundingPolicy policy);

// One sentence of an answer with the source numbers it cites ([2], [1][3], [1, 2], [1-3]).
struct AnswerSentence {
  std::string text;  // as written, citations included
  std::vector<int> cited;
};
// Sentences of a generated answer. Citations written after the end punctuation ("… leave. [2]
// Next …") belong to the sentence before them.
std::vector<AnswerSentence> split_answer(std::string_view answer);

// The answer without citation numbers outside 1..source_count: a group keeps its valid
// numbers ("[1, 9]" -> "[1]"), a group with none is removed with the space before it.
std::string drop_unknown_citations(std::string_view answer, int source_count);

// What the score of one sentence against one source is computed from.
struct SupportFeatures {
  // Weighted share of the sentence's terms found in the source (numbers, names weigh more); with an
  // encoder, a word aligned with one of its closest sentence (grounding_alignment.h) is found.
  double coverage = 0;
  double similarity = -1;      // best cosine to a sentence of the source; -1 without an encoder
  double missing_numbers = 0;  // 1 when the sentence has a number the source does not
  double negation_mismatch = 0;  // 1 when a term the sentence shares with its closest source sentence is negated in one only
  // Weight of the sentence's content words missing from its closest source sentence (words the
  // encoder aligns with one of that sentence are not missing; grounding_alignment.h), capped at
  // 3 and scaled to 0..1: a swapped term is one such word.
  double unmatched = 0;
};
// 0..1, higher = better supported; logistic weights calibrated on the labelled grounding set
// (tests/fixtures/eval/grounding-*.jsonl, calibration part; see BENCHMARKS.md "Grounding").
double support_score(const SupportFeatures& features);

struct GroundedSentence {
  std::string text;
  bool supported = true;
  double score = 1;
  int source = 0;  // best supporting source number; 0 = none
  std::vector<int> cited;
  SupportFeatures features;  // of the best source
};

struct GroundingReport {
  std::vector<GroundedSentence> sentences;
  int supported = 0;
  int unsupported = 0;
  double threshold = 0;
};

// Scores each sentence of `answer` against `sources` (source n = sources[n-1]). An attribution
// lead-in ("According to the study, ...") is not part of what a sentence claims. A sentence
// with no content terms, or one saying the documents do not hold the answer, claims
// nothing and is supported. An encoder failure leaves the check lexical, never an error.
GroundingReport check_grounding(std::string_view answer, const std::vector<Passage>& sources,
                                const SentenceEncoder& encoder, double threshold);

// The supported sentences of a checked answer, joined with spaces.
std::string supported_text(const GroundingReport& report);

}  // namespace kr::generate
