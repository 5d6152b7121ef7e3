#include "parse/document.h"

namespace kr::parse {

std::string_view format_name(Format format) {
  switch (format) {
    case Format::kText: return "text";
    case Format::kMarkdown: return "markdown";
    case Format::kHtml: return "html";
    case Format::kPdf: return "pdf";
    case Format::kDocx: return "docx";
    case Format::kPptx: return "pptx";
    case Format::kXlsx: return "xlsx";
    case Format::kCsv: return "csv";
    case Format::kXml: return "xml";
    case Format::kJson: return "json";
    case Format::kImage: return "image";
    case Format::kDoc: return "doc";
    case Format::kXls: return "xls";
    case Format::kPpt: return "ppt";
    case Format::kRtf: return "rtf";
    case Format::kEpub: return "epub";
    case Format::kOdt: return "odt";
    case Format::kOds: return "ods";
    case Format::kOdp: return "odp";
    case Format::kEml: return "eml";
    case Format::kXlsb: return "xlsb";
    case Format::kMsg: return "msg";
    case Format::kUnknown: break;
  }
  return "unknown";
}

static constexpr std::string_view kBlockSeparator = "\n\n";

void finalize_offsets(ParsedDocument& doc) {
  size_t offset = 0;
  for (size_t i = 0; i < doc.blocks.size(); ++i) {
    if (i > 0) offset += kBlockSeparator.size();
    doc.blocks[i].char_begin = offset;
    offset += doc.blocks[i].text.size();
    doc.blocks[i].char_end = offset;
  }
}

std::string full_text(const ParsedDocument& doc) {
  std::string out;
  for (size_t i = 0; i < doc.blocks.size(); ++i) {
    if (i > 0) out += kBlockSeparator;
    out += doc.blocks[i].text;
  }
  return out;
}

}  // namespace kr::parse
