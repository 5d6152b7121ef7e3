// Extractive answers: the evidence sentences that best answer the question (see evidence.h).
#include <algorithm>
#include <string>
#include <vector>

#include "core/text.h"
#include "generate/evidence.h"
#include "generate/prompt.h"
#include "generate/sentences.h"

namespace kr::generate {

namespace {

// Sentences below this fraction of the best one's strength are left out: they match the
// topic, not the question.
constexpr double kMinRelativeScore = 0.75;
// A sentence holding every question term and this much ahead of the next is the whole answer.
constexpr double kSoleAnswerMargin = 0.9;
constexpr size_t kMaxSpanWords = 40;

}  // namespace

std::vector<ExtractiveSentence> extractive_answer(const std::string& question, const Evidence& evidence,
                                                  const std::vector<Passage>& passages, size_t max_sentences) {
  std::vector<ExtractiveSentence> out;
  if (max_sentences == 0 || evidence.sentences.empty()) return out;
  const QuestionTerms terms = question_terms(question);
  std::vector<const EvidenceSentence*> picked;
  const EvidenceSentence& best = evidence.sentences.front();
  if (best.score > 0) {
    const bool sole = best.coverage >= 0.999 && (evidence.sentences.size() == 1 ||
                                                  evidence.sentences[1].score < kSoleAnswerMargin * best.score);
    // Lexical evidence compares coverage (rank only orders); encoded evidence its combined score.
    const auto strength = [&evidence](const EvidenceSentence& s) {
      return evidence.encoded ? s.score : lexical_match(s);
    };
    const double floor = kMinRelativeScore * strength(best);
    for (const EvidenceSentence& s : evidence.sentences) {
      if (picked.size() >= (sole ? 1 : max_sentences)) break;
      if (strength(s) >= floor && (s.coverage > 0 || evidence.encoded)) picked.push_back(&s);
    }
  }
  if (picked.empty()) {  // nothing matches: the best-ranked passage's lead
    for (const EvidenceSentence& s : evidence.sentences) {
      if (s.passage == 0 && s.position == 0) picked.push_back(&s);
    }
    if (picked.empty()) picked.push_back(&best);
  }
  // Reading order: by passage rank, then as the sentences stand in their passage.
  std::sort(picked.begin(), picked.end(), [](const EvidenceSentence* a, const EvidenceSentence* b) {
    return a->passage != b->passage ? a->passage < b->passage : a->position < b->position;
  });
  for (const EvidenceSentence* s : picked) {
    if (s->passage < passages.size()) out.push_back({answer_span(s->text, terms, kMaxSpanWords), s->passage});
  }
  return out;
}

std::vector<ExtractiveSentence> extractive_answer(const std::string& question, const std::vector<Passage>& passages,
                                                  size_t max_sentences) {
  return extractive_answer(question, gather_evidence(question, passages), passages, max_sentences);
}

}  // namespace kr::generate
