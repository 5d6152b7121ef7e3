// XLSX: every worksheet in workbook order (page = sheet index, heading path =
// sheet name), one table-row block per non-empty row, values as stored and
// named by the sheet's header row when it has one.
#include <string>
#include <vector>

#include "core/text.h"
#include "parse/ooxml_common.h"
#include "parse/table_rows.h"

namespace kr::parse::internal {
namespace {

// Gaps wider than this between filled cells are not padded with empty columns.
constexpr size_t kMaxPaddedGap = 64;

// Shared string i: rich-text runs concatenated, phonetic hints (rPh) skipped.
std::vector<std::string> shared_strings(const pugi::xml_document& xml) {
  std::vector<std::string> out;
  for (const pugi::xml_node& si : children(child(xml, "sst"), "si")) {
    std::string text;
    for (pugi::xml_node n = si.first_child(); n; n = n.next_sibling()) {
      if (is(n, "t")) text += n.text().get();
      else if (is(n, "r")) text += child(n, "t").text().get();
    }
    out.push_back(std::move(text));
  }
  return out;
}

// Zero-based column of a reference like "AB12"; npos when absent or malformed.
size_t column_of(std::string_view ref) {
  size_t col = 0, letters = 0;
  for (const char c : ref) {
    if (c >= 'A' && c <= 'Z') col = col * 26 + static_cast<size_t>(c - 'A' + 1);
    else if (c >= 'a' && c <= 'z') col = col * 26 + static_cast<size_t>(c - 'a' + 1);
    else break;
    if (++letters > 3) return std::string_view::npos;
  }
  return letters == 0 ? std::string_view::npos : col - 1;
}

std::string cell_value(const pugi::xml_node& c, const std::vector<std::string>& strings) {
  const std::string_view type = attr(c, "t");
  const char* v = child(c, "v").text().get();
  if (type == "s") {
    const long index = std::strtol(v, nullptr, 10);
    return index >= 0 && static_cast<size_t>(index) < strings.size() ? strings[static_cast<size_t>(index)] : "";
  }
  if (type == "inlineStr") {
    const pugi::xml_node is_node = child(c, "is");
    std::string text = child(is_node, "t").text().get();
    for (const auto& r : children(is_node, "r")) text += child(r, "t").text().get();
    return text;
  }
  if (type == "b") return std::string(v) == "1" ? "TRUE" : "FALSE";
  return v;  // numbers, formula strings ("str") and errors ("e") as written
}

// The row's cells in column order, short gaps padded with empty cells so
// columns stay aligned with the header row.
std::vector<std::string> row_cells(const pugi::xml_node& row, const std::vector<std::string>& strings) {
  std::vector<std::string> cells;
  for (const pugi::xml_node& c : children(row, "c")) {
    std::string value = collapse_whitespace(cell_value(c, strings));
    const size_t col = column_of(attr(c, "r"));
    if (col != std::string_view::npos && col > cells.size() && col - cells.size() <= kMaxPaddedGap) {
      cells.resize(col);
    }
    cells.push_back(std::move(value));
  }
  return cells;
}

struct Sheet {
  std::string name;
  std::string part;
};

}  // namespace

Result<ParsedDocument> parse_xlsx(std::string_view bytes, const ParseContext& ctx) {
  auto opened = Package::open(bytes, ctx);
  if (!opened.is_ok()) return opened.status();
  Package& pkg = **opened;
  const std::string main = pkg.main_part("xl/workbook.xml");
  auto workbook = pkg.xml(main);
  if (!workbook.is_ok()) return workbook.status();

  std::vector<std::string> strings;
  const std::string strings_part = pkg.related(main, "sharedStrings", "xl/sharedStrings.xml");
  if (pkg.has(strings_part)) {
    auto xml = pkg.xml(strings_part);
    if (!xml.is_ok()) return xml.status();
    strings = shared_strings(**xml);
  }

  const auto rels = pkg.relationships(main);
  std::vector<Sheet> sheets;
  for (const pugi::xml_node& s : children(child(child(**workbook, "workbook"), "sheets"), "sheet")) {
    std::string_view rel_id;
    for (pugi::xml_attribute a = s.first_attribute(); a; a = a.next_attribute()) {
      if (std::string_view(a.name()).find(':') != std::string_view::npos && local_name(a.name()) == "id") rel_id = a.value();
    }
    for (const auto& rel : rels) {
      if (rel.id == rel_id) sheets.push_back({std::string(attr(s, "name")), rel.target});
    }
  }
  if (static_cast<long long>(sheets.size()) > ctx.limits().max_pages) {
    return error(ErrorCode::kTooLarge, "workbook has " + std::to_string(sheets.size()) +
                                           " sheets, more than the limit of " + std::to_string(ctx.limits().max_pages));
  }
  ParsedDocument doc;
  doc.title = pkg.core_title();
  doc.page_count = static_cast<int>(sheets.size());
  BlockSink sink(doc);
  for (size_t i = 0; i < sheets.size(); ++i) {
    const int page = static_cast<int>(i + 1);
    KR_RETURN_IF_ERROR(ctx.check_deadline("reading sheet " + std::to_string(page)));
    if (!pkg.has(sheets[i].part)) continue;  // chart sheets and dialog sheets have no cells
    auto sheet = pkg.xml(sheets[i].part);
    if (!sheet.is_ok()) return sheet.status();
    sink.set_path({sanitize_utf8(sheets[i].name)});
    const pugi::xml_node data = child(child(**sheet, "worksheet"), "sheetData");
    TableRows table(sink, TableRows::Header::kDetect, page);
    for (const pugi::xml_node& row : children(data, "row")) table.add(row_cells(row, strings));
    table.finish();
  }
  return doc;
}

}  // namespace kr::parse::internal
