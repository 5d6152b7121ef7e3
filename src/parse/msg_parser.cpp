// Outlook .msg ([MS-OXMSG]): a compound file whose streams are MAPI
// properties, "__substg1.0_IIIITTTT" (property id, type). Read like EML: a
// header block (From, To, Cc, Date, Subject), the body (plain text, else the
// HTML body), attachments as sections under "Attachment: name", embedded
// messages (attached .msg) the same way one level down.
#include <ctime>

#include "core/text.h"
#include "parse/cfb_reader.h"
#include "parse/parse_internal.h"

namespace kr::parse::internal {
namespace {

constexpr int kMaxNesting = 4;  // messages attached to messages

// Property ids ([MS-OXPROPS]).
constexpr uint16_t kSubject = 0x0037, kClientSubmitTime = 0x0039, kSenderName = 0x0C1A, kSenderEmail = 0x0C1F,
                   kDisplayCc = 0x0E03, kDisplayTo = 0x0E04, kMessageDeliveryTime = 0x0E06, kBody = 0x1000,
                   kHtmlBody = 0x1013, kRtfCompressed = 0x1009, kAttachData = 0x3701, kAttachFilename = 0x3704,
                   kAttachLongFilename = 0x3707, kDisplayName = 0x3001, kSenderSmtp = 0x5D01;
constexpr uint16_t kTypeString8 = 0x001E, kTypeUnicode = 0x001F, kTypeBinary = 0x0102, kTypeObject = 0x000D,
                   kTypeTime = 0x0040;

std::string hex4(uint16_t v) {
  static const char* digits = "0123456789ABCDEF";
  std::string out(4, '0');
  for (int k = 3; k >= 0; --k, v = static_cast<uint16_t>(v >> 4)) out[static_cast<size_t>(k)] = digits[v & 0xF];
  return out;
}

std::string stream_name(uint16_t id, uint16_t type) { return "__substg1.0_" + hex4(id) + hex4(type); }

// FILETIME (100 ns since 1601) as "2024-01-01 10:00:00 UTC".
std::string filetime_text(uint64_t filetime) {
  if (filetime == 0) return {};
  const int64_t seconds = static_cast<int64_t>(filetime / 10'000'000ull) - 11'644'473'600ll;
  const std::time_t t = static_cast<std::time_t>(seconds);
  std::tm tm{};
  if (gmtime_r(&t, &tm) == nullptr) return {};
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S UTC", &tm);
  return buf;
}

class MsgReader {
 public:
  MsgReader(const CompoundFile& file, ParsedDocument& doc, const ParseContext& ctx) : file_(file), doc_(doc), ctx_(ctx) {}

  // One message stored in `storage` (the root, or an attachment's embedded message).
  Status message(uint32_t storage, bool top_level, int depth, std::vector<std::string> path) {
    KR_RETURN_IF_ERROR(ctx_.check_deadline("reading the message"));
    const std::string subject = text(storage, kSubject);
    if (top_level) doc_.title = subject;
    std::string from = text(storage, kSenderName);
    std::string address = text(storage, kSenderSmtp);
    if (address.empty()) address = text(storage, kSenderEmail);
    if (!address.empty() && address != from) from = from.empty() ? address : from + " <" + address + ">";
    std::string date = filetime_text(time_property(storage, kClientSubmitTime, top_level));
    if (date.empty()) date = filetime_text(time_property(storage, kMessageDeliveryTime, top_level));
    std::string summary;
    for (const auto& [label, value] : {std::pair{"From", from}, std::pair{"To", text(storage, kDisplayTo)},
                                       std::pair{"Cc", text(storage, kDisplayCc)}, std::pair{"Date", date},
                                       std::pair{"Subject", subject}}) {
      if (value.empty()) continue;
      summary += (summary.empty() ? "" : "\n") + std::string(label) + ": " + collapse_whitespace(value);
    }
    ParsedDocument header;
    BlockSink(header).add(summary, BlockKind::kParagraph);
    append_blocks(doc_, header, path);
    KR_RETURN_IF_ERROR(body(storage, path));
    for (const uint32_t child : file_.children(storage)) {
      const auto& entry = file_.entry(child);
      if (entry.type == CompoundFile::Type::kStorage && entry.name.rfind("__attach_version1.0_#", 0) == 0) {
        KR_RETURN_IF_ERROR(attachment(child, depth, path));
      }
    }
    return Status::ok();
  }

