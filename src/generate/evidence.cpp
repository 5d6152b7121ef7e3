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
// Added to a sentence's coverage when it holds the kind of answer asked for: of two sentences naming
// the question's terms, the one with the figure answers "how long".
constexpr double kAnswerKindBonus = 0.2;

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

std::string lowercase(std::string_view text) {
  std::string out(text);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// Numbers of one or two digits standing alone ("indicator 5"): content_stems drops words this
// short, yet they are what tells two lines of a code list apart.
std::set<std::string> short_numbers(std::string_view text) {
  std::set<std::string> out;
  size_t i = 0;
  while (i < text.size()) {
    if (!std::isalnum(static_cast<unsigned char>(text[i]))) {
      ++i;
      continue;
    }
    const size_t start = i;
    bool digits = true;
    while (i < text.size() && std::isalnum(static_cast<unsigned char>(text[i]))) {
      digits = digits && std::isdigit(static_cast<unsigned char>(text[i]));
      ++i;
    }
    if (digits && i - start < 3) out.insert(std::string(text.substr(start, i - start)));
  }
  return out;
}

// Question terms plus its short numbers; stems of a sentence plus its short numbers.
QuestionTerms evidence_terms(std::string_view question) {
  QuestionTerms terms = question_terms(question);
  for (const std::string& number : short_numbers(question)) {
    if (terms.weights.emplace(number, kNumberWeight).second) terms.total += kNumberWeight;
  }
  return terms;
}

std::set<std::string> evidence_stems(std::string_view text) {
  std::set<std::string> stems = content_stems(text);
  stems.merge(short_numbers(text));
  return stems;
}

// A sentence holding a number the question does not.
bool has_new_number(std::string_view sentence, const std::set<std::string>& question_numbers) {
  for (const std::string& number : numbers_in(sentence)) {
    if (!question_numbers.count(number)) return true;
  }
  return false;
}

}  // namespace

double lexical_match(const EvidenceSentence& s) { return s.coverage + s.kind_bonus; }

AnswerKind expected_answer_kind(std::string_view question) {
  const std::string q = lowercase(question);
  static constexpr std::string_view kPhrases[] = {"how many", "how much", "how long", "how old",   "how big",
                                                  "how large", "how far", "how often", "what year", "which year",
                                                  "what date", "when "};
  for (std::string_view phrase : kPhrases) {
    if (q.find(phrase) != std::string::npos) return AnswerKind::kQuantity;
  }
  // Nouns that name a quantity ("what tensile strength", "what share of revenue"), as word prefixes.
  static constexpr std::string_view kQuantityNouns[] = {
      "rate",  "share",   "percent", "number", "amount", "price",  "cost",    "salary", "budget",  "population",
      "size",  "density", "temperature", "speed", "accuracy", "strength", "conductivity", "weight", "height",
      "length", "revenue", "sales", "profit", "income", "deadline", "capacity", "dose", "score", "figure"};
  for (std::string_view word : words_of(q)) {
    while (!word.empty() && !std::isalpha(static_cast<unsigned char>(word.back()))) word.remove_suffix(1);
    for (std::string_view noun : kQuantityNouns) {
      if (word.substr(0, noun.size()) == noun && word.size() <= noun.size() + 3) return AnswerKind::kQuantity;
    }
  }
  return AnswerKind::kAny;
}

std::set<std::string> numbers_in(std::string_view text) {
  std::set<std::string> out;
  size_t i = 0;
  while (i < text.size()) {
    if (!std::isdigit(static_cast<unsigned char>(text[i]))) {
      ++i;
      continue;
    }
    std::string number;
    while (i < text.size()) {
      const char c = text[i];
      if (std::isdigit(static_cast<unsigned char>(c))) {
        number += c;
      } else if ((c == '.' || c == ',') && i + 1 < text.size() && std::isdigit(static_cast<unsigned char>(text[i + 1]))) {
        if (c == '.') number += c;  // a decimal point stays, a thousands separator goes
      } else {
        break;
      }
      ++i;
    }
    out.insert(number);
  }
  return out;
}

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
  const QuestionTerms terms = evidence_terms(question);
  const bool quantity = expected_answer_kind(question) == AnswerKind::kQuantity;
  const std::set<std::string> question_numbers = numbers_in(question);
  QuestionTerms specifics;  // the numbers and names, which a near miss changes
  for (const auto& [stem, weight] : terms.weights) {
    if (weight > 1) specifics.weights[stem] = weight, specifics.total += weight;
  }
  std::set<std::string> all_stems;  // of every passage, with its document name
  std::unordered_set<std::string> seen;  // overlapping chunks repeat sentences
  for (size_t p = 0; p < passages.size() && p < max_passages; ++p) {
    const std::string text = strip_markup(passages[p].text);
    std::set<std::string> passage_stems = evidence_stems(text + "\n" + passages[p].document_name);
    evidence.best_passage_coverage = std::max(evidence.best_passage_coverage, term_coverage(terms, passage_stems));
    all_stems.merge(passage_stems);
    size_t position = 0;
    for (const std::string_view sentence : split_sentences(text)) {
      if (!seen.insert(std::string(sentence)).second) continue;
      EvidenceSentence s;
      s.passage = p;
      s.position = position++;
      s.text = std::string(sentence);
      s.coverage = term_coverage(terms, evidence_stems(sentence));
      s.answers_kind = !quantity || has_new_number(sentence, question_numbers);
      s.kind_bonus = quantity && s.answers_kind ? kAnswerKindBonus : 0;
      s.score = lexical_match(s) / (1.0 + kLexicalRankDecay * static_cast<double>(p));
      evidence.sentences.push_back(std::move(s));
    }
  }
  if (specifics.total > 0) evidence.specifics_coverage = term_coverage(specifics, all_stems);
  auto by_score = [](const EvidenceSentence& a, const EvidenceSentence& b) { return a.score > b.score; };
  std::stable_sort(evidence.sentences.begin(), evidence.sentences.end(), by_score);
  for (const auto& s : evidence.sentences) {
    evidence.best_coverage = std::max(evidence.best_coverage, s.coverage);
    if (s.answers_kind) evidence.kind_coverage = std::max(evidence.kind_coverage, s.coverage);
  }
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
    s.score = (kSimilarityShare * s.similarity + (1 - kSimilarityShare) * lexical_match(s)) /
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
