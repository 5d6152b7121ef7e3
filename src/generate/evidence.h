// Evidence for an answer: the passages' sentences scored against the question by term
// coverage and, with an encoder, embedding similarity. Extractive answers pick from it and
// the answerability decision reads its best scores.
#pragma once

#include <functional>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"
#include "generate/prompt.h"

namespace kr::generate {

// Embeds texts as L2-normalized vectors; `as_query` marks the question side. Empty function:
// lexical evidence only.
using SentenceEncoder =
    std::function<Result<std::vector<std::vector<float>>>(const std::vector<std::string>& texts, bool as_query)>;

// The question's content stems with weights: numbers and capitalized names weigh more, as a
// near miss ("revenue for 2019" when the documents hold 2021) differs in exactly those.
struct QuestionTerms {
  std::map<std::string, double> weights;
  double total = 0;
};
QuestionTerms question_terms(std::string_view question);

// What kind of answer the question asks for: a quantity ("how many", "what rate", "when", ...)
// is answered by a sentence holding a number the question does not; anything else by any sentence.
enum class AnswerKind { kAny, kQuantity };
AnswerKind expected_answer_kind(std::string_view question);
// Runs of digits (with inner '.' and ',' between digits, thousands separators dropped): "6,082" -> "6082".
std::set<std::string> numbers_in(std::string_view text);
// Weighted share (0..1) of the question's terms among `stems`; 0 when the question has none.
double term_coverage(const QuestionTerms& terms, const std::set<std::string>& stems);

struct EvidenceSentence {
  size_t passage = 0;     // index into the passages
  size_t position = 0;    // sentence order within its passage
  std::string text;       // markup stripped
  double coverage = 0;    // term_coverage of the sentence
  double similarity = 0;  // cosine to the question; 0 without an encoder
  bool answers_kind = true;  // holds the kind of answer asked for (a new number for a quantity)
  double kind_bonus = 0;     // > 0 when it holds a quantity question's new number
  double score = 0;       // selection score: coverage, answer kind and similarity, discounted by passage rank
};

// A sentence's lexical strength: its coverage, plus a bonus when it holds the number a quantity question asks for.
double lexical_match(const EvidenceSentence& s);

struct Evidence {
  std::vector<EvidenceSentence> sentences;  // best score first
  double best_coverage = 0;                 // over sentences
  double best_similarity = 0;               // over sentences (0 without an encoder)
  double best_passage_coverage = 0;         // a whole passage with its document name
  // The question's numbers and names (the terms a near miss changes) found anywhere in the passages,
  // weighted; 1 when the question has none.
  double specifics_coverage = 1;
  // Best coverage among sentences of the kind of answer asked for (a quantity question: holding a new number).
  double kind_coverage = 0;
  bool encoded = false;                     // similarity was computed
};

// Sentences of the first `max_passages` passages (duplicates from overlapping chunks once).
// An encoder failure leaves the evidence lexical (encoded = false), never an error: answering
// must not depend on the embedding model being up.
Evidence gather_evidence(std::string_view question, const std::vector<Passage>& passages,
                         const SentenceEncoder& encoder = {}, size_t max_passages = 8);

// The shortest run of at most `max_words` words of `sentence` holding the most question terms,
// with "…" where it was cut; the sentence itself when it is short enough.
std::string answer_span(std::string_view sentence, const QuestionTerms& terms, size_t max_words = 40);

}  // namespace kr::generate
