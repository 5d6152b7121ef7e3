// RTF: a small tokenizer of our own (no external tool) that keeps the text of
// the body, skips destinations that hold no readable text (font tables,
// pictures, field instructions, metadata), decodes \'hh bytes as Windows-1252
// and \uN as Unicode, ends paragraphs at \par, and keeps tables as rows
// (\cell, \row) with header names. Untrusted input: nesting is bounded and
// every loop moves forward.
#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <memory>
#include <string>
#include <unordered_set>
#include <vector>

#include "core/text.h"
#include "parse/parse_internal.h"
#include "parse/table_rows.h"

namespace kr::parse::internal {
namespace {

bool is_skipped_destination(std::string_view word) {
  static const std::unordered_set<std::string_view> kSkipped = {
      "fonttbl", "colortbl", "stylesheet", "info", "pict", "object", "header", "headerl", "headerr", "headerf",
      "footer", "footerl", "footerr", "footerf", "fldinst", "themedata", "colorschememapping", "datastore",
      "latentstyles", "listtable", "listoverridetable", "rsidtbl", "generator", "xmlnstbl", "mmathPr", "filetbl",
      "revtbl", "userprops", "docvar", "xmlopen", "nonshppict", "bkmkstart", "bkmkend", "pnseclvl", "listtext",
      "pntext", "pntxta", "pntxtb", "fldtype", "datafield", "template", "private"};
  return kSkipped.count(word) > 0;
}

// RTF's \uN: NUL and lone surrogates carry no text, so they are dropped, not replaced.
void append_code_point(std::string& out, uint32_t cp) {
  if (cp == 0 || (cp >= 0xD800 && cp <= 0xDFFF) || cp > 0x10FFFF) return;
  append_utf8(out, cp);
}

class RtfReader {
 public:
  RtfReader(std::string_view rtf, ParsedDocument& doc, int max_depth)
      : rtf_(rtf), sink_(doc), max_depth_(max_depth) {}

  Status read() {
    groups_.push_back({});
    while (pos_ < rtf_.size()) {
      const char c = rtf_[pos_++];
      if (c == '{') {
        if (static_cast<int>(groups_.size()) >= max_depth_) {
          return error(ErrorCode::kResourceExhausted, "RTF groups are nested deeper than " + std::to_string(max_depth_) + " levels");
        }
        groups_.push_back(groups_.back());
        groups_.back().first_word = true;
      } else if (c == '}') {
        if (groups_.size() > 1) groups_.pop_back();
      } else if (c == '\\') {
        control();
      } else if (c != '\r' && c != '\n') {
        groups_.back().first_word = false;
        text_byte(static_cast<unsigned char>(c));
      }
    }
    end_paragraph();
    end_table();
    return Status::ok();
  }

 private:
  struct Group {
    bool skip = false;        // inside a destination without readable text
    bool first_word = false;  // the next control word opens the group (a destination name)
    bool starred = false;     // "\*": an optional destination, skipped when unknown
    int unicode_skip = 1;     // \ucN: fallback characters after each \uN
    bool in_table = false;
  };

  void control() {
    if (pos_ >= rtf_.size()) return;
    const char c = rtf_[pos_];
    if (!std::isalpha(static_cast<unsigned char>(c))) {
      ++pos_;
      if (c != '*') groups_.back().first_word = false;  // "{\*\name" still opens a destination
      switch (c) {
        case '\'': {
          if (pos_ + 2 <= rtf_.size()) {
            const std::string hex(rtf_.substr(pos_, 2));
            pos_ += 2;
            text_byte(static_cast<unsigned char>(std::strtol(hex.c_str(), nullptr, 16)));
          }
          return;
        }
        case '*': groups_.back().starred = true; return;
        case '~': return text(" ");
        case '_': return text("-");
        case '-': return;  // optional hyphen
        case '\r': case '\n': return end_paragraph();
        default: return text_byte(static_cast<unsigned char>(c));  // \\ \{ \}
      }
    }
    const size_t start = pos_;
    while (pos_ < rtf_.size() && pos_ - start < 32 && std::isalpha(static_cast<unsigned char>(rtf_[pos_]))) ++pos_;
    const std::string_view word = rtf_.substr(start, pos_ - start);
    bool has_param = false;
    long param = 0;
    const size_t num_start = pos_;
    if (pos_ < rtf_.size() && (rtf_[pos_] == '-' || std::isdigit(static_cast<unsigned char>(rtf_[pos_])))) {
      ++pos_;
      while (pos_ < rtf_.size() && pos_ - num_start < 11 && std::isdigit(static_cast<unsigned char>(rtf_[pos_]))) ++pos_;
      param = std::strtol(std::string(rtf_.substr(num_start, pos_ - num_start)).c_str(), nullptr, 10);
      has_param = true;
    }
    if (pos_ < rtf_.size() && rtf_[pos_] == ' ') ++pos_;  // the delimiter belongs to the control word
    word_(word, has_param, param);
  }