 private:
  Status body(uint32_t storage, const std::vector<std::string>& path) {
    Result<ParsedDocument> parsed = error(ErrorCode::kNotFound, "");
    if (const std::string plain = text(storage, kBody); !plain.empty()) {
      parsed = parse_text(plain, ctx_);
    } else if (const std::string html = binary(storage, kHtmlBody); !html.empty()) {
      parsed = parse_html(html, ctx_);
    } else {
      if (file_.find(storage, stream_name(kRtfCompressed, kTypeBinary))) {
        doc_.warnings.push_back("the message body is stored only as compressed RTF, which is not read");
      }
      return Status::ok();
    }
    if (!parsed.is_ok()) return parsed.status();
    append_blocks(doc_, *parsed, path);
    return Status::ok();
  }

  Status attachment(uint32_t storage, int depth, const std::vector<std::string>& path) {
    std::string name = text(storage, kAttachLongFilename);
    if (name.empty()) name = text(storage, kAttachFilename);
    if (name.empty()) name = text(storage, kDisplayName);
    if (const auto embedded = file_.find(storage, stream_name(kAttachData, kTypeObject))) {
      if (name.empty()) name = "attached message";
      if (depth + 1 > kMaxNesting) {
        doc_.warnings.push_back("messages nested deeper than " + std::to_string(kMaxNesting) + " levels were skipped");
        return Status::ok();
      }
      std::vector<std::string> inner = path;
      inner.push_back("Attachment: " + name);
      return message(*embedded, false, depth + 1, inner);
    }
    if (name.empty()) name = "unnamed attachment";
    add_attachment(doc_, name, binary(storage, kAttachData), ctx_, path);
    return Status::ok();
  }

  // A string property: UTF-16 (001F) or 8-bit (001E, taken as UTF-8 when valid, else cp1252).
  std::string text(uint32_t storage, uint16_t id) const {
    if (const auto s = file_.find(storage, stream_name(id, kTypeUnicode))) {
      auto bytes = file_.read(*s);
      if (bytes.is_ok()) return trim_nul(sanitize_utf8(utf16_to_utf8(*bytes, false)));
    }
    if (const auto s = file_.find(storage, stream_name(id, kTypeString8))) {
      auto bytes = file_.read(*s);
      if (bytes.is_ok()) return trim_nul(is_valid_utf8(*bytes) ? *bytes : cp1252_to_utf8(*bytes));
    }
    return {};
  }

  std::string binary(uint32_t storage, uint16_t id) const {
    const auto s = file_.find(storage, stream_name(id, kTypeBinary));
    if (!s) return {};
    auto bytes = file_.read(*s);
    return bytes.is_ok() ? std::move(bytes).value() : std::string();
  }

  // A fixed-size property from "__properties_version1.0": a header (32 bytes for
  // the message, 24 for an embedded one), then 16-byte entries: tag, flags, value.
  uint64_t time_property(uint32_t storage, uint16_t id, bool top_level) const {
    const auto s = file_.find(storage, "__properties_version1.0");
    if (!s) return 0;
    auto bytes = file_.read(*s);
    if (!bytes.is_ok()) return 0;
    const std::string_view b = *bytes;
    const auto u32 = [&](size_t at) {
      uint32_t v = 0;
      for (int k = 3; k >= 0; --k) v = (v << 8) | static_cast<unsigned char>(b[at + static_cast<size_t>(k)]);
      return v;
    };
    const uint32_t tag = (static_cast<uint32_t>(id) << 16) | kTypeTime;
    for (size_t at = top_level ? 32 : 24; at + 16 <= b.size(); at += 16) {
      if (u32(at) == tag) return u32(at + 8) | (static_cast<uint64_t>(u32(at + 12)) << 32);
    }
    return 0;
  }

  static std::string trim_nul(std::string s) {
    while (!s.empty() && s.back() == '\0') s.pop_back();
    return s;
  }

  const CompoundFile& file_;
  ParsedDocument& doc_;
  const ParseContext& ctx_;
};

}  // namespace

Result<ParsedDocument> parse_msg(std::string_view bytes, const ParseContext& ctx) {
  auto file = CompoundFile::open(bytes);
  if (!file.is_ok()) return file.status();
  ParsedDocument doc;
  MsgReader reader(*file, doc, ctx);
  KR_RETURN_IF_ERROR(reader.message(CompoundFile::kRoot, true, 0, {}));
  if (doc.blocks.empty()) return error(ErrorCode::kCorruptInput, "the Outlook message has no readable text");
  return doc;
}

}  // namespace kr::parse::internal
