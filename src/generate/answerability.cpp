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
};
// With the encoder: fitted on docqa-dev + docqa-negatives + handbook-qa (hybrid search,
// all-MiniLM-L6-v2), dev/calibration split.
constexpr Weights kEncoded{-2.642, 1.844, 0.611, 0.961, 0.700, 1.012};
// Lexical only: fitted on docqa-dev + docqa-negatives + handbook-qa (BM25 search), dev/calibration split.
constexpr Weights kLexical{-1.817, 2.460, 1.012, 0.0, 0.0, 0.0};

double logistic(double x) { return 1.0 / (1.0 + std::exp(-x)); }

}  // namespace

double answerability_score(const AnswerabilitySignals& s) {
  const bool encoded = s.sentence_similarity >= 0;
  const Weights& w = encoded ? kEncoded : kLexical;
  double x = w.bias + w.passage_coverage * s.passage_coverage + w.sentence_coverage * s.sentence_coverage;
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
