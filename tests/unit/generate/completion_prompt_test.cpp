// Completion-style prompts for base models and the choice between chat and completion.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "generate/prompt.h"
#include "generate/prompt_style.h"

namespace kr::generate {
namespace {

// Two characters per token: harsher than the estimate, so the budget is the counter's.
Result<int> strict_count(const std::vector<ChatMessage>& messages) {
  int total = 0;
  for (const auto& m : messages) total += static_cast<int>(m.content.size() / 2);
  return total;
}

size_t count_of(const std::string& text, const std::string& needle) {
  size_t n = 0;
  for (size_t at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) ++n;
  return n;
}

TEST(CompletionPrompt, FewShotFrameThenSourcesQuestionAndAnswerCue) {
  const std::vector<Passage> passages = {{"New employees get 25 days of paid vacation.", "handbook.md", 0, 0},
                                         {"Parental leave is 16 weeks.", "benefits.pdf", 3, 4}};
  auto prompt = assemble_completion_prompt("  How much vacation do new hires get? ", passages, Budget{}, strict_count);
  ASSERT_TRUE(prompt.is_ok()) << prompt.status().to_string();
  ASSERT_EQ(prompt->messages.size(), 1u);
  EXPECT_EQ(prompt->messages[0].role, "prompt");
  const std::string& text = prompt->messages[0].content;
  // Two worked examples, then the real question: three source lists, three questions, two answers.
  EXPECT_EQ(count_of(text, "Sources:\n"), 3u);
  EXPECT_EQ(count_of(text, "\nQuestion: "), 3u);
  EXPECT_EQ(count_of(text, "\nAnswer: "), 2u);
  // Each worked answer is one sentence ending in a citation.
  EXPECT_NE(text.find("Answer: A four-hour flight is booked in economy class [1].\n"), std::string::npos);
  // The real sources, numbered from 1 with their titles and pages, after the examples.
  const size_t real = text.rfind("Sources:\n");
  EXPECT_EQ(text.substr(real),
            "Sources:\n[1] (handbook.md)\nNew employees get 25 days of paid vacation.\n"
            "[2] (benefits.pdf, pages 3\u20134)\nParental leave is 16 weeks.\n"
            "Question: How much vacation do new hires get?\nAnswer:");
  EXPECT_EQ(prompt->used_passages, (std::vector<size_t>{0, 1}));
  EXPECT_EQ(*strict_count(prompt->messages), prompt->prompt_tokens);
}

TEST(CompletionPrompt, StopSequencesEndTheAnswerBeforeAnotherExample) {
  const auto& stops = completion_stop_sequences();
  for (const std::string s : {"\n", "Question:", "Sources:"}) {
    EXPECT_NE(std::find(stops.begin(), stops.end(), s), stops.end()) << s;
  }
  // OpenAI-compatible servers accept at most four stop sequences.
  EXPECT_LE(stops.size(), 4u);
  // No stop sequence occurs inside a worked answer, or the model would learn to stop mid-answer.
  const std::string frame = completion_prompt_text("", "q");
  const size_t answer = frame.find("Answer: ");
  const std::string first_answer = frame.substr(answer, frame.find('\n', answer) - answer);
  for (const std::string& s : stops) EXPECT_EQ(first_answer.find(s), std::string::npos);
}

TEST(CompletionPrompt, KeepsWithinTheBudgetByDroppingAndCuttingSources) {
  std::vector<Passage> passages;
  for (int i = 0; i < 12; ++i) {
    std::string text;
    for (int s = 0; s < 20; ++s) text += "Sentence " + std::to_string(s) + " of passage " + std::to_string(i) + ". ";
    passages.push_back({text, "doc" + std::to_string(i) + ".txt", 0, 0});
  }
  Budget budget;
  budget.context_window = 1400;
  budget.answer_tokens = 64;
  auto prompt = assemble_completion_prompt("Which sentence?", passages, budget, strict_count);
  ASSERT_TRUE(prompt.is_ok()) << prompt.status().to_string();
  EXPECT_LE(prompt->prompt_tokens, budget.context_window - budget.answer_tokens - budget.safety_margin);
  EXPECT_EQ(prompt->prompt_tokens, *strict_count(prompt->messages));
  EXPECT_GE(prompt->used_passages.size(), 1u);
  EXPECT_LT(prompt->used_passages.size(), passages.size());
  EXPECT_TRUE(prompt->messages[0].content.ends_with("Question: Which sentence?\nAnswer:"));
}

TEST(CompletionPrompt, TooSmallAWindowIsResourceExhausted) {
  Budget budget;
  budget.context_window = 200;
  budget.answer_tokens = 50;
  auto prompt = assemble_completion_prompt("Why?", {{"text", "a.txt", 0, 0}}, budget, strict_count);
  EXPECT_EQ(prompt.status().code(), ErrorCode::kResourceExhausted);
  EXPECT_EQ(assemble_completion_prompt("  ", {}, Budget{}, strict_count).status().code(),
            ErrorCode::kInvalidArgument);
}

TEST(CompletionPrompt, CounterFailureFallsBackToTheEstimate) {
  auto failing = [](const std::vector<ChatMessage>&) -> Result<int> {
    return error(ErrorCode::kUnsupported, "no tokenizer");
  };
  auto prompt = assemble_completion_prompt("When?", {{"Tomorrow at noon.", "a.txt", 0, 0}}, Budget{}, failing);
  ASSERT_TRUE(prompt.is_ok());
  EXPECT_EQ(prompt->prompt_tokens, estimate_messages_tokens(prompt->messages));
}

TEST(PromptStyle, ParsesConfiguredStyles) {
  EXPECT_EQ(parse_prompt_style("chat"), PromptStyle::kChat);
  EXPECT_EQ(parse_prompt_style("completion"), PromptStyle::kCompletion);
  EXPECT_EQ(parse_prompt_style("auto"), std::nullopt);
  EXPECT_STREQ(prompt_style_name(PromptStyle::kCompletion), "completion");
}

TEST(PromptStyle, ModelNames) {
  // Base checkpoints.
  for (const char* name : {"gemma-3-270m", "google/gemma-3-270m", "falcon-7b", "llama-2-7b", "Mistral-7B-v0.1",
                           "Qwen/Qwen2.5-1.5B", "mixtral-8x7b", "some-model-base", "gemma-2-9b-pt", "llama3:text"}) {
    EXPECT_EQ(name_says_base_model(name), true) << name;
  }
  // Instruct and chat models (KAITO presets, Hugging Face names, Ollama tags).
  for (const char* name : {"phi-3-mini-4k-instruct", "mistral-7b-instruct", "gemma-3-270m-it", "llama-2-7b-chat",
                           "Qwen2.5-Coder-7B-Instruct", "deepseek-r1-distill-llama-8b", "gemma3:270m",
                           "mistral:latest", "Nous-Hermes-2-Mixtral-8x7B-DPO"}) {
    EXPECT_EQ(name_says_base_model(name), false) << name;
  }
  // Names that say nothing: a bare family alias, hosted models, an empty id.
  for (const char* name : {"mistral", "gpt-4o", "phi-4", "my-deployment", ""}) {
    EXPECT_EQ(name_says_base_model(name), std::nullopt) << name;
  }
}

TEST(PromptStyle, AutoFollowsTheServerThenTheNameAndDefaultsToChat) {
  ModelInfo model;
  model.id = "gemma-3-270m";
  EXPECT_EQ(choose_prompt_style(std::nullopt, model), PromptStyle::kCompletion);
  // The configured style always wins.
  EXPECT_EQ(choose_prompt_style(PromptStyle::kChat, model), PromptStyle::kChat);
  // llama.cpp's /props says whether a chat template exists: it outranks the name.
  model.has_chat_template = true;
  EXPECT_EQ(choose_prompt_style(std::nullopt, model), PromptStyle::kChat);
  model.id = "phi-3-mini-4k-instruct";
  model.has_chat_template = false;
  EXPECT_EQ(choose_prompt_style(std::nullopt, model), PromptStyle::kCompletion);
  // vLLM's root names the checkpoint behind a served alias.
  model = ModelInfo{};
  model.id = "workspace-model";
  model.root = "tiiuae/falcon-7b";
  EXPECT_EQ(choose_prompt_style(std::nullopt, model), PromptStyle::kCompletion);
  model.root = "microsoft/Phi-3-mini-4k-instruct";
  EXPECT_EQ(choose_prompt_style(std::nullopt, model), PromptStyle::kChat);
  model.root.clear();
  EXPECT_EQ(choose_prompt_style(std::nullopt, model), PromptStyle::kChat);
  EXPECT_EQ(choose_prompt_style(PromptStyle::kCompletion, model), PromptStyle::kCompletion);
}

}  // namespace
}  // namespace kr::generate
