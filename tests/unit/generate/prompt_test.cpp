#include "generate/prompt.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <string>
#include <vector>

#include "core/text.h"

namespace kr::generate {
namespace {

// A tokenizer harsher than the estimate: two characters per token.
Result<int> strict_count(const std::vector<ChatMessage>& messages) {
  int total = 10;
  for (const auto& m : messages) total += static_cast<int>(m.content.size() / 2) + 4;
  return total;
}

// A tokenizer kinder than the estimate.
Result<int> lenient_count(const std::vector<ChatMessage>& messages) {
  int total = 3;
  for (const auto& m : messages) total += static_cast<int>(m.content.size() / 6) + 4;
  return total;
}

Result<int> estimate_count(const std::vector<ChatMessage>& messages) { return estimate_messages_tokens(messages); }

std::string prose(std::mt19937& rng, int sentences) {
  static const std::vector<std::string> words = {"the",   "model",  "answers", "questions", "from",   "documents",
                                                 "cluster", "node", "pool",    "GPU",       "memory", "tokens",
                                                 "KAITO", "workspace", "deploys", "inference", "quickly", "with"};
  std::string out;
  for (int s = 0; s < sentences; ++s) {
    const int n = 5 + static_cast<int>(rng() % 15);
    for (int w = 0; w < n; ++w) {
      std::string word = words[rng() % words.size()];
      if (w == 0) word[0] = static_cast<char>(std::toupper(static_cast<unsigned char>(word[0])));
      out += word;
      out += w + 1 < n ? " " : ". ";
    }
  }
  return std::string(trim(out));
}

const std::string& user_text(const AssembledPrompt& p) { return p.messages.at(1).content; }

TEST(EstimateMessagesTokens, SumsContentPlusOverhead) {
  const std::vector<ChatMessage> messages = {{"system", "You are helpful."}, {"user", "What is KAITO?"}};
  EXPECT_EQ(estimate_messages_tokens(messages),
            estimate_tokens("You are helpful.") + estimate_tokens("What is KAITO?") + 2 * 8 + 3);
  EXPECT_EQ(estimate_messages_tokens({}), 3);
}

TEST(AssemblePrompt, LayoutAndNumbering) {
  const std::vector<Passage> passages = {{"KAITO deploys models.", "guide.pdf", 3, 3},
                                         {"   ", "blank.txt", 0, 0},
                                         {"Workspaces pick GPU nodes.", "spec.pdf", 4, 6},
                                         {"No pages here.", "notes.md", 0, 0}};
  auto p = assemble_prompt("  What does KAITO do? ", passages, Budget{}, estimate_count);
  ASSERT_TRUE(p.is_ok()) << p.status().to_string();
  ASSERT_EQ(p->messages.size(), 2u);
  EXPECT_EQ(p->messages[0].role, "system");
  EXPECT_NE(p->messages[0].content.find("I don't know based on the provided documents."), std::string::npos);
  EXPECT_NE(p->messages[0].content.find("[2][3]"), std::string::npos);
  EXPECT_EQ(p->messages[1].role, "user");
  EXPECT_EQ(user_text(*p),
            "Sources:\n\n"
            "[1] (guide.pdf, page 3)\nKAITO deploys models.\n\n"
            "[2] (spec.pdf, pages 4\u20136)\nWorkspaces pick GPU nodes.\n\n"
            "[3] (notes.md)\nNo pages here.\n\n"
            "Question: What does KAITO do?");
  EXPECT_EQ(p->used_passages, (std::vector<size_t>{0, 2, 3}));
  EXPECT_EQ(p->prompt_tokens, estimate_messages_tokens(p->messages));
}

TEST(AssemblePrompt, NoPassages) {
  auto p = assemble_prompt("Why?", {}, Budget{}, strict_count);
  ASSERT_TRUE(p.is_ok());
  EXPECT_TRUE(p->used_passages.empty());
  EXPECT_NE(user_text(*p).find("Question: Why?"), std::string::npos);
  EXPECT_EQ(p->prompt_tokens, *strict_count(p->messages));
}

TEST(AssemblePrompt, BudgetNeverExceededRandomSweep) {
  std::mt19937 rng(12345);
  const std::vector<std::pair<const char*, PromptTokenCounter>> counters = {
      {"estimate", estimate_count}, {"strict", strict_count}, {"lenient", lenient_count}};
  int truncated = 0, partial = 0;
  for (int iter = 0; iter < 400; ++iter) {
    Budget budget;
    budget.context_window = 200 + static_cast<int>(rng() % 3801);
    budget.answer_tokens = 16 + static_cast<int>(rng() % static_cast<unsigned>(budget.context_window / 3));
    budget.safety_margin = static_cast<int>(rng() % 65);
    std::vector<Passage> passages(rng() % 13);
    for (size_t i = 0; i < passages.size(); ++i) {
      passages[i].text = prose(rng, 1 + static_cast<int>(rng() % 40));
      passages[i].document_name = "doc" + std::to_string(i) + ".pdf";
      passages[i].page_start = static_cast<int>(rng() % 3);
      passages[i].page_end = passages[i].page_start + static_cast<int>(rng() % 2);
    }
    const std::string question = prose(rng, 1 + static_cast<int>(rng() % 3));
    for (const auto& [name, counter] : counters) {
      int calls = 0;
      PromptTokenCounter counting = [&, c = counter](const std::vector<ChatMessage>& m) {
        ++calls;
        return c(m);
      };
      auto p = assemble_prompt(question, passages, budget, counting);
      const int limit = budget.context_window - budget.answer_tokens - budget.safety_margin;
      const double n = static_cast<double>(passages.size());
      EXPECT_LE(calls, static_cast<int>(std::ceil(std::log2(n + 1))) + 3) << name << " n=" << n;
      if (!p.is_ok()) {
        EXPECT_EQ(p.status().code(), ErrorCode::kResourceExhausted) << p.status().to_string();
        continue;
      }
      EXPECT_EQ(p->prompt_tokens, *counter(p->messages)) << name;
      EXPECT_LE(p->prompt_tokens, limit) << name << " window " << budget.context_window;
      for (size_t i = 0; i < p->used_passages.size(); ++i) {
        EXPECT_EQ(p->used_passages[i], i) << "passages are taken by rank, none skipped";
        const std::string header = "[" + std::to_string(i + 1) + "] (doc" + std::to_string(i) + ".pdf";
        EXPECT_NE(user_text(*p).find(header), std::string::npos) << header;
      }
      if (p->used_passages.size() < passages.size()) ++partial;
      if (!p->used_passages.empty() &&
          user_text(*p).find(passages[p->used_passages.back()].text) == std::string::npos) {
        ++truncated;
      }
    }
  }
  EXPECT_GT(partial, 50);    // the sweep exercises tight budgets
  EXPECT_GT(truncated, 20);  // and partial passages
}

TEST(AssemblePrompt, EverythingFitsCostsOneCount) {
  std::mt19937 rng(7);
  std::vector<Passage> passages(20);
  for (auto& p : passages) p.text = prose(rng, 2);
  int calls = 0;
  auto p = assemble_prompt("What is a workspace?", passages, Budget{32768, 512, 32},
                           [&](const std::vector<ChatMessage>& m) {
                             ++calls;
                             return estimate_count(m);
                           });
  ASSERT_TRUE(p.is_ok());
  EXPECT_EQ(p->used_passages.size(), 20u);
  EXPECT_EQ(calls, 1);
}

TEST(AssemblePrompt, TruncatesAtSentenceBoundary) {
  std::mt19937 rng(99);
  const std::vector<Passage> passages = {{"Short first passage.", "a.pdf", 1, 1}, {prose(rng, 300), "b.pdf", 2, 9}};
  auto p = assemble_prompt("What deploys models?", passages, Budget{1024, 256, 32}, strict_count);
  ASSERT_TRUE(p.is_ok()) << p.status().to_string();
  EXPECT_EQ(p->used_passages, (std::vector<size_t>{0, 1}));
  const std::string& user = user_text(*p);
  EXPECT_EQ(user.find(passages[1].text), std::string::npos);
  const size_t start = user.find("[2] (b.pdf, pages 2\u20139)\n");
  ASSERT_NE(start, std::string::npos);
  const size_t end = user.find("\n\nQuestion:");
  const std::string kept = user.substr(start, end - start);
  EXPECT_EQ(kept.back(), '.');                     // whole sentences only
  EXPECT_GT(static_cast<int>(kept.size()) / 2, 64);  // a useful amount of it
  EXPECT_LE(p->prompt_tokens + 256 + 32, 1024);
  EXPECT_GT(p->prompt_tokens + 256 + 32, 1024 - 150);  // and the budget is mostly used
}

TEST(AssemblePrompt, TruncatesAtWordBoundaryWithoutSentences) {
  std::string words;
  for (int i = 0; i < 3000; ++i) words += "word" + std::to_string(i % 10) + " ";
  auto p = assemble_prompt("Which words?", {{words, "w.txt", 0, 0}}, Budget{1024, 256, 32}, strict_count);
  ASSERT_TRUE(p.is_ok());
  ASSERT_EQ(p->used_passages.size(), 1u);
  const std::string& user = user_text(*p);
  const size_t marker = user.find(" \u2026\n\nQuestion:");
  ASSERT_NE(marker, std::string::npos) << "a cut mid-sentence is marked";
  const std::string last_word = user.substr(marker - 5, 5);  // whole words only
  EXPECT_EQ(last_word.substr(0, 4), "word");
  EXPECT_TRUE(std::isdigit(static_cast<unsigned char>(last_word[4])));
  EXPECT_EQ(user[marker - 6], ' ');
}

TEST(AssemblePrompt, StopsAtFirstPassageThatDoesNotFit) {
  std::mt19937 rng(5);
  const std::vector<Passage> passages = {
      {prose(rng, 10), "a", 0, 0}, {prose(rng, 400), "b", 0, 0}, {"Tiny.", "c", 0, 0}};
  // Room for the first passage and fewer than 64 tokens more.
  auto first_only = assemble_prompt("Q?", {passages[0]}, Budget{4096, 0, 0}, strict_count);
  ASSERT_TRUE(first_only.is_ok());
  const int window = first_only->prompt_tokens + 40 + 100;
  auto p = assemble_prompt("Q?", passages, Budget{window, 100, 0}, strict_count);
  ASSERT_TRUE(p.is_ok());
  EXPECT_EQ(p->used_passages, std::vector<size_t>{0});
}

TEST(AssemblePrompt, QuestionTooLong) {
  const std::string question(20000, 'x');
  auto p = assemble_prompt(question, {{"text", "a", 0, 0}}, Budget{4096, 512, 32}, strict_count);
  ASSERT_FALSE(p.is_ok());
  EXPECT_EQ(p.status().code(), ErrorCode::kResourceExhausted);
  EXPECT_NE(p.status().message().find("question is too long"), std::string::npos) << p.status().message();
}

TEST(AssemblePrompt, InvalidBudgets) {
  EXPECT_EQ(assemble_prompt("q", {}, Budget{512, 512, 0}, strict_count).status().code(),
            ErrorCode::kInvalidArgument);
  EXPECT_EQ(assemble_prompt("q", {}, Budget{0, 0, 0}, strict_count).status().code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(assemble_prompt("  ", {}, Budget{}, strict_count).status().code(), ErrorCode::kInvalidArgument);
}

TEST(AssemblePrompt, FailingCounterFallsBackToEstimate) {
  std::mt19937 rng(3);
  std::vector<Passage> passages(8);
  for (auto& p : passages) p.text = prose(rng, 20);
  int calls = 0;
  auto p = assemble_prompt("What is a node pool?", passages, Budget{1500, 256, 32},
                           [&](const std::vector<ChatMessage>& m) -> Result<int> {
                             if (++calls > 1) return error(ErrorCode::kUnavailable, "tokenizer down");
                             return strict_count(m);
                           });
  ASSERT_TRUE(p.is_ok()) << p.status().to_string();
  EXPECT_EQ(p->prompt_tokens, estimate_messages_tokens(p->messages));
  EXPECT_LE(p->prompt_tokens + 256 + 32, 1500);
  EXPECT_EQ(calls, 2);  // not asked again after failing

  auto no_counter = assemble_prompt("What is a node pool?", passages, Budget{1500, 256, 32}, nullptr);
  ASSERT_TRUE(no_counter.is_ok());
  EXPECT_EQ(no_counter->prompt_tokens, estimate_messages_tokens(no_counter->messages));
}

TEST(ExtractCitations, Forms) {
  EXPECT_EQ(extract_citations("KAITO deploys models [1]. Nodes scale [2][3]."), (std::vector<int>{1, 2, 3}));
  EXPECT_EQ(extract_citations("See [1, 2] and [2; 4]."), (std::vector<int>{1, 2, 4}));
  EXPECT_EQ(extract_citations("Ranges [1-3] and [5\u20136]."), (std::vector<int>{1, 2, 3, 5, 6}));
  EXPECT_EQ(extract_citations("Repeated [3] then [1] then [3]."), (std::vector<int>{3, 1}));
  EXPECT_EQ(extract_citations("Not citations: [a], [1a], [], [1000], [0], [x-1], [3-1], [-2], [2-]."),
            std::vector<int>{});
  EXPECT_EQ(extract_citations("Nested [[2]] and unclosed [4"), std::vector<int>{2});
  EXPECT_EQ(extract_citations("Big range [1-500] ignored, [999] kept."), std::vector<int>{999});
  EXPECT_EQ(extract_citations(""), std::vector<int>{});
}

}  // namespace
}  // namespace kr::generate
