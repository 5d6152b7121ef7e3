// Sentence splitting, content terms and markup stripping shared by extractive answers,
// the answerability decision and the grounding check.
#include "generate/sentences.h"

#include <utf8proc.h>

#include <cctype>
#include <cstdlib>
#include <utility>
#include <unordered_set>

#include "core/text.h"

namespace kr::generate {

namespace {

constexpr size_t kMinTermLength = 3;  // code points
constexpr size_t kStemLength = 5;     // a prefix stands in for a stemmer

const std::unordered_set<std::string_view>& stop_words() {
  static const std::unordered_set<std::string_view> words = {
      "the",   "and",   "for",   "are",   "but",   "not",   "you",   "all",   "any",  "can",  "had",   "has",
      "have",  "her",   "his",   "was",   "were",  "one",   "our",   "out",   "how",  "its",  "may",   "who",
      "whom",  "what",  "when",  "where", "which", "why",   "with",  "this",  "that", "these", "those", "from",
      "into",  "does",  "did",   "doing", "there", "their", "they",  "them",  "then", "than", "been",  "being",
      "will",  "would", "should", "could", "about", "also", "some",  "such",  "only", "other", "your", "more",
      "most",  "very",  "just",  "over",  "each",  "both",  "here",  "she",   "him",  "tell",
      "explain", "describe", "please", "know", "many", "much", "use", "used", "using", "between", "within", "get"};
  return words;
}

// Abbreviations whose period does not end a sentence.
const std::unordered_set<std::string_view>& abbreviations() {
  static const std::unordered_set<std::string_view> words = {
      "dr",  "mr",  "mrs", "ms",  "prof", "sr",  "jr",  "st",   "vs",  "no",  "nos", "fig", "figs", "eq",
      "al",  "approx", "inc", "ltd", "co", "corp", "dept", "est", "jan", "feb", "mar", "apr", "jun", "jul",
      "aug", "sep", "sept", "oct", "nov", "dec", "mt", "gen", "col", "lt", "sgt", "rev", "vol", "pp", "ch",
      "sec", "cf", "ca", "resp", "ref", "refs", "ed", "eds"};
  return words;
}

std::string casefold(std::string_view text) {
  utf8proc_uint8_t* folded = nullptr;
  const utf8proc_ssize_t n =
      utf8proc_map(reinterpret_cast<const utf8proc_uint8_t*>(text.data()), static_cast<utf8proc_ssize_t>(text.size()),
                   &folded, static_cast<utf8proc_option_t>(UTF8PROC_CASEFOLD | UTF8PROC_COMPOSE | UTF8PROC_STABLE));
  if (n < 0) {  // ill-formed UTF-8: ASCII folding is still useful
    std::string out(text);
    for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return out;
  }
  std::string out(reinterpret_cast<const char*>(folded), static_cast<size_t>(n));
  std::free(folded);
  return out;
}

bool is_word_code_point(utf8proc_int32_t cp) {
  if (cp < 0x80) return std::isalnum(static_cast<unsigned char>(cp)) != 0;
  switch (utf8proc_category(cp)) {
    case UTF8PROC_CATEGORY_LU: case UTF8PROC_CATEGORY_LL: case UTF8PROC_CATEGORY_LT:
    case UTF8PROC_CATEGORY_LM: case UTF8PROC_CATEGORY_LO: case UTF8PROC_CATEGORY_ND:
    case UTF8PROC_CATEGORY_MN: case UTF8PROC_CATEGORY_MC:
      return true;
    default:
      return false;
  }
}

bool is_closer(char c) { return c == '"' || c == '\'' || c == ')' || c == ']'; }

// True when the '.' at `dot` ends an abbreviation ("e.g.", "Dr.", "U.S.", initials).
bool ends_abbreviation(std::string_view text, size_t dot) {
  size_t begin = dot;
  while (begin > 0 && !std::isspace(static_cast<unsigned char>(text[begin - 1]))) --begin;
  std::string_view word = text.substr(begin, dot - begin);
  while (!word.empty() && (word.front() == '(' || word.front() == '"' || word.front() == '\'')) word.remove_prefix(1);
  if (word.empty()) return false;
  if (word.find('.') != std::string_view::npos) return true;  // e.g. i.e. U.S.
  if (word.size() == 1 && std::isalpha(static_cast<unsigned char>(word[0]))) return true;  // J. Smith
  std::string lowered(word);
  for (char& c : lowered) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return abbreviations().count(lowered) > 0;
}

}  // namespace

// Lower-cased words of >= 3 code points minus stop words, cut to 5 code points.
std::set<std::string> content_stems(std::string_view text) {
  const std::string folded = casefold(text);
  std::set<std::string> out;
  std::string word, stem;
  size_t length = 0;
  auto flush = [&] {
    if (length >= kMinTermLength && !stop_words().count(word)) out.insert(stem);
    word.clear();
    stem.clear();
    length = 0;
  };
  const auto* p = reinterpret_cast<const utf8proc_uint8_t*>(folded.data());
  utf8proc_ssize_t left = static_cast<utf8proc_ssize_t>(folded.size());
  while (left > 0) {
    utf8proc_int32_t cp = 0;
    utf8proc_ssize_t len = utf8proc_iterate(p, left, &cp);
    if (len <= 0) {  // skip a bad byte
      len = 1;
      cp = -1;
    }
    if (cp >= 0 && is_word_code_point(cp)) {
      word.append(reinterpret_cast<const char*>(p), static_cast<size_t>(len));
      if (length < kStemLength) stem.append(reinterpret_cast<const char*>(p), static_cast<size_t>(len));
      ++length;
    } else {
      flush();
    }
    p += len;
    left -= len;
  }
  flush();
  return out;
}

// Sentences end at newlines, and at . ! ? (plus closing quotes) followed by
// whitespace and an upper-case letter, a digit or a non-ASCII character.
std::vector<std::string_view> split_sentences(std::string_view text) {
  std::vector<std::string_view> out;
  auto emit = [&](size_t from, size_t to) {
    const std::string_view s = trim(text.substr(from, to - from));
    if (!s.empty()) out.push_back(s);
  };
  size_t start = 0;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '\n') {
      emit(start, i);
      start = i + 1;
      continue;
    }
    if (c != '.' && c != '!' && c != '?') continue;
    size_t j = i + 1;
    while (j < text.size() && (text[j] == '.' || text[j] == '!' || text[j] == '?' || is_closer(text[j]))) ++j;
    if (j < text.size() && text[j] != ' ' && text[j] != '\t' && text[j] != '\r') continue;
    size_t k = j;
    while (k < text.size() && (text[k] == ' ' || text[k] == '\t' || text[k] == '\r')) ++k;
    if (k < text.size() && text[k] != '\n') {
      const unsigned char next = static_cast<unsigned char>(text[k]);
      const bool starts = std::isupper(next) || std::isdigit(next) || next >= 0x80 || next == '"' || next == '(';
      if (!starts) continue;
    }
    if (c == '.' && j == i + 1 && ends_abbreviation(text, i)) continue;
    emit(start, j);
    start = j;
    i = j - 1;
  }
  emit(start, text.size());
  return out;
}

