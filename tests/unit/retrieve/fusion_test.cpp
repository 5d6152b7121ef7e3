#include "retrieve/fusion.h"

#include <gtest/gtest.h>

#include <map>

namespace kr::retrieve {
namespace {

TEST(Fusion, RrfUsesRanksNotScores) {
  // BM25 scores in the hundreds must not drown the cosines: only ranks count.
  std::vector<Candidate> lexical = {{1, 900.0}, {2, 800.0}, {3, 10.0}};
  std::vector<Candidate> dense = {{3, 0.91}, {4, 0.90}, {1, 0.20}};
  auto fused = fuse(lexical, dense, {.method = FusionMethod::kRrf, .alpha = 0.5, .rrf_k = 60});
  ASSERT_EQ(fused.size(), 4u);
  // 1: 1/61 + 1/63; 3: 1/63 + 1/61 -> tie, broken by best rank (both 1) then id.
  EXPECT_EQ(fused[0].id, 1u);
  EXPECT_EQ(fused[1].id, 3u);
  EXPECT_DOUBLE_EQ(fused[0].score, 1.0 / 61 + 1.0 / 63);
  EXPECT_EQ(fused[0].lexical_rank, 1);
  EXPECT_EQ(fused[0].dense_rank, 3);
  EXPECT_DOUBLE_EQ(*fused[0].lexical_score, 900.0);
  EXPECT_DOUBLE_EQ(*fused[0].dense_score, 0.20);
  // 2 (lexical rank 2) and 4 (dense rank 2) tie at 1/62; id order decides.
  EXPECT_EQ(fused[2].id, 2u);
  EXPECT_EQ(fused[3].id, 4u);
  EXPECT_FALSE(fused[3].lexical_score.has_value());
  EXPECT_EQ(fused[3].lexical_rank, 0);
}

TEST(Fusion, AlphaWeightsTheSides) {
  std::vector<Candidate> lexical = {{1, 5.0}, {2, 4.0}};
  std::vector<Candidate> dense = {{2, 0.9}, {1, 0.1}};
  EXPECT_EQ(fuse(lexical, dense, {.method = FusionMethod::kRrf, .alpha = 0.8})[0].id, 2u);
  EXPECT_EQ(fuse(lexical, dense, {.method = FusionMethod::kRrf, .alpha = 0.2})[0].id, 1u);
  EXPECT_EQ(fuse(lexical, dense, {.method = FusionMethod::kNormalized, .alpha = 0.8})[0].id, 2u);
  EXPECT_EQ(fuse(lexical, dense, {.method = FusionMethod::kNormalized, .alpha = 0.2})[0].id, 1u);
  // alpha 1 = dense only order; alpha 0 = lexical order.
  auto dense_only = fuse(lexical, dense, {.method = FusionMethod::kNormalized, .alpha = 1.0});
  EXPECT_EQ(dense_only[0].id, 2u);
}

TEST(Fusion, NormalizedScoresAreMinMaxPerList) {
  std::vector<Candidate> lexical = {{1, 30.0}, {2, 20.0}, {3, 10.0}};
  std::vector<Candidate> dense = {{3, 0.8}, {4, 0.6}};
  auto fused = fuse(lexical, dense, {.method = FusionMethod::kNormalized, .alpha = 0.5});
  std::map<uint64_t, double> score;
  for (const auto& f : fused) score[f.id] = f.score;
  EXPECT_DOUBLE_EQ(score[1], 0.5 * 1.0);
  EXPECT_DOUBLE_EQ(score[2], 0.5 * 0.5);
  EXPECT_DOUBLE_EQ(score[3], 0.5 * 0.0 + 0.5 * 1.0);
  EXPECT_DOUBLE_EQ(score[4], 0.5 * 0.0);
  for (const auto& f : fused) {
    EXPECT_GE(f.score, 0.0);
    EXPECT_LE(f.score, 1.0);
  }
}

TEST(Fusion, EmptySidesAndSingleEntries) {
  EXPECT_TRUE(fuse({}, {}, {}).empty());
  auto only_dense = fuse({}, {{7, 0.3}}, {.method = FusionMethod::kNormalized});
  ASSERT_EQ(only_dense.size(), 1u);
  EXPECT_DOUBLE_EQ(only_dense[0].score, 0.5);  // a single score normalizes to 1
  auto only_lexical = fuse({{7, 3.0}, {8, 3.0}}, {}, {.method = FusionMethod::kRrf});
  ASSERT_EQ(only_lexical.size(), 2u);
  EXPECT_EQ(only_lexical[0].id, 7u);
}

TEST(Fusion, ModeAndMethodNames) {
  for (auto mode : {SearchMode::kBm25, SearchMode::kDense, SearchMode::kHybrid}) {
    EXPECT_EQ(parse_search_mode(search_mode_name(mode)), mode);
  }
  EXPECT_EQ(parse_search_mode("semantic"), SearchMode::kDense);
  EXPECT_FALSE(parse_search_mode("fuzzy").has_value());
  EXPECT_EQ(parse_fusion_method("rrf"), FusionMethod::kRrf);
  EXPECT_EQ(parse_fusion_method("normalized"), FusionMethod::kNormalized);
  EXPECT_FALSE(parse_fusion_method("sum").has_value());
}

}  // namespace
}  // namespace kr::retrieve
