#include "parse/cfb_reader.h"

#include <cctype>

#include "core/text.h"
#include "parse/parse_internal.h"

namespace kr::parse::internal {
namespace {

constexpr uint32_t kMaxRegular = 0xFFFFFFFAu;  // ids above are markers (free, end of chain, FAT, DIFAT)
constexpr size_t kMiniSectorSize = 64;

uint32_t u32(std::string_view b, size_t at) {
  uint32_t v = 0;
  for (int k = 3; k >= 0; --k) v = (v << 8) | static_cast<unsigned char>(b[at + static_cast<size_t>(k)]);
  return v;
}
uint16_t u16(std::string_view b, size_t at) {
  return static_cast<uint16_t>(static_cast<unsigned char>(b[at]) | (static_cast<unsigned char>(b[at + 1]) << 8));
}

Status corrupt(const std::string& what) {
  return error(ErrorCode::kCorruptInput, "the OLE2 compound file is damaged: " + what);
}

bool iequal(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(a[i])) != std::tolower(static_cast<unsigned char>(b[i]))) return false;
  }
  return true;
}

}  // namespace

bool is_compound_file(std::string_view bytes) { return bytes.substr(0, 8) == "\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1"; }

Result<CompoundFile> CompoundFile::open(std::string_view bytes) {
  CompoundFile file(bytes);
  KR_RETURN_IF_ERROR(file.load());
  return file;
}

Status CompoundFile::load() {
  if (!is_compound_file(bytes_) || bytes_.size() < 512) return corrupt("no valid header");
  const uint16_t shift = u16(bytes_, 0x1E);
  if (shift != 9 && shift != 12) return corrupt("unsupported sector size");
  sector_size_ = size_t{1} << shift;
  mini_cutoff_ = u32(bytes_, 0x38);
  const size_t sectors = bytes_.size() / sector_size_;  // an upper bound on every count below
  const auto sector_at = [&](uint32_t id) -> std::string_view {
    const size_t offset = (static_cast<size_t>(id) + 1) * sector_size_;
    if (id > kMaxRegular || offset + sector_size_ > bytes_.size()) return {};
    return bytes_.substr(offset, sector_size_);
  };

  // FAT sector ids: 109 in the header, the rest in the DIFAT chain.
  std::vector<uint32_t> fat_sectors;
  for (size_t i = 0; i < 109; ++i) fat_sectors.push_back(u32(bytes_, 0x4C + i * 4));
  uint32_t difat = u32(bytes_, 0x44);
  for (size_t hops = 0; difat < kMaxRegular; ++hops) {
    const std::string_view s = sector_at(difat);
    if (s.empty() || hops > sectors) return corrupt("broken DIFAT chain");
    for (size_t k = 0; k + 4 < sector_size_; k += 4) fat_sectors.push_back(u32(s, k));
    difat = u32(s, sector_size_ - 4);
  }
  for (const uint32_t id : fat_sectors) {
    if (id >= kMaxRegular) continue;
    const std::string_view s = sector_at(id);
    if (s.empty()) return corrupt("a FAT sector lies outside the file");
    for (size_t k = 0; k < sector_size_; k += 4) fat_.push_back(u32(s, k));
    if (fat_.size() > sectors + sector_size_) break;  // more FAT than the file can use
  }

  auto directory = chain(u32(bytes_, 0x30), 0, false);
  if (!directory.is_ok()) return directory.status();
  for (size_t at = 0; at + 128 <= directory->size(); at += 128) {
    const std::string_view d = std::string_view(*directory).substr(at, 128);
    Entry e;
    const size_t name_bytes = std::min<size_t>(u16(d, 0x40), 64);
    e.name = sanitize_utf8(utf16_to_utf8(d.substr(0, name_bytes >= 2 ? name_bytes - 2 : 0), false));
    e.type = static_cast<Type>(static_cast<unsigned char>(d[0x42]));
    e.left = u32(d, 0x44);
    e.right = u32(d, 0x48);
    e.child = u32(d, 0x4C);
    e.start = u32(d, 0x74);
    e.size = u32(d, 0x78) | (sector_size_ == 4096 ? static_cast<uint64_t>(u32(d, 0x7C)) << 32 : 0);
    entries_.push_back(std::move(e));
  }
  if (entries_.empty() || entries_[0].type != Type::kRoot) return corrupt("no root entry");

  auto mini_fat = chain(u32(bytes_, 0x3C), 0, false);
  if (!mini_fat.is_ok()) return mini_fat.status();
  for (size_t k = 0; k + 4 <= mini_fat->size(); k += 4) mini_fat_.push_back(u32(*mini_fat, k));
  if (entries_[0].size == 0) return Status::ok();  // no small streams
  auto mini_stream = chain(entries_[0].start, entries_[0].size, false);
  if (!mini_stream.is_ok()) return mini_stream.status();
  mini_stream_ = std::move(mini_stream).value();
  return Status::ok();
}