namespace {

// Length of the tag starting at text[at] ('<'), or 0 when it is not one ("a < b" stays).
size_t tag_length(std::string_view text, size_t at) {
  if (at + 2 >= text.size()) return 0;
  const unsigned char next = static_cast<unsigned char>(text[at + 1]);
  if (!std::isalpha(next) && next != '/' && next != '!' && next != '?') return 0;
  constexpr size_t kMaxTag = 400;
  for (size_t i = at + 1; i < text.size() && i - at < kMaxTag; ++i) {
    if (text[i] == '>') return i - at + 1;
    if (text[i] == '<' || text[i] == '\n') return 0;
  }
  return 0;
}

// Length of a character entity at text[at] ('&') and its replacement, or 0.
size_t entity_length(std::string_view text, size_t at, std::string& replacement) {
  static constexpr std::pair<std::string_view, std::string_view> kEntities[] = {
      {"&amp;", "&"}, {"&lt;", "<"}, {"&gt;", ">"}, {"&quot;", "\""}, {"&#39;", "'"}, {"&apos;", "'"}, {"&nbsp;", " "}};
  for (const auto& [name, value] : kEntities) {
    if (text.substr(at, name.size()) == name) {
      replacement = value;
      return name.size();
    }
  }
  return 0;
}

}  // namespace

std::string strip_markup(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  bool line_start = true;
  for (size_t i = 0; i < text.size();) {
    const char c = text[i];
    if (c == '<') {
      if (const size_t n = tag_length(text, i)) {
        out += ' ';
        i += n;
        continue;
      }
    }
    if (c == '&') {
      std::string replacement;
      if (const size_t n = entity_length(text, i, replacement)) {
        out += replacement;
        i += n;
        continue;
      }
    }
    if (line_start && c == '#') {  // Markdown heading marks
      while (i < text.size() && text[i] == '#') ++i;
      continue;
    }
    if ((c == '*' || c == '_' || c == '`') && i + 1 < text.size() && text[i + 1] == c) {  // **bold**, __x__, ``code``
      i += 2;
      continue;
    }
    if (c == '`') {
      ++i;
      continue;
    }
    line_start = c == '\n' || (line_start && (c == ' ' || c == '\t'));
    out += c;
    ++i;
  }
  // Collapse runs of spaces and tabs (newlines stay: they end sentences).
  std::string collapsed;
  collapsed.reserve(out.size());
  for (char c : out) {
    const bool blank = c == ' ' || c == '\t' || c == '\r';
    if (blank && (collapsed.empty() || collapsed.back() == ' ' || collapsed.back() == '\n')) continue;
    if (c == '\n' && !collapsed.empty() && collapsed.back() == ' ') collapsed.pop_back();
    collapsed += blank ? ' ' : c;
  }
  return std::string(trim(collapsed));
}

}  // namespace kr::generate
