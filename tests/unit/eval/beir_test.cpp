#include "eval/beir.h"

#include <filesystem>

#include "../embed/model_paths.h"

#include <gtest/gtest.h>

#include <cmath>

namespace kr::eval {
static const std::string kBeirMini = std::string(KR_FIXTURE_DIR) + "/beir-mini";
namespace {

TEST(ScoreRun, MatchesHandComputedMetrics) {
  // q1: relevant {a, b}; ranking a, x, b  -> DCG = 1/log2(2) + 1/log2(4) = 1.5, IDCG = 1 + 1/log2(3)
  // q2: relevant {c}; ranking x, y       -> all zero
  const std::map<std::string, std::set<std::string>> relevant = {{"q1", {"a", "b"}}, {"q2", {"c"}}};
  const std::map<std::string, std::vector<std::string>> run = {{"q1", {"a", "x", "b"}}, {"q2", {"x", "y"}}};
  const auto m = score_run(run, relevant);
  const double ndcg_q1 = 1.5 / (1.0 + 1.0 / std::log2(3.0));
  EXPECT_EQ(m.queries, 2u);
  EXPECT_NEAR(m.ndcg_at_10, ndcg_q1 / 2, 1e-12);
  EXPECT_NEAR(m.recall_at_5, 0.5, 1e-12);     // (2/2 + 0) / 2
  EXPECT_NEAR(m.recall_at_10, 0.5, 1e-12);
  EXPECT_NEAR(m.recall_at_100, 0.5, 1e-12);
  EXPECT_NEAR(m.mrr_at_10, 0.5, 1e-12);       // (1/1 + 0) / 2
}

TEST(ScoreRun, OnlyTheTopTenCountForNdcgAndMrr) {
  std::vector<std::string> ranked;
  for (int i = 0; i < 10; ++i) ranked.push_back("n" + std::to_string(i));
  ranked.push_back("hit");  // rank 11
  const auto m = score_run({{"q", ranked}}, {{"q", {"hit"}}});
  EXPECT_EQ(m.ndcg_at_10, 0.0);
  EXPECT_EQ(m.mrr_at_10, 0.0);
  EXPECT_EQ(m.recall_at_10, 0.0);
  EXPECT_EQ(m.recall_at_100, 1.0);
}

TEST(ScoreRun, QueryWithoutResultsScoresZero) {
  const auto m = score_run({}, {{"q", {"a"}}});
  EXPECT_EQ(m.queries, 1u);
  EXPECT_EQ(m.ndcg_at_10, 0.0);
}

TEST(LoadBeir, ReadsCorpusQueriesAndQrels) {
  auto data = load_beir(kBeirMini);
  ASSERT_TRUE(data.is_ok()) << data.status().to_string();
  EXPECT_EQ(data->corpus.size(), 5u);
  EXPECT_EQ(data->corpus[1].second, "Cold chain\n\nRefrigerators in clinics often exceed the recommended temperature range.");
  ASSERT_EQ(data->queries.size(), 2u);  // q3 has no judgements
  EXPECT_EQ(data->relevant.at("q2"), (std::set<std::string>{"d3", "d4"}));
}

TEST(LoadBeir, MissingFolderIsAClearError) {
  auto data = load_beir("/nonexistent/beir");
  ASSERT_FALSE(data.is_ok());
  EXPECT_EQ(data.status().code(), ErrorCode::kInvalidArgument);
  EXPECT_NE(data.status().message().find("corpus.jsonl"), std::string::npos);
}

TEST(EvaluateBeir, Bm25FindsTheJudgedPassagesAndKeepsDuplicateTexts) {
  auto data = load_beir(kBeirMini);
  ASSERT_TRUE(data.is_ok());
  Config config;
  EvalOptions options;
  auto report = evaluate_beir(config, *data, options);
  ASSERT_TRUE(report.is_ok()) << report.status().to_string();
  EXPECT_EQ(report->documents, 5u);
  // d1 and d5 share their text; both are stored and both can be ranked.
  const auto& q1 = report->run.at("q1");
  EXPECT_NE(std::find(q1.begin(), q1.end(), "d5"), q1.end());
  EXPECT_EQ(report->run.at("q2").front().substr(0, 1), "d");
  EXPECT_GT(report->metrics.ndcg_at_10, 0.5);
  EXPECT_EQ(report->metrics.queries, 2u);
}

TEST(EvaluateBeir, DenseModeNeedsAnEmbeddingModel) {
  auto data = load_beir(kBeirMini);
  ASSERT_TRUE(data.is_ok());
  EvalOptions options;
  options.mode = "dense";
  auto report = evaluate_beir(Config{}, *data, options);
  ASSERT_FALSE(report.is_ok());
  EXPECT_EQ(report.status().code(), ErrorCode::kInvalidArgument);
  EXPECT_NE(report.status().message().find("--embedding-model"), std::string::npos);
  options.mode = "fuzzy";
  EXPECT_EQ(evaluate_beir(Config{}, *data, options).status().code(), ErrorCode::kInvalidArgument);
}

TEST(EvaluateBeir, DenseAndHybridWithTheLocalEncoder) {
  if (!std::filesystem::exists(embed::testing::minilm_dir() / "model.safetensors")) {
    GTEST_SKIP() << "all-MiniLM-L6-v2 not in " << embed::testing::model_cache() << "; run scripts/fetch_models.sh";
  }
  auto data = load_beir(kBeirMini);
  ASSERT_TRUE(data.is_ok());
  Config config;
  config.embedding_model = embed::testing::minilm_dir().string();
  for (const char* mode : {"dense", "hybrid"}) {
    EvalOptions options;
    options.mode = mode;
    auto report = evaluate_beir(config, *data, options);
    ASSERT_TRUE(report.is_ok()) << mode << ": " << report.status().to_string();
    EXPECT_EQ(report->documents, 5u);
    EXPECT_EQ(report->metrics.queries, 2u);
    EXPECT_GT(report->metrics.ndcg_at_10, 0.5) << mode;
    // Dense ranks every passage: the judged one is always within the top 10.
    EXPECT_DOUBLE_EQ(report->metrics.recall_at_10, 1.0) << mode;
  }
}

}  // namespace
}  // namespace kr::eval

