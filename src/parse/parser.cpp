// parse_document: limits, detection, dispatch, and the module's exception edge.
#include "parse/parser.h"

#include <algorithm>
#include <exception>
#include <new>

#include "parse/cfb_reader.h"
#include "parse/office_crypto.h"
#include "parse/parse_internal.h"

namespace kr::parse {

Format detect_format(std::string_view bytes, std::string_view file_name) {
  try {
    return internal::sniff(bytes, file_name).format;
  } catch (...) {
    return Format::kUnknown;
  }
}

namespace {

Result<ParsedDocument> dispatch(Format format, std::string_view bytes, std::string_view file_name,
                                const internal::ParseContext& ctx) {
  switch (format) {
    case Format::kText: return internal::parse_text(bytes, ctx);
    case Format::kMarkdown: return internal::parse_markdown(bytes, ctx);
    case Format::kCsv: return internal::parse_csv(bytes, file_name, ctx);
    case Format::kHtml: return internal::parse_html(bytes, ctx);
    case Format::kPdf: return internal::parse_pdf(bytes, ctx);
    case Format::kDocx: return internal::parse_docx(bytes, ctx);
    case Format::kPptx: return internal::parse_pptx(bytes, ctx);
    case Format::kXlsx: return internal::parse_xlsx(bytes, ctx);
    case Format::kXlsb: return internal::parse_xlsb(bytes, ctx);
    case Format::kXml: return internal::parse_xml(bytes, ctx);
    case Format::kJson: return internal::parse_json(bytes, ctx);
    case Format::kImage: return internal::parse_image(bytes, ctx);
    case Format::kDoc: return internal::parse_doc(bytes, ctx);
    case Format::kXls: return internal::parse_xls(bytes, ctx);
    case Format::kPpt: return internal::parse_ppt(bytes, ctx);
    case Format::kRtf: return internal::parse_rtf(bytes, ctx);
    case Format::kOdt: case Format::kOds: case Format::kOdp: return internal::parse_odf(bytes, ctx);
    case Format::kEpub: return internal::parse_epub(bytes, ctx);
    case Format::kEml: return internal::parse_eml(bytes, ctx);
    case Format::kMsg: return internal::parse_msg(bytes, ctx);
    default: break;
  }
  return error(ErrorCode::kUnsupported, "file of unknown type");
}

// The decrypted package is a plain .docx/.xlsx/.pptx zip: parsed as one, never
// decrypted again (a zip cannot sniff as encrypted).
Result<ParsedDocument> parse_encrypted_ooxml(const internal::CompoundFile& container, std::string_view file_name,
                                             const internal::ParseContext& ctx, std::string_view password) {
  auto package = internal::decrypt_ooxml(container, password, ctx);
  if (!package.is_ok()) return package.status();
  if (internal::is_compound_file(*package)) {
    return error(ErrorCode::kCorruptInput, "the decrypted Office document is not a zip package");
  }
  // The package gets the file's remaining time.
  Limits limits = ctx.limits();
  limits.max_seconds_per_file = std::max(0.0, ctx.seconds_left());
  return parse_document(*package, file_name, limits);
}

}  // namespace

Result<ParsedDocument> parse_document(std::string_view bytes, std::string_view file_name, const Limits& limits,
                                      std::string_view password) {
  if (bytes.empty()) return error(ErrorCode::kInvalidArgument, "file is empty");
  if (bytes.size() > limits.max_file_bytes) {
    return error(ErrorCode::kTooLarge, "file is " + std::to_string(bytes.size() >> 20) +
                                           " MiB, larger than the limit of " +
                                           std::to_string(limits.max_file_bytes >> 20) + " MiB");
  }
  try {
    const internal::ParseContext ctx(limits, password);
    const internal::Sniffed sniffed = internal::sniff(bytes, file_name);
    if (sniffed.status.code() == ErrorCode::kEncrypted) {
      auto container = internal::CompoundFile::open(bytes);
      if (container.is_ok() && internal::is_encrypted_ooxml(*container)) {
        return parse_encrypted_ooxml(*container, file_name, ctx, password);
      }
      if (!password.empty()) {
        return error(ErrorCode::kEncrypted,
                     "a password cannot open legacy encrypted Office files (.doc/.xls/.ppt) yet; open it in Office, "
                     "remove the password (File > Info > Protect > Encrypt with Password) and upload again");
      }
    }
    if (!sniffed.status.is_ok()) return sniffed.status;
    Result<ParsedDocument> result = dispatch(sniffed.format, bytes, file_name, ctx);
    if (!result.is_ok()) return result;
    ParsedDocument& doc = result.value();
    doc.format = sniffed.format;
    finalize_offsets(doc);
    return result;
  } catch (const std::bad_alloc&) {
    return error(ErrorCode::kResourceExhausted, "ran out of memory while parsing the file");
  } catch (const std::exception& e) {
    return error(ErrorCode::kCorruptInput, std::string("the file could not be parsed: ") + e.what());
  } catch (...) {
    return error(ErrorCode::kInternal, "unexpected failure while parsing the file");
  }
}

}  // namespace kr::parse
