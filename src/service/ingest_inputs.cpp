#include "service/ingest_inputs.h"

#include <filesystem>
#include <fstream>

#include "core/text.h"

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
    std::error_code ec;
    const auto size = fs::file_size(input.path, ec);
    if (ec) return error(ErrorCode::kNotFound, "cannot read " + input.path + ": " + ec.message());
    if (static_cast<int64_t>(size) > max_bytes) return too_large(size, max_bytes);
    std::ifstream in(input.path, std::ios::binary);
    if (!in) return error(ErrorCode::kNotFound, "cannot open " + input.path);
    std::string bytes(static_cast<size_t>(size), '\0');
    in.read(bytes.data(), static_cast<std::streamsize>(size));
    if (!in) return error(ErrorCode::kInternal, "short read from " + input.path);
    input.bytes = std::move(bytes);
  }
  if (static_cast<int64_t>(input.bytes.size()) > max_bytes) return too_large(input.bytes.size(), max_bytes);
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
