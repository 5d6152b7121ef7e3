// Prompt style: configured, or chosen from the model server's metadata and the model's name.
#include "generate/prompt_style.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <string>
#include <vector>

namespace kr::generate {

namespace {

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

// Name parts split at '-', '_', '/', ':' and spaces ('.' stays: "qwen2.5", "v0.1").
std::vector<std::string> tokens_of(std::string_view name) {
  std::vector<std::string> out;
  std::string current;
  for (char c : name) {
    if (c == '-' || c == '_' || c == '/' || c == ':' || c == ' ') {
      if (!current.empty()) out.push_back(std::move(current));
      current.clear();
    } else {
      current += c;
    }
  }
  if (!current.empty()) out.push_back(std::move(current));
  return out;
}

bool instruct_marker(const std::string& t) {
  static constexpr std::array kExact = {"it", "sft", "dpo", "rlhf", "orpo", "assistant", "hermes", "distill", "r1"};
  if (t.find("instruct") != std::string::npos || t.find("chat") != std::string::npos) return true;
  return std::find(kExact.begin(), kExact.end(), t) != kExact.end();
}

bool base_marker(const std::string& t) { return t == "base" || t == "pt" || t == "pretrained" || t == "text"; }

// A parameter count such as "7b", "270m", "8x7b", "1.5b".
bool size_token(const std::string& t) {
  if (t.size() < 2 || (t.back() != 'b' && t.back() != 'm')) return false;
  const std::string digits = t.substr(0, t.size() - 1);
  return std::any_of(digits.begin(), digits.end(), [](char c) { return std::isdigit(static_cast<unsigned char>(c)); }) &&
         std::all_of(digits.begin(), digits.end(),
                     [](char c) { return std::isdigit(static_cast<unsigned char>(c)) || c == '.' || c == 'x'; });
}

// Families released as a base checkpoint named plainly plus a marked instruct one.
bool base_family(const std::string& t) {
  static constexpr std::array kFamilies = {"gemma", "llama", "mistral", "mixtral", "falcon", "qwen",
                                           "mpt",   "gpt2",  "pythia",  "olmo",    "smollm"};
  return std::any_of(kFamilies.begin(), kFamilies.end(), [&](const char* f) { return t.rfind(f, 0) == 0; });
}

}  // namespace

std::optional<PromptStyle> parse_prompt_style(std::string_view text) {
  if (text == "chat") return PromptStyle::kChat;
  if (text == "completion") return PromptStyle::kCompletion;
  return std::nullopt;
}

const char* prompt_style_name(PromptStyle style) { return style == PromptStyle::kChat ? "chat" : "completion"; }

std::optional<bool> name_says_base_model(std::string_view name) {
  const std::string lowered = lower(name);
  const std::vector<std::string> tokens = tokens_of(lowered);
  if (tokens.empty()) return std::nullopt;
  if (std::any_of(tokens.begin(), tokens.end(), instruct_marker)) return false;
  if (std::any_of(tokens.begin(), tokens.end(), base_marker)) return true;
  // Ollama names its (instruct) models family:tag.
  if (lowered.find(':') != std::string::npos) return false;
  const bool family = std::any_of(tokens.begin(), tokens.end(), base_family);
  const bool sized = std::any_of(tokens.begin(), tokens.end(), size_token);
  if (family && sized) return true;
  return std::nullopt;
}

PromptStyle choose_prompt_style(std::optional<PromptStyle> configured, const ModelInfo& model) {
  if (configured) return *configured;
  if (model.has_chat_template) return *model.has_chat_template ? PromptStyle::kChat : PromptStyle::kCompletion;
  for (const std::string* name : {&model.id, &model.root}) {
    if (const auto base = name_says_base_model(*name)) return *base ? PromptStyle::kCompletion : PromptStyle::kChat;
  }
  return PromptStyle::kChat;
}

}  // namespace kr::generate
