#include "generate/grounding_alignment.h"

#include <gtest/gtest.h>

#include <map>
#include <set>
#include <string>
#include <vector>

#include "generate/sentences.h"

namespace kr::generate {
namespace {

TEST(StripAttribution, DropsLeadInsThatOnlySayWhereAClaimComesFrom) {
  EXPECT_EQ(strip_attribution("According to the study, mortality fell by 12%."), "mortality fell by 12%.");
  EXPECT_EQ(strip_attribution("The authors found that mortality fell."), "mortality fell.");
  EXPECT_EQ(strip_attribution("The abstract reports that mortality fell."), "mortality fell.");
  EXPECT_EQ(strip_attribution("This handbook states that leave is 25 days."), "leave is 25 days.");
  EXPECT_EQ(strip_attribution("the employee handbook says that leave is 25 days."), "leave is 25 days.");
  // A lead-in with a number is a claim ("which report"); a sentence that is all lead-in stays whole.
  EXPECT_EQ(strip_attribution("According to the 2019 report, revenue grew."),
            "According to the 2019 report, revenue grew.");
  EXPECT_EQ(strip_attribution("The results showed a fall in mortality."), "The results showed a fall in mortality.");
  EXPECT_EQ(strip_attribution("Mortality fell."), "Mortality fell.");
}

TEST(ClaimWords, OneEntryPerStemWithItsWeight) {
  const std::string claim = "Patients in Manchester had 160 thermometers, and patients slept.";
  const auto words = claim_words(claim, question_terms(claim));
  std::map<std::string, ClaimWord> by_stem;
  for (const auto& w : words) by_stem[w.stem] = w;
  ASSERT_EQ(words.size(), 5u);  // patie, manch, 160, therm, slept
  EXPECT_EQ(words[0].word, "patients");
  EXPECT_TRUE(by_stem.at("therm").alignable);
  EXPECT_DOUBLE_EQ(by_stem.at("therm").weight, 1.0);
  EXPECT_FALSE(by_stem.at("manch").alignable);  // a name must match as written
  EXPECT_DOUBLE_EQ(by_stem.at("manch").weight, 2.0);
  EXPECT_FALSE(by_stem.at("160").alignable);  // so must a number
  EXPECT_DOUBLE_EQ(by_stem.at("160").weight, 3.0);
  EXPECT_EQ(content_words("The pair-matched analysis of the analysis"),
            (std::vector<std::string>{"pair", "matched", "analysis"}));
}

TEST(NegatedStems, TheFirstTwoContentWordsAfterEachCue) {
  EXPECT_EQ(negated_stems("The difference did not reach statistical significance."),
            (std::set<std::string>{"reach", "stati"}));
  EXPECT_EQ(negated_stems("Patients didn\u2019t improve; those without atypia did."),
            (std::set<std::string>{"impro", "atypi"}));  // a cue ends the words the one before governs
  EXPECT_TRUE(negated_stems("Mortality fell sharply.").empty());
  EXPECT_TRUE(negated_stems("It was not.").empty());
}

// A fake encoder with fixed word vectors: "annually" is near "year", "polymerase" near nothing.
SentenceEncoder word_encoder(int* calls) {
  return [calls](const std::vector<std::string>& texts, bool) -> Result<std::vector<std::vector<float>>> {
    ++*calls;
    static const std::map<std::string, std::vector<float>> table = {
        {"annually", {0.8f, 0.6f, 0}}, {"year", {1, 0, 0}}, {"polymerase", {0, 0, 1}}, {"specimen", {0, 1, 0}}};
    std::vector<std::vector<float>> out;
    for (const auto& t : texts) {
      const auto it = table.find(t);
      out.push_back(it == table.end() ? std::vector<float>{0, 0.6f, 0.8f} : it->second);
    }
    return out;
  };
}

TEST(UnmatchedWeight, CountsMissingWordsUnlessTheEncoderAlignsThem) {
  const std::string sentence = "New employees receive 25 days of paid leave per year.";
  const auto stems = content_stems(sentence);
  const auto sentence_words = content_words(sentence);
  const std::string claim = "New employees receive 25 days of paid leave annually.";
  const auto words = claim_words(claim, question_terms(claim));
  WordVectors none;
  EXPECT_DOUBLE_EQ(unmatched_weight(words, stems, sentence_words, none), 1.0);  // "annually"

  int calls = 0;
  WordVectors vectors;
  for (const auto& w : words) vectors.request(w.word);
  for (const auto& w : sentence_words) vectors.request(w);
  vectors.encode(word_encoder(&calls));
  EXPECT_EQ(calls, 1);
  EXPECT_TRUE(vectors.encoded());
  EXPECT_NEAR(vectors.similarity("annually", "year"), 0.8, 1e-6);
  EXPECT_DOUBLE_EQ(unmatched_weight(words, stems, sentence_words, vectors), 0.0);  // 0.8 >= kAlignedSimilarity

  // A swapped term is near no word of the sentence; a changed number or name is never aligned.
  const std::string swapped = "New employees receive 25 days of polymerase leave per year.";
  EXPECT_DOUBLE_EQ(unmatched_weight(claim_words(swapped, question_terms(swapped)), stems, sentence_words, vectors), 1.0);
  const std::string number = "New employees receive 250 days of paid leave per year in Berlin.";
  EXPECT_DOUBLE_EQ(unmatched_weight(claim_words(number, question_terms(number)), stems, sentence_words, vectors), 5.0);
}

TEST(WordVectors, AFailingEncoderLeavesNoVectors) {
  WordVectors vectors;
  vectors.request("year");
  vectors.encode([](const std::vector<std::string>&, bool) -> Result<std::vector<std::vector<float>>> {
    return error(ErrorCode::kUnavailable, "down");
  });
  EXPECT_FALSE(vectors.encoded());
  EXPECT_DOUBLE_EQ(vectors.similarity("year", "year"), -1.0);
  vectors.encode({});
  EXPECT_FALSE(vectors.encoded());
}

}  // namespace
}  // namespace kr::generate
