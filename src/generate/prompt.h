// Prompt assembly within a context window, citation mapping and extractive answers.
#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"
#include "generate/llm_client.h"

namespace kr::generate {

// A retrieved passage offered to the prompt, best first.
struct Passage {
  std::string text;
  std::string document_name;  // shown to the model as the source title
  int page_start = 0;
  int page_end = 0;
};

struct Budget {
  int context_window = 4096;  // total tokens the model accepts (prompt + answer)
  int answer_tokens = 512;    // reserved for the answer (max_tokens)
  int safety_margin = 32;     // chat-template overhead we cannot see
};

// Counts the tokens of a whole prompt. Implementations: the model server's /tokenize,
// or estimate_messages_tokens() below.
using PromptTokenCounter = std::function<Result<int>(const std::vector<ChatMessage>&)>;

// kr::estimate_tokens over every message plus a per-message overhead.
int estimate_messages_tokens(const std::vector<ChatMessage>& messages);

struct AssembledPrompt {
  std::vector<ChatMessage> messages;  // system + user (sources + question)
  std::vector<size_t> used_passages;  // indices into the input, in source-number order ([1] = first)
  int prompt_tokens = 0;              // as counted by the counter
  size_t history_used = 0;            // assemble_chat_prompt: user/assistant history turns kept (the latest)
};

// Adds passages by rank while prompt_tokens + answer_tokens + safety_margin <=
// context_window. A passage that does not fit whole is truncated at a sentence or
// word boundary when at least ~64 tokens of it fit, otherwise skipped. Never returns a
// prompt over budget: kResourceExhausted when even the question alone does not fit.
// Calls count_tokens at most ~log2(passages)+3 times (estimate first, then bisection);
// if it fails once, the whole assembly is redone on estimate_messages_tokens.
Result<AssembledPrompt> assemble_prompt(const std::string& question, const std::vector<Passage>& passages,
                                        const Budget& budget, const PromptTokenCounter& count_tokens);

// Multi-turn form of assemble_prompt. `history` is the conversation before the last user
// message (system, user and assistant turns, oldest first); `question` the last user message.
// Messages: one system message (our instructions, then the history's system messages), the
// history's user/assistant turns, then a user message with the sources and the question.
// The sources get at most `sources_budget_ratio` (0 < r <= 1) of what the prompt can hold
// beyond the instructions and the question; the history takes what is left, most recent turns
// first: whole messages, oldest dropped first (a kept slice never starts with an assistant
// turn). The same guarantee as assemble_prompt: the counted prompt never exceeds
// context_window - answer_tokens - safety_margin; kResourceExhausted when the instructions
// and question alone do not fit. With empty history and ratio 1 it is assemble_prompt.
Result<AssembledPrompt> assemble_chat_prompt(const std::vector<ChatMessage>& history, const std::string& question,
                                             const std::vector<Passage>& passages, const Budget& budget,
                                             const PromptTokenCounter& count_tokens,
                                             double sources_budget_ratio = 0.5);

// Completion style, for base models (generate/prompt_style.h): the same source selection under
// the same budget, rendered as one few-shot text (completion_prompt_text) for /v1/completions.
// The result's `messages` is one message with role "prompt" holding that text; `count_tokens`
// receives it in that form. No history: a base model follows no conversation (ask it the
// standalone question).
Result<AssembledPrompt> assemble_completion_prompt(const std::string& question,
                                                   const std::vector<Passage>& passages, const Budget& budget,
                                                   const PromptTokenCounter& count_tokens);

// Two tiny worked examples (numbered sources, a question, a one-sentence cited answer), then
// `sources` (rendered "[n] (title)\ntext\n" blocks) and `question`, ending in "Answer:".
std::string completion_prompt_text(std::string_view sources, std::string_view question);

// Where a base model's answer ends: the end of its line (the worked answers are one line each).
const std::vector<std::string>& completion_stop_sequences();

// The request that asks the model to rewrite a follow-up question as a standalone one
// (history first, then the follow-up; the reply is the question alone). The history is
// cut to its last turns and each turn to a few hundred words, so it stays small.
std::vector<ChatMessage> condense_question_messages(const std::vector<ChatMessage>& history,
                                                    const std::string& question);

// Cleans a condensed question from the model: trims, strips a "Standalone question:" label and
// quotes; empty when the reply is not usable (empty, or far longer than a question).
std::string clean_condensed_question(const std::string& reply);

// Source numbers cited in `answer`: [1], [2][3], [1, 2], [1-3]; unique, in first-appearance order.
std::vector<int> extract_citations(const std::string& answer);

struct ExtractiveSentence {
  std::string text;
  size_t passage = 0;  // index into the input passages
};

// With no model: the sentences of the passages that best match the question (term overlap
// weighted by rank), at most `max_sentences`, in reading order (passage rank, then position).
std::vector<ExtractiveSentence> extractive_answer(const std::string& question, const std::vector<Passage>& passages,
                                                  size_t max_sentences = 3);
struct Evidence;
// The same from gathered evidence (generate/evidence.h), which may rank by embedding
// similarity too. A sentence holding every question term, clearly ahead of the rest, is the
// whole answer; a long sentence is cut to its part around the question's terms.
std::vector<ExtractiveSentence> extractive_answer(const std::string& question, const Evidence& evidence,
                                                  const std::vector<Passage>& passages, size_t max_sentences);

}  // namespace kr::generate
