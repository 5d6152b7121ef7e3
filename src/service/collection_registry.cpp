#include "service/collection_registry.h"

#include <fcntl.h>
#include <stdio.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>

#include "core/log.h"
#include "store/directory_sync.h"

namespace kr::service {
namespace fs = std::filesystem;

namespace {

constexpr const char* kLoading = "the server is still loading its collections; try again shortly";

long elapsed_ms(std::chrono::steady_clock::time_point since) {
  return static_cast<long>(
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - since).count());
}

// Atomically exchanges two folders (Linux renameat2; both exist).
Status exchange_directories(const std::string& a, const std::string& b) {
  if (::renameat2(AT_FDCWD, a.c_str(), AT_FDCWD, b.c_str(), RENAME_EXCHANGE) != 0) {
    return error(ErrorCode::kUnavailable, "cannot exchange " + a + " and " + b + ": " + std::strerror(errno));
  }
  return Status::ok();
}

}  // namespace

bool valid_collection_name(const std::string& name) {
  // ^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$ — also a safe directory name.
  const auto alnum = [](char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'); };
  if (name.empty() || name.size() > 64 || !alnum(name[0])) return false;
  for (char c : name) {
    if (!alnum(c) && c != '_' && c != '.' && c != '-') return false;
  }
  return true;
}

Result<std::shared_ptr<Collection>> CollectionRegistry::open_collection(const std::string& name,
                                                                        const std::string& directory) const {
  return Collection::open(name, directory, vector_options_);
}

Status CollectionRegistry::open_all() {
  if (pg_) return open_all_postgres();
  std::error_code ec;
  const std::string dir = data_dir_.collections_dir();
  if (data_dir_.access() == store::DataDirectory::Access::kReadOnly && !fs::exists(dir, ec)) {
    ready_ = true;  // nothing ingested yet
    return Status::ok();
  }
  std::map<std::string, std::shared_ptr<Collection>> opened;
  std::map<std::string, Status> broken;
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    const std::string name = entry.path().filename().string();
    if (!entry.is_directory() || !valid_collection_name(name)) continue;
    const auto started = std::chrono::steady_clock::now();
    auto collection = open_collection(name, entry.path().string());
    if (!collection) {
      // One bad collection must not take the others down: it answers 503 with the reason.
      log::error("cannot open collection; it is unavailable until repaired or deleted",
                 {{"collection", name}, {"error", collection.status().to_string()}});
      broken[name] = collection.status();
      continue;
    }
    auto info = (*collection)->info();
    log::info("collection opened", {{"collection", name},
                                    {"documents", info ? std::to_string(info->documents) : "?"},
                                    {"chunks", info ? std::to_string(info->chunks) : "?"},
                                    {"ms", std::to_string(elapsed_ms(started))}});
    opened[name] = std::move(collection.value());
  }
  if (ec) return error(ErrorCode::kUnavailable, "cannot list " + dir + ": " + ec.message());
  {
    std::unique_lock lock(mutex_);
    collections_ = std::move(opened);
    broken_ = std::move(broken);
  }
  ready_ = true;
  return Status::ok();
}

Result<std::shared_ptr<Collection>> CollectionRegistry::find(const std::string& name) const {
  if (!ready_) return error(ErrorCode::kUnavailable, kLoading);
  std::shared_lock lock(mutex_);
  if (auto it = collections_.find(name); it != collections_.end()) return it->second;
  if (auto it = broken_.find(name); it != broken_.end()) {
    return error(ErrorCode::kUnavailable, "collection '" + name + "' could not be opened at start-up (" +
                                              it->second.message() + "); restore it from a backup or delete it");
  }
  return error(ErrorCode::kNotFound, "collection '" + name + "' does not exist");
}

bool CollectionRegistry::has_collection(const std::string& name) const {
  std::shared_lock lock(mutex_);
  return collections_.count(name) > 0;
}

std::vector<std::shared_ptr<Collection>> CollectionRegistry::all() const {
  std::vector<std::shared_ptr<Collection>> out;
  std::shared_lock lock(mutex_);
  for (const auto& [name, c] : collections_) out.push_back(c);
  return out;
}

Result<std::vector<CollectionInfo>> CollectionRegistry::list() const {
  if (!ready_) return error(ErrorCode::kUnavailable, kLoading);
  std::vector<CollectionInfo> out;
  for (const auto& c : all()) {
    auto info = c->info();
    if (!info) return info.status();
    out.push_back(std::move(info.value()));
  }
  return out;
}

