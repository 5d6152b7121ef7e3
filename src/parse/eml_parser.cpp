// EML (RFC 5322 + MIME): the headers people search by (From, To, Date,
// Subject), the body (text/plain preferred over text/html in an alternative),
// and attachments parsed as sections of the message, each under an
// "Attachment: name" heading. Attachments we cannot read become warnings.
#include <algorithm>
#include <map>
#include <string>
#include <vector>

#include "core/text.h"
#include "parse/parse_internal.h"

namespace kr::parse::internal {
namespace {

constexpr int kMaxNesting = 8;  // multipart and message/rfc822 inside each other

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string base64_decode(std::string_view in) {
  static const auto value = [](char c) -> int {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+' || c == '-') return 62;
    if (c == '/' || c == '_') return 63;
    return -1;
  };
  std::string out;
  uint32_t buffer = 0;
  int bits = 0;
  for (const char c : in) {
    const int v = value(c);
    if (v < 0) continue;  // whitespace, padding, junk
    buffer = (buffer << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += static_cast<char>((buffer >> bits) & 0xFF);
    }
  }
  return out;
}

std::string quoted_printable_decode(std::string_view in, bool underscore_is_space) {
  std::string out;
  for (size_t i = 0; i < in.size(); ++i) {
    const char c = in[i];
    if (c == '=' && i + 1 < in.size() && (in[i + 1] == '\n' || in[i + 1] == '\r')) {  // soft line break
      i += (in[i + 1] == '\r' && i + 2 < in.size() && in[i + 2] == '\n') ? 2 : 1;
    } else if (c == '=' && i + 2 < in.size() && std::isxdigit(static_cast<unsigned char>(in[i + 1])) &&
               std::isxdigit(static_cast<unsigned char>(in[i + 2]))) {
      out += static_cast<char>(std::stoi(std::string(in.substr(i + 1, 2)), nullptr, 16));
      i += 2;
    } else {
      out += underscore_is_space && c == '_' ? ' ' : c;
    }
  }
  return out;
}

std::string to_utf8(std::string_view bytes, std::string_view charset) {
  const std::string cs = lower(charset);
  if (cs.empty() || cs == "utf-8" || cs == "utf8" || cs == "us-ascii" || cs == "ascii") {
    return is_valid_utf8(bytes) ? std::string(bytes) : cp1252_to_utf8(bytes);
  }
  if (cs == "iso-8859-1" || cs == "latin1" || cs == "windows-1252" || cs == "cp1252" || cs == "iso-8859-15") {
    return cp1252_to_utf8(bytes);
  }
  return decode_text(bytes).utf8;  // UTF-16 with BOM and the rest: best effort
}

// RFC 2047 encoded words: =?charset?B|Q?text?=
std::string decode_header(std::string_view value) {
  std::string out;
  size_t i = 0;
  while (i < value.size()) {
    const size_t start = value.find("=?", i);
    if (start == std::string_view::npos) break;
    const size_t q1 = value.find('?', start + 2);
    const size_t q2 = q1 == std::string_view::npos ? q1 : value.find('?', q1 + 1);
    const size_t end = q2 == std::string_view::npos ? q2 : value.find("?=", q2 + 1);
    if (end == std::string_view::npos || q2 != q1 + 2) break;
    std::string_view between = value.substr(i, start - i);
    if (!(i > 0 && trim(between).empty())) out += between;  // spaces between encoded words vanish
    const std::string_view charset = value.substr(start + 2, q1 - start - 2);
    const char encoding = static_cast<char>(std::toupper(static_cast<unsigned char>(value[q1 + 1])));
    const std::string_view text = value.substr(q2 + 1, end - q2 - 1);
    out += to_utf8(encoding == 'B' ? base64_decode(text) : quoted_printable_decode(text, true), charset);
    i = end + 2;
  }
  out += value.substr(std::min(i, value.size()));
  return collapse_whitespace(sanitize_utf8(out));
}

struct Part {
  std::map<std::string, std::string> headers;  // lower-case name -> unfolded raw value
  std::string_view body;
};

Part split_part(std::string_view text) {
  Part part;
  size_t pos = 0;
  std::string name;
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(pos, end - pos);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    pos = end + 1;
    if (line.empty()) break;
    if ((line[0] == ' ' || line[0] == '\t') && !name.empty()) {
      part.headers[name] += " " + std::string(trim(line));
      continue;
    }
    const size_t colon = line.find(':');
    if (colon == std::string_view::npos) continue;
    name = lower(trim(line.substr(0, colon)));
    if (part.headers.count(name) == 0) part.headers[name] = std::string(trim(line.substr(colon + 1)));
  }
  part.body = pos < text.size() ? text.substr(pos) : std::string_view();
  return part;
}

// "text/plain; charset=utf-8; name=\"a b.txt\"": the type, or one parameter.
std::string media_type(const std::string& value) { return lower(trim(value.substr(0, value.find(';')))); }
std::string parameter(const std::string& value, std::string_view key) {
  const std::string low = lower(value);
  for (size_t at = low.find(';'); at != std::string::npos; at = low.find(';', at + 1)) {
    size_t k = at + 1;
    while (k < low.size() && std::isspace(static_cast<unsigned char>(low[k]))) ++k;
    if (low.compare(k, key.size(), key) != 0) continue;
    size_t eq = k + key.size();
    while (eq < low.size() && low[eq] == ' ') ++eq;
    if (eq >= low.size() || (low[eq] != '=' && low[eq] != '*')) continue;
    if (low[eq] == '*') eq = low.find('=', eq);  // RFC 2231 name*=utf-8''x: taken raw
    if (eq == std::string::npos) return "";
    std::string v(trim(std::string_view(value).substr(eq + 1)));
    if (!v.empty() && v[0] == '"') {
      const size_t close = v.find('"', 1);
      return v.substr(1, close == std::string::npos ? std::string::npos : close - 1);
    }
    return std::string(trim(v.substr(0, v.find(';'))));
  }
  return "";
}

class EmlReader {
 public:
  EmlReader(ParsedDocument& doc, const ParseContext& ctx) : doc_(doc), ctx_(ctx) {}

