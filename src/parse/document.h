// What every parser produces: a document as an ordered list of text blocks.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace kr::parse {

// Values are stable (the parse worker sends them as integers): append new formats at the end.
enum class Format {
  kUnknown, kText, kMarkdown, kHtml, kPdf, kDocx, kPptx, kXlsx, kCsv,
  kXml, kJson, kImage, kDoc, kXls, kPpt, kRtf, kEpub, kOdt, kOds, kOdp, kEml, kXlsb, kMsg
};

// "text", "markdown", "html", "pdf", "docx", "pptx", "xlsx", "csv", "xml", "json", "image",
// "doc", "xls", "ppt", "rtf", "epub", "odt", "ods", "odp", "eml", "xlsb", "msg", "unknown".
std::string_view format_name(Format format);

enum class BlockKind { kParagraph, kHeading, kListItem, kTableRow, kCode, kNote };

struct Block {
  std::string text;                       // valid UTF-8, no NUL bytes, trimmed
  BlockKind kind = BlockKind::kParagraph;
  int page = 0;                           // 1-based page/slide/sheet number; 0 = format has no pages
  std::vector<std::string> heading_path;  // enclosing headings, outermost first (sheet name for xlsx)
  // Byte offsets of `text` in the document's full text, which is every block's
  // text joined with "\n\n" in order (see full_text()). Set by finalize_offsets().
  size_t char_begin = 0;
  size_t char_end = 0;
};

struct ParsedDocument {
  Format format = Format::kUnknown;
  std::string title;                   // from metadata or first heading, may be empty
  int page_count = 0;                  // pages/slides/sheets; 0 when the format has none
  std::vector<int> pages_needing_ocr;  // 1-based pages that had no extractable text
  std::vector<std::string> warnings;   // non-fatal problems a person may want to know
  std::vector<Block> blocks;
};

// Sets char_begin/char_end of every block (blocks joined with "\n\n").
void finalize_offsets(ParsedDocument& doc);

// Every block's text joined with "\n\n"; offsets in blocks index into this.
std::string full_text(const ParsedDocument& doc);

}  // namespace kr::parse
