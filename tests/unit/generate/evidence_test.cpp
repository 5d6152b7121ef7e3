#include <gtest/gtest.h>

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

}  // namespace
}  // namespace kr::generate
