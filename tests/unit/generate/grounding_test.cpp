#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

#include "generate/grounding.h"

namespace kr::generate {
namespace {

Passage source(std::string text, std::string name = "handbook.md") {
  return Passage{std::move(text), std::move(name), 0, 0};
}

std::vector<std::string> texts(const std::vector<AnswerSentence>& sentences) {
  std::vector<std::string> out;
  for (const auto& s : sentences) out.push_back(s.text);
  return out;
}

TEST(SplitAnswer, CitationsStayWithTheirSentence) {
  const auto s = split_answer("New staff get 25 days of leave [1]. Requests go through the HR Portal [2][3].");
  ASSERT_EQ(s.size(), 2u);
  EXPECT_EQ(s[0].text, "New staff get 25 days of leave [1].");
  EXPECT_EQ(s[0].cited, std::vector<int>{1});
  EXPECT_EQ(s[1].cited, (std::vector<int>{2, 3}));
  // Citations after the period belong to the sentence before them.
  EXPECT_EQ(texts(split_answer("Leave is 25 days. [1] Carry-over is capped at 5 days. [2, 3]")),
            (std::vector<std::string>{"Leave is 25 days. [1]", "Carry-over is capped at 5 days. [2, 3]"}));
  EXPECT_EQ(split_answer("Leave is 25 days.\n[1]").size(), 1u);
  EXPECT_EQ(split_answer("Leave is 25 days.\n[1]")[0].cited, std::vector<int>{1});
  EXPECT_TRUE(split_answer("").empty());
  EXPECT_TRUE(split_answer("No citation here").at(0).cited.empty());
}

TEST(DropUnknownCitations, KeepsOnlyNumbersWithASource) {
  EXPECT_EQ(drop_unknown_citations("A [1]. B [7]. C [2, 9].", 2), "A [1]. B. C [2].");
  EXPECT_EQ(drop_unknown_citations("A [1-3].", 2), "A [1, 2].");
  EXPECT_EQ(drop_unknown_citations("A [1][4].", 3), "A [1].");
  EXPECT_EQ(drop_unknown_citations("See [the appendix] and [0].", 3), "See [the appendix] and.");
  EXPECT_EQ(drop_unknown_citations("Nothing cited.", 0), "Nothing cited.");
  EXPECT_EQ(drop_unknown_citations("Founded in [2019] by [1].", 1), "Founded in [2019] by [1].");
  EXPECT_EQ(drop_unknown_citations("A [1].", 0), "A.");
}

const std::vector<Passage> kSources = {
    source("New employees receive 25 days of paid vacation per year. Unused days may not be carried over."),
    source("Expense reports are filed in the Finance Portal within 30 days of travel.", "expenses.md")};

TEST(CheckGrounding, SupportedSentencesPass) {
  const auto r = check_grounding("New employees get 25 days of paid vacation each year [1]. Expense reports go to "
                                 "the Finance Portal within 30 days [2].",
                                 kSources, {}, 0.5);
  ASSERT_EQ(r.sentences.size(), 2u);
  EXPECT_EQ(r.supported, 2);
  EXPECT_EQ(r.unsupported, 0);
  EXPECT_EQ(r.sentences[0].source, 1);
  EXPECT_EQ(r.sentences[1].source, 2);
  EXPECT_GE(r.sentences[0].score, 0.5);
  EXPECT_DOUBLE_EQ(r.threshold, 0.5);
}

TEST(CheckGrounding, CorruptionsAreCaught) {
  // A swapped number, a dropped negation, a claim from nowhere, the right fact cited to the wrong source.
  for (const char* corrupt : {"New employees get 35 days of paid vacation each year [1].",
                              "Unused vacation days may be carried over [1].",
                              "The cafeteria serves vegetarian lunches on Fridays.",
                              "New employees get 25 days of paid vacation each year [2]."}) {
    const auto r = check_grounding(corrupt, kSources, {}, 0.5);
    ASSERT_EQ(r.sentences.size(), 1u) << corrupt;
    EXPECT_FALSE(r.sentences[0].supported) << corrupt << " scored " << r.sentences[0].score;
    EXPECT_EQ(r.sentences[0].source, 0) << corrupt;
    EXPECT_EQ(r.unsupported, 1);
  }
}

TEST(CheckGrounding, UncitedSentencesAreCheckedAgainstEverySource) {
  const auto r = check_grounding("Expense reports are filed in the Finance Portal within 30 days.", kSources, {}, 0.5);
  ASSERT_EQ(r.sentences.size(), 1u);
  EXPECT_TRUE(r.sentences[0].supported);
  EXPECT_EQ(r.sentences[0].source, 2);
  EXPECT_TRUE(r.sentences[0].cited.empty());
}

TEST(CheckGrounding, NotFoundAndEmptySentencesClaimNothing) {
  const auto r = check_grounding("I don't know based on the provided documents.", kSources, {}, 0.5);
  ASSERT_EQ(r.sentences.size(), 1u);
  EXPECT_TRUE(r.sentences[0].supported);
  EXPECT_EQ(r.sentences[0].source, 0);
  EXPECT_TRUE(check_grounding("", kSources, {}, 0.5).sentences.empty());
}

TEST(CheckGrounding, EncoderSimilaritySupportsParaphrases) {
  // Fake encoder: the paraphrase and the vacation sentence share a direction.
  SentenceEncoder encoder = [](const std::vector<std::string>& in, bool) -> Result<std::vector<std::vector<float>>> {
    std::vector<std::vector<float>> out;
    for (const auto& t : in) {
      const bool leave = t.find("25") != std::string::npos;
      out.push_back(leave ? std::vector<float>{1, 0} : std::vector<float>{0, 1});
    }
    return out;
  };
  const char* paraphrase = "New employees are entitled to 25 paid vacation days annually [1].";
  const auto r = check_grounding(paraphrase, kSources, encoder, 0.5);
  ASSERT_EQ(r.sentences.size(), 1u);
  EXPECT_DOUBLE_EQ(r.sentences[0].features.similarity, 1.0);
  EXPECT_DOUBLE_EQ(r.sentences[0].features.unmatched, 0.0);  // "entitled", "annually" aligned by the encoder
  EXPECT_DOUBLE_EQ(r.sentences[0].features.coverage, 1.0);    // ... and so covered
  EXPECT_TRUE(r.sentences[0].supported) << r.sentences[0].score;
  EXPECT_GT(r.sentences[0].score, check_grounding(paraphrase, kSources, {}, 0.5).sentences[0].score);
  // A failing encoder leaves the check lexical.
  SentenceEncoder broken = [](const std::vector<std::string>&, bool) -> Result<std::vector<std::vector<float>>> {
    return error(ErrorCode::kUnavailable, "down");
  };
  EXPECT_DOUBLE_EQ(check_grounding("New employees receive 25 days [1].", kSources, broken, 0.5).sentences[0]
                       .features.similarity,
                   -1.0);
}

// Fake MiniLM with a thesaurus: sentences share a direction when both hold "25"; single words share
// one when `synonyms` maps them to the same word, and are orthogonal otherwise.
SentenceEncoder thesaurus_encoder(std::map<std::string, std::string> synonyms) {
  return [synonyms](const std::vector<std::string>& in, bool) -> Result<std::vector<std::vector<float>>> {
    std::vector<std::string> keys;
    std::map<std::string, size_t> axis;
    for (const auto& t : in) {
      std::string key = t.find(' ') != std::string::npos ? (t.find("25") != std::string::npos ? " leave" : " other")
                        : synonyms.count(t)                 ? synonyms.at(t)
                                                            : t;
      axis.emplace(key, axis.size());
      keys.push_back(std::move(key));
    }
    std::vector<std::vector<float>> out;
    for (const auto& key : keys) {
      out.emplace_back(axis.size(), 0.0f);
      out.back()[axis.at(key)] = 1;
    }
    return out;
  };
}

const std::map<std::string, std::string> kThesaurus = {{"entitled", "receive"}, {"annually", "year"},
                                                       {"staff", "employees"},  {"holiday", "vacation"},
                                                       {"submitted", "filed"}};

TEST(CheckGrounding, ParaphrasesWithAlignedSynonymsAreSupported) {
  const SentenceEncoder encoder = thesaurus_encoder(kThesaurus);
  for (const char* paraphrase : {"New employees are entitled to 25 paid vacation days annually [1].",
                                 "New staff receive 25 days of paid holiday each year [1].",
                                 "Expense reports are submitted in the Finance Portal within 30 days of travel [2]."}) {
    const auto r = check_grounding(paraphrase, kSources, encoder, 0.5);
    ASSERT_EQ(r.sentences.size(), 1u) << paraphrase;
    EXPECT_DOUBLE_EQ(r.sentences[0].features.unmatched, 0.0) << paraphrase;
    EXPECT_DOUBLE_EQ(r.sentences[0].features.coverage, 1.0) << paraphrase;
    EXPECT_TRUE(r.sentences[0].supported) << paraphrase << " scored " << r.sentences[0].score;
    // Without the encoder the same words are missing.
    EXPECT_LT(check_grounding(paraphrase, kSources, {}, 0.5).sentences[0].features.coverage, 1.0) << paraphrase;
  }
}

TEST(CheckGrounding, AParaphraseThatSwapsAKeyTermIsStillFlagged) {
  const SentenceEncoder encoder = thesaurus_encoder(kThesaurus);
  // Each keeps the paraphrase's synonyms but swaps a term no source word aligns with.
  for (const char* swapped : {"New contractors are entitled to 25 paid vacation days annually [1].",
                              "New staff receive 25 days of paid sick leave each year [1].",
                              "Expense reports are submitted in the Payroll Portal within 30 days of travel [2]."}) {
    const auto r = check_grounding(swapped, kSources, encoder, 0.5);
    ASSERT_EQ(r.sentences.size(), 1u) << swapped;
    EXPECT_GT(r.sentences[0].features.unmatched, 0.0) << swapped;
    EXPECT_LT(r.sentences[0].features.coverage, 1.0) << swapped;
    EXPECT_FALSE(r.sentences[0].supported) << swapped << " scored " << r.sentences[0].score;
  }
}

const std::vector<Passage> kStudy = {
    source("Response to therapy was assessed by macroscopic measurement of the surgical specimen by a pathologist. "
           "Although the average stay was shorter for the HBO group, the difference did not reach significance.",
           "study.txt")};

TEST(CheckGrounding, ASwappedTermIsCaughtByItsUnmatchedWord) {
  const auto swapped = check_grounding("Response to therapy was assessed by macroscopic measurement of the surgical "
                                       "polymerase by a pathologist [1].",
                                       kStudy, {}, 0.5);
  ASSERT_EQ(swapped.sentences.size(), 1u);
  EXPECT_NEAR(swapped.sentences[0].features.unmatched, 1.0 / 3, 1e-9);  // "polymerase", weight 1, cap 3
  EXPECT_GT(swapped.sentences[0].features.coverage, 0.85);  // coverage alone barely moves
  EXPECT_FALSE(swapped.sentences[0].supported) << swapped.sentences[0].score;
}

TEST(CheckGrounding, AttributionLeadInsAreNotClaims) {
  for (const char* restated : {"According to the study, response to therapy was assessed by macroscopic measurement "
                               "of the surgical specimen by a pathologist [1].",
                               "The authors found that response to therapy was assessed by macroscopic measurement "
                               "of the surgical specimen by a pathologist [1]."}) {
    const auto r = check_grounding(restated, kStudy, {}, 0.5);
    ASSERT_EQ(r.sentences.size(), 1u);
    EXPECT_DOUBLE_EQ(r.sentences[0].features.unmatched, 0.0) << restated;
    EXPECT_DOUBLE_EQ(r.sentences[0].features.coverage, 1.0) << restated;
    EXPECT_TRUE(r.sentences[0].supported) << restated << " scored " << r.sentences[0].score;
  }
}

TEST(CheckGrounding, NegationCountsOnlyWhereTheClaimSharesTheNegatedTerm) {
  // The source sentence's "not" governs "reach significance", which this half does not restate.
  const auto half = check_grounding("Although the average stay was shorter for the HBO group [1].", kStudy, {}, 0.5);
  EXPECT_DOUBLE_EQ(half.sentences.at(0).features.negation_mismatch, 0.0);
  EXPECT_TRUE(half.sentences.at(0).supported) << half.sentences.at(0).score;
  const auto flipped = check_grounding("Although the average stay was shorter for the HBO group, the difference "
                                       "did reach significance [1].",
                                       kStudy, {}, 0.5);
  EXPECT_DOUBLE_EQ(flipped.sentences.at(0).features.negation_mismatch, 1.0);
  EXPECT_FALSE(flipped.sentences.at(0).supported) << flipped.sentences.at(0).score;
}

TEST(SupportedText, DropsUnsupportedSentences) {
  const auto r = check_grounding("New employees receive 25 days of paid vacation per year [1]. The cafeteria "
                                 "serves vegetarian lunches on Fridays.",
                                 kSources, {}, 0.5);
  EXPECT_EQ(supported_text(r), "New employees receive 25 days of paid vacation per year [1].");
}

TEST(GroundingPolicy, NamesRoundTrip) {
  for (const char* name : {"flag", "remove", "replace"}) {
    EXPECT_EQ(grounding_policy_name(*parse_grounding_policy(name)), name);
  }
  EXPECT_FALSE(parse_grounding_policy("drop"));
}

}  // namespace
}  // namespace kr::generate