Result<std::string> CompoundFile::chain(uint32_t start, uint64_t size, bool mini) const {
  const std::vector<uint32_t>& table = mini ? mini_fat_ : fat_;
  const size_t unit = mini ? kMiniSectorSize : sector_size_;
  const std::string_view source = mini ? std::string_view(mini_stream_) : bytes_;
  const size_t base = mini ? 0 : sector_size_;  // regular sector n starts after the header sector
  std::string out;
  for (uint32_t id = start, hops = 0; id < kMaxRegular; ++hops) {
    if (hops > table.size() || id >= table.size()) return corrupt("a sector chain is broken or loops");
    const size_t offset = base + static_cast<size_t>(id) * unit;
    // Some writers leave the file's last sector short: take what is there;
    // the size check below still catches a stream that is really cut off.
    if (offset >= source.size()) return corrupt("a sector lies outside the file");
    out.append(source.substr(offset, unit));
    if (size > 0 && out.size() >= size) break;
    id = table[id];
  }
  if (size > 0) {
    if (out.size() < size) return corrupt("a stream is shorter than its directory entry says");
    out.resize(size);
  }
  return out;
}

std::vector<uint32_t> CompoundFile::children(uint32_t parent) const {
  std::vector<uint32_t> out;
  if (parent >= entries_.size()) return out;
  // In-order walk of the sibling tree; `seen` stops loops in damaged files.
  std::vector<bool> seen(entries_.size(), false);
  std::vector<uint32_t> stack;
  uint32_t node = entries_[parent].child;
  while (node < entries_.size() || !stack.empty()) {
    while (node < entries_.size() && !seen[node]) {
      seen[node] = true;
      stack.push_back(node);
      node = entries_[node].left;
    }
    if (stack.empty()) break;
    node = stack.back();
    stack.pop_back();
    if (entries_[node].type != Type::kEmpty) out.push_back(node);
    node = entries_[node].right;
  }
  return out;
}

std::optional<uint32_t> CompoundFile::find(uint32_t parent, std::string_view name) const {
  for (const uint32_t id : children(parent)) {
    if (iequal(entries_[id].name, name)) return id;
  }
  return std::nullopt;
}

Result<std::string> CompoundFile::read(uint32_t id) const {
  if (id >= entries_.size() || entries_[id].type != Type::kStream) {
    return error(ErrorCode::kNotFound, "no such stream in the compound file");
  }
  const Entry& e = entries_[id];
  if (e.size == 0) return std::string();
  if (e.size > bytes_.size()) return corrupt("stream '" + e.name + "' is larger than the file");
  return chain(e.start, e.size, e.size < mini_cutoff_);
}

Result<std::string> CompoundFile::read(std::string_view name) const {
  const auto id = find(kRoot, name);
  if (!id) return error(ErrorCode::kNotFound, "the compound file has no stream '" + std::string(name) + "'");
  return read(*id);
}

}  // namespace kr::parse::internal
