// EPUB: the zip's container.xml names the package (OPF) file, whose spine
// lists the XHTML chapters in reading order; each goes through the HTML parser.
#include <string>
#include <unordered_map>

#include "core/text.h"
#include "parse/ooxml_common.h"

namespace kr::parse::internal {
namespace {

// "OEBPS/content.opf" + "text/ch1.xhtml" -> "OEBPS/text/ch1.xhtml" ("../" resolved, "#frag" dropped).
std::string resolve(std::string_view base_part, std::string_view href) {
  href = href.substr(0, href.find('#'));
  std::vector<std::string> segments;
  const size_t slash = base_part.rfind('/');
  const std::string joined =
      (slash == std::string_view::npos ? std::string() : std::string(base_part.substr(0, slash + 1))) + std::string(href);
  size_t start = 0;
  while (start <= joined.size()) {
    size_t end = joined.find('/', start);
    if (end == std::string::npos) end = joined.size();
    const std::string segment = joined.substr(start, end - start);
    if (segment == "..") {
      if (!segments.empty()) segments.pop_back();
    } else if (!segment.empty() && segment != ".") {
      segments.push_back(segment);
    }
    start = end + 1;
  }
  std::string out;
  for (const auto& s : segments) out += (out.empty() ? "" : "/") + s;
  return out;
}

// "%20" in hrefs: zip member names are stored unescaped.
std::string percent_decode(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size() && std::isxdigit(static_cast<unsigned char>(s[i + 1])) &&
        std::isxdigit(static_cast<unsigned char>(s[i + 2]))) {
      out += static_cast<char>(std::stoi(std::string(s.substr(i + 1, 2)), nullptr, 16));
      i += 2;
    } else {
      out += s[i];
    }
  }
  return out;
}

}  // namespace

Result<ParsedDocument> parse_epub(std::string_view bytes, const ParseContext& ctx) {
  auto opened = Package::open(bytes, ctx);
  if (!opened.is_ok()) return opened.status();
  Package& pkg = **opened;
  auto container = pkg.xml("META-INF/container.xml");
  if (!container.is_ok()) return error(ErrorCode::kCorruptInput, "EPUB has no readable META-INF/container.xml");
  const std::string opf_part = percent_decode(attr(descendant(**container, "rootfile"), "full-path"));
  auto opf = pkg.xml(opf_part);
  if (!opf.is_ok()) return error(ErrorCode::kCorruptInput, "EPUB package file '" + opf_part + "' is missing or damaged");

  ParsedDocument doc;
  doc.title = std::string(trim(collapse_whitespace(sanitize_utf8(descendant(**opf, "title").text().get()))));
  std::unordered_map<std::string, std::string> hrefs;  // manifest id -> package path
  for (const auto& item : children(descendant(**opf, "manifest"), "item")) {
    hrefs[std::string(attr(item, "id"))] = resolve(opf_part, percent_decode(attr(item, "href")));
  }
  const auto spine = children(descendant(**opf, "spine"), "itemref");
  if (static_cast<long long>(spine.size()) > ctx.limits().max_pages) {
    return error(ErrorCode::kTooLarge, "EPUB has " + std::to_string(spine.size()) + " chapters, more than the limit of " +
                                           std::to_string(ctx.limits().max_pages));
  }
  for (const auto& itemref : spine) {
    KR_RETURN_IF_ERROR(ctx.check_deadline("reading EPUB chapters"));
    const auto href = hrefs.find(std::string(attr(itemref, "idref")));
    if (href == hrefs.end() || !pkg.has(href->second)) {
      doc.warnings.push_back("EPUB spine names a missing chapter '" + sanitize_utf8(attr(itemref, "idref")) + "'");
      continue;
    }
    auto xhtml = pkg.read(href->second);
    if (!xhtml.is_ok()) return xhtml.status();
    auto chapter = parse_html(*xhtml, ctx);
    if (!chapter.is_ok()) return chapter.status();
    for (auto& block : chapter->blocks) doc.blocks.push_back(std::move(block));
  }
  return doc;
}

}  // namespace kr::parse::internal
