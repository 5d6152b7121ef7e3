// Legacy binary Office files (.doc, .xls, .ppt) through the catdoc package's
// converters (catdoc, xls2csv, catppt), run as time-limited child processes:
// no maintained C++ library reads these formats, and the converters are small
// C programs kept out of our address space.
#include <algorithm>

#include "core/text.h"
#include "parse/parse_internal.h"
#include "parse/table_rows.h"
#include "parse/tool_runner.h"

namespace kr::parse::internal {
namespace {

constexpr const char* kPackage = "catdoc";

Result<std::string> convert(const char* tool, std::string_view bytes, const ParseContext& ctx) {
  ToolRun run;
  run.argv = {tool, "-d", "utf-8", "{input}"};
  if (std::string_view(tool) == "catdoc") run.argv.insert(run.argv.begin() + 1, "-w");  // one line per paragraph
  run.debian_package = kPackage;
  run.seconds = std::max(1.0, ctx.seconds_left());
  auto text = run_tool(run, bytes);
  if (!text.is_ok()) return text.status();
  return sanitize_utf8(*text);
}

// One block per line: the converters end each paragraph with a newline; Word
// table rows come out tab-separated.
void add_lines(std::string_view text, int page, BlockSink& sink) {
  for (size_t start = 0; start < text.size();) {
    size_t end = text.find_first_of("\n\f", start);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(start, end - start);
    start = end + 1;
    if (line.find('\t') != std::string_view::npos) {
      std::string row;
      for (size_t s = 0; s <= line.size();) {
        size_t e = line.find('\t', s);
        if (e == std::string_view::npos) e = line.size();
        const std::string_view cell = trim(line.substr(s, e - s));
        if (!cell.empty()) row += (row.empty() ? "" : " | ") + std::string(cell);
        s = e + 1;
      }
      sink.add(row, BlockKind::kTableRow, page);
    } else {
      sink.add(collapse_whitespace(line), BlockKind::kParagraph, page);
    }
  }
}

Status require_text(const ParsedDocument& doc, std::string_view what) {
  if (!doc.blocks.empty()) return Status::ok();
  return error(ErrorCode::kCorruptInput, "no text could be read from this " + std::string(what) +
                                             "; it may be an old version the converter does not read (save it in a current Office format)");
}

// .doc and .ppt: the converter prints plain text, one paragraph a line.
Result<ParsedDocument> parse_as_lines(const char* tool, std::string_view what, std::string_view bytes,
                                      const ParseContext& ctx) {
  auto text = convert(tool, bytes, ctx);
  if (!text.is_ok()) return text.status();
  ParsedDocument doc;
  BlockSink sink(doc);
  add_lines(*text, 0, sink);
  KR_RETURN_IF_ERROR(require_text(doc, what));
  return doc;
}

}  // namespace

Result<ParsedDocument> parse_doc(std::string_view bytes, const ParseContext& ctx) {
  return parse_as_lines("catdoc", "Word document", bytes, ctx);
}

Result<ParsedDocument> parse_ppt(std::string_view bytes, const ParseContext& ctx) {
  return parse_as_lines("catppt", "PowerPoint presentation", bytes, ctx);
}

// xls2csv writes each sheet as CSV, sheets separated by a form feed.
Result<ParsedDocument> parse_xls(std::string_view bytes, const ParseContext& ctx) {
  auto text = convert("xls2csv", bytes, ctx);
  if (!text.is_ok()) return text.status();
  ParsedDocument doc;
  BlockSink sink(doc);
  int sheet = 0;
  for (size_t start = 0; start < text->size();) {
    size_t end = text->find('\f', start);
    if (end == std::string::npos) end = text->size();
    const std::string_view csv = std::string_view(*text).substr(start, end - start);
    start = end + 1;
    if (trim(csv).empty()) continue;
    ++sheet;
    TableRows rows(sink, TableRows::Header::kDetect, sheet);
    for (auto& row : split_csv_rows(csv, ',')) rows.add(std::move(row));
    rows.finish();
  }
  doc.page_count = sheet;
  KR_RETURN_IF_ERROR(require_text(doc, "Excel workbook"));
  return doc;
}

}  // namespace kr::parse::internal
