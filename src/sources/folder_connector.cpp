// A watched folder: a periodic scan keyed by mtime + size. A file modified within
// source_stable_seconds is reported pending (maybe still being written) and left for the next
// sync; a file that changes while it is read is not ingested either.
#include <sys/stat.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "sources/connector.h"

namespace kr::sources {
namespace fs = std::filesystem;

namespace {

struct FileStamp {
  int64_t mtime_ns = 0;
  int64_t size = 0;
};

Result<FileStamp> stamp(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return error(ErrorCode::kUnavailable, "cannot read " + path);
  return FileStamp{static_cast<int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec,
                   static_cast<int64_t>(st.st_size)};
}

std::string version_of(const FileStamp& s) { return std::to_string(s.mtime_ns) + ":" + std::to_string(s.size); }

int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

class FolderConnector : public Connector {
 public:
  FolderConnector(const SourceSpec& spec, const Config& config)
      : root_(spec.location), extensions_(spec.extensions), stable_ns_(config.source_stable_seconds * 1e9) {}

  Result<std::vector<SourceItem>> list() override {
    std::error_code ec;
    if (!fs::is_directory(root_, ec)) {
      return error(ErrorCode::kNotFound, "watched folder " + root_ + " does not exist or is not a folder");
    }
    std::vector<SourceItem> items;
    const int64_t now = now_ns();
    for (auto it = fs::recursive_directory_iterator(root_, fs::directory_options::skip_permission_denied, ec);
         !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
      const std::string name = it->path().filename().string();
      if (!name.empty() && name[0] == '.') {  // hidden files and editors' temporary files
        if (it->is_directory(ec)) it.disable_recursion_pending();
        continue;
      }
      // Symbolic links are not followed: one could point outside the folder an API caller was allowed.
      if (it->is_symlink(ec) || !it->is_regular_file(ec) || !extension_allowed(name, extensions_)) continue;
      auto st = stamp(it->path().string());
      if (!st) continue;  // removed between listing and stat
      SourceItem item;
      item.key = fs::relative(it->path(), root_, ec).generic_string();
      item.name = item.key;
      item.version = version_of(*st);
      item.size = st->size;
      item.pending = now - st->mtime_ns < stable_ns_;
      items.push_back(std::move(item));
    }
    if (ec) return error(ErrorCode::kUnavailable, "cannot read watched folder " + root_ + ": " + ec.message());
    return items;
  }

  Result<std::string> fetch(const SourceItem& item) override {
    const std::string path = root_ + "/" + item.key;
    std::ifstream in(path, std::ios::binary);
    if (!in) return error(ErrorCode::kUnavailable, "cannot open " + path);
    std::stringstream bytes;
    bytes << in.rdbuf();
    auto after = stamp(path);
    if (!after || version_of(*after) != item.version) {
      return error(ErrorCode::kUnavailable, item.key + " changed while it was read; it is synced once it is stable");
    }
    return bytes.str();
  }

 private:
  std::string root_;
  std::vector<std::string> extensions_;
  int64_t stable_ns_;
};

}  // namespace

std::unique_ptr<Connector> make_folder_connector(const SourceSpec& spec, const Config& config) {
  return std::make_unique<FolderConnector>(spec, config);
}

}  // namespace kr::sources
