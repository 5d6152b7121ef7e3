// Answerability score (see answerability.h).
#include "generate/answerability.h"

#include <cmath>

namespace kr::generate {

namespace {

// Logistic-regression weights fitted by bench/calibrate_answerability.py on `kaito-rag eval --qa
// ... --dump` outputs of the dev and calibration questions only (never the check split); the bias
// is shifted so that the threshold chosen there (the highest that still answers >= 0.9 of the
// answerable questions) is 0.5, the default answer_threshold. BENCHMARKS.md "Answers" has the runs.
struct Weights {
  double bias, passage_coverage, sentence_coverage, sentence_similarity, top_dense, agreement;
  double specifics_coverage, kind_coverage;
};
// With the encoder: fitted on docqa-dev + docqa-negatives + handbook-qa (hybrid search,
// all-MiniLM-L6-v2 int8), dev/calibration split, with the two signals the lexical set has too.
constexpr Weights kEncoded{-3.906, 1.369, 0.254, 1.007, 1.113, 0.480, 1.686, 0.273};
// Lexical only: fitted on docqa-dev + docqa-negatives + handbook-qa (BM25 search), dev/calibration split,
// with the question's numbers/names found in the passages and the answer-kind coverage (2026-12-01 late).
constexpr Weights kLexical{-3.402, 1.903, 0.444, 0.0, 0.0, 0.0, 2.123, 0.451};

double logistic(double x) { return 1.0 / (1.0 + std::exp(-x)); }

}  // namespace

double answerability_score(const AnswerabilitySignals& s) {
  const bool encoded = s.sentence_similarity >= 0;
  const Weights& w = encoded ? kEncoded : kLexical;
  double x = w.bias + w.passage_coverage * s.passage_coverage + w.sentence_coverage * s.sentence_coverage +
             w.specifics_coverage * s.specifics_coverage + w.kind_coverage * s.kind_coverage;
  if (encoded) x += w.sentence_similarity * s.sentence_similarity;
  if (encoded && s.top_dense >= 0) x += w.top_dense * s.top_dense;
  if (encoded && s.agreement >= 0) x += w.agreement * s.agreement;
  return logistic(x);
}

Answerability judge_answerability(const AnswerabilitySignals& signals, double threshold) {
  Answerability out;
  out.signals = signals;
  out.score = answerability_score(signals);
  out.threshold = threshold;
  out.answerable = out.score >= threshold;
  return out;
}

}  // namespace kr::generate
