// Bits shared by the DOCX/PPTX/XLSX parsers: opening the package and its parts.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "parse/parse_internal.h"
#include "parse/xml_util.h"
#include "parse/zip_reader.h"

namespace kr::parse::internal {

using XmlDoc = std::unique_ptr<pugi::xml_document>;

// One open OOXML package.
class Package {
 public:
  static Result<std::unique_ptr<Package>> open(std::string_view bytes, const ParseContext& ctx);

  bool has(std::string_view part) const { return zip_->has(part); }
  const std::vector<std::string>& names() const { return zip_->names(); }
  // Reads and parses a part (kNotFound when absent).
  Result<XmlDoc> xml(std::string_view part);
  // Raw bytes of a part (kNotFound when absent).
  Result<std::string> read(std::string_view part) { return zip_->read(part); }
  // Relationships of `part`; empty when it has none or they are unreadable.
  std::vector<Relationship> relationships(std::string_view part);
  // Target of the first relationship of `type` from `part`, or `fallback`.
  std::string related(std::string_view part, std::string_view type, std::string_view fallback);
  // The main part named by _rels/.rels (officeDocument), or `fallback`.
  std::string main_part(std::string_view fallback);
  // dc:title from docProps/core.xml, "" when absent.
  std::string core_title();

  const ParseContext& ctx() const { return ctx_; }

 private:
  Package(std::unique_ptr<ZipReader> zip, const ParseContext& ctx) : zip_(std::move(zip)), ctx_(ctx) {}
  std::unique_ptr<ZipReader> zip_;
  const ParseContext& ctx_;
};

// Concatenated text of every descendant with local name `text_tag` (e.g. "t"),
// in document order; bounded recursion (the tree depth was checked on load).
std::string descendant_text(const pugi::xml_node& node, std::string_view text_tag);

}  // namespace kr::parse::internal
