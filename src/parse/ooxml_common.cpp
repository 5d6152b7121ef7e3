#include "parse/ooxml_common.h"

#include "core/text.h"

namespace kr::parse::internal {

Result<std::unique_ptr<Package>> Package::open(std::string_view bytes, const ParseContext& ctx) {
  auto zip = ZipReader::open(bytes, ctx);
  if (!zip.is_ok()) return zip.status();
  return std::unique_ptr<Package>(new Package(std::move(zip).value(), ctx));
}

Result<XmlDoc> Package::xml(std::string_view part) {
  auto bytes = zip_->read(part);
  if (!bytes.is_ok()) return bytes.status();
  return load_xml(*bytes, part, ctx_.limits().max_xml_depth);
}

std::vector<Relationship> Package::relationships(std::string_view part) {
  auto rels = xml(rels_path_for(part));
  if (!rels.is_ok()) return {};
  return parse_relationships(**rels, part);
}

std::string Package::related(std::string_view part, std::string_view type, std::string_view fallback) {
  for (const auto& rel : relationships(part)) {
    if (rel.type == type && has(rel.target)) return rel.target;
  }
  return std::string(fallback);
}

std::string Package::main_part(std::string_view fallback) {
  auto rels = xml("_rels/.rels");
  if (rels.is_ok()) {
    for (const auto& rel : parse_relationships(**rels, "")) {
      if (rel.type == "officeDocument" && has(rel.target)) return rel.target;
    }
  }
  return std::string(fallback);
}

std::string Package::core_title() {
  auto core = xml("docProps/core.xml");
  if (!core.is_ok()) return {};
  const pugi::xml_node title = descendant(**core, "title");
  return std::string(trim(collapse_whitespace(sanitize_utf8(title.text().get()))));
}

namespace {

void collect(const pugi::xml_node& node, std::string_view text_tag, std::string& out) {
  for (pugi::xml_node c = node.first_child(); c; c = c.next_sibling()) {
    if (c.type() != pugi::node_element) continue;
    if (local_name(c.name()) == text_tag) {
      out += c.text().get();
    } else {
      collect(c, text_tag, out);
    }
  }
}

}  // namespace

std::string descendant_text(const pugi::xml_node& node, std::string_view text_tag) {
  std::string out;
  collect(node, text_tag, out);
  return out;
}

}  // namespace kr::parse::internal
