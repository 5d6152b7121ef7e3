// Bounded reads of an ingest input file: its size, its first bytes for format detection, or
// all of it when it is parsed in this process. Nothing here reads a file without a bound.
#pragma once

#include <cstdint>
#include <string>

#include "core/status.h"

namespace kr::service {

// The first bytes format detection looks at. detect_format() decides text-like formats (text,
// Markdown, CSV) from the first 8 KiB and the file name, so this head gives the same answer
// as the whole file for the question "parse it in this process?".
inline constexpr size_t kDetectHeadBytes = 64 * 1024;

// The size of a regular file (kNotFound when it is missing or unreadable).
Result<int64_t> input_file_size(const std::string& path);
// Up to `max_bytes` from the start of the file.
Result<std::string> read_file_head(const std::string& path, size_t max_bytes);
// The whole file when it holds at most `max_bytes` (checked before reading: kTooLarge names
// `limit_name`, the setting to raise).
Result<std::string> read_whole_file(const std::string& path, int64_t max_bytes, const std::string& limit_name);

}  // namespace kr::service
