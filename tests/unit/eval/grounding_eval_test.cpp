#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "eval/grounding_eval.h"

namespace kr::eval {
namespace {

std::string write_set(const std::string& text) {
  const auto path = std::filesystem::temp_directory_path() / ("grounding-" + std::to_string(::getpid()) + ".jsonl");
  std::ofstream(path) << text;
  return path.string();
}

constexpr const char* kSet =
    R"({"source": "s1", "text": "New employees receive 25 days of paid vacation per year."}
{"source": "s2", "text": "Expense reports are filed in the Finance Portal."}
{"id": "a", "split": "calibration", "label": "supported", "kind": "restated", "sentence": "New employees receive 25 days of paid vacation per year [1].", "sources": ["s1", "s2"]}
{"id": "b", "split": "calibration", "label": "unsupported", "kind": "number", "sentence": "New employees receive 35 days of paid vacation per year [1].", "sources": ["s1", "s2"]}
{"id": "c", "split": "held", "label": "unsupported", "kind": "other_doc", "sentence": "The cafeteria serves vegetarian lunches on Fridays [1].", "sources": ["s1", "s2"]}
{"id": "d", "split": "held", "label": "supported", "kind": "restated", "sentence": "Expense reports are filed in the Finance Portal [2].", "sources": ["s1", "s2"]}
)";

TEST(GroundingEval, LoadsScoresAndMeasuresPerSplit) {
  const std::string path = write_set(kSet);
  auto items = load_grounding_set(path);
  std::filesystem::remove(path);
  ASSERT_TRUE(items) << items.status().message();
  ASSERT_EQ(items->size(), 4u);
  EXPECT_EQ((*items)[1].sources.size(), 2u);
  EXPECT_TRUE((*items)[1].unsupported);
  const auto scores = score_grounding_set(*items, {});
  ASSERT_EQ(scores.size(), 4u);
  EXPECT_GT(scores[0].score, scores[1].score);  // the changed number costs support
  const auto held = measure_grounding(*items, scores, "held", 0.5);
  EXPECT_EQ(held.unsupported, 1u);
  EXPECT_EQ(held.caught, 1u);
  EXPECT_EQ(held.supported, 1u);
  EXPECT_EQ(held.false_alarms, 0u);
  EXPECT_EQ(held.by_kind.at("other_doc"), (std::pair<size_t, size_t>{1, 1}));
  EXPECT_DOUBLE_EQ(held.precision(), 1.0);
  // Calibrated on its part: flags the corrupted sentence, not the supported one.
  const double t = calibrate_grounding_threshold(*items, scores, "calibration", 0.0);
  EXPECT_GT(t, scores[1].score);
  EXPECT_LE(t, scores[0].score);
}

TEST(GroundingEval, MalformedSetsNameTheLine) {
  const std::string path = write_set(
      "{\"id\": \"a\", \"label\": \"supported\", \"sentence\": \"x\", \"sources\": [\"nope\"]}\n");
  auto items = load_grounding_set(path);
  std::filesystem::remove(path);
  ASSERT_FALSE(items);
  EXPECT_NE(items.status().message().find(":1: unknown source"), std::string::npos);
  EXPECT_EQ(load_grounding_set("/nonexistent/set.jsonl").status().code(), ErrorCode::kNotFound);
}

}  // namespace
}  // namespace kr::eval
