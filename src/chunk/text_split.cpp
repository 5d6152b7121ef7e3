#include "chunk/text_split.h"

#include <array>

namespace kr::chunk {
namespace {

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; }
bool is_lower(char c) { return c >= 'a' && c <= 'z'; }
bool is_alpha(char c) { return is_lower(c) || (c >= 'A' && c <= 'Z'); }

// Multi-byte punctuation, matched as raw UTF-8 bytes.
constexpr std::array<std::string_view, 3> kCjkTerminators = {"\u3002", "\uFF01", "\uFF1F"};
constexpr std::array<std::string_view, 8> kClosers = {"\u201D", "\u2019", "\u00BB", "\uFF09", "\u300D",
                                                      "\u300F", "\u3011", "\u3009"};
// Dots after these do not end a sentence: "Dr. Smith", "Contoso Inc. and".
constexpr std::array<std::string_view, 18> kAbbreviations = {
    "Mr", "Mrs", "Ms", "Dr", "Prof", "Sr", "Jr", "St", "vs", "approx", "Inc", "Ltd", "Co", "Corp", "No", "Fig",
    "Dept", "Nr"};

size_t match_any(std::string_view text, size_t pos, const auto& needles) {
  for (std::string_view needle : needles) {
    if (text.substr(pos, needle.size()) == needle) return needle.size();
  }
  return 0;
}

// Length of closing quotes/brackets at `pos`, so `He said "Stop." Then` splits after the quote.
size_t skip_closers(std::string_view text, size_t pos) {
  const size_t start = pos;
  while (pos < text.size()) {
    const char c = text[pos];
    if (c == '"' || c == '\'' || c == ')' || c == ']' || c == '}') {
      ++pos;
    } else if (const size_t n = match_any(text, pos, kClosers); n > 0) {
      pos += n;
    } else {
      break;
    }
  }
  return pos - start;
}

bool is_abbreviation(std::string_view text, size_t sentence_begin, size_t dot) {
  size_t word_begin = dot;
  while (word_begin > sentence_begin && is_alpha(text[word_begin - 1])) --word_begin;
  const std::string_view word = text.substr(word_begin, dot - word_begin);
  if (word.size() == 1) return true;  // initials, "e.g.", "U.S."
  for (std::string_view abbreviation : kAbbreviations) {
    if (word == abbreviation) return true;
  }
  return false;
}

size_t skip_spaces(std::string_view text, size_t pos) {
  while (pos < text.size() && is_space(text[pos])) ++pos;
  return pos;
}

}  // namespace

std::vector<Span> split_sentences(std::string_view text) {
  std::vector<Span> out;
  size_t begin = skip_spaces(text, 0);
  const auto close = [&](size_t end, size_t next) {
    while (end > begin && is_space(text[end - 1])) --end;
    if (end > begin) out.push_back({begin, end});
    begin = skip_spaces(text, next);
    return begin;
  };
  size_t i = begin;
  while (i < text.size()) {
    const char c = text[i];
    if (c == '\n') {
      i = close(i, i + 1);
      continue;
    }
    if (c == '.' || c == '!' || c == '?') {
      size_t end = i + 1;
      while (end < text.size() && (text[end] == '.' || text[end] == '!' || text[end] == '?')) ++end;
      end += skip_closers(text, end);
      const bool followed_by_space = end < text.size() && is_space(text[end]);
      const size_t next = skip_spaces(text, end);
      const bool continues_lower = next < text.size() && is_lower(text[next]);
      const bool abbreviation = c == '.' && end == i + 1 && is_abbreviation(text, begin, i);
      if (followed_by_space && !continues_lower && !abbreviation) {
        i = close(end, end);
      } else {
        i = end;
      }
      continue;
    }
    if (static_cast<unsigned char>(c) < 0x80) {
      ++i;
      continue;
    }
    if (const size_t n = match_any(text, i, kCjkTerminators); n > 0) {
      const size_t end = i + n + skip_closers(text, i + n);
      i = close(end, end);
      continue;
    }
    ++i;
  }
  close(text.size(), text.size());
  return out;
}

std::vector<Span> split_words(std::string_view text) {
  std::vector<Span> out;
  size_t i = 0;
  while (i < text.size()) {
    i = skip_spaces(text, i);
    if (i == text.size()) break;
    const size_t begin = i;
    while (i < text.size() && !is_space(text[i])) ++i;
    out.push_back({begin, i});
  }
  return out;
}

bool is_code_point_boundary(std::string_view text, size_t pos) {
  if (pos == 0 || pos >= text.size()) return true;
  return (static_cast<unsigned char>(text[pos]) & 0xC0) != 0x80;
}

}  // namespace kr::chunk
