// OpenDocument (ODT, ODS, ODP): content.xml of the zip package. Headings
// (text:h with their outline level), paragraphs, list items, tables as rows
// with header names; ODS sheets and ODP slides are pages named by the sheet.
#include <algorithm>
#include <cstdlib>
#include <string>

#include "core/text.h"
#include "parse/ooxml_common.h"
#include "parse/table_rows.h"

namespace kr::parse::internal {
namespace {

// Repeated empty cells/rows pad sheets to their full 16k x 1M grid; a few are real.
constexpr long kMaxRepeat = 64;

class OdfBuilder {
 public:
  OdfBuilder(ParsedDocument& doc, const ParseContext& ctx) : doc_(doc), sink_(doc), ctx_(ctx) {}

  // Depth is bounded: load_xml rejected trees deeper than the limit.
  Status walk(const pugi::xml_node& node) {
    for (pugi::xml_node n = node.first_child(); n; n = n.next_sibling()) {
      if (n.type() != pugi::node_element) continue;
      if (++elements_ % 256 == 0) KR_RETURN_IF_ERROR(ctx_.check_deadline("reading the document body"));
      const std::string_view name = n.name();
      if (name == "text:h") {
        const int level = std::atoi(std::string(attr(n, "outline-level")).c_str());
        sink_.heading(text_of(n), level > 0 ? std::min(level, 9) : 1, page_);
      } else if (name == "text:p") {
        sink_.add(text_of(n), list_depth_ > 0 ? BlockKind::kListItem : BlockKind::kParagraph, page_);
      } else if (name == "text:list") {
        ++list_depth_;
        KR_RETURN_IF_ERROR(walk(n));
        --list_depth_;
      } else if (name == "table:table") {
        table(n);
      } else if (name == "draw:page") {
        ++page_;
        doc_.page_count = page_;
        sink_.set_path({sanitize_utf8(attr(n, "name"))});
        KR_RETURN_IF_ERROR(walk(n));
      } else if (name == "office:annotation" || name == "text:tracked-changes" || name == "text:sequence-decls") {
        continue;
      } else {
        KR_RETURN_IF_ERROR(walk(n));
      }
    }
    return Status::ok();
  }

  void set_spreadsheet() { spreadsheet_ = true; }

 private:
  void table(const pugi::xml_node& tbl) {
    if (spreadsheet_) {
      ++page_;
      doc_.page_count = page_;
      sink_.set_path({sanitize_utf8(attr(tbl, "name"))});
    }
    TableRows rows(sink_, TableRows::Header::kDetect, page_);
    add_rows(tbl, rows);
    rows.finish();
  }

  void add_rows(const pugi::xml_node& parent, TableRows& rows) {
    for (pugi::xml_node n = parent.first_child(); n; n = n.next_sibling()) {
      const std::string_view name = n.name();
      if (name == "table:table-row") {
        std::vector<std::string> cells = row_cells(n);
        const long repeat = std::clamp(std::atol(std::string(attr(n, "number-rows-repeated")).c_str()), 1L, kMaxRepeat);
        for (long r = 0; r < repeat; ++r) rows.add(cells);
      } else if (name == "table:table-header-rows" || name == "table:table-rows" || name == "table:table-row-group") {
        add_rows(n, rows);
      }
    }
  }

  std::vector<std::string> row_cells(const pugi::xml_node& row) {
    std::vector<std::string> cells;
    for (pugi::xml_node c = row.first_child(); c; c = c.next_sibling()) {
      const std::string_view name = c.name();
      if (name != "table:table-cell" && name != "table:covered-table-cell") continue;
      std::string text;
      for (pugi::xml_node p = c.first_child(); p; p = p.next_sibling()) {
        const std::string part = text_of(p);
        if (part.empty()) continue;
        if (!text.empty()) text += ' ';
        text += part;
      }
      const long repeat = std::clamp(std::atol(std::string(attr(c, "number-columns-repeated")).c_str()), 1L, kMaxRepeat);
      for (long r = 0; r < repeat; ++r) cells.push_back(text);
    }
    return cells;
  }

  // Visible text of a paragraph: spans and links descended, text:s/tab/line-break as spaces.
  static std::string text_of(const pugi::xml_node& node) {
    std::string out;
    append_text(node, out);
    return collapse_whitespace(sanitize_utf8(out));
  }
  static void append_text(const pugi::xml_node& node, std::string& out) {
    for (pugi::xml_node n = node.first_child(); n; n = n.next_sibling()) {
      if (n.type() == pugi::node_pcdata || n.type() == pugi::node_cdata) {
        out += n.value();
        continue;
      }
      if (n.type() != pugi::node_element) continue;
      const std::string_view name = n.name();
      if (name == "text:s" || name == "text:tab" || name == "text:line-break") out += ' ';
      else if (name == "office:annotation" || name == "text:note-citation") continue;
      else append_text(n, out);
    }
  }

  ParsedDocument& doc_;
  BlockSink sink_;
  const ParseContext& ctx_;
  size_t elements_ = 0;
  int list_depth_ = 0;
  int page_ = 0;
  bool spreadsheet_ = false;
};

}  // namespace

Result<ParsedDocument> parse_odf(std::string_view bytes, const ParseContext& ctx) {
  auto opened = Package::open(bytes, ctx);
  if (!opened.is_ok()) return opened.status();
  Package& pkg = **opened;
  auto content = pkg.xml("content.xml");
  if (!content.is_ok()) return content.status();
  ParsedDocument doc;
  if (auto meta = pkg.xml("meta.xml"); meta.is_ok()) {
    doc.title = std::string(trim(collapse_whitespace(sanitize_utf8(descendant(**meta, "title").text().get()))));
  }
  const pugi::xml_node body = child(child(**content, "document-content"), "body");
  if (!body) return error(ErrorCode::kCorruptInput, "OpenDocument content.xml has no office:body");
  OdfBuilder builder(doc, ctx);
  if (child(body, "spreadsheet")) builder.set_spreadsheet();
  KR_RETURN_IF_ERROR(builder.walk(body));
  return doc;
}

}  // namespace kr::parse::internal