Result<std::shared_ptr<Collection>> CollectionRegistry::create(const std::string& name,
                                                               const CollectionSettings& settings) {
  if (!ready_) return error(ErrorCode::kUnavailable, kLoading);
  KR_RETURN_IF_ERROR(data_dir_.require_writable());
  if (!valid_collection_name(name)) {
    return error(ErrorCode::kInvalidArgument, "invalid collection name '" + name +
                                                  "': use 1-64 letters, digits, '_', '.' or '-', starting with a "
                                                  "letter or digit");
  }
  if (settings.bm25_k1 < 0 || settings.bm25_b < 0 || settings.bm25_b > 1) {
    return error(ErrorCode::kInvalidArgument, "bm25_k1 must be >= 0 and bm25_b between 0 and 1");
  }
  if (settings.chunk_max_tokens < 16 || settings.chunk_max_tokens > 8192 || settings.chunk_overlap_tokens < 0 ||
      settings.chunk_overlap_tokens * 2 >= settings.chunk_max_tokens) {
    return error(ErrorCode::kInvalidArgument,
                 "chunk_max_tokens must be 16-8192 and chunk_overlap_tokens below half of it");
  }
  if (pg_) return create_postgres(name, settings);
  std::lock_guard change_lock(change_mutex_);
  {
    std::shared_lock lock(mutex_);
    if (collections_.count(name) || broken_.count(name)) {
      return error(ErrorCode::kAlreadyExists, "collection '" + name + "' already exists");
    }
  }
  // Build in a staging folder, then rename: a crash never leaves a half-made collection.
  const std::string final_dir = data_dir_.collection_dir(name);
  const std::string tmp_dir = data_dir_.staging_dir(name);
  std::error_code ec;
  fs::create_directories(tmp_dir, ec);
  if (ec) return error(ErrorCode::kUnavailable, "cannot create " + tmp_dir + ": " + ec.message());
  {
    auto made = Collection::create(name, tmp_dir, settings, vector_options_);
    if (!made) {
      fs::remove_all(tmp_dir, ec);
      return made.status();
    }
  }  // closed before the rename
  fs::rename(tmp_dir, final_dir, ec);
  if (ec) {
    const std::error_code rename_error = ec;
    fs::remove_all(tmp_dir, ec);
    if (rename_error == std::errc::directory_not_empty || rename_error == std::errc::file_exists) {
      // A folder of that name that is not an open collection (left by another tool or an
      // older version): refuse cleanly instead of a retryable 503 that never succeeds.
      return error(ErrorCode::kAlreadyExists, "cannot create collection '" + name + "': the data directory already has a "
                                              "folder " + final_dir + " that is not a collection; move it away");
    }
    return error(ErrorCode::kUnavailable,
                 "cannot create collection directory " + final_dir + ": " + rename_error.message());
  }
  (void)store::sync_directory(data_dir_.collections_dir());  // the rename survives a power loss (logged on failure)
  auto collection = open_collection(name, final_dir);
  if (!collection) return collection.status();
  {
    std::unique_lock lock(mutex_);
    collections_[name] = *collection;
  }
  log::info("collection created", {{"collection", name}});
  return collection;
}

Status CollectionRegistry::remove(const std::string& name) {
  if (!ready_) return error(ErrorCode::kUnavailable, kLoading);
  KR_RETURN_IF_ERROR(data_dir_.require_writable());
  if (pg_) return remove_postgres(name);
  std::lock_guard change_lock(change_mutex_);
  std::shared_ptr<Collection> collection;
  {
    std::unique_lock lock(mutex_);
    if (auto it = collections_.find(name); it != collections_.end()) {
      collection = it->second;
      collections_.erase(it);
    } else if (broken_.erase(name) == 0) {
      return error(ErrorCode::kNotFound, "collection '" + name + "' does not exist");
    }
  }
  std::string directory = data_dir_.collection_dir(name);
  std::unique_lock<std::mutex> write_lock;
  if (collection) {
    // Wait for a commit in flight; later ones see the collection retired and store nothing.
    write_lock = std::unique_lock<std::mutex>(collection->write_mutex());
    collection->retire();
    directory = collection->directory();
  }
  const std::string trash = data_dir_.trash_dir(name);
  std::error_code ec;
  fs::rename(directory, trash, ec);
  if (ec) return error(ErrorCode::kUnavailable, "cannot delete collection '" + name + "': " + ec.message());
  (void)store::sync_directory(data_dir_.collections_dir());
  fs::remove_all(trash, ec);  // open readers keep their file handles; removal is safe on POSIX
  log::info("collection deleted", {{"collection", name}});
  return Status::ok();
}

