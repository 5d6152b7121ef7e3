// XML and JSON as structured text: no tags or braces, one "path > key: value"
// line per leaf, so a chunk still says what each value is. Every record (an
// element or object holding leaves) becomes one block of such lines; nested
// records get their own blocks. Input that does not parse falls back to plain
// text with a warning, so nothing uploaded is lost.
#include <nlohmann/json.hpp>

#include <algorithm>
#include <string>
#include <vector>

#include "core/text.h"
#include "parse/parse_internal.h"
#include "parse/xml_util.h"

namespace kr::parse::internal {
namespace {

// Lines longer than this are cut: a leaf holding a whole base64 blob is not text.
constexpr size_t kMaxValueBytes = 8192;

std::string join_path(const std::vector<std::string>& path) {
  std::string out;
  for (const auto& segment : path) {
    if (segment.empty()) continue;
    if (!out.empty()) out += " > ";
    out += segment;
  }
  return out;
}

std::string line(const std::vector<std::string>& path, std::string_view value) {
  const std::string prefix = join_path(path);
  std::string text(trim(collapse_whitespace(sanitize_utf8(utf8_prefix(value, kMaxValueBytes)))));
  if (text.empty()) return "";  // an empty element or array says nothing
  return prefix.empty() ? text : prefix + ": " + text;
}

// Accumulates one record's lines and emits them as a block.
struct Record {
  std::string text;
  void add(std::string l) {
    if (trim(l).empty()) return;
    if (!text.empty()) text += '\n';
    text += l;
  }
};

// ---------------------------------------------------------------- XML

class XmlWriter {
 public:
  XmlWriter(BlockSink& sink, const ParseContext& ctx) : sink_(sink), ctx_(ctx) {}

  // Depth is bounded: load_xml rejected trees deeper than the limit.
  Status element(const pugi::xml_node& node, std::vector<std::string>& path) {
    if (++elements_ % 1024 == 0) KR_RETURN_IF_ERROR(ctx_.check_deadline("reading XML"));
    path.emplace_back(sanitize_utf8(node.name()));
    Record record;
    for (pugi::xml_attribute a = node.first_attribute(); a; a = a.next_attribute()) {
      const std::string_view name = a.name();
      if (name == "xmlns" || name.rfind("xmlns:", 0) == 0) continue;  // namespace plumbing, not content
      path.push_back("@" + sanitize_utf8(name));
      record.add(line(path, a.value()));
      path.pop_back();
    }
    std::vector<pugi::xml_node> nested;
    for (pugi::xml_node c = node.first_child(); c; c = c.next_sibling()) {
      if (c.type() == pugi::node_pcdata || c.type() == pugi::node_cdata) {
        record.add(line(path, c.value()));
      } else if (c.type() == pugi::node_element) {
        if (is_leaf(c)) {
          path.emplace_back(sanitize_utf8(c.name()));
          record.add(line(path, c.text().get()));
          path.pop_back();
        } else {
          nested.push_back(c);
        }
      }
    }
    sink_.add(record.text, BlockKind::kParagraph);
    for (const auto& c : nested) KR_RETURN_IF_ERROR(element(c, path));
    path.pop_back();
    return Status::ok();
  }

 private:
  // Text only, no attributes: printed as one line of its parent's record.
  static bool is_leaf(const pugi::xml_node& node) {
    if (node.first_attribute()) return false;
    for (pugi::xml_node c = node.first_child(); c; c = c.next_sibling()) {
      if (c.type() == pugi::node_element) return false;
    }
    return true;
  }

  BlockSink& sink_;
  const ParseContext& ctx_;
  size_t elements_ = 0;
};

// ---------------------------------------------------------------- JSON

// Keys stay in document order.
using json = nlohmann::ordered_json;

// Depth of [ and { nesting outside strings, checked before nlohmann builds
// (and later recursively destroys) the tree.
int json_depth(std::string_view text) {
  int depth = 0, max_depth = 0;
  bool in_string = false;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (in_string) {
      if (c == '\\') ++i;
      else if (c == '"') in_string = false;
    } else if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      max_depth = std::max(max_depth, ++depth);
    } else if (c == ']' || c == '}') {
      --depth;
    }
  }
  return max_depth;
}

std::string scalar(const json& value) {
  if (value.is_string()) return value.get<std::string>();
  if (value.is_null()) return "null";
  return value.dump();
}

bool is_scalar_array(const json& value) {
  if (!value.is_array()) return false;
  for (const auto& item : value) {
    if (item.is_structured()) return false;
  }
  return true;
}

