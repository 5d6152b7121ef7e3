#include "eval/qa_eval.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

namespace kr::eval {
namespace {

TEST(QaEval, AnswerMatchingFollowsDocqaNormalisation) {
  EXPECT_TRUE(answer_matches("Zone LATAM sales were 6,082 million [1]", {"6082"}));
  EXPECT_TRUE(answer_matches("about 10–20 nodes", {"10-20"}));
  EXPECT_TRUE(answer_matches("The  Signature\nstyle", {"signature style"}));
  EXPECT_TRUE(answer_matches("It’s 5:00 pm Wednesday", {"5:00 pm wednesday"}));
  EXPECT_FALSE(answer_matches("90 days", {"ninety days"}));
  EXPECT_FALSE(answer_matches("1,2345", {"12345"}));  // not a thousands separator
  EXPECT_FALSE(answer_matches("anything", {""}));
}

TEST(QaEval, DeclinePhrases) {
  EXPECT_TRUE(is_decline("I could not find this in your documents."));
  EXPECT_TRUE(is_decline("NOT_IN_DOCS"));
  EXPECT_TRUE(is_decline("The booklet does not specify it."));
  EXPECT_FALSE(is_decline("The ISBN is 978-1-925136-01-0."));
}

TEST(QaEval, LoadQuestions) {
  const auto dir = std::filesystem::temp_directory_path() / "kr_qa_eval_test";
  std::filesystem::create_directories(dir);
  const auto good = (dir / "set-a.jsonl").string();
  std::ofstream(good) << R"({"id":"q1","question":"Q?","answers":["x"],"file":"a.pdf","page":3,"type":"factual"})"
                      << "\n\n"
                      << R"({"id":"n1","question":"N?","answers":["NOT_IN_DOCS"],"file":"","page":null,)"
                      << R"("type":"negative","split":"check"})" << "\n";
  auto loaded = load_questions(good);
  ASSERT_TRUE(loaded) << loaded.status().message();
  ASSERT_EQ(loaded->size(), 2u);
  EXPECT_EQ((*loaded)[0].page, 3);
  EXPECT_EQ((*loaded)[0].split, "dev");
  EXPECT_EQ((*loaded)[0].set, "set-a");
  EXPECT_TRUE((*loaded)[1].negative());
  EXPECT_EQ((*loaded)[1].page, 0);
  EXPECT_EQ((*loaded)[1].split, "check");

  const auto bad = (dir / "bad.jsonl").string();
  std::ofstream(bad) << R"({"id":"q1","question":"Q?","answers":["x"],"file":"","type":"factual"})" << "\n";
  auto rejected = load_questions(bad);
  ASSERT_FALSE(rejected);
  EXPECT_NE(rejected.status().message().find("bad.jsonl:1"), std::string::npos);
  EXPECT_FALSE(load_questions((dir / "missing.jsonl").string()));
  std::filesystem::remove_all(dir);
}

// The committed fixtures load and follow their README: every third question is held back.
TEST(QaEval, CommittedFixturesLoad) {
  for (const char* name : {"docqa-negatives.jsonl", "handbook-qa.jsonl"}) {
    auto loaded = load_questions(std::string(KR_FIXTURE_DIR) + "/eval/" + name);
    ASSERT_TRUE(loaded) << loaded.status().message();
    size_t check = 0;
    for (const auto& q : *loaded) check += q.split == "check";
    EXPECT_GE(check * 3 + 2, loaded->size()) << name;
    EXPECT_LE(check * 3, loaded->size() + 2) << name;
  }
}

}  // namespace
}  // namespace kr::eval
