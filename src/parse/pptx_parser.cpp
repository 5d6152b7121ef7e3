// PPTX: slides in presentation order (page = slide number); the title
// placeholder becomes the slide's heading, other shapes and tables follow in
// shape-tree order, speaker notes come last as a note block.
#include <algorithm>
#include <string>
#include <unordered_set>
#include <vector>

#include "core/text.h"
#include "parse/ooxml_common.h"

namespace kr::parse::internal {
namespace {

// Text of one DrawingML paragraph (a:p): runs, fields and line breaks.
std::string paragraph_text(const pugi::xml_node& p) {
  std::string out;
  for (pugi::xml_node n = p.first_child(); n; n = n.next_sibling()) {
    if (is(n, "r") || is(n, "fld")) out += child(n, "t").text().get();
    else if (is(n, "br")) out += '\n';
  }
  return out;
}

bool is_bulleted(const pugi::xml_node& p) {
  const pugi::xml_node ppr = child(p, "pPr");
  return child(ppr, "buChar") || child(ppr, "buAutoNum");
}

std::string_view placeholder_type(const pugi::xml_node& sp) {
  const pugi::xml_node ph = child(child(child(sp, "nvSpPr"), "nvPr"), "ph");
  if (!ph) return {};
  const std::string_view type = attr(ph, "type");
  return type.empty() ? std::string_view("body") : type;  // a ph without type is a body placeholder
}

bool is_title(const pugi::xml_node& sp) {
  const std::string_view type = placeholder_type(sp);
  return type == "title" || type == "ctrTitle";
}

class SlideBuilder {
 public:
  SlideBuilder(BlockSink& sink, int page) : sink_(sink), page_(page) {}

  void slide(const pugi::xml_document& xml) {
    const pugi::xml_node tree = child(child(xml.document_element(), "cSld"), "spTree");
    sink_.reset_headings();
    // The title first, whatever its position in the shape tree.
    if (const pugi::xml_node title = find_title(tree)) {
      std::string text;
      for (const auto& p : children(child(title, "txBody"), "p")) text += paragraph_text(p) + " ";
      sink_.heading(text, 1, page_);
      title_ = title;
    }
    shapes(tree);
  }

 private:
  static pugi::xml_node find_title(const pugi::xml_node& tree) {
    for (pugi::xml_node n = tree.first_child(); n; n = n.next_sibling()) {
      if (is(n, "sp") && is_title(n)) return n;
      if (is(n, "grpSp")) {
        if (const pugi::xml_node hit = find_title(n)) return hit;
      }
    }
    return {};
  }

  void shapes(const pugi::xml_node& tree) {
    for (pugi::xml_node n = tree.first_child(); n; n = n.next_sibling()) {
      if (n == title_) continue;
      if (is(n, "sp")) {
        const std::string_view ph = placeholder_type(n);
        if (ph == "sldNum" || ph == "dt" || ph == "ftr") continue;  // slide chrome
        text_body(child(n, "txBody"));
      } else if (is(n, "grpSp")) {
        shapes(n);
      } else if (is(n, "graphicFrame")) {
        const pugi::xml_node tbl = descendant(n, "tbl");
        if (tbl) table(tbl);
      } else if (is(n, "AlternateContent")) {
        shapes(child(n, "Choice"));
      }
    }
  }

  void text_body(const pugi::xml_node& body) {
    for (const pugi::xml_node& p : children(body, "p")) {
      sink_.add(paragraph_text(p), is_bulleted(p) ? BlockKind::kListItem : BlockKind::kParagraph, page_);
    }
  }

  void table(const pugi::xml_node& tbl) {
    for (const pugi::xml_node& tr : children(tbl, "tr")) {
      std::string row;
      for (const pugi::xml_node& tc : children(tr, "tc")) {
        std::string cell;
        for (const auto& p : children(child(tc, "txBody"), "p")) cell += paragraph_text(p) + " ";
        cell = collapse_whitespace(cell);
        if (cell.empty()) continue;
        if (!row.empty()) row += " | ";
        row += cell;
      }
      sink_.add(row, BlockKind::kTableRow, page_);
    }
  }

