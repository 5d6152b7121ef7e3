// Sentence evidence (see evidence.h).
#include "generate/evidence.h"

#include <algorithm>
#include <cctype>
#include <unordered_set>

#include "generate/sentences.h"

namespace kr::generate {

namespace {

constexpr size_t kMaxEncodedSentences = 96;  // bounds the encoder's work per question
constexpr double kNumberWeight = 3;          // "2019", "941": a near miss differs here
constexpr double kNameWeight = 2;            // "Galaxy", "LATAM"
// Selection score: similarity finds paraphrases, coverage keeps the question's specifics.
constexpr double kSimilarityShare = 0.55;
constexpr double kEncodedRankDecay = 0.1;  // the encoder already judges relevance: rank matters less
constexpr double kLexicalRankDecay = 0.3;

std::vector<std::string_view> words_of(std::string_view text) {
  std::vector<std::string_view> out;
  size_t i = 0;
  while (i < text.size()) {
    while (i < text.size() && std::isspace(static_cast<unsigned char>(text[i]))) ++i;
    const size_t start = i;
    while (i < text.size() && !std::isspace(static_cast<unsigned char>(text[i]))) ++i;
    if (i > start) out.push_back(text.substr(start, i - start));
  }
  return out;
}

double dot(const std::vector<float>& a, const std::vector<float>& b) {
  double sum = 0;
  for (size_t i = 0; i < a.size() && i < b.size(); ++i) sum += static_cast<double>(a[i]) * b[i];
  return sum;
}

}  // namespace

QuestionTerms question_terms(std::string_view question) {
  QuestionTerms terms;
  const auto words = words_of(question);
  for (size_t i = 0; i < words.size(); ++i) {
    const std::string_view word = words[i];
    const bool number = std::any_of(word.begin(), word.end(), [](char c) { return std::isdigit(static_cast<unsigned char>(c)); });
    const bool name = i > 0 && std::isupper(static_cast<unsigned char>(word.front()));
    const double weight = number ? kNumberWeight : name ? kNameWeight : 1.0;
    for (const std::string& stem : content_stems(word)) {
      double& w = terms.weights[stem];
      w = std::max(w, weight);
    }
  }
  for (const auto& [stem, weight] : terms.weights) terms.total += weight;
  return terms;
}

double term_coverage(const QuestionTerms& terms, const std::set<std::string>& stems) {
  if (terms.total <= 0) return 0;
  double found = 0;
  for (const auto& [stem, weight] : terms.weights) {
    if (stems.count(stem)) found += weight;
  }
  return found / terms.total;
}

Evidence gather_evidence(std::string_view question, const std::vector<Passage>& passages,
                         const SentenceEncoder& encoder, size_t max_passages) {
  Evidence evidence;
  const QuestionTerms terms = question_terms(question);
  std::unordered_set<std::string> seen;  // overlapping chunks repeat sentences
  for (size_t p = 0; p < passages.size() && p < max_passages; ++p) {
    const std::string text = strip_markup(passages[p].text);
    evidence.best_passage_coverage = std::max(
        evidence.best_passage_coverage, term_coverage(terms, content_stems(text + "\n" + passages[p].document_name)));
    size_t position = 0;
    for (const std::string_view sentence : split_sentences(text)) {
      if (!seen.insert(std::string(sentence)).second) continue;
      EvidenceSentence s;
      s.passage = p;
      s.position = position++;
      s.text = std::string(sentence);
      s.coverage = term_coverage(terms, content_stems(sentence));
      s.score = s.coverage / (1.0 + kLexicalRankDecay * static_cast<double>(p));
      evidence.sentences.push_back(std::move(s));
    }
  }
  auto by_score = [](const EvidenceSentence& a, const EvidenceSentence& b) { return a.score > b.score; };
  std::stable_sort(evidence.sentences.begin(), evidence.sentences.end(), by_score);
  for (const auto& s : evidence.sentences) evidence.best_coverage = std::max(evidence.best_coverage, s.coverage);
  if (!encoder || evidence.sentences.empty()) return evidence;

  // Encode the lexically best sentences (all of them for the usual top-k of short chunks).
  const size_t encoded = std::min(evidence.sentences.size(), kMaxEncodedSentences);
  std::vector<std::string> texts;
  for (size_t i = 0; i < encoded; ++i) texts.push_back(evidence.sentences[i].text);
  auto query = encoder({std::string(question)}, true);
  auto vectors = encoder(texts, false);
  if (!query || !vectors || query->size() != 1 || vectors->size() != encoded) return evidence;
  evidence.encoded = true;
  for (size_t i = 0; i < encoded; ++i) {
    EvidenceSentence& s = evidence.sentences[i];
    s.similarity = std::max(0.0, dot(query->front(), (*vectors)[i]));
    evidence.best_similarity = std::max(evidence.best_similarity, s.similarity);
    s.score = (kSimilarityShare * s.similarity + (1 - kSimilarityShare) * s.coverage) /
              (1.0 + kEncodedRankDecay * static_cast<double>(s.passage));
  }
  evidence.sentences.resize(encoded);  // unencoded ones have no comparable score
  std::stable_sort(evidence.sentences.begin(), evidence.sentences.end(), by_score);
  return evidence;
}

std::string answer_span(std::string_view sentence, const QuestionTerms& terms, size_t max_words) {
  const auto words = words_of(sentence);
  if (words.size() <= max_words || max_words == 0) return std::string(sentence);
  std::vector<double> weight(words.size(), 0);
  for (size_t i = 0; i < words.size(); ++i) {
    for (const std::string& stem : content_stems(words[i])) {
      if (auto it = terms.weights.find(stem); it != terms.weights.end()) weight[i] = std::max(weight[i], it->second);
    }
  }
  // The window with the most question-term weight; the answer usually follows the terms,
  // so a window starts a few words before its first term.
  double best = -1;
  size_t best_start = 0;
  double sum = 0;
  for (size_t i = 0; i < words.size(); ++i) {
    sum += weight[i];
    if (i >= max_words) sum -= weight[i - max_words];
    if (i + 1 >= max_words && sum > best) {
      best = sum;
      best_start = i + 1 - max_words;
    }
  }
  size_t first_term = best_start;
  while (first_term < best_start + max_words && weight[first_term] == 0) ++first_term;
  const size_t lead = 3;
  size_t start = first_term > best_start + lead ? first_term - lead : best_start;
  start = std::min(start, words.size() - max_words);
  const size_t end = start + max_words;
  const char* begin_ptr = words[start].data();
  const char* end_ptr = words[end - 1].data() + words[end - 1].size();
  std::string out = start > 0 ? "… " : "";
  out.append(begin_ptr, static_cast<size_t>(end_ptr - begin_ptr));
  if (end < words.size()) out += " …";
  return out;
}

}  // namespace kr::generate
