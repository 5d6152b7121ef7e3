#include "service/ingest_inputs.h"

#include <filesystem>

#include "core/file_hash.h"
#include "core/text.h"
#include "service/input_file.h"

namespace kr::service {
namespace fs = std::filesystem;

std::string doc_id_for_source(const std::string& source) { return sha256_hex("source:" + source).substr(0, 32); }

void normalize_identity(IngestInput& input) {
  if (input.name.empty()) input.name = input.path.empty() ? "untitled" : fs::path(input.path).filename().string();
  if (input.source.empty()) input.source = input.path.empty() ? input.name : input.path;
  input.name = sanitize_utf8(input.name);
  input.source = sanitize_utf8(input.source);
}

namespace {

Status too_large(uint64_t size, int64_t max_bytes) {
  return error(ErrorCode::kTooLarge, "file is " + std::to_string(size) + " bytes, over the limit of " +
                                         std::to_string(max_bytes) + " (parse_max_file_bytes)");
}

}  // namespace

Status load_input_bytes(IngestInput& input, int64_t max_bytes) {
  if (input.bytes.empty() && !input.path.empty()) {
    auto bytes = read_whole_file(input.path, max_bytes, "parse_max_file_bytes");
    if (!bytes) return bytes.status();
    input.bytes = std::move(*bytes);
  }
  if (static_cast<int64_t>(input.bytes.size()) > max_bytes) return too_large(input.bytes.size(), max_bytes);
  return Status::ok();
}

Status describe_input(IngestInput& input, int64_t max_bytes) {
  if (!input.bytes.empty() || input.path.empty()) {
    input.file_size = static_cast<int64_t>(input.bytes.size());
    return input.file_size > max_bytes ? too_large(input.bytes.size(), max_bytes) : Status::ok();
  }
  if (input.file_size < 0) {
    auto size = input_file_size(input.path);
    if (!size) return size.status();
    input.file_size = *size;
  }
  if (input.file_size > max_bytes) return too_large(static_cast<uint64_t>(input.file_size), max_bytes);
  if (input.file_sha256.empty()) {
    auto hash = sha256_file_hex(input.path);
    if (!hash) return error(ErrorCode::kNotFound, "cannot read " + input.path);
    input.file_sha256 = std::move(*hash);
  }
  return Status::ok();
}

IngestResult failed_ingest(const std::string& name, Status status) {
  IngestResult result;
  result.name = name;
  result.outcome = IngestOutcome::kFailed;
  result.error = std::move(status);
  return result;
}

}  // namespace kr::service
