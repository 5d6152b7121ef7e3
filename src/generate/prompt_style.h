// Which prompt fits the model: instructions in chat turns (instruct/chat models) or a few-shot
// text continued by /v1/completions (base models, which copy their sources when chatted with).
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "generate/llm_client.h"

namespace kr::generate {

enum class PromptStyle { kChat, kCompletion };

// "chat" | "completion"; "auto" and anything else: nullopt (decide from the model).
std::optional<PromptStyle> parse_prompt_style(std::string_view text);
const char* prompt_style_name(PromptStyle style);

// What a model's name says: true = base model, false = instruct/chat model, nullopt = nothing.
// Instruct markers ("instruct", "chat", "-it", ...) win; "base", "-pt", ":text" and the bare
// names of families published as base + instruct pairs (gemma-3-270m vs gemma-3-270m-it,
// llama-2-7b, falcon-7b, mistral-7b-v0.1) say base. Ollama tags ("gemma3:270m") are chat.
std::optional<bool> name_says_base_model(std::string_view name);

// auto: completion when the server reports no chat template (llama.cpp's /props) or the model
// id (or vLLM's root) names a base model; chat otherwise, the safe default for unknown models.
PromptStyle choose_prompt_style(std::optional<PromptStyle> configured, const ModelInfo& model);

}  // namespace kr::generate
