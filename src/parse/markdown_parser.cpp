// Markdown: a line-based block parser (CommonMark's block structure, not its
// inline syntax). Headings build the heading path; lists, fenced code and pipe
// tables get their own block kinds.
#include <vector>

#include "core/text.h"
#include "parse/parse_internal.h"

namespace kr::parse::internal {
namespace {

size_t indent_of(std::string_view line) {
  size_t n = 0;
  while (n < line.size() && (line[n] == ' ' || line[n] == '\t')) ++n;
  return n;
}

// "```python" -> "```"; empty when the line does not open/close a fence.
std::string_view fence_marker(std::string_view line) {
  if (indent_of(line) > 3) return {};
  line = line.substr(indent_of(line));
  if (line.empty() || (line[0] != '`' && line[0] != '~')) return {};
  size_t n = 0;
  while (n < line.size() && line[n] == line[0]) ++n;
  return n >= 3 ? line.substr(0, n) : std::string_view();
}

// Level 1-6 and the heading text, or level 0.
int atx_heading(std::string_view line, std::string_view& text) {
  if (indent_of(line) > 3) return 0;
  line = line.substr(indent_of(line));
  size_t level = 0;
  while (level < line.size() && line[level] == '#') ++level;
  if (level == 0 || level > 6 || (level < line.size() && line[level] != ' ' && line[level] != '\t')) return 0;
  text = trim(line.substr(level));
  // Optional closing sequence: "## Title ##".
  size_t end = text.size();
  while (end > 0 && text[end - 1] == '#') --end;
  if (end == 0 || text[end - 1] == ' ' || text[end - 1] == '\t') text = trim(text.substr(0, end));
  return static_cast<int>(level);
}

bool all_of_char(std::string_view s, char c, size_t min_count) {
  s = trim(s);
  size_t count = 0;
  for (char ch : s) {
    if (ch == c) ++count;
    else if (ch != ' ') return false;
  }
  return count >= min_count;
}

// Returns the item text after "- ", "* ", "+ ", "1. " or "1) ", or npos.
size_t list_marker_end(std::string_view line) {
  const size_t i = indent_of(line);
  if (i >= line.size()) return std::string_view::npos;
  size_t j = i;
  if (line[j] == '-' || line[j] == '*' || line[j] == '+') {
    ++j;
  } else {
    while (j < line.size() && j - i < 9 && line[j] >= '0' && line[j] <= '9') ++j;
    if (j == i || j >= line.size() || (line[j] != '.' && line[j] != ')')) return std::string_view::npos;
    ++j;
  }
  if (j < line.size() && line[j] != ' ' && line[j] != '\t') return std::string_view::npos;
  return j;
}

bool is_table_separator(std::string_view line) {
  bool dash = false;
  for (char c : line) {
    if (c == '-') dash = true;
    else if (c != '|' && c != ':' && c != ' ' && c != '\t') return false;
  }
  return dash;
}

std::string table_row(std::string_view line) {
  line = trim(line);
  if (!line.empty() && line.front() == '|') line.remove_prefix(1);
  if (!line.empty() && line.back() == '|') line.remove_suffix(1);
  std::string out;
  size_t start = 0;
  while (start <= line.size()) {
    size_t bar = line.find('|', start);
    while (bar != std::string_view::npos && bar > 0 && line[bar - 1] == '\\') bar = line.find('|', bar + 1);
    if (bar == std::string_view::npos) bar = line.size();
    if (start > 0) out += " | ";
    out += trim(line.substr(start, bar - start));
    start = bar + 1;
  }
  return out;
}

class MarkdownBuilder {
 public:
  explicit MarkdownBuilder(ParsedDocument& doc) : sink_(doc) {}

  void line(std::string_view line) {
    if (!fence_.empty()) return code_line(line);
    std::string_view heading_text;
    if (const std::string_view fence = fence_marker(line); !fence.empty()) {
      flush();
      fence_ = std::string(fence);
      return;
    }
    if (trim(line).empty()) return flush();
    if (const int level = atx_heading(line, heading_text); level > 0) {
      flush();
      sink_.heading(heading_text, level);
      return;
    }
    if (kind_ == BlockKind::kParagraph && !text_.empty() && indent_of(line) <= 3) {
      // Setext heading: the paragraph above is underlined with === or ---.
      if (all_of_char(line, '=', 1) || all_of_char(line, '-', 1)) {
        const std::string heading = text_;
        text_.clear();
        sink_.heading(heading, all_of_char(line, '=', 1) ? 1 : 2);
        return;
      }
    }
    if (all_of_char(line, '-', 3) || all_of_char(line, '*', 3) || all_of_char(line, '_', 3)) return flush();
    const std::string_view stripped = trim(line);
    if (stripped.front() == '|') {
      flush();
      if (!is_table_separator(stripped)) sink_.add(table_row(stripped), BlockKind::kTableRow);
      return;
    }
    if (const size_t marker = list_marker_end(line); marker != std::string_view::npos) {
      flush();
      kind_ = BlockKind::kListItem;
      text_ = std::string(trim(line.substr(marker)));
      return;
    }
    std::string_view content = stripped;
    while (!content.empty() && content.front() == '>') content = trim(content.substr(1));
    if (!text_.empty()) text_ += '\n';
    text_ += content;
  }

  void finish() {
    if (!fence_.empty()) {
      sink_.add(code_, BlockKind::kCode);  // unterminated fence runs to the end
      fence_.clear();
    }
    flush();
  }

 private:
  void code_line(std::string_view line) {
    const std::string_view close = fence_marker(line);
    if (!close.empty() && close[0] == fence_[0] && close.size() >= fence_.size() &&
        trim(line).size() == close.size()) {
      sink_.add(code_, BlockKind::kCode);
      code_.clear();
      fence_.clear();
      return;
    }
    code_ += line;
    code_ += '\n';
  }

  void flush() {
    sink_.add(text_, kind_);
    text_.clear();
    kind_ = BlockKind::kParagraph;
  }

  BlockSink sink_;
  std::string text_;
  BlockKind kind_ = BlockKind::kParagraph;
  std::string fence_;  // open fence marker, empty outside code
  std::string code_;
};

}  // namespace

Result<ParsedDocument> parse_markdown(std::string_view bytes, const ParseContext&) {
  ParsedDocument doc;
  const DecodedText decoded = decode_text(bytes);
  if (decoded.encoding == "cp1252") doc.warnings.push_back("text is not valid UTF-8; decoded as Windows-1252");
  MarkdownBuilder builder(doc);
  const std::string_view text = decoded.utf8;
  size_t start = 0;
  while (start <= text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(start, end - start);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    builder.line(line);
    start = end + 1;
  }
  builder.finish();
  return doc;
}

}  // namespace kr::parse::internal
