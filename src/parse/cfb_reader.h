// Reads an OLE2 compound file ([MS-CFB]) held in memory: the container of
// encrypted OOXML packages (EncryptionInfo + EncryptedPackage) and of Outlook
// .msg files. Every sector number, chain and size is checked against the
// file, so a damaged or hostile file gives kCorruptInput, never a bad read.
// Not thread-safe: one reader per parse; `bytes` must outlive it.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace kr::parse::internal {

class CompoundFile {
 public:
  static constexpr uint32_t kRoot = 0;
  enum class Type : uint8_t { kEmpty = 0, kStorage = 1, kStream = 2, kRoot = 5 };
  struct Entry {
    std::string name;  // UTF-8
    Type type = Type::kEmpty;
    uint32_t left = 0, right = 0, child = 0;
    uint32_t start = 0;
    uint64_t size = 0;
  };

  static Result<CompoundFile> open(std::string_view bytes);

  // Storages and streams directly inside storage `parent`, in directory order.
  std::vector<uint32_t> children(uint32_t parent) const;
  const Entry& entry(uint32_t id) const { return entries_[id]; }
  // The child of `parent` called `name` (ASCII case-insensitive, as CFB compares).
  std::optional<uint32_t> find(uint32_t parent, std::string_view name) const;
  // A stream's bytes. kCorruptInput when its sector chain is broken or short.
  Result<std::string> read(uint32_t id) const;
  // The stream `name` directly under the root; kNotFound when absent.
  Result<std::string> read(std::string_view name) const;

 private:
  explicit CompoundFile(std::string_view bytes) : bytes_(bytes) {}
  Status load();
  // Concatenated sectors of the chain from `start` in `table` (FAT or mini FAT).
  Result<std::string> chain(uint32_t start, uint64_t size, bool mini) const;

  std::string_view bytes_;
  size_t sector_size_ = 512;
  uint64_t mini_cutoff_ = 4096;
  std::vector<uint32_t> fat_;
  std::vector<uint32_t> mini_fat_;
  std::string mini_stream_;
  std::vector<Entry> entries_;
};

// True for the OLE2 magic number.
bool is_compound_file(std::string_view bytes);

}  // namespace kr::parse::internal