  Status part(const Part& p, int depth, std::vector<std::string> path) {
    if (depth > kMaxNesting) {
      doc_.warnings.push_back("message parts nested deeper than " + std::to_string(kMaxNesting) + " levels were skipped");
      return Status::ok();
    }
    KR_RETURN_IF_ERROR(ctx_.check_deadline("reading the message"));
    const auto header = [&](const char* name) {
      const auto it = p.headers.find(name);
      return it == p.headers.end() ? std::string() : it->second;
    };
    const std::string content_type = header("content-type");
    const std::string type = content_type.empty() ? "text/plain" : media_type(content_type);
    std::string file_name = parameter(header("content-disposition"), "filename");
    if (file_name.empty()) file_name = parameter(content_type, "name");
    file_name = decode_header(file_name);
    const bool attachment = lower(header("content-disposition")).rfind("attachment", 0) == 0 || !file_name.empty();

    if (type.rfind("multipart/", 0) == 0) return multipart(p, content_type, type, depth, path);
    if (type == "message/rfc822") return part(split_part(p.body), depth + 1, path);

    const std::string data = decoded_body(p, header("content-transfer-encoding"));
    if (attachment) return add_attachment(file_name.empty() ? "unnamed (" + type + ")" : file_name, data, path);
    if (type == "text/plain" || type == "text/html") {
      const std::string text = to_utf8(data, parameter(content_type, "charset"));
      auto parsed = type == "text/html" ? parse_html(text, ctx_) : parse_text(text, ctx_);
      if (!parsed.is_ok()) return parsed.status();
      append(*parsed, path);
      return Status::ok();
    }
    doc_.warnings.push_back("message part of type " + type + " was skipped");
    return Status::ok();
  }

 private:
  Status multipart(const Part& p, const std::string& content_type, const std::string& type, int depth,
                   const std::vector<std::string>& path) {
    const std::string boundary = parameter(content_type, "boundary");
    if (boundary.empty()) {
      doc_.warnings.push_back("multipart message without a boundary; its parts were skipped");
      return Status::ok();
    }
    const std::string delimiter = "--" + boundary;
    std::vector<Part> parts;
    size_t at = p.body.find(delimiter);
    while (at != std::string_view::npos) {
      size_t start = p.body.find('\n', at);
      if (start == std::string_view::npos || p.body.substr(at + delimiter.size(), 2) == "--") break;
      ++start;
      const size_t next = p.body.find(delimiter, start);
      parts.push_back(split_part(p.body.substr(start, next == std::string_view::npos ? std::string_view::npos : next - start)));
      at = next;
    }
    if (type == "multipart/alternative" && !parts.empty()) {
      // The same content several ways: plain text is the cleanest to index.
      const auto plain = std::find_if(parts.begin(), parts.end(), [](const Part& q) {
        const auto it = q.headers.find("content-type");
        return it == q.headers.end() || media_type(it->second) == "text/plain";
      });
      return part(plain != parts.end() ? *plain : parts.back(), depth + 1, path);
    }
    for (const Part& q : parts) KR_RETURN_IF_ERROR(part(q, depth + 1, path));
    return Status::ok();
  }

  static std::string decoded_body(const Part& p, const std::string& encoding) {
    const std::string e = lower(trim(encoding));
    if (e == "base64") return base64_decode(p.body);
    if (e == "quoted-printable") return quoted_printable_decode(p.body, false);
    return std::string(p.body);
  }

  Status add_attachment(const std::string& name, const std::string& data, std::vector<std::string> path) {
    internal::add_attachment(doc_, name, data, ctx_, std::move(path));
    return Status::ok();
  }

  void append(ParsedDocument& parsed, const std::vector<std::string>& path) { append_blocks(doc_, parsed, path); }

  ParsedDocument& doc_;
  const ParseContext& ctx_;
};

}  // namespace

Result<ParsedDocument> parse_eml(std::string_view bytes, const ParseContext& ctx) {
  const DecodedText decoded = decode_text(bytes);  // UTF-16 exports exist; MIME bodies stay ASCII-safe
  const Part message = split_part(decoded.utf8);
  ParsedDocument doc;
  const auto header = [&](const char* name) {
    const auto it = message.headers.find(name);
    return it == message.headers.end() ? std::string() : decode_header(it->second);
  };
  doc.title = header("subject");
  std::string summary;
  for (const auto& [name, label] : {std::pair{"from", "From"}, std::pair{"to", "To"}, std::pair{"cc", "Cc"},
                                    std::pair{"date", "Date"}, std::pair{"subject", "Subject"}}) {
    const std::string value = header(name);
    if (value.empty()) continue;
    if (!summary.empty()) summary += "\n";
    summary += std::string(label) + ": " + value;
  }
  BlockSink(doc).add(summary, BlockKind::kParagraph);
  EmlReader reader(doc, ctx);
  KR_RETURN_IF_ERROR(reader.part(message, 0, {}));
  return doc;
}

}  // namespace kr::parse::internal
