// Term alignment for the grounding check (grounding.cpp): which content words of a claim its
// closest source sentence lacks. A word swapped for another ("surgical specimen" -> "surgical
// polymerase") leaves exactly one such word; a paraphrase's synonym ("annually" for "per
// year") is forgiven when the local encoder puts it near a word of that sentence.
#pragma once

#include <map>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "generate/evidence.h"

namespace kr::generate {

// The claim of an answer sentence without an attribution lead-in, which says where the claim
// comes from, not what it is: "According to the study, X" and "The authors found that X" -> "X".
// A lead-in with a number ("According to the 2019 report, ...") is kept: the year is a claim.
std::string strip_attribution(std::string_view claim);

// A content word of a claim: its surface form (case-folded), its stem (content_stems) and its
// weight in the claim's QuestionTerms (numbers and names weigh more).
struct ClaimWord {
  std::string word;
  std::string stem;
  double weight = 1;
  bool alignable = false;  // a plain lower-case word: numbers and names must match as written
};
// One entry per distinct stem, in text order.
std::vector<ClaimWord> claim_words(std::string_view claim, const QuestionTerms& terms);

// Case-folded content words of a source sentence (those with a content stem), distinct.
std::vector<std::string> content_words(std::string_view sentence);

// Stems a negation governs: the first two content words after each cue ("did not reach
// statistical significance" -> reach, stati; "without atypia" -> atypi). Comparing these rather
// than "is the sentence negated" keeps a negation elsewhere in a long source sentence from
// counting against a claim that restates only its other half.
std::set<std::string> negated_stems(std::string_view text);

// Word vectors for one answer, encoded in one batch: request() every word that may be
// compared, then encode(). A failed or absent encoder leaves no vectors (lexical alignment).
class WordVectors {
 public:
  static constexpr size_t kMaxWords = 512;  // bounds the encoder's work per answer
  void request(const std::string& word);
  void encode(const SentenceEncoder& encoder);
  bool encoded() const { return !vectors_.empty(); }
  // Cosine of two requested words; -1 when either has no vector.
  double similarity(const std::string& a, const std::string& b) const;

 private:
  std::set<std::string> requested_;
  std::map<std::string, std::vector<float>> vectors_;
};

// Cosine at which a missing word counts as found: near synonyms and inflections of MiniLM
// (all-MiniLM-L6-v2) single-word embeddings score above it, a word of an unrelated abstract below
// (BENCHMARKS.md "Grounding check").
inline constexpr double kAlignedSimilarity = 0.6;

// Summed weight of the claim's words missing from `sentence_stems` that no word of the sentence
// aligns with (similarity >= kAlignedSimilarity).
double unmatched_weight(const std::vector<ClaimWord>& words, const std::set<std::string>& sentence_stems,
                        const std::vector<std::string>& sentence_words, const WordVectors& vectors);

// Summed weight of the claim's words the whole source lacks (`source_stems`) that a word of the
// sentence aligns with: a paraphrase's synonyms, which count as covered ("annually" for "per year").
double aligned_weight(const std::vector<ClaimWord>& words, const std::set<std::string>& source_stems,
                      const std::vector<std::string>& sentence_words, const WordVectors& vectors);

}  // namespace kr::generate
