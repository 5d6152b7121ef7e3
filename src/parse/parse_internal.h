// Private to src/parse: the per-file context and one entry point per format.
#pragma once

#include <chrono>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"
#include "parse/document.h"
#include "parse/parser.h"

namespace kr::parse::internal {

// Limits plus the clock for one parse_document call.
class ParseContext {
 public:
  explicit ParseContext(const Limits& limits, std::string_view password = {})
      : limits_(limits), password_(password), start_(std::chrono::steady_clock::now()) {}

  const Limits& limits() const { return limits_; }
  // The password given with the upload ("" when none); valid for this parse only.
  std::string_view password() const { return password_; }

  // kDeadlineExceeded once max_seconds_per_file has passed; `where` names the step.
  Status check_deadline(std::string_view where) const;
  // Seconds until max_seconds_per_file is reached (negative once past it).
  double seconds_left() const;

 private:
  Limits limits_;
  std::string_view password_;
  std::chrono::steady_clock::time_point start_;
};

// Builds a document's block list; drops empty text and keeps every block
// sanitized and trimmed so parsers need not care.
class BlockSink {
 public:
  explicit BlockSink(ParsedDocument& doc) : doc_(doc) {}

  // Adds a block under the current heading path. Returns false if `text` was empty.
  bool add(std::string_view text, BlockKind kind, int page = 0);
  // Adds a heading block at `level` (1 = outermost) and makes it the current
  // path for following blocks. Empty headings are ignored.
  void heading(std::string_view text, int level, int page = 0);
  void reset_headings() { path_.clear(); }
  // Replaces the heading path (e.g. the sheet name for spreadsheets).
  void set_path(std::vector<std::string> path);

 private:
  struct Level {
    int level;
    std::string text;
  };
  ParsedDocument& doc_;
  std::vector<Level> path_;
};

// Collapses runs of whitespace (incl. newlines) into one space.
std::string collapse_whitespace(std::string_view s);

// Decoded text of a text-like file plus what was detected.
struct DecodedText {
  std::string utf8;
  std::string encoding;  // "utf-8", "utf-16le", "cp1252", ...
};
// BOMs (UTF-8/16/32), BOM-less UTF-16 by NUL pattern, UTF-8, else cp1252.
DecodedText decode_text(std::string_view bytes);
// True when the bytes look like binary data rather than text in any encoding we decode.
bool looks_binary(std::string_view bytes);
// cp1252 (a superset of Latin-1's printable range) to UTF-8.
std::string cp1252_to_utf8(std::string_view bytes);
// UTF-16 code units (surrogate pairs joined) to UTF-8; a trailing odd byte is dropped.
std::string utf16_to_utf8(std::string_view bytes, bool big_endian);

// Format parsers. `bytes` is the whole file; all return a filled document or an error.
Result<ParsedDocument> parse_text(std::string_view bytes, const ParseContext& ctx);
Result<ParsedDocument> parse_markdown(std::string_view bytes, const ParseContext& ctx);
Result<ParsedDocument> parse_csv(std::string_view bytes, std::string_view file_name,
                                 const ParseContext& ctx);
Result<ParsedDocument> parse_html(std::string_view bytes, const ParseContext& ctx);
Result<ParsedDocument> parse_pdf(std::string_view bytes, const ParseContext& ctx);
Result<ParsedDocument> parse_docx(std::string_view bytes, const ParseContext& ctx);
Result<ParsedDocument> parse_pptx(std::string_view bytes, const ParseContext& ctx);
Result<ParsedDocument> parse_xlsx(std::string_view bytes, const ParseContext& ctx);
Result<ParsedDocument> parse_xlsb(std::string_view bytes, const ParseContext& ctx);
Result<ParsedDocument> parse_xml(std::string_view bytes, const ParseContext& ctx);
Result<ParsedDocument> parse_json(std::string_view bytes, const ParseContext& ctx);
Result<ParsedDocument> parse_image(std::string_view bytes, const ParseContext& ctx);
Result<ParsedDocument> parse_doc(std::string_view bytes, const ParseContext& ctx);
Result<ParsedDocument> parse_xls(std::string_view bytes, const ParseContext& ctx);
Result<ParsedDocument> parse_ppt(std::string_view bytes, const ParseContext& ctx);
Result<ParsedDocument> parse_rtf(std::string_view bytes, const ParseContext& ctx);
Result<ParsedDocument> parse_odf(std::string_view bytes, const ParseContext& ctx);  // ODT, ODS, ODP
Result<ParsedDocument> parse_epub(std::string_view bytes, const ParseContext& ctx);
Result<ParsedDocument> parse_eml(std::string_view bytes, const ParseContext& ctx);
Result<ParsedDocument> parse_msg(std::string_view bytes, const ParseContext& ctx);

// Appends `part`'s blocks to `doc` under `path` (page numbers dropped).
void append_blocks(ParsedDocument& doc, ParsedDocument& part, const std::vector<std::string>& path);
// Parses a message attachment into `doc` under path + "Attachment: name";
// images, nested messages and unreadable files become warnings instead.
void add_attachment(ParsedDocument& doc, const std::string& name, const std::string& data, const ParseContext& ctx,
                    std::vector<std::string> path);

// RFC 4180 rows of fields: quotes around fields, "" inside quotes.
std::vector<std::vector<std::string>> split_csv_rows(std::string_view text, char delimiter);

// What the bytes are: a format to parse, or an error explaining why not.
struct Sniffed {
  Format format = Format::kUnknown;
  Status status;  // non-ok when the file is recognised but cannot be parsed
};
Sniffed sniff(std::string_view bytes, std::string_view file_name);

}  // namespace kr::parse::internal
