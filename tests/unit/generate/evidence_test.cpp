#include <gtest/gtest.h>

#include <set>
#include <string>
#include <vector>

#include "generate/answerability.h"
#include "generate/evidence.h"
#include "generate/sentences.h"

namespace kr::generate {
namespace {

Passage passage(std::string text, std::string name = "doc") { return Passage{std::move(text), std::move(name), 0, 0}; }

TEST(StripMarkup, TagsEntitiesAndMarkdown) {
  EXPECT_EQ(strip_markup("<capital>Washington, DC</capital> and <capital>Ottawa</capital>"),
            "Washington, DC and Ottawa");
  EXPECT_EQ(strip_markup("## Vacation\n**25 days** of `paid` leave &amp; more"), "Vacation\n25 days of paid leave & more");
  EXPECT_EQ(strip_markup("a < b and c > d"), "a < b and c > d");  // comparisons are not tags
  EXPECT_EQ(strip_markup("<p class=\"x\">Hello</p>\n\n<br/>World"), "Hello\n\nWorld");
  EXPECT_EQ(strip_markup(""), "");
}

TEST(QuestionTerms, NumbersAndNamesWeighMore) {
  const QuestionTerms terms = question_terms("What was the revenue of Galaxy Gaming in 2019?");
  EXPECT_DOUBLE_EQ(terms.weights.at("2019"), 3.0);
  EXPECT_DOUBLE_EQ(terms.weights.at("galax"), 2.0);
  EXPECT_DOUBLE_EQ(terms.weights.at("reven"), 1.0);
  EXPECT_FALSE(terms.weights.count("what"));
  // The year is what a near miss lacks: coverage drops by its whole weight.
  EXPECT_NEAR(term_coverage(terms, content_stems("Galaxy Gaming revenue in 2021")), 5.0 / 8.0, 1e-9);
  EXPECT_DOUBLE_EQ(term_coverage(terms, content_stems("Galaxy Gaming revenue 2019")), 1.0);
  EXPECT_DOUBLE_EQ(term_coverage(question_terms("what is the"), content_stems("anything")), 0.0);
}

TEST(GatherEvidence, LexicalRanksByCoverageAndRank) {
  const std::vector<Passage> passages = {passage("Intro text. New employees receive 25 days of paid vacation."),
                                         passage("Vacation requests go through the HR Portal.")};
  const Evidence e = gather_evidence("How many days of paid vacation do new employees get?", passages);
  EXPECT_FALSE(e.encoded);
  ASSERT_EQ(e.sentences.size(), 3u);
  EXPECT_EQ(e.sentences[0].text, "New employees receive 25 days of paid vacation.");
  EXPECT_EQ(e.sentences[0].passage, 0u);
  EXPECT_EQ(e.sentences[0].position, 1u);
  EXPECT_DOUBLE_EQ(e.best_coverage, 1.0);
  EXPECT_DOUBLE_EQ(e.best_passage_coverage, 1.0);
}

TEST(AnswerKind, QuantityQuestions) {
  EXPECT_EQ(expected_answer_kind("How long can the first Herceptin infusion last?"), AnswerKind::kQuantity);
  EXPECT_EQ(expected_answer_kind("What tensile strength does the datasheet give?"), AnswerKind::kQuantity);
  EXPECT_EQ(expected_answer_kind("What share of 2021 revenue came from Client A?"), AnswerKind::kQuantity);
  EXPECT_EQ(expected_answer_kind("When did he join Leicester City?"), AnswerKind::kQuantity);
  EXPECT_EQ(expected_answer_kind("Who developed the test presentation?"), AnswerKind::kAny);
  EXPECT_EQ(expected_answer_kind("Which style is applied to the paragraph?"), AnswerKind::kAny);
  // Quantity nouns match at the start of a word only: "separate" is not "rate".
  EXPECT_EQ(expected_answer_kind("Which paragraphs are separate?"), AnswerKind::kAny);
}

TEST(NumbersIn, SeparatorsAndDecimals) {
  EXPECT_EQ(numbers_in("Sales 6,082 and 0.0919 at 26.1%; SNB22-3."),
            (std::set<std::string>{"6082", "0.0919", "26.1", "22", "3"}));
  EXPECT_TRUE(numbers_in("no digits here.").empty());
}

TEST(GatherEvidence, QuantityQuestionPrefersTheSentenceWithTheFigure) {
  // Both name Herceptin's infusion; only the second says how long.
  const std::vector<Passage> passages = {
      passage("Most people are given Herceptin via an infusion into a vein. The first infusion may take up to 90 "
              "minutes.")};
  const Evidence e = gather_evidence("How long can the first Herceptin infusion last?", passages);
  ASSERT_EQ(e.sentences.size(), 2u);
  EXPECT_EQ(e.sentences[0].text, "The first infusion may take up to 90 minutes.");
  EXPECT_TRUE(e.sentences[0].answers_kind);
  EXPECT_FALSE(e.sentences[1].answers_kind);
  EXPECT_DOUBLE_EQ(e.kind_coverage, e.sentences[0].coverage);
}

TEST(GatherEvidence, ShortNumbersTellListLinesApart) {
  const std::vector<Passage> passages = {
      passage("N = a TC 148 with entity indicator 7 has been input to identify a false refund claim case\n"
              "T = a TC 148 with entity indicator 5 has been input to identify a narcotics case")};
  const Evidence e = gather_evidence("What case is flagged when TC 148 is input with entity indicator 5?", passages);
  ASSERT_EQ(e.sentences.size(), 2u);
  EXPECT_EQ(e.sentences[0].text, "T = a TC 148 with entity indicator 5 has been input to identify a narcotics case");
  EXPECT_GT(e.sentences[0].coverage, e.sentences[1].coverage);
}

TEST(GatherEvidence, SpecificsCoverageMissesTheNearMissYear) {
  const std::vector<Passage> passages = {passage("Galaxy Gaming had 36 full-time employees in 2021.", "10k.html")};
  EXPECT_DOUBLE_EQ(gather_evidence("How many employees did Galaxy Gaming have in 2021?", passages).specifics_coverage,
                   1.0);
  // 2019 (weight 3) is absent, Galaxy and Gaming (2 each) are there.
  EXPECT_NEAR(gather_evidence("How many employees did Galaxy Gaming have in 2019?", passages).specifics_coverage,
              4.0 / 7.0, 1e-9);
  EXPECT_DOUBLE_EQ(gather_evidence("how many employees are there?", passages).specifics_coverage, 1.0);
}

TEST(GatherEvidence, EncoderSimilarityFindsParaphrases) {
  // A fake encoder: the question and the paraphrase share a direction, the distractor does not.
  SentenceEncoder encoder = [](const std::vector<std::string>& texts, bool) -> Result<std::vector<std::vector<float>>> {
    std::vector<std::vector<float>> out;
    for (const auto& t : texts) {
      const bool related = t.find("time off") != std::string::npos || t.find("oliday") != std::string::npos;
      out.push_back(related ? std::vector<float>{1, 0} : std::vector<float>{0, 1});
    }
    return out;
  };
  const std::vector<Passage> passages = {passage("Holiday rules apply to everyone. Staff get time off in lieu.")};
  const Evidence e = gather_evidence("How much holiday do I get?", passages, encoder);
  ASSERT_TRUE(e.encoded);
  EXPECT_DOUBLE_EQ(e.best_similarity, 1.0);
  EXPECT_EQ(e.sentences[0].text, "Holiday rules apply to everyone.");
  // A failing encoder leaves lexical evidence, not an error.
  SentenceEncoder broken = [](const std::vector<std::string>&, bool) -> Result<std::vector<std::vector<float>>> {
    return error(ErrorCode::kUnavailable, "down");
  };
  const Evidence lexical = gather_evidence("How much holiday do I get?", passages, broken);
  EXPECT_FALSE(lexical.encoded);
  EXPECT_EQ(lexical.sentences.size(), 2u);
}

TEST(AnswerSpan, CutsLongSentencesAroundTheTerms) {
  std::string sentence;
  for (int i = 0; i < 60; ++i) sentence += "filler" + std::to_string(i) + " ";
  sentence += "the tensile strength is 1000 N/mm2";
  for (int i = 0; i < 30; ++i) sentence += " tail" + std::to_string(i);
  const std::string span = answer_span(sentence, question_terms("What tensile strength?"), 12);
  EXPECT_EQ(span.rfind("… ", 0), 0u);
  EXPECT_NE(span.find("tensile strength is 1000"), std::string::npos);
  EXPECT_EQ(answer_span("Short one.", question_terms("short"), 12), "Short one.");
}

TEST(Answerability, ScoreRisesWithEvidenceAndThresholdDecides) {
  AnswerabilitySignals weak{0.2, 0.1, 0.2, -1, -1};
  AnswerabilitySignals strong{1.0, 0.9, 0.8, -1, -1};
  EXPECT_LT(answerability_score(weak), answerability_score(strong));
  const Answerability judged = judge_answerability(strong, 0.5);
  EXPECT_EQ(judged.answerable, judged.score >= 0.5);
  EXPECT_DOUBLE_EQ(judged.threshold, 0.5);
  EXPECT_FALSE(judge_answerability(weak, 1.0).answerable);
  EXPECT_TRUE(judge_answerability(weak, 0.0).answerable);
  // Lexical-only signals (no encoder) are scored too.
  AnswerabilitySignals lexical_weak{0.1, 0.1, -1, -1, -1}, lexical_strong{1.0, 1.0, -1, -1, -1};
  EXPECT_LT(answerability_score(lexical_weak), answerability_score(lexical_strong));
}

TEST(Answerability, NearMissWithTheYearMissingIsDeclined) {
  // Signals of "How many full-time staff did Galaxy Gaming have in 2019?" over a 10-K that has 2021's figure:
  // the words are all there, the year (weight 3 of the specifics' 7) is not.
  AnswerabilitySignals near_miss{0.7, 0.7, -1, -1, -1, 4.0 / 7.0, 0.5};
  AnswerabilitySignals answerable = near_miss;
  answerable.specifics_coverage = 1.0;
  EXPECT_FALSE(judge_answerability(near_miss, 0.5).answerable);
  EXPECT_TRUE(judge_answerability(answerable, 0.5).answerable);
}

}  // namespace
}  // namespace kr::generate
