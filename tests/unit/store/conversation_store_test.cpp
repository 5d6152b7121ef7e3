#include "store/conversation_store.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>

namespace kr::store {
namespace {

namespace fs = std::filesystem;

std::string scratch_db() {
  const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
  const fs::path dir = fs::path(::testing::TempDir()) / ("kr_conv_" + std::string(info->name()) + "_" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  return (dir / "conversations.sqlite").string();
}

ConversationRecord conversation(const std::string& id, const std::string& owner, int64_t at) {
  return {id, owner, "Title " + id, "handbook", at, at, 0};
}

std::vector<TurnRecord> exchange(const std::string& question, const std::string& answer) {
  return {{0, "user", question, "", 0}, {0, "assistant", answer, R"({"mode":"generative"})", 0}};
}

TEST(ConversationStore, KeepsTurnsInOrderAcrossReopen) {
  const std::string path = scratch_db();
  {
    auto store = ConversationStore::open(path);
    ASSERT_TRUE(store) << store.status().message();
    ASSERT_TRUE((*store)->create(conversation("c1", "alice", 100)));
    auto added = (*store)->append("alice", "c1", exchange("How long is leave?", "20 weeks [1]."), std::nullopt, 110);
    ASSERT_TRUE(added) << added.status().message();
    ASSERT_EQ(added->size(), 2u);
    EXPECT_EQ((*added)[0].seq, 1);
    EXPECT_EQ((*added)[1].seq, 2);
  }
  auto store = ConversationStore::open(path);  // a restart: everything acknowledged is there
  ASSERT_TRUE(store);
  auto turns = (*store)->turns("alice", "c1");
  ASSERT_TRUE(turns);
  ASSERT_EQ(turns->size(), 2u);
  EXPECT_EQ((*turns)[0].role, "user");
  EXPECT_EQ((*turns)[0].content, "How long is leave?");
  EXPECT_EQ((*turns)[1].details, R"({"mode":"generative"})");
  auto record = (*store)->get("alice", "c1");
  ASSERT_TRUE(record);
  EXPECT_EQ(record->turn_count, 2);
  EXPECT_EQ(record->updated_at, 110);
}

TEST(ConversationStore, ReplaceFromRewritesTheTail) {
  auto store = ConversationStore::open(scratch_db());
  ASSERT_TRUE(store);
  ASSERT_TRUE((*store)->create(conversation("c1", "alice", 100)));
  ASSERT_TRUE((*store)->append("alice", "c1", exchange("q1", "a1"), std::nullopt, 101));
  ASSERT_TRUE((*store)->append("alice", "c1", exchange("q2", "a2"), std::nullopt, 102));
  auto replaced = (*store)->append("alice", "c1", exchange("q2", "a2 again"), 3, 103);
  ASSERT_TRUE(replaced);
  EXPECT_EQ((*replaced)[0].seq, 3);
  auto turns = (*store)->turns("alice", "c1");
  ASSERT_TRUE(turns);
  ASSERT_EQ(turns->size(), 4u);
  EXPECT_EQ((*turns)[3].content, "a2 again");
}

TEST(ConversationStore, OwnersSeeOnlyTheirOwn) {
  auto store = ConversationStore::open(scratch_db());
  ASSERT_TRUE(store);
  ASSERT_TRUE((*store)->create(conversation("a", "alice", 100)));
  ASSERT_TRUE((*store)->create(conversation("b", "bob", 100)));
  ASSERT_TRUE((*store)->create(conversation("a2", "alice", 200)));
  int64_t total = 0;
  auto listed = (*store)->list("alice", 0, 10, &total);
  ASSERT_TRUE(listed);
  EXPECT_EQ(total, 2);
  ASSERT_EQ(listed->size(), 2u);
  EXPECT_EQ((*listed)[0].id, "a2");  // newest first
  EXPECT_EQ((*store)->get("bob", "a").status().code(), ErrorCode::kNotFound);
  EXPECT_EQ((*store)->rename("bob", "a", "mine now", 300).code(), ErrorCode::kNotFound);
  EXPECT_EQ((*store)->remove("bob", "a").code(), ErrorCode::kNotFound);
  EXPECT_EQ((*store)->append("bob", "a", exchange("q", "a"), std::nullopt, 300).status().code(), ErrorCode::kNotFound);
  ASSERT_TRUE((*store)->rename("alice", "a", "Leave questions", 300));
  EXPECT_EQ((*store)->get("alice", "a")->title, "Leave questions");
  ASSERT_TRUE((*store)->remove("alice", "a"));
  EXPECT_EQ((*store)->get("alice", "a").status().code(), ErrorCode::kNotFound);
}

TEST(ConversationStore, PurgeDeletesOnlyStaleConversationsAndTheirTurns) {
  auto store = ConversationStore::open(scratch_db());
  ASSERT_TRUE(store);
  ASSERT_TRUE((*store)->create(conversation("old", "alice", 100)));
  ASSERT_TRUE((*store)->append("alice", "old", exchange("q", "a"), std::nullopt, 150));
  ASSERT_TRUE((*store)->create(conversation("new", "alice", 500)));
  auto purged = (*store)->purge_older_than(400);
  ASSERT_TRUE(purged);
  EXPECT_EQ(*purged, 1);
  EXPECT_EQ((*store)->get("alice", "old").status().code(), ErrorCode::kNotFound);
  EXPECT_TRUE((*store)->get("alice", "new"));
}

}  // namespace
}  // namespace kr::store
