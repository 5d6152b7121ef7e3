// HTML via gumbo: headings build the heading path, block elements become
// paragraphs, li list items, tables one row block each (with the header
// names); chrome is dropped.
#include <gumbo.h>

#include <algorithm>
#include <cstdlib>
#include <memory>
#include <vector>

#include "core/text.h"
#include "parse/parse_internal.h"
#include "parse/table_rows.h"

namespace kr::parse::internal {
namespace {

// Guard for gumbo, whose tree teardown recurses: deeper input is rejected before parsing.
constexpr int kMaxPrescanDepth = 10000;

bool is_dropped(GumboTag tag) {
  switch (tag) {
    case GUMBO_TAG_SCRIPT: case GUMBO_TAG_STYLE: case GUMBO_TAG_NAV: case GUMBO_TAG_NOSCRIPT:
    case GUMBO_TAG_TEMPLATE: case GUMBO_TAG_HEAD: case GUMBO_TAG_SVG: case GUMBO_TAG_IFRAME:
    case GUMBO_TAG_OBJECT: case GUMBO_TAG_TITLE:
      return true;
    default:
      return false;
  }
}

bool is_block(GumboTag tag) {
  switch (tag) {
    case GUMBO_TAG_HTML: case GUMBO_TAG_BODY: case GUMBO_TAG_P: case GUMBO_TAG_DIV: case GUMBO_TAG_SECTION:
    case GUMBO_TAG_ARTICLE: case GUMBO_TAG_HEADER: case GUMBO_TAG_FOOTER: case GUMBO_TAG_MAIN:
    case GUMBO_TAG_ASIDE: case GUMBO_TAG_BLOCKQUOTE: case GUMBO_TAG_UL: case GUMBO_TAG_OL: case GUMBO_TAG_DL:
    case GUMBO_TAG_DT: case GUMBO_TAG_DD: case GUMBO_TAG_FIGURE: case GUMBO_TAG_FIGCAPTION: case GUMBO_TAG_FORM:
    case GUMBO_TAG_FIELDSET: case GUMBO_TAG_ADDRESS: case GUMBO_TAG_HR: case GUMBO_TAG_CAPTION:
    case GUMBO_TAG_DETAILS: case GUMBO_TAG_SUMMARY: case GUMBO_TAG_CENTER:
      return true;
    default:
      return false;
  }
}

int heading_level(GumboTag tag) {
  switch (tag) {
    case GUMBO_TAG_H1: return 1;
    case GUMBO_TAG_H2: return 2;
    case GUMBO_TAG_H3: return 3;
    case GUMBO_TAG_H4: return 4;
    case GUMBO_TAG_H5: return 5;
    case GUMBO_TAG_H6: return 6;
    default: return 0;
  }
}

bool is_element(const GumboNode* node) {
  return node->type == GUMBO_NODE_ELEMENT || node->type == GUMBO_NODE_TEMPLATE;
}

// Upper bound of the element nesting gumbo will build, from a tag scan. Tags
// that are void or closed implicitly (p, li, td, ...) are not counted.
int prescan_depth(std::string_view html) {
  static const std::vector<std::string_view> kUncounted = {
      "area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "param", "source", "track",
      "wbr", "p", "li", "td", "th", "tr", "dt", "dd", "option", "tbody", "thead", "tfoot", "colgroup"};
  int depth = 0, max_depth = 0;
  for (size_t i = html.find('<'); i != std::string_view::npos && i + 1 < html.size(); i = html.find('<', i + 1)) {
    const bool closing = html[i + 1] == '/';
    size_t start = i + (closing ? 2 : 1);
    size_t end = start;
    while (end < html.size() && std::isalnum(static_cast<unsigned char>(html[end]))) ++end;
    if (end == start) continue;
    std::string name(html.substr(start, end - start));
    for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (std::find(kUncounted.begin(), kUncounted.end(), name) != kUncounted.end()) continue;
    if (closing) {
      depth = std::max(0, depth - 1);
    } else {
      const size_t gt = html.find('>', end);
      if (gt != std::string_view::npos && gt > 0 && html[gt - 1] == '/') continue;
      max_depth = std::max(max_depth, ++depth);
    }
  }
  return max_depth;
}

// Depth of gumbo's tree without recursion.
int tree_depth(const GumboNode* root) {
  struct Item { const GumboNode* node; int depth; };
  std::vector<Item> stack{{root, 0}};
  int max_depth = 0;
  while (!stack.empty()) {
    const Item item = stack.back();
    stack.pop_back();
    max_depth = std::max(max_depth, item.depth);
    if (!is_element(item.node) && item.node->type != GUMBO_NODE_DOCUMENT) continue;
    const GumboVector& kids = item.node->type == GUMBO_NODE_DOCUMENT ? item.node->v.document.children
                                                                    : item.node->v.element.children;
    for (unsigned i = 0; i < kids.length; ++i) stack.push_back({static_cast<const GumboNode*>(kids.data[i]), item.depth + 1});
  }
  return max_depth;
}

const GumboVector& kids_of(const GumboNode* node) { return node->v.element.children; }

// Elements the page hides (hidden attribute, display:none), e.g. inline XBRL headers.
bool is_hidden(const GumboNode* node) {
  const GumboVector& attrs = node->v.element.attributes;
  for (unsigned i = 0; i < attrs.length; ++i) {
    const auto* a = static_cast<const GumboAttribute*>(attrs.data[i]);
    const std::string_view name(a->name);
    if (name == "hidden") return true;
    if (name != "style" && name != "aria-hidden") continue;
    std::string value;
    for (const char* c = a->value; *c != '\0'; ++c) {
      if (!std::isspace(static_cast<unsigned char>(*c))) value += static_cast<char>(std::tolower(static_cast<unsigned char>(*c)));
    }
    if (value.find("display:none") != std::string::npos || (name == "aria-hidden" && value == "true")) return true;
  }
  return false;
}

// All text under `node` (dropped elements skipped), whitespace as-is.
void gather_text(const GumboNode* node, std::string& out) {
  if (node->type == GUMBO_NODE_TEXT || node->type == GUMBO_NODE_CDATA || node->type == GUMBO_NODE_WHITESPACE) {
    out += node->v.text.text;
    return;
  }
  if (!is_element(node) || is_dropped(node->v.element.tag) || is_hidden(node)) return;
  const GumboTag tag = node->v.element.tag;
  const bool spaced = tag == GUMBO_TAG_BR || tag == GUMBO_TAG_TD || tag == GUMBO_TAG_TH || is_block(tag) ||
                      tag == GUMBO_TAG_LI || heading_level(tag) > 0;
  if (spaced) out += ' ';
  const GumboVector& kids = kids_of(node);
  for (unsigned i = 0; i < kids.length; ++i) gather_text(static_cast<const GumboNode*>(kids.data[i]), out);
  if (spaced) out += ' ';
}

std::string element_text(const GumboNode* node) {
  std::string raw;
  gather_text(node, raw);
  return collapse_whitespace(raw);
}

const GumboNode* find_first(const GumboNode* node, GumboTag tag) {
  if (!is_element(node)) return nullptr;
  if (node->v.element.tag == tag) return node;
  const GumboVector& kids = kids_of(node);
  for (unsigned i = 0; i < kids.length; ++i) {
    if (const GumboNode* hit = find_first(static_cast<const GumboNode*>(kids.data[i]), tag)) return hit;
  }
  return nullptr;
}

class HtmlBuilder {
 public:
  explicit HtmlBuilder(ParsedDocument& doc) : sink_(doc) {}