  void word_(std::string_view word, bool has_param, long param) {
    Group& g = groups_.back();
    const bool opens_group = g.first_word;
    g.first_word = false;
    if (word == "bin" && has_param && param > 0) {  // raw binary data follows
      pos_ = std::min(rtf_.size(), pos_ + static_cast<size_t>(param));
      return;
    }
    if (opens_group && (is_skipped_destination(word) || g.starred)) {
      // Known text destinations under \* (e.g. \*\shppict's fallback) are rare; skipping is the safe side.
      g.skip = true;
      return;
    }
    if (word == "uc" && has_param) g.unicode_skip = static_cast<int>(std::clamp(param, 0L, 8L));
    else if (word == "u" && has_param) unicode(param);
    else if (word == "par" || word == "sect" || word == "page" || word == "line") end_paragraph();
    else if (word == "pard") g.in_table = false;
    else if (word == "intbl") g.in_table = true;
    else if (word == "cell") end_cell();
    else if (word == "row") end_row();
    else if (word == "tab") text(" ");
    else if (word == "emdash") text("\u2014");
    else if (word == "endash") text("\u2013");
    else if (word == "bullet") text("\u2022");
    else if (word == "lquote") text("\u2018");
    else if (word == "rquote") text("\u2019");
    else if (word == "ldblquote") text("\u201C");
    else if (word == "rdblquote") text("\u201D");
  }

  void unicode(long value) {
    if (value < 0) value += 65536;
    if (!groups_.back().skip) append_code_point(paragraph_, static_cast<uint32_t>(value));
    // Skip the fallback representation: N characters, a \'hh counting as one.
    for (int n = 0; n < groups_.back().unicode_skip && pos_ < rtf_.size(); ++n) {
      if (rtf_[pos_] == '\\' && pos_ + 1 < rtf_.size() && rtf_[pos_ + 1] == '\'') pos_ = std::min(rtf_.size(), pos_ + 4);
      else if (rtf_[pos_] == '{' || rtf_[pos_] == '}' || rtf_[pos_] == '\\') break;
      else ++pos_;
    }
  }

  void text_byte(unsigned char byte) {
    if (groups_.back().skip) return;
    if (byte < 0x80) paragraph_ += static_cast<char>(byte);
    else paragraph_ += cp1252_to_utf8(std::string(1, static_cast<char>(byte)));
  }
  void text(std::string_view utf8) {
    if (!groups_.back().skip) paragraph_ += utf8;
  }

  void end_paragraph() {
    if (groups_.back().in_table) {
      paragraph_ += ' ';  // a paragraph inside a cell continues the cell
      return;
    }
    if (!trim(paragraph_).empty()) end_table();
    sink_.add(collapse_whitespace(paragraph_), BlockKind::kParagraph);
    paragraph_.clear();
  }
  void end_cell() {
    cells_.push_back(collapse_whitespace(paragraph_));
    paragraph_.clear();
  }
  void end_row() {
    if (!table_) table_ = std::make_unique<TableRows>(sink_, TableRows::Header::kDetect);
    if (!trim(paragraph_).empty()) end_cell();
    table_->add(std::move(cells_));
    cells_.clear();
    paragraph_.clear();
  }
  void end_table() {
    if (!table_) return;
    table_->finish();
    table_.reset();
  }

  std::string_view rtf_;
  size_t pos_ = 0;
  BlockSink sink_;
  int max_depth_;
  std::vector<Group> groups_;
  std::string paragraph_;
  std::vector<std::string> cells_;
  std::unique_ptr<TableRows> table_;
};

}  // namespace

Result<ParsedDocument> parse_rtf(std::string_view bytes, const ParseContext& ctx) {
  ParsedDocument doc;
  RtfReader reader(bytes, doc, ctx.limits().max_xml_depth);
  KR_RETURN_IF_ERROR(reader.read());
  KR_RETURN_IF_ERROR(ctx.check_deadline("reading RTF"));
  return doc;
}

}  // namespace kr::parse::internal
