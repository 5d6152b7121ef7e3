// Term alignment for the grounding check (see grounding_alignment.h).
#include "generate/grounding_alignment.h"

#include <algorithm>
#include <cctype>
#include <regex>

#include "generate/sentences.h"

namespace kr::generate {

namespace {

// Words split at anything that is not a letter, a digit or part of a UTF-8 sequence, so that
// "pair-matched" gives the two words content_stems would see.
std::vector<std::string> pieces(std::string_view text) {
  std::vector<std::string> out;
  std::string word;
  for (char c : text) {
    const auto u = static_cast<unsigned char>(c);
    if (std::isalnum(u) || u >= 0x80) {
      word += static_cast<char>(std::tolower(u));
    } else if (!word.empty()) {
      out.push_back(std::move(word));
      word.clear();
    }
  }
  if (!word.empty()) out.push_back(std::move(word));
  return out;
}

bool has_digit(std::string_view word) {
  return std::any_of(word.begin(), word.end(), [](char c) { return std::isdigit(static_cast<unsigned char>(c)); });
}

bool negation_cue(const std::string& word) {
  static const std::set<std::string> cues = {"not", "no", "never", "none", "nothing", "neither", "nor", "cannot",
                                             "without"};
  return cues.count(word) > 0 || (word.size() > 3 && word.compare(word.size() - 3, 3, "n't") == 0);
}

}  // namespace

std::set<std::string> negated_stems(std::string_view text) {
  // Words with their apostrophes ("didn't", "didn’t" read as "didn't").
  std::vector<std::string> words;
  std::string word;
  for (size_t i = 0; i <= text.size(); ++i) {
    if (i + 3 <= text.size() && text.compare(i, 3, "\u2019") == 0) {
      word += '\'';
      i += 2;
      continue;
    }
    const auto u = i < text.size() ? static_cast<unsigned char>(text[i]) : ' ';
    if (std::isalnum(u) || u == '\'' || u >= 0x80) {
      word += static_cast<char>(std::tolower(u));
    } else if (!word.empty()) {
      words.push_back(std::move(word));
      word.clear();
    }
  }
  std::set<std::string> out;
  for (size_t i = 0; i < words.size(); ++i) {
    if (!negation_cue(words[i])) continue;
    int governed = 0;
    for (size_t j = i + 1; j < words.size() && governed < 2 && !negation_cue(words[j]); ++j) {
      for (const std::string& stem : content_stems(words[j])) {
        out.insert(stem);
        ++governed;
      }
    }
  }
  return out;
}

std::string strip_attribution(std::string_view claim) {
  static const std::regex lead(
      R"(^\s*(according to [^,0-9]{1,60},\s+|(the|this|these|our|its|their)\s+([a-z-]+\s+){0,3})"
      R"((reports?|found|finds?|shows?|showed|states?|stated|notes?|noted|concludes?|concluded|suggests?|suggested|)"
      R"(indicates?|indicated|demonstrates?|demonstrated|says?|said)\s+that\s+))",
      std::regex::icase);
  std::smatch m;
  const std::string text(claim);
  if (!std::regex_search(text, m, lead) || m.suffix().length() == 0) return text;
  return m.suffix().str();
}

std::vector<ClaimWord> claim_words(std::string_view claim, const QuestionTerms& terms) {
  std::vector<ClaimWord> out;
  std::set<std::string> seen;
  for (const std::string& word : pieces(claim)) {
    for (const std::string& stem : content_stems(word)) {
      if (!seen.insert(stem).second) continue;
      const auto it = terms.weights.find(stem);
      const double weight = it == terms.weights.end() ? 1.0 : it->second;
      out.push_back({word, stem, weight, weight <= 1.0 && !has_digit(word)});
    }
  }
  return out;
}

std::vector<std::string> content_words(std::string_view sentence) {
  std::vector<std::string> out;
  std::set<std::string> seen;
  for (std::string& word : pieces(sentence)) {
    if (!content_stems(word).empty() && seen.insert(word).second) out.push_back(std::move(word));
  }
  return out;
}

void WordVectors::request(const std::string& word) {
  if (requested_.size() < kMaxWords) requested_.insert(word);
}

void WordVectors::encode(const SentenceEncoder& encoder) {
  if (!encoder || requested_.empty()) return;
  const std::vector<std::string> words(requested_.begin(), requested_.end());
  auto out = encoder(words, false);
  if (!out || out->size() != words.size()) return;
  for (size_t i = 0; i < words.size(); ++i) vectors_[words[i]] = std::move((*out)[i]);
}

double WordVectors::similarity(const std::string& a, const std::string& b) const {
  const auto x = vectors_.find(a);
  const auto y = vectors_.find(b);
  if (x == vectors_.end() || y == vectors_.end()) return -1;
  double sum = 0;
  for (size_t i = 0; i < x->second.size() && i < y->second.size(); ++i) {
    sum += static_cast<double>(x->second[i]) * y->second[i];
  }
  return sum;
}

namespace {

// A plain word of the claim that the encoder puts near a word of the sentence.
bool aligned(const ClaimWord& w, const std::vector<std::string>& sentence_words, const WordVectors& vectors) {
  return w.alignable && std::any_of(sentence_words.begin(), sentence_words.end(), [&](const auto& s) {
           return vectors.similarity(w.word, s) >= kAlignedSimilarity;
         });
}

}  // namespace

double unmatched_weight(const std::vector<ClaimWord>& words, const std::set<std::string>& sentence_stems,
                        const std::vector<std::string>& sentence_words, const WordVectors& vectors) {
  double missing = 0;
  for (const ClaimWord& w : words) {
    if (!sentence_stems.count(w.stem) && !aligned(w, sentence_words, vectors)) missing += w.weight;
  }
  return missing;
}

double aligned_weight(const std::vector<ClaimWord>& words, const std::set<std::string>& source_stems,
                      const std::vector<std::string>& sentence_words, const WordVectors& vectors) {
  double found = 0;
  for (const ClaimWord& w : words) {
    if (!source_stems.count(w.stem) && aligned(w, sentence_words, vectors)) found += w.weight;
  }
  return found;
}

}  // namespace kr::generate
