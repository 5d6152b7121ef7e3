// Answerability score (see answerability.h).
#include "generate/answerability.h"

#include <cmath>

namespace kr::generate {

namespace {

// Logistic-regression weights fitted by bench/calibrate_answerability.py on the calibration
// split (docqa-dev and tests/fixtures/eval/*.jsonl, split = calibration); never on the check split.
struct Weights {
  double bias, passage_coverage, sentence_coverage, sentence_similarity, top_dense, agreement;
};
constexpr Weights kEncoded{-6.0, 4.0, 2.0, 6.0, 0.0, 0.0};
constexpr Weights kLexical{-4.0, 5.0, 2.0, 0.0, 0.0, 0.0};

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
