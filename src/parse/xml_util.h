// pugixml helpers for OOXML parts: safe loading and prefix-agnostic lookups
// (transitional and strict OOXML use different namespace prefixes).
#pragma once

#include <pugixml.hpp>

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace kr::parse::internal {

// Parses `xml`; kCorruptInput when malformed, kResourceExhausted when nested
// deeper than `max_depth` (so recursive walkers over the tree stay bounded).
Result<std::unique_ptr<pugi::xml_document>> load_xml(std::string_view xml, std::string_view part,
                                                     int max_depth);

// "w:p" -> "p".
std::string_view local_name(const char* name);
bool is(const pugi::xml_node& node, std::string_view local);
// First child element with this local name (null node if none).
pugi::xml_node child(const pugi::xml_node& node, std::string_view local);
// Child elements with this local name.
std::vector<pugi::xml_node> children(const pugi::xml_node& node, std::string_view local);
// First descendant element with this local name, breadth irrelevant (document order).
pugi::xml_node descendant(const pugi::xml_node& node, std::string_view local);
// Attribute value by local name ("" if absent).
std::string_view attr(const pugi::xml_node& node, std::string_view local);

// Relationship id -> target path, resolved against the folder of `part`
// ("ppt/presentation.xml" + "slides/slide1.xml" -> "ppt/slides/slide1.xml").
struct Relationship {
  std::string id;
  std::string type;    // last path segment of the Type URI, e.g. "slide", "notesSlide"
  std::string target;  // package path
};
std::vector<Relationship> parse_relationships(const pugi::xml_document& rels, std::string_view part);
// "ppt/slides/slide1.xml" -> "ppt/slides/_rels/slide1.xml.rels".
std::string rels_path_for(std::string_view part);

}  // namespace kr::parse::internal
