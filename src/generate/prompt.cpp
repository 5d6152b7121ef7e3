// Prompt assembly under a token budget, and citation parsing.
#include "generate/prompt.h"

#include <algorithm>
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

std::vector<ChatMessage> build_messages(std::string_view question, const std::vector<Source>& sources,
                                        const std::vector<Passage>& passages) {
  std::string user;
  if (sources.empty()) {
    user = "Sources: none.\n\n";
  } else {
    user = "Sources:\n\n";
    for (size_t i = 0; i < sources.size(); ++i) {
      user += source_header(i + 1, passages[sources[i].passage]);
      user += '\n';
      user += sources[i].text;
      if (sources[i].cut_mid_sentence) user += " …";
      user += "\n\n";
    }
  }
  user += "Question: ";
  user += question;
  return {ChatMessage{"system", std::string(kSystemPrompt)}, ChatMessage{"user", std::move(user)}};
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

Result<AssembledPrompt> assemble(std::string_view question, const std::vector<Passage>& passages,
                                 const std::vector<size_t>& candidates, const Budget& budget, Measure& measure) {
  const int limit = budget.context_window - budget.answer_tokens - budget.safety_margin;
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
    if (estimate_messages_tokens(build_messages(question, whole(mid), passages)) <= limit) {
      lo = mid;
    } else {
      hi = mid - 1;
    }
  }
  const int guess = std::max(lo, 0);

  std::vector<std::optional<int>> counts(n + 1);
  auto fits = [&](int m) {
    counts[m] = measure(build_messages(question, whole(m), passages));
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

  if (lo < 0) {
    return error(ErrorCode::kResourceExhausted,
                 "the question is too long for the model: the prompt needs " + std::to_string(*counts[0]) +
                     " tokens but a context window of " + std::to_string(budget.context_window) + " leaves " +
                     std::to_string(std::max(limit, 0)) + " after reserving " + std::to_string(budget.answer_tokens) +
                     " for the answer and " + std::to_string(budget.safety_margin) +
                     " as margin; shorten the question or ask for a shorter answer");
  }

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
        auto messages = build_messages(question, trial, passages);
        const int trial_tokens = measure(messages);
        if (trial_tokens <= limit) {
          sources = std::move(trial);
          tokens = trial_tokens;
        }
      }
    }
  }

  AssembledPrompt out;
  out.messages = build_messages(question, sources, passages);
  for (const Source& s : sources) out.used_passages.push_back(s.passage);
  out.prompt_tokens = tokens;
  return out;
}

}  // namespace

int estimate_messages_tokens(const std::vector<ChatMessage>& messages) {
  int total = 3;  // the assistant turn's priming
  for (const ChatMessage& m : messages) total += estimate_tokens(m.content) + 8;
  return total;
}

Result<AssembledPrompt> assemble_prompt(const std::string& question, const std::vector<Passage>& passages,
                                        const Budget& budget, const PromptTokenCounter& count_tokens) {
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
  const std::string_view q = trim(question);
  if (q.empty()) return error(ErrorCode::kInvalidArgument, "the question is empty");

  std::vector<size_t> candidates;
  for (size_t i = 0; i < passages.size(); ++i) {
    if (!trim(passages[i].text).empty()) candidates.push_back(i);
  }

  Measure measure(&count_tokens);
  auto result = assemble(q, passages, candidates, budget, measure);
  if (!measure.failed()) return result;
  // Counts from two different tokenizers cannot be compared: start over on estimates.
  Measure estimate(nullptr);
  return assemble(q, passages, candidates, budget, estimate);
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