class JsonWriter {
 public:
  explicit JsonWriter(BlockSink& sink) : sink_(sink) {}

  // Objects are records; arrays add no path segment (like repeated XML elements).
  void value(const json& v, std::vector<std::string>& path) {
    if (v.is_object()) return object(v, path);
    if (v.is_array()) {
      if (is_scalar_array(v)) {
        sink_.add(line(path, join_scalars(v)), BlockKind::kParagraph);
      } else {
        for (const auto& item : v) value(item, path);
      }
      return;
    }
    sink_.add(line(path, scalar(v)), BlockKind::kParagraph);
  }

 private:
  void object(const json& v, std::vector<std::string>& path) {
    Record record;
    std::vector<std::pair<std::string, const json*>> nested;
    for (const auto& [key, item] : v.items()) {
      if (item.is_structured() && !is_scalar_array(item)) {
        nested.emplace_back(key, &item);
        continue;
      }
      path.push_back(sanitize_utf8(key));
      record.add(line(path, item.is_array() ? join_scalars(item) : scalar(item)));
      path.pop_back();
    }
    sink_.add(record.text, BlockKind::kParagraph);
    for (const auto& [key, item] : nested) {
      path.push_back(sanitize_utf8(key));
      value(*item, path);
      path.pop_back();
    }
  }

  static std::string join_scalars(const json& array) {
    std::string out;
    for (const auto& item : array) {
      if (!out.empty()) out += ", ";
      out += scalar(item);
    }
    return out;
  }

  BlockSink& sink_;
};

Result<ParsedDocument> as_plain_text(std::string_view bytes, const ParseContext& ctx, std::string warning) {
  auto doc = parse_text(bytes, ctx);
  if (doc.is_ok()) doc->warnings.push_back(std::move(warning));
  return doc;
}

bool is_ndjson(std::string_view text) {
  // Two or more lines that each start a JSON value.
  size_t lines = 0;
  for (size_t start = 0; start < text.size();) {
    size_t end = text.find('\n', start);
    if (end == std::string_view::npos) end = text.size();
    const std::string_view l = trim(text.substr(start, end - start));
    if (!l.empty()) {
      if (l.front() != '{' && l.front() != '[') return false;
      ++lines;
    }
    start = end + 1;
  }
  return lines > 1;
}

}  // namespace

Result<ParsedDocument> parse_xml(std::string_view bytes, const ParseContext& ctx) {
  auto xml = load_xml(bytes, "XML file", ctx.limits().max_xml_depth);
  if (!xml.is_ok()) {
    if (xml.status().code() != ErrorCode::kCorruptInput) return xml.status();
    return as_plain_text(bytes, ctx, xml.status().message() + "; indexed as plain text");
  }
  ParsedDocument doc;
  BlockSink sink(doc);
  XmlWriter writer(sink, ctx);
  std::vector<std::string> path;
  for (pugi::xml_node n = (*xml)->first_child(); n; n = n.next_sibling()) {
    if (n.type() == pugi::node_element) KR_RETURN_IF_ERROR(writer.element(n, path));
  }
  return doc;
}

Result<ParsedDocument> parse_json(std::string_view bytes, const ParseContext& ctx) {
  const DecodedText decoded = decode_text(bytes);
  const int max_depth = ctx.limits().max_xml_depth;
  if (json_depth(decoded.utf8) > max_depth) {
    return error(ErrorCode::kResourceExhausted, "JSON is nested deeper than " + std::to_string(max_depth) + " levels");
  }
  ParsedDocument doc;
  BlockSink sink(doc);
  JsonWriter writer(sink);
  std::vector<std::string> path;
  try {
    if (is_ndjson(decoded.utf8)) {
      size_t start = 0;
      while (start < decoded.utf8.size()) {
        size_t end = decoded.utf8.find('\n', start);
        if (end == std::string::npos) end = decoded.utf8.size();
        const std::string_view l = trim(std::string_view(decoded.utf8).substr(start, end - start));
        if (!l.empty()) writer.value(json::parse(l), path);
        start = end + 1;
      }
    } else {
      writer.value(json::parse(decoded.utf8), path);
    }
  } catch (const json::exception& e) {
    return as_plain_text(bytes, ctx, std::string("not valid JSON (") + e.what() + "); indexed as plain text");
  }
  KR_RETURN_IF_ERROR(ctx.check_deadline("reading JSON"));
  return doc;
}

}  // namespace kr::parse::internal
