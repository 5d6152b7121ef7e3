// Prompt assembly under a token budget, and citation parsing.
#include "generate/prompt.h"

#include <algorithm>
#include <cctype>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "core/text.h"

namespace kr::generate {

namespace {

constexpr std::string_view kSystemPrompt =
    "You answer questions using only the numbered sources below. After each sentence, cite the sources "
    "that support it by number in square brackets, like [1] or [2][3]. If the sources do not contain the "
    "answer, say \"I don't know based on the provided documents.\" Do not use outside knowledge.";

// A passage cut short is only worth its header when this many tokens of it fit.
constexpr int kMinTruncatedTokens = 64;

// The text of one source in the prompt: a whole passage or a cut-down prefix.
struct Source {
  size_t passage = 0;
  std::string_view text;
  bool cut_mid_sentence = false;
};

std::string source_header(size_t number, const Passage& p) {
  std::string label = p.document_name;
  if (p.page_start > 0) {
    if (!label.empty()) label += ", ";
    label += p.page_end > p.page_start
                 ? "pages " + std::to_string(p.page_start) + "\u2013" + std::to_string(p.page_end)
                 : "page " + std::to_string(p.page_start);
  }
  std::string header = "[" + std::to_string(number) + "]";
  if (!label.empty()) header += " (" + label + ")";
  return header;
}

// What surrounds the sources: the system text and the history turns kept (the last `keep`).
struct Frame {
  std::string system = std::string(kSystemPrompt);
  const std::vector<ChatMessage>* turns = nullptr;  // user/assistant history, oldest first
  size_t keep = 0;
  bool completion = false;  // one few-shot prompt text (completion_prompt_text) instead of chat turns
};

std::string sources_block(const std::vector<Source>& sources, const std::vector<Passage>& passages,
                          std::string_view separator) {
  std::string out;
  for (size_t i = 0; i < sources.size(); ++i) {
    out += source_header(i + 1, passages[sources[i].passage]);
    out += '\n';
    out += sources[i].text;
    if (sources[i].cut_mid_sentence) out += " …";
    out += separator;
  }
  return out;
}

std::vector<ChatMessage> build_messages(const Frame& frame, std::string_view question,
                                        const std::vector<Source>& sources, const std::vector<Passage>& passages) {
  if (frame.completion) {
    return {ChatMessage{"prompt", completion_prompt_text(sources_block(sources, passages, "\n"), question)}};
  }
  std::string user = sources.empty() ? "Sources: none.\n\n" : "Sources:\n\n" + sources_block(sources, passages, "\n\n");
  user += "Question: ";
  user += question;
  std::vector<ChatMessage> messages{ChatMessage{"system", frame.system}};
  if (frame.turns) {
    const size_t n = frame.turns->size();
    for (size_t i = n - std::min(frame.keep, n); i < n; ++i) messages.push_back((*frame.turns)[i]);
  }
  messages.push_back(ChatMessage{"user", std::move(user)});
  return messages;
}

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

// The longest prefix of `text` within `max_bytes` that ends at a sentence end, else
// at a word end; a hard cut only when neither keeps half of the allowance.
std::string_view cut_at_boundary(std::string_view text, size_t max_bytes, bool& mid_sentence) {
  mid_sentence = false;
  if (max_bytes >= text.size()) return text;
  const std::string_view prefix = utf8_prefix(text, max_bytes);
  const size_t half = max_bytes / 2;
  for (size_t i = prefix.size(); i > half; --i) {
    const char c = prefix[i - 1];
    const bool ends = c == '\n' || ((c == '.' || c == '!' || c == '?') && i < text.size() && is_space(text[i]));
    if (ends) return trim(prefix.substr(0, i));
  }
  mid_sentence = true;
  for (size_t i = prefix.size(); i > half; --i) {
    if (is_space(prefix[i - 1])) return trim(prefix.substr(0, i - 1));
  }
  return trim(prefix);
}

// Counts with the caller's counter until it fails once, then with the estimate.
class Measure {
 public:
  explicit Measure(const PromptTokenCounter* counter) : counter_(counter) {}
  int operator()(const std::vector<ChatMessage>& messages) {
    if (counter_ && *counter_ && !failed_) {
      Result<int> n = (*counter_)(messages);
      if (n && *n >= 0) return *n;
      failed_ = true;
    }
    return estimate_messages_tokens(messages);
  }
  bool failed() const { return failed_; }

