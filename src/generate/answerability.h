// Whether the retrieved evidence answers the question: a calibrated score from retrieval and
// evidence signals, compared with a threshold (per collection, else the configured one).
#pragma once

#include <string>

namespace kr::generate {

// Signals of one question; a negative value = not available (no encoder, BM25-only search).
struct AnswerabilitySignals {
  double passage_coverage = 0;      // weighted question-term coverage of the best passage (with its document name)
  double sentence_coverage = 0;     // ... of the best sentence
  double sentence_similarity = -1;  // cosine of the most similar sentence to the question
  double top_dense = -1;            // cosine of the best retrieved chunk (dense or hybrid search)
  double agreement = -1;            // 1: the best BM25 chunk is among the best dense ones; 0: not
  double specifics_coverage = 1;    // weighted share of the question's numbers and names in any passage
  double kind_coverage = 0;         // best coverage among sentences of the kind of answer asked for
};

struct Answerability {
  bool answerable = true;
  double score = 0;      // 0..1, higher = better supported
  double threshold = 0;  // answerable = score >= threshold
  AnswerabilitySignals signals;
};

// Logistic score with weights fitted on the calibration questions (bench/calibrate_answerability.py):
// one weight set with the encoder's signals, one lexical-only set.
double answerability_score(const AnswerabilitySignals& signals);
Answerability judge_answerability(const AnswerabilitySignals& signals, double threshold);

// The fixed decline sentence; it starts with a phrase evaluation tools recognise as a decline.
inline constexpr const char* kDeclineAnswer = "I could not find this in your documents.";

}  // namespace kr::generate