  BlockSink& sink_;
  int page_;
  pugi::xml_node title_;
};

// Speaker notes: the body placeholder(s) of the notes slide.
std::string notes_text(const pugi::xml_document& notes) {
  std::string out;
  const pugi::xml_node tree = child(child(notes.document_element(), "cSld"), "spTree");
  for (const pugi::xml_node& sp : children(tree, "sp")) {
    if (placeholder_type(sp) != "body") continue;
    for (const auto& p : children(child(sp, "txBody"), "p")) {
      const std::string line = paragraph_text(p);
      if (trim(line).empty()) continue;
      if (!out.empty()) out += '\n';
      out += line;
    }
  }
  return out;
}

// Slide parts in presentation order; falls back to slideN.xml by number.
std::vector<std::string> slide_order(Package& pkg, const std::string& main) {
  std::vector<std::string> slides;
  std::unordered_set<std::string> seen;
  auto presentation = pkg.xml(main);
  if (presentation.is_ok()) {
    const auto rels = pkg.relationships(main);
    const pugi::xml_node list = child(child(**presentation, "presentation"), "sldIdLst");
    for (const pugi::xml_node& id : children(list, "sldId")) {
      const std::string_view rid = attr(id, "id");  // r:id (local name "id" also matches the numeric id)
      std::string_view rel_id;
      for (pugi::xml_attribute a = id.first_attribute(); a; a = a.next_attribute()) {
        if (std::string_view(a.name()).find(':') != std::string_view::npos && local_name(a.name()) == "id") rel_id = a.value();
      }
      if (rel_id.empty()) rel_id = rid;
      for (const auto& rel : rels) {
        if (rel.id == rel_id && rel.type == "slide" && pkg.has(rel.target) && seen.insert(rel.target).second) {
          slides.push_back(rel.target);
          break;
        }
      }
    }
  }
  if (!slides.empty()) return slides;
  std::vector<std::pair<long, std::string>> numbered;
  for (const auto& name : pkg.names()) {
    const std::string lower = normalize_zip_name(name);
    if (lower.rfind("ppt/slides/slide", 0) != 0 || lower.size() < 21 || lower.substr(lower.size() - 4) != ".xml") continue;
    const std::string digits = lower.substr(16, lower.size() - 20);
    if (digits.empty() || digits.find_first_not_of("0123456789") != std::string::npos || digits.size() > 9) continue;
    numbered.emplace_back(std::stol(digits), name);
  }
  std::sort(numbered.begin(), numbered.end());
  for (auto& [n, name] : numbered) slides.push_back(std::move(name));
  return slides;
}

}  // namespace

Result<ParsedDocument> parse_pptx(std::string_view bytes, const ParseContext& ctx) {
  auto opened = Package::open(bytes, ctx);
  if (!opened.is_ok()) return opened.status();
  Package& pkg = **opened;
  const std::string main = pkg.main_part("ppt/presentation.xml");
  const std::vector<std::string> slides = slide_order(pkg, main);
  if (static_cast<long long>(slides.size()) > ctx.limits().max_pages) {
    return error(ErrorCode::kTooLarge, "presentation has " + std::to_string(slides.size()) +
                                           " slides, more than the limit of " + std::to_string(ctx.limits().max_pages));
  }
  ParsedDocument doc;
  doc.title = pkg.core_title();
  doc.page_count = static_cast<int>(slides.size());
  BlockSink sink(doc);
  for (size_t i = 0; i < slides.size(); ++i) {
    const int page = static_cast<int>(i + 1);
    KR_RETURN_IF_ERROR(ctx.check_deadline("reading slide " + std::to_string(page)));
    auto slide = pkg.xml(slides[i]);
    if (!slide.is_ok()) {
      if (slide.status().code() != ErrorCode::kCorruptInput) return slide.status();
      doc.warnings.push_back("slide " + std::to_string(page) + " skipped: " + slide.status().message());
      continue;
    }
    SlideBuilder(sink, page).slide(**slide);
    const std::string notes_part = pkg.related(slides[i], "notesSlide", "");
    if (notes_part.empty()) continue;
    auto notes = pkg.xml(notes_part);
    if (notes.is_ok()) sink.add(notes_text(**notes), BlockKind::kNote, page);
  }
  return doc;
}

}  // namespace kr::parse::internal
