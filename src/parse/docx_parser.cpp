// DOCX: word/document.xml in reading order. Heading levels come from paragraph
// styles (resolved through styles.xml, so localized style ids work) or
// outlineLvl; numbered paragraphs are list items; tables one block per row
// with its header names;
// text boxes follow their anchor paragraph; footnotes/endnotes come last as notes.
#include <cstdlib>
#include <string>
#include <tuple>
#include <unordered_map>
#include <vector>

#include "core/text.h"
#include "parse/ooxml_common.h"
#include "parse/table_rows.h"

namespace kr::parse::internal {
namespace {

constexpr int kTitleLevel = 0;  // the Title style sits above Heading 1
constexpr int kNoLevel = -1;

struct StyleInfo {
  int level = kNoLevel;
  bool list = false;
  std::string based_on;
};

int outline_level(const pugi::xml_node& ppr) {
  const pugi::xml_node lvl = child(ppr, "outlineLvl");
  if (!lvl) return kNoLevel;
  const int v = std::atoi(std::string(attr(lvl, "val")).c_str());
  return v >= 0 && v <= 8 ? v + 1 : kNoLevel;  // 9 = body text
}

class Styles {
 public:
  void load(const pugi::xml_document& xml) {
    for (const pugi::xml_node& style : children(child(xml, "styles"), "style")) {
      if (attr(style, "type") != "paragraph") continue;
      StyleInfo info;
      std::string name(attr(child(style, "name"), "val"));
      for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      if (name == "title") info.level = kTitleLevel;
      else if (name.rfind("heading ", 0) == 0 && name.size() == 9 && name[8] >= '1' && name[8] <= '9') info.level = name[8] - '0';
      const pugi::xml_node ppr = child(style, "pPr");
      if (info.level == kNoLevel) info.level = outline_level(ppr);
      info.list = child(ppr, "numPr") || name.rfind("list", 0) == 0;
      info.based_on = std::string(attr(child(style, "basedOn"), "val"));
      styles_.emplace(std::string(attr(style, "styleId")), std::move(info));
    }
  }

  // Level and list-ness of a style id, following basedOn (bounded: cycles exist in the wild).
  StyleInfo resolve(std::string_view id) const {
    StyleInfo out;
    bool list = false;
    for (int hop = 0; hop < 16 && !id.empty(); ++hop) {
      const auto it = styles_.find(std::string(id));
      if (it == styles_.end()) break;
      if (out.level == kNoLevel) out.level = it->second.level;
      list |= it->second.list;
      id = it->second.based_on;
    }
    out.list = list;
    return out;
  }

 private:
  std::unordered_map<std::string, StyleInfo> styles_;
};

class DocxBuilder {
 public:
  DocxBuilder(ParsedDocument& doc, const Styles& styles, const ParseContext& ctx)
      : doc_(doc), sink_(doc), styles_(styles), ctx_(ctx) {}

  // Body-level content: paragraphs, tables, and containers around them.
  Status body(const pugi::xml_node& parent) {
    for (pugi::xml_node n = parent.first_child(); n; n = n.next_sibling()) {
      if (++elements_ % 256 == 0) KR_RETURN_IF_ERROR(ctx_.check_deadline("reading the document body"));
      if (is(n, "p")) {
        KR_RETURN_IF_ERROR(paragraph(n));
      } else if (is(n, "tbl")) {
        table(n);
      } else if (is(n, "sdt")) {
        KR_RETURN_IF_ERROR(body(child(n, "sdtContent")));
      } else if (is(n, "customXml") || is(n, "ins") || is(n, "moveTo") || is(n, "smartTag")) {
        KR_RETURN_IF_ERROR(body(n));
      }
    }
    return Status::ok();
  }

  void notes(const pugi::xml_node& root, std::string_view tag) {
    sink_.reset_headings();  // notes do not belong to the last section
    for (const pugi::xml_node& note : children(root, tag)) {
      const std::string_view type = attr(note, "type");
      if (!type.empty() && type != "normal") continue;  // separators
      std::string text;
      for (const pugi::xml_node& p : paragraphs_under(note)) {
        std::vector<pugi::xml_node> boxes;
        const std::string line = paragraph_text(p, boxes);
        if (trim(line).empty()) continue;
        if (!text.empty()) text += '\n';
        text += line;
      }
      sink_.add(text, BlockKind::kNote);
    }
  }

 private:
  Status paragraph(const pugi::xml_node& p) {
    std::vector<pugi::xml_node> boxes;
    const std::string text = paragraph_text(p, boxes);
    const pugi::xml_node ppr = child(p, "pPr");
    StyleInfo style = styles_.resolve(attr(child(ppr, "pStyle"), "val"));
    if (const int own = outline_level(ppr); own != kNoLevel) style.level = own;
    if (style.level != kNoLevel) {
      if (style.level == kTitleLevel && doc_.title.empty()) doc_.title = std::string(trim(collapse_whitespace(sanitize_utf8(text))));
      sink_.heading(text, style.level);
    } else {
      sink_.add(text, style.list || child(ppr, "numPr") ? BlockKind::kListItem : BlockKind::kParagraph);
    }
    for (const pugi::xml_node& box : boxes) KR_RETURN_IF_ERROR(body(box));
    return Status::ok();
  }

