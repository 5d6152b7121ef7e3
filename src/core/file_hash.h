// SHA-256 of a file without holding it in memory.
#pragma once

#include <optional>
#include <string>

namespace kr {

// Lower-case hex SHA-256 of a file's contents, read 1 MiB at a time (never whole);
// nullopt when the file cannot be read. Equals sha256_hex() of the same bytes.
std::optional<std::string> sha256_file_hex(const std::string& path);

}  // namespace kr