  void walk(const GumboNode* node) {
    if (node->type == GUMBO_NODE_TEXT || node->type == GUMBO_NODE_CDATA) {
      text_ += node->v.text.text;
      br_pending_ = false;
      return;
    }
    if (node->type == GUMBO_NODE_WHITESPACE) {
      text_ += ' ';
      return;
    }
    if (!is_element(node)) return;
    const GumboTag tag = node->v.element.tag;
    if (is_dropped(tag) || is_hidden(node)) return;
    if (const int level = heading_level(tag); level > 0) {
      flush();
      sink_.heading(element_text(node), level);
      return;
    }
    switch (tag) {
      case GUMBO_TAG_TABLE: flush(); return table(node);
      case GUMBO_TAG_PRE: {
        flush();
        std::string raw;
        gather_text(node, raw);
        sink_.add(raw, BlockKind::kCode);
        return;
      }
      case GUMBO_TAG_BR:
        // Pages that never use <p> separate paragraphs with <br><br>.
        if (br_pending_) return flush();
        text_ += ' ';
        br_pending_ = true;
        return;
      case GUMBO_TAG_LI:
        flush();
        kind_ = BlockKind::kListItem;
        children(node);
        return flush();
      default: break;
    }
    const bool block = is_block(tag);
    if (block) flush();
    children(node);
    if (block) flush();
  }