 private:
  const PromptTokenCounter* counter_;
  bool failed_ = false;
};

Status too_long(int needed, const Budget& budget) {
  const int limit = budget.context_window - budget.answer_tokens - budget.safety_margin;
  return error(ErrorCode::kResourceExhausted,
               "the question is too long for the model: the prompt needs " + std::to_string(needed) +
                   " tokens but a context window of " + std::to_string(budget.context_window) + " leaves " +
                   std::to_string(std::max(limit, 0)) + " after reserving " + std::to_string(budget.answer_tokens) +
                   " for the answer and " + std::to_string(budget.safety_margin) +
                   " as margin; shorten the question or ask for a shorter answer");
}

// The sources chosen for a prompt (history as in `frame`) and the prompt's counted size.
struct Picked {
  std::vector<Source> sources;
  int tokens = 0;
};

// Adds whole passages by rank while the prompt stays within `limit`, then a cut-down
// prefix of the next one when enough of it fits.
Result<Picked> pick_sources(const Frame& frame, std::string_view question, const std::vector<Passage>& passages,
                            const std::vector<size_t>& candidates, int limit, const Budget& budget,
                            Measure& measure) {
  const int n = static_cast<int>(candidates.size());

  auto whole = [&](int m) {
    std::vector<Source> sources;
    for (int i = 0; i < m; ++i) sources.push_back({candidates[i], trim(passages[candidates[i]].text), false});
    return sources;
  };

  // First probe where the (cheap) estimate says the boundary is, so a good estimate
  // costs two counter calls; bisection bounds the rest.
  int lo = -1, hi = n;  // estimate: lo fits, hi + 1 does not
  while (lo < hi) {
    const int mid = (lo + hi + 1) / 2;
    if (estimate_messages_tokens(build_messages(frame, question, whole(mid), passages)) <= limit) {
      lo = mid;
    } else {
      hi = mid - 1;
    }
  }
  const int guess = std::max(lo, 0);

  std::vector<std::optional<int>> counts(n + 1);
  auto fits = [&](int m) {
    counts[m] = measure(build_messages(frame, question, whole(m), passages));
    return *counts[m] <= limit;
  };
  // Invariant: `lo` whole passages fit (-1: none known to), `hi` do not (n + 1: all may).
  lo = -1;
  hi = n + 1;
  auto probe = [&](int m) { (fits(m) ? lo : hi) = m; };
  probe(guess);
  if (lo == guess && guess + 1 < hi) {
    probe(guess + 1);
  } else if (hi == guess && guess - 1 > lo) {
    probe(guess - 1);
  }
  while (hi - lo > 1) probe((lo + hi) / 2);

  if (lo < 0) return too_long(*counts[0], budget);

  std::vector<Source> sources = whole(lo);
  int tokens = *counts[lo];
  if (lo < n && counts[lo + 1]) {
    // The next passage does not fit whole: try a prefix sized by its measured cost.
    const size_t index = candidates[lo];
    const std::string_view text = trim(passages[index].text);
    const int header = estimate_tokens(source_header(lo + 1, passages[index])) + 2;
    const int full_text_tokens = std::max(1, *counts[lo + 1] - tokens - header);
    const int room = limit - tokens - header;
    if (room >= kMinTruncatedTokens) {
      const double share = std::min(1.0, 0.9 * room / full_text_tokens);
      bool mid_sentence = false;
      const std::string_view cut =
          cut_at_boundary(text, static_cast<size_t>(share * static_cast<double>(text.size())), mid_sentence);
      if (!cut.empty() && cut.size() < text.size()) {
        std::vector<Source> trial = sources;
        trial.push_back({index, cut, mid_sentence});
        auto messages = build_messages(frame, question, trial, passages);
        const int trial_tokens = measure(messages);
        if (trial_tokens <= limit) {
          sources = std::move(trial);
          tokens = trial_tokens;
        }
      }
    }
  }

  return Picked{std::move(sources), tokens};
}

// Sources within their share of the budget, then as many of the latest history turns as fit.
Result<AssembledPrompt> assemble(Frame frame, std::string_view question, const std::vector<Passage>& passages,
                                 const std::vector<size_t>& candidates, const Budget& budget, double ratio,
                                 Measure& measure) {
  const int limit = budget.context_window - budget.answer_tokens - budget.safety_margin;
  const std::vector<ChatMessage>* turns = frame.turns;
  frame.keep = 0;
  int sources_limit = limit;
  if ((turns && !turns->empty()) || ratio < 1.0) {
    const int base = measure(build_messages(frame, question, {}, passages));
    if (base > limit) return too_long(base, budget);
    sources_limit = base + static_cast<int>(ratio * static_cast<double>(limit - base));
  }
  auto picked = pick_sources(frame, question, passages, candidates, sources_limit, budget, measure);
  if (!picked) return picked.status();
  int tokens = picked->tokens;

  if (turns && !turns->empty()) {
    // Counts of history turns that may be kept: a kept slice never starts with an assistant turn.
    std::vector<size_t> keeps{0};
    for (size_t k = 1; k <= turns->size(); ++k) {
      if ((*turns)[turns->size() - k].role != "assistant") keeps.push_back(k);
    }
    // Bisection for the most turns that fit (the prompt grows with every turn kept).
    size_t lo = 0, hi = keeps.size();  // keeps[lo] fits; keeps[hi] (when < size) does not
    while (hi - lo > 1) {
      const size_t mid = (lo + hi) / 2;
      frame.keep = keeps[mid];
      const int n = measure(build_messages(frame, question, picked->sources, passages));
      if (n <= limit) {
        lo = mid;
        tokens = n;
      } else {
        hi = mid;
      }
    }
    frame.keep = keeps[lo];
    if (frame.keep == 0) tokens = picked->tokens;
  }

  AssembledPrompt out;
  out.messages = build_messages(frame, question, picked->sources, passages);
  for (const Source& s : picked->sources) out.used_passages.push_back(s.passage);
  out.prompt_tokens = tokens;
  out.history_used = frame.keep;
  return out;
}

}  // namespace

int estimate_messages_tokens(const std::vector<ChatMessage>& messages) {
  int total = 3;  // the assistant turn's priming
  for (const ChatMessage& m : messages) total += estimate_tokens(m.content) + 8;
  return total;
}

namespace {

Status check_budget(const Budget& budget) {
  if (budget.context_window <= 0 || budget.answer_tokens < 0 || budget.safety_margin < 0) {
    return error(ErrorCode::kInvalidArgument, "invalid token budget: context window " +
                                                  std::to_string(budget.context_window) + ", answer " +
                                                  std::to_string(budget.answer_tokens) + ", margin " +
                                                  std::to_string(budget.safety_margin));
  }
  if (budget.answer_tokens >= budget.context_window) {
    return error(ErrorCode::kInvalidArgument, "the answer length (" + std::to_string(budget.answer_tokens) +
                                                  " tokens) must be smaller than the model's context window (" +
                                                  std::to_string(budget.context_window) + " tokens)");
  }
  return Status::ok();
}

}  // namespace

Result<AssembledPrompt> assemble_prompt(const std::string& question, const std::vector<Passage>& passages,
                                        const Budget& budget, const PromptTokenCounter& count_tokens) {
  return assemble_chat_prompt({}, question, passages, budget, count_tokens, 1.0);
}

Result<AssembledPrompt> assemble_chat_prompt(const std::vector<ChatMessage>& history, const std::string& question,
                                             const std::vector<Passage>& passages, const Budget& budget,
                                             const PromptTokenCounter& count_tokens, double sources_budget_ratio) {
  KR_RETURN_IF_ERROR(check_budget(budget));
  if (!(sources_budget_ratio > 0.0 && sources_budget_ratio <= 1.0)) {
    return error(ErrorCode::kInvalidArgument, "the share of the prompt for sources must be in (0, 1], got " +
                                                  std::to_string(sources_budget_ratio));
  }
  const std::string_view q = trim(question);
  if (q.empty()) return error(ErrorCode::kInvalidArgument, "the question is empty");

  Frame frame;
  std::vector<ChatMessage> turns;
  for (const ChatMessage& m : history) {
    if (m.role == "system" || m.role == "developer") {
      if (!trim(m.content).empty()) frame.system += "\n\n" + std::string(trim(m.content));
    } else if (!trim(m.content).empty()) {
      turns.push_back({m.role == "assistant" ? "assistant" : "user", m.content});
    }
  }
  frame.turns = &turns;

  std::vector<size_t> candidates;
  for (size_t i = 0; i < passages.size(); ++i) {
    if (!trim(passages[i].text).empty()) candidates.push_back(i);
  }

  Measure measure(&count_tokens);
  auto result = assemble(frame, q, passages, candidates, budget, sources_budget_ratio, measure);
  if (!measure.failed()) return result;
  // Counts from two different tokenizers cannot be compared: start over on estimates.
  Measure estimate(nullptr);
  return assemble(frame, q, passages, candidates, budget, sources_budget_ratio, estimate);
}

Result<AssembledPrompt> assemble_completion_prompt(const std::string& question,
                                                   const std::vector<Passage>& passages, const Budget& budget,
                                                   const PromptTokenCounter& count_tokens) {
  KR_RETURN_IF_ERROR(check_budget(budget));
  const std::string_view q = trim(question);
  if (q.empty()) return error(ErrorCode::kInvalidArgument, "the question is empty");
  Frame frame;
  frame.completion = true;
  std::vector<size_t> candidates;
  for (size_t i = 0; i < passages.size(); ++i) {
    if (!trim(passages[i].text).empty()) candidates.push_back(i);
  }
  Measure measure(&count_tokens);
  auto result = assemble(frame, q, passages, candidates, budget, 1.0, measure);
  if (!measure.failed()) return result;
  Measure estimate(nullptr);
  return assemble(frame, q, passages, candidates, budget, 1.0, estimate);
}

namespace {

constexpr std::string_view kCondensePrompt =
    "Rewrite the user's follow-up question as a standalone question that can be understood without the "
    "conversation: replace pronouns and references with what they refer to in the conversation. Reply with the "
    "standalone question only, in the language of the follow-up question. If it is already standalone, repeat it "
    "unchanged.";
constexpr size_t kCondenseTurns = 6;
constexpr size_t kCondenseTurnBytes = 1200;

}  // namespace

std::vector<ChatMessage> condense_question_messages(const std::vector<ChatMessage>& history,
                                                    const std::string& question) {
  std::vector<const ChatMessage*> turns;
  for (const ChatMessage& m : history) {
    if ((m.role == "user" || m.role == "assistant") && !trim(m.content).empty()) turns.push_back(&m);
  }
  if (turns.size() > kCondenseTurns) turns.erase(turns.begin(), turns.end() - kCondenseTurns);
  std::string user = "Conversation:\n";
  for (const ChatMessage* m : turns) {
    const std::string_view text = trim(m->content);
    std::string cut(utf8_prefix(text, kCondenseTurnBytes));
    if (cut.size() < text.size()) cut += " …";
    user += (m->role == "user" ? "User: " : "Assistant: ") + cut + "\n";
  }
  user += "\nFollow-up question: " + std::string(trim(question)) + "\n\nStandalone question:";
  return {ChatMessage{"system", std::string(kCondensePrompt)}, ChatMessage{"user", std::move(user)}};
}

std::string clean_condensed_question(const std::string& reply) {
  std::string_view text = trim(reply);
  // The first non-empty line.
  while (!text.empty()) {
    const size_t nl = text.find('\n');
    const std::string_view line = trim(text.substr(0, nl));
    if (!line.empty() || nl == std::string_view::npos) {
      text = line;
      break;
    }
    text.remove_prefix(nl + 1);
  }
  constexpr std::string_view kLabel = "standalone question:";
  if (text.size() >= kLabel.size()) {
    std::string head(text.substr(0, kLabel.size()));
    for (char& c : head) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (head == kLabel) text = trim(text.substr(kLabel.size()));
  }
  if (text.size() >= 2 && (text.front() == '"' || text.front() == '\'') && text.back() == text.front()) {
    text = trim(text.substr(1, text.size() - 2));
  }
  if (text.size() > 2000) return {};
  return std::string(text);
}

std::vector<int> extract_citations(const std::string& answer) {
  constexpr int kMaxSource = 999;
  constexpr int kMaxRange = 100;
  std::vector<int> out;
  std::set<int> seen;
  auto add = [&](int v) {
    if (v >= 1 && v <= kMaxSource && seen.insert(v).second) out.push_back(v);
  };

  for (size_t open = answer.find('['); open != std::string::npos; open = answer.find('[', open + 1)) {
    const size_t close = answer.find_first_of("[]", open + 1);
    if (close == std::string::npos || answer[close] != ']') continue;
    const std::string_view inner(answer.data() + open + 1, close - open - 1);

    // inner := item ((','|';'|' ') item)*, item := number | number ('-'|'–') number
    std::vector<std::pair<int, int>> items;
    bool valid = true, pending_range = false;
    size_t i = 0;
    while (i < inner.size() && valid) {
      const char c = inner[i];
      if (c >= '0' && c <= '9') {
        long v = 0;
        while (i < inner.size() && inner[i] >= '0' && inner[i] <= '9') {
          v = std::min<long>(v * 10 + (inner[i] - '0'), 1'000'000);
          ++i;
        }
        if (pending_range) {
          items.back().second = static_cast<int>(v);
          pending_range = false;
        } else {
          items.emplace_back(static_cast<int>(v), static_cast<int>(v));
        }
      } else if (c == ',' || c == ';' || c == ' ') {
        valid = !pending_range;
        ++i;
      } else if (c == '-' || inner.substr(i, 3) == "\u2013") {
        valid = !items.empty() && !pending_range && items.back().first == items.back().second;
        pending_range = true;
        i += c == '-' ? 1 : 3;
      } else {
        valid = false;
      }
    }
    if (!valid || pending_range || items.empty()) continue;
    for (const auto& [from, to] : items) {
      if (to > kMaxSource || to < from || to - from >= kMaxRange) continue;
      for (int v = from; v <= to; ++v) add(v);
    }
  }
  return out;
}

}  // namespace kr::generate
