#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "generate/prompt.h"

namespace kr::generate {
namespace {

std::vector<std::string> texts(const std::vector<ExtractiveSentence>& sentences) {
  std::vector<std::string> out;
  for (const auto& s : sentences) out.push_back(s.text);
  return out;
}

Passage passage(std::string text) { return Passage{std::move(text), "doc", 0, 0}; }

TEST(ExtractiveAnswer, PicksTheMatchingSentence) {
  const std::vector<Passage> passages = {
      passage("Water is common. The boiling point of water is 100 degrees Celsius at sea level. Ice melts at zero."),
      passage("Mercury boils at 357 degrees.")};
  auto answer = extractive_answer("What is the boiling point of water?", passages, 1);
  ASSERT_EQ(answer.size(), 1u);
  EXPECT_EQ(answer[0].text, "The boiling point of water is 100 degrees Celsius at sea level.");
  EXPECT_EQ(answer[0].passage, 0u);
}

TEST(ExtractiveAnswer, ReturnsPassageThenSentenceOrder) {
  // No sentence holds every question term, so the close ones are all kept, in reading order.
  const std::vector<Passage> passages = {
      passage("Unrelated opening. GPU nodes are provisioned by the controller."),
      passage("Workspace GPU nodes use the preset instance type. Nothing else here."),
      passage("Provisioned GPU nodes take minutes.")};
  auto answer = extractive_answer("How are GPU nodes provisioned for a workspace?", passages, 3);
  EXPECT_EQ(texts(answer), (std::vector<std::string>{"GPU nodes are provisioned by the controller.",
                                                     "Workspace GPU nodes use the preset instance type.",
                                                     "Provisioned GPU nodes take minutes."}));
  EXPECT_EQ(answer[0].passage, 0u);
  EXPECT_EQ(answer[1].passage, 1u);
  EXPECT_EQ(answer[2].passage, 2u);
}

TEST(ExtractiveAnswer, OneSentenceHoldingEverythingIsTheWholeAnswer) {
  const std::vector<Passage> passages = {
      passage("GPU nodes are provisioned for each workspace by the controller."),
      passage("Workspace GPU nodes use the preset instance type.")};
  auto answer = extractive_answer("How are GPU nodes provisioned for a workspace?", passages, 3);
  EXPECT_EQ(texts(answer), (std::vector<std::string>{"GPU nodes are provisioned for each workspace by the controller."}));
}

TEST(ExtractiveAnswer, MarkupIsStripped) {
  auto answer = extractive_answer("What is the capital of Canada?",
                                  {passage("<country><name>Canada</name><capital>Ottawa</capital></country>")}, 3);
  ASSERT_EQ(answer.size(), 1u);
  EXPECT_EQ(answer[0].text, "Canada Ottawa");
}

TEST(ExtractiveAnswer, KeepsOnlySentencesCloseToTheBest) {
  const std::vector<Passage> passages = {
      passage("New employees receive 25 days of paid vacation per year."),
      passage("Employees receive up to 10 paid sick days per year in offices where local law does not provide more.")};
  auto answer = extractive_answer("How many days of paid vacation do new employees get?", passages, 3);
  EXPECT_EQ(texts(answer), (std::vector<std::string>{"New employees receive 25 days of paid vacation per year."}));
}

TEST(ExtractiveAnswer, RankBreaksTies) {
  const std::vector<Passage> passages = {passage("Filler sentence."), passage("Quotas limit tenants."),
                                         passage("Quotas limit tenants strictly.")};
  auto answer = extractive_answer("quotas tenants", passages, 1);
  ASSERT_EQ(answer.size(), 1u);
  EXPECT_EQ(answer[0].passage, 1u);
}

TEST(ExtractiveAnswer, PrefixStemming) {
  auto answer = extractive_answer("How do I configure the proxy?",
                                  {passage("Logs rotate daily. Proxy configuration lives in settings.yaml.")}, 1);
  ASSERT_EQ(answer.size(), 1u);
  EXPECT_EQ(answer[0].text, "Proxy configuration lives in settings.yaml.");
}

TEST(ExtractiveAnswer, AbbreviationsDoNotSplit) {
  const std::vector<Passage> passages = {
      passage("Dr. Smith tested it in the U.S. Army labs, e.g. at Fort Detrick. Results were published in 2021. "
              "See Fig. 3 for the setup.")};
  auto answer = extractive_answer("Where did Smith test it in the army labs?", passages, 1);
  ASSERT_EQ(answer.size(), 1u);
  EXPECT_EQ(answer[0].text, "Dr. Smith tested it in the U.S. Army labs, e.g. at Fort Detrick.");
  auto fig = extractive_answer("setup figure", passages, 1);
  ASSERT_EQ(fig.size(), 1u);
  EXPECT_EQ(fig[0].text, "See Fig. 3 for the setup.");
}

TEST(ExtractiveAnswer, SplitsOnNewlinesAndOtherPunctuation) {
  const std::vector<Passage> passages = {
      passage("Heading about clusters\nIs the cluster ready? Check the status first! Version 3.5 is current.")};
  auto answer = extractive_answer("cluster status version", passages, 5);
  EXPECT_EQ(texts(answer), (std::vector<std::string>{"Heading about clusters", "Is the cluster ready?",
                                                     "Check the status first!", "Version 3.5 is current."}));
}

TEST(ExtractiveAnswer, NoOverlapGivesTopPassageLead) {
  const std::vector<Passage> passages = {passage("  First sentence here. Second one."), passage("Other text.")};
  auto answer = extractive_answer("zebra giraffe", passages, 3);
  ASSERT_EQ(answer.size(), 1u);
  EXPECT_EQ(answer[0].text, "First sentence here.");
  EXPECT_EQ(answer[0].passage, 0u);
  // Stop words alone do not count as overlap.
  EXPECT_EQ(texts(extractive_answer("what is the", passages, 3)), std::vector<std::string>{"First sentence here."});
}

TEST(ExtractiveAnswer, LimitsAndEdgeCases) {
  const std::vector<Passage> passages = {passage("Alpha beta. Alpha gamma. Alpha delta. Alpha epsilon.")};
  EXPECT_EQ(extractive_answer("alpha", passages, 2).size(), 2u);
  EXPECT_TRUE(extractive_answer("alpha", passages, 0).empty());
  EXPECT_TRUE(extractive_answer("alpha", {}, 3).empty());
  EXPECT_TRUE(extractive_answer("alpha", {passage("  \n ")}, 3).empty());
}

TEST(ExtractiveAnswer, DuplicateSentencesAcrossChunksAppearOnce) {
  const std::vector<Passage> passages = {passage("Backups run nightly. Restores take minutes."),
                                         passage("Backups run nightly. Snapshots are incremental.")};
  auto answer = extractive_answer("When do backups run?", passages, 3);
  EXPECT_EQ(texts(answer), std::vector<std::string>{"Backups run nightly."});
}

TEST(ExtractiveAnswer, NonAsciiCaseFolding) {
  auto answer = extractive_answer("ÜBERSICHT der Größe",
                                  {passage("Keine Daten. Die übersicht zeigt die größe der Cluster.")}, 1);
  ASSERT_EQ(answer.size(), 1u);
  EXPECT_EQ(answer[0].text, "Die übersicht zeigt die größe der Cluster.");
}

}  // namespace
}  // namespace kr::generate
