#include "parse/zip_reader.h"

#include <unzip.h>

#include <algorithm>
#include <cstring>

namespace kr::parse::internal {

struct ZipReader::Entry {
  unz64_file_pos pos{};
};

// minizip reads through these callbacks, so the archive never touches disk.
struct ZipReader::MemoryFile {
  std::string_view data;
  uint64_t pos = 0;
};

namespace {

using MemoryFile = ZipReader::MemoryFile;

// Members we inflate are XML parts; a directory this large is not an Office file.
constexpr size_t kMaxEntries = 200000;
// Small parts legitimately compress very well; the ratio limit applies above this.
constexpr uint64_t kRatioFloorBytes = 1ull << 20;

voidpf mem_open(voidpf opaque, const void*, int) { return opaque; }

uLong mem_read(voidpf, voidpf stream, void* buf, uLong size) {
  auto* f = static_cast<MemoryFile*>(stream);
  const uint64_t left = f->pos < f->data.size() ? f->data.size() - f->pos : 0;
  const uLong n = static_cast<uLong>(std::min<uint64_t>(left, size));
  if (n > 0) std::memcpy(buf, f->data.data() + f->pos, n);
  f->pos += n;
  return n;
}

uLong mem_write(voidpf, voidpf, const void*, uLong) { return 0; }

ZPOS64_T mem_tell(voidpf, voidpf stream) { return static_cast<MemoryFile*>(stream)->pos; }

long mem_seek(voidpf, voidpf stream, ZPOS64_T offset, int origin) {
  auto* f = static_cast<MemoryFile*>(stream);
  uint64_t base = 0;
  switch (origin) {
    case ZLIB_FILEFUNC_SEEK_SET: base = 0; break;
    case ZLIB_FILEFUNC_SEEK_CUR: base = f->pos; break;
    case ZLIB_FILEFUNC_SEEK_END: base = f->data.size(); break;
    default: return -1;
  }
  if (offset > f->data.size() || base + offset > f->data.size()) return -1;
  f->pos = base + offset;
  return 0;
}

int mem_close(voidpf, voidpf) { return 0; }
int mem_error(voidpf, voidpf) { return 0; }

Status member_error(ErrorCode code, std::string_view name, std::string_view what) {
  return error(code, "zip member '" + std::string(name) + "' " + std::string(what));
}

}  // namespace

std::string normalize_zip_name(std::string_view name) {
  std::string out(name);
  std::replace(out.begin(), out.end(), '\\', '/');
  while (!out.empty() && out.front() == '/') out.erase(out.begin());
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

ZipReader::ZipReader(std::unique_ptr<MemoryFile> file, void* handle, const ParseContext& ctx)
    : file_(std::move(file)), handle_(handle), ctx_(ctx) {}

ZipReader::~ZipReader() {
  if (handle_ != nullptr) unzClose(static_cast<unzFile>(handle_));
}

Result<std::unique_ptr<ZipReader>> ZipReader::open(std::string_view bytes, const ParseContext& ctx) {
  auto file = std::make_unique<MemoryFile>();
  file->data = bytes;
  zlib_filefunc64_def io{};
  io.zopen64_file = mem_open;
  io.zread_file = mem_read;
  io.zwrite_file = mem_write;
  io.ztell64_file = mem_tell;
  io.zseek64_file = mem_seek;
  io.zclose_file = mem_close;
  io.zerror_file = mem_error;
  io.opaque = file.get();
  unzFile handle = unzOpen2_64(file.get(), &io);
  if (handle == nullptr) {
    return error(ErrorCode::kCorruptInput,
                 "zip archive is damaged or truncated (its central directory cannot be read)");
  }
  std::unique_ptr<ZipReader> reader(new ZipReader(std::move(file), handle, ctx));
  int rc = unzGoToFirstFile(handle);
  while (rc == UNZ_OK) {
    if (reader->names_.size() >= kMaxEntries) {
      return error(ErrorCode::kResourceExhausted, "zip archive has too many members");
    }
    unz_file_info64 info{};
    char name[1024];
    if (unzGetCurrentFileInfo64(handle, &info, name, sizeof(name), nullptr, 0, nullptr, 0) != UNZ_OK) {
      return error(ErrorCode::kCorruptInput, "zip archive directory is damaged");
    }
    auto entry = std::make_unique<Entry>();
    if (unzGetFilePos64(handle, &entry->pos) != UNZ_OK) {
      return error(ErrorCode::kCorruptInput, "zip archive directory is damaged");
    }
    std::string stored(name, strnlen(name, sizeof(name)));
    std::replace(stored.begin(), stored.end(), '\\', '/');
    // The first of duplicate names wins, as in most zip tools.
    if (reader->entries_.emplace(normalize_zip_name(stored), std::move(entry)).second) {
      reader->names_.push_back(std::move(stored));
    }
    rc = unzGoToNextFile(handle);
  }
  if (rc != UNZ_END_OF_LIST_OF_FILE) {
    return error(ErrorCode::kCorruptInput, "zip archive directory is damaged");
  }
  return reader;
}

bool ZipReader::has(std::string_view name) const {
  return entries_.count(normalize_zip_name(name)) > 0;
}

Result<std::string> ZipReader::read(std::string_view name) {
  KR_RETURN_IF_ERROR(ctx_.check_deadline("reading zip members"));
  const auto it = entries_.find(normalize_zip_name(name));
  if (it == entries_.end()) return member_error(ErrorCode::kNotFound, name, "is missing");
  auto* handle = static_cast<unzFile>(handle_);
  if (unzGoToFilePos64(handle, &it->second->pos) != UNZ_OK) {
    return member_error(ErrorCode::kCorruptInput, name, "cannot be located");
  }
  unz_file_info64 info{};
  if (unzGetCurrentFileInfo64(handle, &info, nullptr, 0, nullptr, 0, nullptr, 0) != UNZ_OK) {
    return member_error(ErrorCode::kCorruptInput, name, "has a damaged header");
  }
  const Limits& limits = ctx_.limits();
  const uint64_t budget = limits.max_zip_total_bytes > total_read_ ? limits.max_zip_total_bytes - total_read_ : 0;
  if (info.uncompressed_size > budget) {
    return member_error(ErrorCode::kTooLarge, name,
                        "is larger than the limit on uncompressed archive content (" +
                            std::to_string(limits.max_zip_total_bytes >> 20) + " MiB)");
  }
  const auto ratio_exceeded = [&](uint64_t inflated) {
    if (inflated <= kRatioFloorBytes) return false;
    return info.compressed_size == 0 ||
           static_cast<double>(inflated) / static_cast<double>(info.compressed_size) > limits.max_zip_ratio;
  };
  const Status bomb = member_error(ErrorCode::kResourceExhausted, name,
                                   "has a suspicious compression ratio (possible zip bomb)");
  if (ratio_exceeded(info.uncompressed_size)) return bomb;
  if (info.flag & 1u) {
    return error(ErrorCode::kEncrypted, "the archive is password-protected; remove the password and upload again");
  }
  if (unzOpenCurrentFile(handle) != UNZ_OK) {
    return member_error(ErrorCode::kCorruptInput, name, "cannot be opened (unsupported compression?)");
  }
  std::string out;
  out.reserve(static_cast<size_t>(std::min<uint64_t>(info.uncompressed_size, 64ull << 20)));
  char buf[64 * 1024];
  Status status;
  for (;;) {
    const int n = unzReadCurrentFile(handle, buf, sizeof(buf));
    if (n < 0) {
      status = member_error(ErrorCode::kCorruptInput, name, "is damaged or truncated");
      break;
    }
    if (n == 0) break;
    out.append(buf, static_cast<size_t>(n));
    // Headers can lie; enforce the limits on what was actually inflated.
    if (out.size() > budget) {
      status = member_error(ErrorCode::kTooLarge, name, "inflates beyond the archive content limit");
      break;
    }
    if (ratio_exceeded(out.size())) {
      status = bomb;
      break;
    }
  }
  const int close_rc = unzCloseCurrentFile(handle);
  if (!status.is_ok()) return status;
  if (close_rc == UNZ_CRCERROR) return member_error(ErrorCode::kCorruptInput, name, "fails its checksum");
  total_read_ += out.size();
  return out;
}

ZipListing list_zip_names(std::string_view bytes) {
  Limits limits;
  ParseContext ctx(limits);
  auto reader = ZipReader::open(bytes, ctx);
  if (reader.is_ok()) return {(*reader)->names(), true};
  // Truncated archive: walk the local headers that survived.
  ZipListing listing;
  std::vector<std::string>& names = listing.names;
  static constexpr std::string_view kLocal("PK\x03\x04", 4);
  for (size_t at = bytes.find(kLocal); at != std::string_view::npos && at + 30 <= bytes.size();
       at = bytes.find(kLocal, at + 4)) {
    const auto u16 = [&](size_t k) {
      return static_cast<size_t>(static_cast<unsigned char>(bytes[at + k])) |
             static_cast<size_t>(static_cast<unsigned char>(bytes[at + k + 1])) << 8;
    };
    const size_t length = u16(26);
    if (length == 0 || at + 30 + length > bytes.size()) continue;
    names.emplace_back(bytes.substr(at + 30, length));
    if (names.size() >= 10000) break;
  }
  return listing;
}

}  // namespace kr::parse::internal
