// assemble_chat_prompt (multi-turn prompts within the context window) and the condensing request.
#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

#include "core/text.h"
#include "generate/prompt.h"

namespace kr::generate {
namespace {

Result<int> estimate_count(const std::vector<ChatMessage>& m) { return estimate_messages_tokens(m); }

Result<int> strict_count(const std::vector<ChatMessage>& messages) {
  int total = 10;
  for (const auto& m : messages) total += static_cast<int>(m.content.size() / 2) + 4;
  return total;
}

Result<int> lenient_count(const std::vector<ChatMessage>& messages) {
  int total = 3;
  for (const auto& m : messages) total += static_cast<int>(m.content.size() / 6) + 4;
  return total;
}

std::string words(std::mt19937& rng, int n) {
  static const std::vector<std::string> vocab = {"policy", "leave", "travel", "GPU", "node", "vacation", "days",
                                                 "cluster", "model", "expense", "report", "the", "is", "and"};
  std::string out;
  for (int i = 0; i < n; ++i) out += vocab[rng() % vocab.size()] + (i + 1 < n ? " " : ".");
  return out;
}

std::vector<ChatMessage> conversation(std::mt19937& rng, size_t turns, int words_per_turn) {
  std::vector<ChatMessage> out;
  for (size_t i = 0; i < turns; ++i) {
    out.push_back({i % 2 == 0 ? "user" : "assistant",
                   "turn" + std::to_string(i) + " " + words(rng, 1 + static_cast<int>(rng() % words_per_turn))});
  }
  return out;
}

std::vector<Passage> passages_of(std::mt19937& rng, size_t n) {
  std::vector<Passage> out(n);
  for (size_t i = 0; i < n; ++i) {
    out[i].text = words(rng, 5 + static_cast<int>(rng() % 200));
    out[i].document_name = "doc" + std::to_string(i) + ".pdf";
  }
  return out;
}

TEST(AssembleChatPrompt, LayoutWithHistoryAndClientSystemMessage) {
  const std::vector<ChatMessage> history = {{"system", "Answer in French."},
                                            {"user", "How many vacation days?"},
                                            {"assistant", "25 days [1]."}};
  const std::vector<Passage> passages = {{"Employees get 25 days of vacation.", "handbook.md", 0, 0}};
  auto p = assemble_chat_prompt(history, "And sick days?", passages, Budget{}, estimate_count, 0.5);
  ASSERT_TRUE(p.is_ok()) << p.status().to_string();
  ASSERT_EQ(p->messages.size(), 4u);
  EXPECT_EQ(p->messages[0].role, "system");
  EXPECT_NE(p->messages[0].content.find("numbered sources"), std::string::npos);
  EXPECT_NE(p->messages[0].content.find("Answer in French."), std::string::npos);
  EXPECT_EQ(p->messages[1].role, "user");
  EXPECT_EQ(p->messages[1].content, "How many vacation days?");
  EXPECT_EQ(p->messages[2].role, "assistant");
  EXPECT_EQ(p->messages[3].role, "user");
  EXPECT_NE(p->messages[3].content.find("[1] (handbook.md)"), std::string::npos);
  EXPECT_NE(p->messages[3].content.find("Question: And sick days?"), std::string::npos);
  EXPECT_EQ(p->history_used, 2u);
  EXPECT_EQ(p->prompt_tokens, estimate_messages_tokens(p->messages));
}

TEST(AssembleChatPrompt, WithoutHistoryAndFullRatioItIsAssemblePrompt) {
  std::mt19937 rng(3);
  const auto passages = passages_of(rng, 8);
  Budget budget;
  budget.context_window = 900;
  budget.answer_tokens = 200;
  auto chat = assemble_chat_prompt({}, "What about GPU nodes?", passages, budget, strict_count, 1.0);
  auto single = assemble_prompt("What about GPU nodes?", passages, budget, strict_count);
  ASSERT_TRUE(chat.is_ok() && single.is_ok());
  EXPECT_EQ(chat->used_passages, single->used_passages);
  ASSERT_EQ(chat->messages.size(), single->messages.size());
  for (size_t i = 0; i < chat->messages.size(); ++i) EXPECT_EQ(chat->messages[i].content, single->messages[i].content);
}

TEST(AssembleChatPrompt, DropsTheOldestWholeTurnsFirst) {
  std::mt19937 rng(5);
  const auto history = conversation(rng, 20, 60);
  const auto passages = passages_of(rng, 4);
  Budget budget;
  budget.context_window = 1000;
  budget.answer_tokens = 200;
  auto p = assemble_chat_prompt(history, "And then?", passages, budget, estimate_count, 0.5);
  ASSERT_TRUE(p.is_ok()) << p.status().to_string();
  ASSERT_GT(p->history_used, 0u);
  ASSERT_LT(p->history_used, history.size());
  // The kept turns are the latest ones, whole and in order, starting with a user turn.
  const size_t first = history.size() - p->history_used;
  EXPECT_EQ(history[first].role, "user");
  for (size_t i = 0; i < p->history_used; ++i) {
    EXPECT_EQ(p->messages[1 + i].content, history[first + i].content);
    EXPECT_EQ(p->messages[1 + i].role, history[first + i].role);
  }
  EXPECT_LE(p->prompt_tokens, budget.context_window - budget.answer_tokens - budget.safety_margin);
}

TEST(AssembleChatPrompt, TheRatioBoundsTheSources) {
  std::mt19937 rng(9);
  const auto history = conversation(rng, 30, 80);
  const auto passages = passages_of(rng, 12);
  Budget budget;
  budget.context_window = 3000;
  budget.answer_tokens = 300;
  auto low = assemble_chat_prompt(history, "Which policy?", passages, budget, estimate_count, 0.2);
  auto high = assemble_chat_prompt(history, "Which policy?", passages, budget, estimate_count, 0.8);
  ASSERT_TRUE(low.is_ok() && high.is_ok());
  EXPECT_LT(low->used_passages.size(), high->used_passages.size());
  EXPECT_GT(low->history_used, high->history_used);
}

TEST(AssembleChatPrompt, BudgetNeverExceededRandomSweep) {
  std::mt19937 rng(2024);
  const std::vector<std::pair<const char*, PromptTokenCounter>> counters = {
      {"estimate", estimate_count}, {"strict", strict_count}, {"lenient", lenient_count}};
  const double ratios[] = {0.2, 0.5, 0.8, 1.0};
  int trimmed = 0, refused = 0;
  for (int iter = 0; iter < 300; ++iter) {
    Budget budget;
    budget.context_window = 150 + static_cast<int>(rng() % 3000);  // down to tiny windows
    budget.answer_tokens = 16 + static_cast<int>(rng() % static_cast<unsigned>(budget.context_window / 3));
    budget.safety_margin = static_cast<int>(rng() % 40);
    auto history = conversation(rng, rng() % 14, 120);
    if (rng() % 4 == 0) history.insert(history.begin(), {"system", words(rng, 1 + static_cast<int>(rng() % 50))});
    const auto passages = passages_of(rng, rng() % 10);
    const std::string question = words(rng, 1 + static_cast<int>(rng() % 30));
    const double ratio = ratios[rng() % 4];
    for (const auto& [name, counter] : counters) {
      auto p = assemble_chat_prompt(history, question, passages, budget, counter, ratio);
      const int limit = budget.context_window - budget.answer_tokens - budget.safety_margin;
      if (!p.is_ok()) {
        EXPECT_EQ(p.status().code(), ErrorCode::kResourceExhausted) << p.status().to_string();
        ++refused;
        continue;
      }
      EXPECT_EQ(p->prompt_tokens, *counter(p->messages)) << name;
      EXPECT_LE(p->prompt_tokens, limit) << name << " window " << budget.context_window << " ratio " << ratio;
      EXPECT_EQ(p->messages.front().role, "system");
      EXPECT_EQ(p->messages.back().role, "user");
      EXPECT_EQ(p->messages.size(), p->history_used + 2);
      if (p->history_used > 0) {
        EXPECT_EQ(p->messages[1].role, "user");
      }
      size_t turns = 0;
      for (const auto& m : history) turns += m.role != "system";
      if (p->history_used < turns) ++trimmed;
    }
  }
  EXPECT_GT(trimmed, 100);  // tight budgets are exercised
  EXPECT_GT(refused, 0);    // and some where not even the question fits
}

TEST(AssembleChatPrompt, QuestionAndInstructionsTooLong) {
  Budget budget;
  budget.context_window = 200;
  budget.answer_tokens = 50;
  auto p = assemble_chat_prompt({{"system", std::string(2000, 'x')}}, "Why?", {}, budget, estimate_count, 0.5);
  ASSERT_FALSE(p.is_ok());
  EXPECT_EQ(p.status().code(), ErrorCode::kResourceExhausted);
}

TEST(AssembleChatPrompt, InvalidRatio) {
  EXPECT_EQ(assemble_chat_prompt({}, "q", {}, Budget{}, estimate_count, 0.0).status().code(),
            ErrorCode::kInvalidArgument);
  EXPECT_EQ(assemble_chat_prompt({}, "q", {}, Budget{}, estimate_count, 1.5).status().code(),
            ErrorCode::kInvalidArgument);
}

TEST(AssembleChatPrompt, FailingCounterFallsBackToEstimate) {
  std::mt19937 rng(11);
  const auto history = conversation(rng, 10, 80);
  const auto passages = passages_of(rng, 6);
  int calls = 0;
  PromptTokenCounter flaky = [&](const std::vector<ChatMessage>& m) -> Result<int> {
    if (++calls > 2) return error(ErrorCode::kUnavailable, "tokenizer down");
    return strict_count(m);
  };
  Budget budget;
  budget.context_window = 1200;
  budget.answer_tokens = 200;
  auto p = assemble_chat_prompt(history, "And?", passages, budget, flaky, 0.5);
  ASSERT_TRUE(p.is_ok()) << p.status().to_string();
  EXPECT_EQ(p->prompt_tokens, estimate_messages_tokens(p->messages));
  EXPECT_LE(p->prompt_tokens, budget.context_window - budget.answer_tokens - budget.safety_margin);
}

TEST(CondenseQuestion, MessagesHoldTheLatestTurnsAndTheFollowUp) {
  std::vector<ChatMessage> history = {{"system", "ignored"}};
  for (int i = 0; i < 10; ++i) {
    history.push_back({i % 2 == 0 ? "user" : "assistant", "turn" + std::to_string(i)});
  }
  history.push_back({"user", std::string(5000, 'a')});
  const auto m = condense_question_messages(history, "  what about it? ");
  ASSERT_EQ(m.size(), 2u);
  EXPECT_EQ(m[0].role, "system");
  EXPECT_NE(m[0].content.find("standalone question"), std::string::npos);
  const std::string& user = m[1].content;
  EXPECT_EQ(user.find("turn4"), std::string::npos);  // only the last 6 turns
  EXPECT_NE(user.find("Assistant: turn5"), std::string::npos);
  EXPECT_NE(user.find("User: turn8"), std::string::npos);
  EXPECT_EQ(user.find("ignored"), std::string::npos);
  EXPECT_LT(user.size(), 3000u);  // long turns are cut
  EXPECT_NE(user.find("Follow-up question: what about it?"), std::string::npos);
}

TEST(CondenseQuestion, CleansTheReply) {
  EXPECT_EQ(clean_condensed_question("  How long is parental leave?\n"), "How long is parental leave?");
  EXPECT_EQ(clean_condensed_question("Standalone question: \"How long is parental leave?\""),
            "How long is parental leave?");
  EXPECT_EQ(clean_condensed_question("What is X?\n\nExplanation: ..."), "What is X?");
  EXPECT_EQ(clean_condensed_question("   \n "), "");
  EXPECT_EQ(clean_condensed_question(std::string(3000, 'q')), "");
}

}  // namespace
}  // namespace kr::generate
