// Format detection from content: magic numbers first, then zip member names,
// then markup sniffing; the extension only separates text-like formats.
#include <algorithm>
#include <cstring>
#include <optional>

#include "core/text.h"
#include "parse/cfb_reader.h"
#include "parse/parse_internal.h"
#include "parse/zip_reader.h"

namespace kr::parse::internal {
namespace {

bool starts_with(std::string_view s, std::string_view prefix) { return s.substr(0, prefix.size()) == prefix; }

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string extension_of(std::string_view file_name) {
  const size_t slash = file_name.find_last_of("/\\");
  if (slash != std::string_view::npos) file_name = file_name.substr(slash + 1);
  const size_t dot = file_name.rfind('.');
  return dot == std::string_view::npos ? std::string() : lower(file_name.substr(dot + 1));
}

uint32_t read_u32(std::string_view b, size_t at) {
  uint32_t v = 0;
  for (int k = 3; k >= 0; --k) v = (v << 8) | static_cast<unsigned char>(b[at + k]);
  return v;
}

// Legacy Word encrypts in place and sets a bit in the FIB of the "WordDocument"
// stream instead of adding an EncryptionInfo stream. This walks just enough of
// the compound-file directory to find that stream's first sector.
bool legacy_word_encrypted(std::string_view b) {
  if (b.size() < 512) return false;
  const unsigned shift = static_cast<unsigned char>(b[0x1E]) | (static_cast<unsigned char>(b[0x1F]) << 8);
  if (shift != 9 && shift != 12) return false;
  const size_t sector = size_t{1} << shift;
  const auto sector_offset = [&](uint32_t id) { return (static_cast<size_t>(id) + 1) * sector; };
  std::vector<uint32_t> fat;  // from the header's DIFAT only; enough to walk the directory
  for (size_t i = 0; i < 109; ++i) {
    const uint32_t fat_sector = read_u32(b, 0x4C + i * 4);
    if (fat_sector >= 0xFFFFFFFA) break;
    const size_t at = sector_offset(fat_sector);
    if (at + sector > b.size()) break;
    for (size_t k = 0; k < sector; k += 4) fat.push_back(read_u32(b, at + k));
  }
  static const std::u16string_view kName = u"WordDocument";
  uint32_t dir = read_u32(b, 0x30);
  for (int hops = 0; dir < 0xFFFFFFFA && hops < 4096; ++hops) {
    const size_t at = sector_offset(dir);
    if (at + sector > b.size()) return false;
    for (size_t e = at; e + 128 <= at + sector; e += 128) {
      const size_t name_bytes = static_cast<unsigned char>(b[e + 0x40]) | (static_cast<unsigned char>(b[e + 0x41]) << 8);
      if (name_bytes != (kName.size() + 1) * 2) continue;
      bool match = true;
      for (size_t k = 0; k < kName.size() && match; ++k) {
        match = static_cast<unsigned char>(b[e + 2 * k]) == kName[k] && b[e + 2 * k + 1] == '\0';
      }
      if (!match) continue;
      const size_t fib = sector_offset(read_u32(b, e + 0x74));
      if (fib + 12 > b.size()) return false;
      const bool word_magic = static_cast<unsigned char>(b[fib]) == 0xEC && static_cast<unsigned char>(b[fib + 1]) == 0xA5;
      return word_magic && (static_cast<unsigned char>(b[fib + 0x0B]) & 0x01) != 0;  // fEncrypted
    }
    dir = dir < fat.size() ? fat[dir] : 0xFFFFFFFE;
  }
  return false;
}

Sniffed unsupported(std::string message) { return {Format::kUnknown, error(ErrorCode::kUnsupported, std::move(message))}; }

// OpenDocument and EPUB store their media type uncompressed as the first zip
// member, "mimetype"; "" when the archive does not start that way.
std::string_view stored_mimetype(std::string_view b) {
  if (b.size() < 38 || b.substr(26, 2) != std::string_view("\x08\0", 2) || b.substr(30, 8) != "mimetype") return {};
  const uint32_t size = read_u32(b, 18);
  const size_t extra = static_cast<unsigned char>(b[28]) | (static_cast<unsigned char>(b[29]) << 8);
  const size_t start = 38 + extra;
  if (size > 100 || start > b.size()) return {};
  return trim(b.substr(start, size));
}

Sniffed sniff_zip(std::string_view bytes) {
  const ZipListing listing = list_zip_names(bytes);
  if (!listing.intact) {
    // Guess the package type from surviving member names, so the parser
    // reports the damage in terms of the document the user uploaded.
    for (const auto& raw : listing.names) {
      const std::string name = normalize_zip_name(raw);
      if (name.rfind("word/", 0) == 0) return {Format::kDocx, {}};
      if (name.rfind("ppt/", 0) == 0) return {Format::kPptx, {}};
      if (name.rfind("xl/", 0) == 0) return {Format::kXlsx, {}};
    }
    const bool office = !listing.names.empty() && normalize_zip_name(listing.names[0]) == "[content_types].xml";
    return {Format::kUnknown,
            error(ErrorCode::kCorruptInput, office ? "Office document is damaged or truncated (incomplete zip archive)"
                                                   : "zip archive is damaged, truncated or empty")};
  }
  bool odf = false;
  for (const auto& raw : listing.names) {
    const std::string name = normalize_zip_name(raw);
    if (name == "word/document.xml") return {Format::kDocx, {}};
    if (name == "ppt/presentation.xml") return {Format::kPptx, {}};
    if (name == "xl/workbook.xml") return {Format::kXlsx, {}};
    if (name == "xl/workbook.bin") return {Format::kXlsb, {}};
    if (name == "content.xml" || name == "mimetype") odf = true;
  }
  if (odf) {
    const std::string_view mime = stored_mimetype(bytes);
    if (mime == "application/epub+zip") return {Format::kEpub, {}};
    if (mime == "application/vnd.oasis.opendocument.text") return {Format::kOdt, {}};
    if (mime == "application/vnd.oasis.opendocument.spreadsheet") return {Format::kOds, {}};
    if (mime == "application/vnd.oasis.opendocument.presentation") return {Format::kOdp, {}};
    return unsupported("zip archive with an unsupported document type '" + sanitize_utf8(mime) +
                       "' (supported: OpenDocument text/spreadsheet/presentation, EPUB)");
  }
  return unsupported("zip archive that is not a Word, PowerPoint, Excel, OpenDocument or EPUB document");
}

Sniffed encrypted_office() {
  return {Format::kUnknown, error(ErrorCode::kEncrypted,
                                  "password-protected Office document; open it in Office, remove the password "
                                  "(File > Info > Protect > Encrypt with Password) and upload again")};
}

// By the streams directly under the root; nullopt when the directory is unreadable.
std::optional<Sniffed> sniff_ole2_directory(std::string_view bytes) {
  auto file = CompoundFile::open(bytes);
  if (!file.is_ok()) return std::nullopt;
  const auto has = [&](std::string_view name) { return file->find(CompoundFile::kRoot, name).has_value(); };
  if (has("EncryptionInfo") || (has("WordDocument") && legacy_word_encrypted(bytes))) return encrypted_office();
  if (has("WordDocument")) return Sniffed{Format::kDoc, {}};
  if (has("Workbook") || has("Book")) return Sniffed{Format::kXls, {}};
  if (has("PowerPoint Document")) return Sniffed{Format::kPpt, {}};
  if (has("__properties_version1.0") || has("__nameid_version1.0")) return Sniffed{Format::kMsg, {}};
  return std::nullopt;
}

Sniffed sniff_ole2(std::string_view bytes) {
  // An attachment's bytes live inside a stream, so stream names found by a
  // byte search could be the attachment's: the directory decides when readable.
  if (auto by_directory = sniff_ole2_directory(bytes)) return *by_directory;
  static constexpr char kEncryptionInfo[] = "E\0n\0c\0r\0y\0p\0t\0i\0o\0n\0I\0n\0f\0o\0";
  const std::string_view needle(kEncryptionInfo, sizeof(kEncryptionInfo) - 1);
  if (bytes.find(needle) != std::string_view::npos || legacy_word_encrypted(bytes)) return encrypted_office();
  const auto has_stream = [&](std::u16string_view name) {
    std::string encoded;
    for (const char16_t c : name) encoded += {static_cast<char>(c), '\0'};
    return bytes.find(encoded) != std::string_view::npos;
  };
  if (has_stream(u"WordDocument")) return {Format::kDoc, {}};
  if (has_stream(u"Workbook") || has_stream(u"Book")) return {Format::kXls, {}};
  if (has_stream(u"PowerPoint Document")) return {Format::kPpt, {}};
  if (has_stream(u"__substg1.0_")) return {Format::kMsg, {}};
  return unsupported("OLE2 compound file that is not a Word, Excel or PowerPoint document");
}

// 2 = definitely HTML (doctype/html tag), 1 = starts with HTML-ish markup, 0 = not markup.
int html_signal(std::string_view text) {
  size_t start = 0;
  while (start < text.size() && std::isspace(static_cast<unsigned char>(text[start]))) ++start;
  const std::string head = lower(text.substr(start, 1024));
  if (head.find("<!doctype html") != std::string::npos || head.find("<html") != std::string::npos) return 2;
  if (head.empty() || head[0] != '<') return 0;
  for (const char* tag : {"<head", "<body", "<p>", "<p ", "<div", "<table", "<h1", "<meta", "<title"}) {
    if (head.find(tag) != std::string::npos) return 1;
  }
  return 0;
}

std::string_view skip_space(std::string_view text) {
  size_t start = 0;
  while (start < text.size() && std::isspace(static_cast<unsigned char>(text[start]))) ++start;
  return text.substr(start);
}

// A header block with From: and a second mail header before the first blank line.
bool looks_like_email(std::string_view head) {
  const size_t blank = head.find("\n\n") == std::string_view::npos ? head.find("\r\n\r\n") : head.find("\n\n");
  const std::string block = lower(head.substr(0, blank));
  if (block.rfind("from:", 0) != 0 && block.find("\nfrom:") == std::string::npos) return false;
  for (const char* h : {"\nsubject:", "\nmime-version:", "\nreceived:", "\nmessage-id:", "\ndate:"}) {
    if (block.find(h) != std::string::npos) return true;
  }
  return block.rfind("received:", 0) == 0 || block.rfind("return-path:", 0) == 0;
}

// An XML declaration, or a document that opens with an element (not HTML).
bool looks_like_xml(std::string_view head) {
  const std::string_view text = skip_space(head);
  if (starts_with(text, "<?xml")) return true;
  return text.size() > 1 && text[0] == '<' && (std::isalpha(static_cast<unsigned char>(text[1])) != 0);
}

// Opens with { or [ followed by a quote, a brace or a bracket: JSON rather than
// prose starting with a bracket (the parser falls back to text when wrong).
bool looks_like_json(std::string_view head) {
  const std::string_view text = skip_space(head);
  if (text.empty() || (text[0] != '{' && text[0] != '[')) return false;
  const std::string_view next = skip_space(text.substr(1));
  return !next.empty() && (next[0] == '"' || next[0] == '{' || next[0] == '[' || next[0] == '}' || next[0] == ']');
}

}  // namespace

Sniffed sniff(std::string_view bytes, std::string_view file_name) {
  if (bytes.substr(0, 1024).find("%PDF-") != std::string_view::npos) return {Format::kPdf, {}};
  if (starts_with(bytes, "PK\x03\x04") || starts_with(bytes, "PK\x05\x06")) return sniff_zip(bytes);
  if (starts_with(bytes, "\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1")) return sniff_ole2(bytes);
  if (starts_with(bytes, "\x89PNG") || starts_with(bytes, "\xFF\xD8\xFF") || starts_with(bytes, "GIF87a") ||
      starts_with(bytes, "GIF89a") || starts_with(bytes, std::string_view("II*\0", 4)) ||
      starts_with(bytes, std::string_view("MM\0*", 4)) ||
      (bytes.size() >= 12 && starts_with(bytes, "RIFF") && bytes.substr(8, 4) == "WEBP")) {
    return {Format::kImage, {}};
  }
  if (starts_with(bytes, "{\\rtf")) return {Format::kRtf, {}};
  if (looks_binary(bytes)) return unsupported("binary file of unknown type");

  const std::string ext = extension_of(file_name);
  if (ext == "csv" || ext == "tsv") return {Format::kCsv, {}};
  const DecodedText head = decode_text(bytes.substr(0, 4096));
  const int html = html_signal(head.utf8);
  if (ext == "md" || ext == "markdown") return {html == 2 ? Format::kHtml : Format::kMarkdown, {}};
  if (ext == "eml" || looks_like_email(head.utf8)) return {Format::kEml, {}};
  // XHTML declares itself XML too: only a doctype or <html> makes it HTML then.
  if (html < 2 && (ext == "xml" || starts_with(skip_space(head.utf8), "<?xml"))) return {Format::kXml, {}};
  if (html > 0) return {Format::kHtml, {}};
  if (ext == "json" || ext == "ndjson" || ext == "jsonl" || looks_like_json(head.utf8)) return {Format::kJson, {}};
  if (looks_like_xml(head.utf8)) return {Format::kXml, {}};
  return {Format::kText, {}};
}

}  // namespace kr::parse::internal
