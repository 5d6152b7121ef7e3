// Attachments of a message (EML, MSG) parsed as sections of it: each under an
// "Attachment: name" heading, its warnings kept, unreadable ones as warnings.
#include <algorithm>

#include "core/text.h"
#include "parse/parse_internal.h"

namespace kr::parse::internal {

void append_blocks(ParsedDocument& doc, ParsedDocument& part, const std::vector<std::string>& path) {
  for (auto& block : part.blocks) {
    std::vector<std::string> full = path;
    full.insert(full.end(), block.heading_path.begin(), block.heading_path.end());
    block.heading_path = std::move(full);
    block.page = 0;
    doc.blocks.push_back(std::move(block));
  }
}

void add_attachment(ParsedDocument& doc, const std::string& name, const std::string& data, const ParseContext& ctx,
                    std::vector<std::string> path) {
  const std::string clean = sanitize_utf8(name);
  if (data.empty()) {
    doc.warnings.push_back("attachment '" + clean + "' is empty");
    return;
  }
  const Sniffed sniffed = sniff(data, name);
  if (sniffed.format == Format::kImage) {
    doc.warnings.push_back("image attachment '" + clean + "' was not OCRed; upload it on its own to index its text");
    return;
  }
  if (!sniffed.status.is_ok() || sniffed.format == Format::kUnknown || sniffed.format == Format::kEml ||
      sniffed.format == Format::kMsg) {
    doc.warnings.push_back("attachment '" + clean + "' was not indexed: " +
                           (sniffed.status.is_ok() ? std::string("unsupported type") : sniffed.status.message()));
    return;
  }
  // The message's remaining time is the attachment's budget too.
  Limits limits = ctx.limits();
  limits.max_seconds_per_file = std::max(0.0, ctx.seconds_left());
  auto parsed = parse_document(data, name, limits);
  if (!parsed.is_ok()) {
    doc.warnings.push_back("attachment '" + clean + "' could not be read: " + parsed.status().message());
    return;
  }
  path.push_back("Attachment: " + clean);
  for (const auto& w : parsed->warnings) doc.warnings.push_back("attachment '" + clean + "': " + w);
  append_blocks(doc, *parsed, path);
}

}  // namespace kr::parse::internal
