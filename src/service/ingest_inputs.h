// What the ingest pipeline does to an input before parsing, shared by the direct path and the
// shared queue (which must derive the same identity on the replica that accepts the file).
#pragma once

#include <cstdint>
#include <string>

#include "core/status.h"
#include "service/types.h"

namespace kr::service {

// Stable public id of a file document: derived from its source, so an updated file keeps its
// id (and its URLs).
std::string doc_id_for_source(const std::string& source);

// Fills a missing name (from the path) and source (from the path, else the name), both valid UTF-8.
void normalize_identity(IngestInput& input);

// Makes input.bytes hold the file (read from input.path when empty); kNotFound when it cannot be
// read, kTooLarge over `max_bytes` (parse_max_file_bytes).
Status load_input_bytes(IngestInput& input, int64_t max_bytes);

// Sets input.file_size (and, for a file input, input.file_sha256) without reading a file into
// memory: the caller's values when given (an upload hashed while written), else a stat and a
// streamed hash. kNotFound when the file cannot be read, kTooLarge over `max_bytes`.
Status describe_input(IngestInput& input, int64_t max_bytes);

// A per-file failure as an IngestResult.
IngestResult failed_ingest(const std::string& name, Status status);

}  // namespace kr::service
