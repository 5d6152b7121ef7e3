#include "parse/xml_util.h"

#include <utility>

namespace kr::parse::internal {

Result<std::unique_ptr<pugi::xml_document>> load_xml(std::string_view xml, std::string_view part,
                                                     int max_depth) {
  auto doc = std::make_unique<pugi::xml_document>();
  const pugi::xml_parse_result parsed =
      doc->load_buffer(xml.data(), xml.size(), pugi::parse_default | pugi::parse_ws_pcdata_single);
  if (!parsed) {
    return error(ErrorCode::kCorruptInput, "malformed XML in '" + std::string(part) + "': " +
                                               parsed.description() + " at offset " +
                                               std::to_string(parsed.offset));
  }
  // Iterative walk: the tree may be arbitrarily deep, so no recursion here.
  int depth = 0;
  pugi::xml_node node = doc->first_child();
  while (node) {
    if (node.first_child()) {
      node = node.first_child();
      if (++depth > max_depth) {
        return error(ErrorCode::kResourceExhausted, "XML in '" + std::string(part) + "' is nested deeper than " +
                                                        std::to_string(max_depth) + " levels");
      }
      continue;
    }
    while (node && !node.next_sibling()) {
      node = node.parent();
      --depth;
      if (node == *doc) node = pugi::xml_node();
    }
    if (node) node = node.next_sibling();
  }
  return doc;
}

std::string_view local_name(const char* name) {
  std::string_view n(name);
  const size_t colon = n.find(':');
  return colon == std::string_view::npos ? n : n.substr(colon + 1);
}

bool is(const pugi::xml_node& node, std::string_view local) {
  return node.type() == pugi::node_element && local_name(node.name()) == local;
}

pugi::xml_node child(const pugi::xml_node& node, std::string_view local) {
  for (pugi::xml_node c = node.first_child(); c; c = c.next_sibling()) {
    if (is(c, local)) return c;
  }
  return {};
}

std::vector<pugi::xml_node> children(const pugi::xml_node& node, std::string_view local) {
  std::vector<pugi::xml_node> out;
  for (pugi::xml_node c = node.first_child(); c; c = c.next_sibling()) {
    if (is(c, local)) out.push_back(c);
  }
  return out;
}

pugi::xml_node descendant(const pugi::xml_node& node, std::string_view local) {
  return node.find_node([&](const pugi::xml_node& n) { return is(n, local); });
}

std::string_view attr(const pugi::xml_node& node, std::string_view local) {
  for (pugi::xml_attribute a = node.first_attribute(); a; a = a.next_attribute()) {
    if (local_name(a.name()) == local) return a.value();
  }
  return {};
}

namespace {

// Joins `target` onto `base_dir` and resolves "." and ".." segments.
std::string resolve_path(std::string_view base_dir, std::string_view target) {
  std::string joined = !target.empty() && target.front() == '/'
                           ? std::string(target.substr(1))
                           : std::string(base_dir) + std::string(target);
  std::vector<std::string> parts;
  size_t start = 0;
  while (start <= joined.size()) {
    size_t slash = joined.find('/', start);
    if (slash == std::string::npos) slash = joined.size();
    std::string seg = joined.substr(start, slash - start);
    if (seg == "..") {
      if (!parts.empty()) parts.pop_back();
    } else if (!seg.empty() && seg != ".") {
      parts.push_back(std::move(seg));
    }
    start = slash + 1;
  }
  std::string out;
  for (const auto& p : parts) {
    if (!out.empty()) out += '/';
    out += p;
  }
  return out;
}

}  // namespace

std::vector<Relationship> parse_relationships(const pugi::xml_document& rels, std::string_view part) {
  const size_t slash = part.rfind('/');
  const std::string_view dir = slash == std::string_view::npos ? std::string_view() : part.substr(0, slash + 1);
  std::vector<Relationship> out;
  const pugi::xml_node root = child(rels, "Relationships");
  for (const pugi::xml_node& r : children(root, "Relationship")) {
    if (attr(r, "TargetMode") == "External") continue;
    std::string_view type = attr(r, "Type");
    const size_t type_slash = type.rfind('/');
    if (type_slash != std::string_view::npos) type = type.substr(type_slash + 1);
    out.push_back({std::string(attr(r, "Id")), std::string(type), resolve_path(dir, attr(r, "Target"))});
  }
  return out;
}

std::string rels_path_for(std::string_view part) {
  const size_t slash = part.rfind('/');
  if (slash == std::string_view::npos) return "_rels/" + std::string(part) + ".rels";
  return std::string(part.substr(0, slash + 1)) + "_rels/" + std::string(part.substr(slash + 1)) + ".rels";
}

}  // namespace kr::parse::internal