  void table(const pugi::xml_node& tbl) {
    TableRows rows(sink_, TableRows::Header::kDetect);
    for (const pugi::xml_node& tr : rows_of(tbl)) {
      std::vector<std::string> cells;
      for (pugi::xml_node tc = tr.first_child(); tc; tc = tc.next_sibling()) {
        if (!is(tc, "tc") && !is(tc, "sdt")) continue;
        const pugi::xml_node cell = is(tc, "sdt") ? child(child(tc, "sdtContent"), "tc") : tc;
        std::string text;
        for (const pugi::xml_node& p : paragraphs_under(cell)) {
          std::vector<pugi::xml_node> boxes;
          const std::string part = collapse_whitespace(paragraph_text(p, boxes));
          if (part.empty()) continue;
          if (!text.empty()) text += ' ';
          text += part;
        }
        cells.push_back(std::move(text));
        // A merged cell covers several grid columns; keep later cells under their headers.
        const int span = std::atoi(std::string(attr(child(child(cell, "tcPr"), "gridSpan"), "val")).c_str());
        for (int extra = 1; extra < span && extra < 64; ++extra) cells.emplace_back();
      }
      const bool header = static_cast<bool>(child(child(tr, "trPr"), "tblHeader"));
      rows.add(std::move(cells), header);
    }
    rows.finish();
  }

  static std::vector<pugi::xml_node> rows_of(const pugi::xml_node& tbl) {
    std::vector<pugi::xml_node> rows;
    for (pugi::xml_node n = tbl.first_child(); n; n = n.next_sibling()) {
      if (is(n, "tr")) rows.push_back(n);
      else if (is(n, "sdt")) {
        for (const auto& tr : children(child(n, "sdtContent"), "tr")) rows.push_back(tr);
      }
    }
    return rows;
  }

  // Every w:p under `node` in document order, not descending into paragraphs.
  static std::vector<pugi::xml_node> paragraphs_under(const pugi::xml_node& node) {
    std::vector<pugi::xml_node> out;
    collect_paragraphs(node, out);
    return out;
  }
  static void collect_paragraphs(const pugi::xml_node& node, std::vector<pugi::xml_node>& out) {
    for (pugi::xml_node n = node.first_child(); n; n = n.next_sibling()) {
      if (n.type() != pugi::node_element) continue;
      if (is(n, "p")) out.push_back(n);
      else collect_paragraphs(n, out);
    }
  }

  // Visible text of a paragraph; text boxes found inside are returned separately.
  static std::string paragraph_text(const pugi::xml_node& p, std::vector<pugi::xml_node>& boxes) {
    std::string out;
    append_runs(p, out, boxes);
    return out;
  }
  static void append_runs(const pugi::xml_node& node, std::string& out, std::vector<pugi::xml_node>& boxes) {
    for (pugi::xml_node n = node.first_child(); n; n = n.next_sibling()) {
      if (n.type() != pugi::node_element) continue;
      const std::string_view name = local_name(n.name());
      if (name == "t") out += n.text().get();
      else if (name == "tab" || name == "ptab") out += '\t';
      else if (name == "br" || name == "cr") out += '\n';
      else if (name == "noBreakHyphen") out += '-';
      else if (name == "txbxContent") boxes.push_back(n);
      else if (name == "delText" || name == "instrText" || name == "rPr" || name == "pPr" || name == "Fallback" ||
               name == "del" || name == "moveFrom")
        continue;
      else append_runs(n, out, boxes);
    }
  }

  ParsedDocument& doc_;
  BlockSink sink_;
  const Styles& styles_;
  const ParseContext& ctx_;
  size_t elements_ = 0;
};

}  // namespace

Result<ParsedDocument> parse_docx(std::string_view bytes, const ParseContext& ctx) {
  auto opened = Package::open(bytes, ctx);
  if (!opened.is_ok()) return opened.status();
  Package& pkg = **opened;
  const std::string main = pkg.main_part("word/document.xml");
  auto document = pkg.xml(main);
  if (!document.is_ok()) return document.status();

  Styles styles;
  if (auto xml = pkg.xml(pkg.related(main, "styles", "word/styles.xml")); xml.is_ok()) styles.load(**xml);

  ParsedDocument doc;
  doc.title = pkg.core_title();
  DocxBuilder builder(doc, styles, ctx);
  const pugi::xml_node body = child(child(**document, "document"), "body");
  if (!body) return error(ErrorCode::kCorruptInput, "DOCX main part has no document body");
  KR_RETURN_IF_ERROR(builder.body(body));
  for (const auto& [type, fallback, tag] : {std::tuple{"footnotes", "word/footnotes.xml", "footnote"},
                                            std::tuple{"endnotes", "word/endnotes.xml", "endnote"}}) {
    auto notes = pkg.xml(pkg.related(main, type, fallback));
    if (notes.is_ok()) builder.notes((*notes)->first_child(), tag);
  }
  return doc;
}

}  // namespace kr::parse::internal