namespace kr::eval {
namespace {

TEST(FirstDecision, TakesTheFirstDecisionWord) {
  EXPECT_EQ(first_decision("Yes, the study shows it [1]."), "yes");
  EXPECT_EQ(first_decision("The answer is NO: maybe later"), "no");
  EXPECT_EQ(first_decision("Maybe."), "maybe");
  EXPECT_EQ(first_decision("Nobody knows; yesterday"), "");  // whole words only
  EXPECT_EQ(first_decision(""), "");
}

TEST(ScoreDecisions, AccuracyAndMacroF1ByHand) {
  // gold: yes yes no maybe; predicted: yes no no "" -> 2 correct of 4.
  // yes: tp1 fp0 fn1 -> P1 R.5 F1 2/3; no: tp1 fp1 fn0 -> P.5 R1 F1 2/3; maybe: F1 0.
  const auto m = score_decisions({{"a", "yes"}, {"b", "no"}, {"c", "no"}, {"d", ""}},
                                 {{"a", "yes"}, {"b", "yes"}, {"c", "no"}, {"d", "maybe"}});
  EXPECT_EQ(m.questions, 4u);
  EXPECT_DOUBLE_EQ(m.accuracy, 0.5);
  EXPECT_NEAR(m.macro_f1, (2.0 / 3 + 2.0 / 3 + 0) / 3, 1e-12);
}

TEST(LoadBeir, KeepsReferenceAnswers) {
  auto data = load_beir(kBeirMini);
  ASSERT_TRUE(data.is_ok());
  EXPECT_EQ(data->queries[0].final_decision, "maybe");
  EXPECT_EQ(data->queries[1].final_decision, "yes");
}

TEST(EvaluateBeir, AnswersNeedAModel) {
  auto data = load_beir(kBeirMini);
  ASSERT_TRUE(data.is_ok());
  EvalOptions options;
  options.answers = true;
  auto report = evaluate_beir(Config{}, *data, options);
  ASSERT_FALSE(report.is_ok());
  EXPECT_EQ(report.status().code(), ErrorCode::kInvalidArgument);
}

}  // namespace
}  // namespace kr::eval
