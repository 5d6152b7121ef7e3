// Reads members of a zip archive held in memory (OOXML packages), with
// zip-bomb limits enforced while inflating.
// Not thread-safe: one reader per parse.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/status.h"
#include "parse/parse_internal.h"

namespace kr::parse::internal {

class ZipReader {
 public:
  // Opens the archive; kCorruptInput when the central directory is unreadable.
  // `bytes` must outlive the reader.
  static Result<std::unique_ptr<ZipReader>> open(std::string_view bytes, const ParseContext& ctx);
  ~ZipReader();
  ZipReader(const ZipReader&) = delete;
  ZipReader& operator=(const ZipReader&) = delete;

  // Member names as stored (forward slashes), in archive order.
  const std::vector<std::string>& names() const { return names_; }
  // Case-insensitive, tolerant of a leading "/" and of backslashes.
  bool has(std::string_view name) const;
  // Inflates one member. kNotFound if absent, kTooLarge/kResourceExhausted when it
  // would break the size or ratio limits, kCorruptInput on a damaged stream.
  Result<std::string> read(std::string_view name);

  struct MemoryFile;  // the archive bytes behind minizip's I/O callbacks

 private:
  struct Entry;
  ZipReader(std::unique_ptr<MemoryFile> file, void* handle, const ParseContext& ctx);

  std::unique_ptr<MemoryFile> file_;
  void* handle_;  // unzFile
  const ParseContext& ctx_;
  std::vector<std::string> names_;
  std::unordered_map<std::string, std::unique_ptr<Entry>> entries_;  // by normalized name
  uint64_t total_read_ = 0;
};

// Lower-cased member name without a leading "/" and with "/" separators.
std::string normalize_zip_name(std::string_view name);

// Member names of a zip. When the central directory cannot be read (a truncated
// archive) the names are recovered from local file headers and `intact` is false.
struct ZipListing {
  std::vector<std::string> names;
  bool intact = false;
};
ZipListing list_zip_names(std::string_view bytes);

}  // namespace kr::parse::internal