  void flush() {
    sink_.add(collapse_whitespace(text_), kind_);
    text_.clear();
    kind_ = BlockKind::kParagraph;
    br_pending_ = false;
  }

 private:
  void children(const GumboNode* node) {
    const GumboVector& kids = kids_of(node);
    for (unsigned i = 0; i < kids.length; ++i) walk(static_cast<const GumboNode*>(kids.data[i]));
  }

  void table(const GumboNode* node) {
    TableRows rows(sink_, TableRows::Header::kDetect);
    table_section(node, rows);
    rows.finish();
  }

  void table_section(const GumboNode* node, TableRows& rows) {
    const GumboVector& kids = kids_of(node);
    for (unsigned i = 0; i < kids.length; ++i) {
      const auto* kid = static_cast<const GumboNode*>(kids.data[i]);
      if (!is_element(kid)) continue;
      switch (kid->v.element.tag) {
        case GUMBO_TAG_CAPTION: sink_.add(element_text(kid), BlockKind::kParagraph); break;
        case GUMBO_TAG_THEAD: case GUMBO_TAG_TBODY: case GUMBO_TAG_TFOOT: table_section(kid, rows); break;
        case GUMBO_TAG_TR: row(kid, rows); break;
        default: break;
      }
    }
  }

  // A row of <th> cells only is the table's header.
  void row(const GumboNode* tr, TableRows& rows) {
    std::vector<std::string> cells;
    bool all_th = true;
    const GumboVector& kids = kids_of(tr);
    for (unsigned i = 0; i < kids.length; ++i) {
      const auto* cell = static_cast<const GumboNode*>(kids.data[i]);
      if (!is_element(cell) || (cell->v.element.tag != GUMBO_TAG_TD && cell->v.element.tag != GUMBO_TAG_TH)) continue;
      all_th &= cell->v.element.tag == GUMBO_TAG_TH;
      cells.push_back(element_text(cell));
      const GumboAttribute* colspan = gumbo_get_attribute(&cell->v.element.attributes, "colspan");
      const int span = colspan != nullptr ? std::atoi(colspan->value) : 1;
      for (int extra = 1; extra < span && extra < 64; ++extra) cells.emplace_back();
    }
    const bool header = all_th && !cells.empty();
    rows.add(std::move(cells), header);
  }

  BlockSink sink_;
  std::string text_;
  BlockKind kind_ = BlockKind::kParagraph;
  bool br_pending_ = false;
};

struct OutputDeleter {
  void operator()(GumboOutput* output) const { gumbo_destroy_output(&kGumboDefaultOptions, output); }
};

}  // namespace

Result<ParsedDocument> parse_html(std::string_view bytes, const ParseContext& ctx) {
  ParsedDocument doc;
  const DecodedText decoded = decode_text(bytes);
  if (decoded.encoding == "cp1252") doc.warnings.push_back("HTML is not valid UTF-8; decoded as Windows-1252");
  const int max_depth = ctx.limits().max_xml_depth;
  if (prescan_depth(decoded.utf8) > std::max(kMaxPrescanDepth, max_depth)) {
    return error(ErrorCode::kResourceExhausted,
                 "HTML is nested deeper than " + std::to_string(max_depth) + " levels");
  }
  std::unique_ptr<GumboOutput, OutputDeleter> output(
      gumbo_parse_with_options(&kGumboDefaultOptions, decoded.utf8.data(), decoded.utf8.size()));
  if (!output) return error(ErrorCode::kCorruptInput, "HTML could not be parsed");
  if (tree_depth(output->document) > max_depth + 2) {  // +2: the document node and <html>
    return error(ErrorCode::kResourceExhausted,
                 "HTML is nested deeper than " + std::to_string(max_depth) + " levels");
  }
  KR_RETURN_IF_ERROR(ctx.check_deadline("parsing HTML"));
  if (const GumboNode* title = find_first(output->root, GUMBO_TAG_TITLE)) {
    std::string raw;
    const GumboVector& kids = kids_of(title);
    for (unsigned i = 0; i < kids.length; ++i) {
      const auto* kid = static_cast<const GumboNode*>(kids.data[i]);
      if (kid->type == GUMBO_NODE_TEXT || kid->type == GUMBO_NODE_WHITESPACE) raw += kid->v.text.text;
    }
    doc.title = std::string(trim(collapse_whitespace(sanitize_utf8(raw))));
  }
  HtmlBuilder builder(doc);
  builder.walk(output->root);
  builder.flush();
  return doc;
}

}  // namespace kr::parse::internal