Status CollectionRegistry::install(const std::string& name, const std::string& staging_dir, bool overwrite,
                                   const std::function<Status(Collection&)>& prepare) {
  if (!ready_) return error(ErrorCode::kUnavailable, kLoading);
  KR_RETURN_IF_ERROR(data_dir_.require_writable());
  std::error_code ec;
  if (pg_) {
    fs::remove_all(staging_dir, ec);
    return error(ErrorCode::kFailedPrecondition,
                 "loading a persisted index into the PostgreSQL store is not supported yet; ingest the documents");
  }
  const auto discard = [&](Status status) {
    fs::remove_all(staging_dir, ec);
    return status;
  };
  const auto exists = [&] {
    return error(ErrorCode::kAlreadyExists,
                 "Index '" + name + "' already exists. Use a different name or delete the existing index first.");
  };
  // Opened (indexes rebuilt) before any lock: the old collection serves meanwhile.
  auto fresh = open_collection(name, staging_dir);
  if (!fresh) return discard(error(ErrorCode::kCorruptInput, "cannot open the persisted index: " + fresh.status().message()));
  if (prepare) {
    if (Status prepared = prepare(**fresh); !prepared) return discard(prepared);
  }

  std::lock_guard change_lock(change_mutex_);
  std::shared_ptr<Collection> previous;
  bool was_broken = false;
  {
    std::shared_lock lock(mutex_);
    if (auto it = collections_.find(name); it != collections_.end()) previous = it->second;
    was_broken = broken_.count(name) > 0;
  }
  if ((previous || was_broken) && !overwrite) return discard(exists());
  const std::string final_dir = data_dir_.collection_dir(name);
  if (!previous && !was_broken) {
    fs::rename(staging_dir, final_dir, ec);
    if (ec) return discard(error(ErrorCode::kUnavailable, "cannot create " + final_dir + ": " + ec.message()));
    (void)store::sync_directory(data_dir_.collections_dir());
    (*fresh)->relocate(final_dir);
    std::unique_lock lock(mutex_);
    collections_[name] = *fresh;
    return Status::ok();
  }
  std::unique_lock<std::mutex> write_lock;
  if (previous) write_lock = std::unique_lock<std::mutex>(previous->write_mutex());  // no commit in flight
  if (Status swapped = exchange_directories(staging_dir, final_dir); !swapped) return discard(swapped);
  (void)store::sync_directory(data_dir_.collections_dir());
  // On disk `name` is now the new collection; the old one sits in the staging folder.
  if (previous) {
    previous->retire();
    previous->relocate(staging_dir);
  }
  (*fresh)->relocate(final_dir);
  {
    std::unique_lock lock(mutex_);
    collections_[name] = *fresh;
    broken_.erase(name);
  }
  write_lock = {};
  // Readers still holding the old collection keep their open handles; swept at start-up otherwise.
  const std::string trash = data_dir_.trash_dir(name);
  fs::rename(staging_dir, trash, ec);
  fs::remove_all(ec ? staging_dir : trash, ec);
  return Status::ok();
}

void CollectionRegistry::save_snapshots() const {
  if (data_dir_.access() != store::DataDirectory::Access::kReadWrite) return;
  for (const auto& c : all()) {
    const auto started = std::chrono::steady_clock::now();
    std::lock_guard write_lock(c->write_mutex());
    if (Status saved = c->save_snapshot(); !saved) {
      log::warn("cannot save the vector snapshot; the next start rebuilds the index",
                {{"collection", c->name()}, {"error", saved.to_string()}});
    } else {
      log::debug("vector snapshot saved", {{"collection", c->name()}, {"ms", std::to_string(elapsed_ms(started))}});
    }
  }
}

Status CollectionRegistry::check() const {
  for (const auto& c : all()) {
    std::lock_guard write_lock(c->write_mutex());
    Status status = c->check();
    if (!status) return error(status.code(), "collection '" + c->name() + "': " + status.message());
  }
  return Status::ok();
}

}  // namespace kr::service
