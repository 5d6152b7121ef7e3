#include "sources/source_state.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "store/directory_sync.h"

namespace kr::sources {
namespace fs = std::filesystem;
using nlohmann::json;

std::string_view source_kind_name(SourceKind kind) {
  switch (kind) {
    case SourceKind::kFolder: return "folder";
    case SourceKind::kUrl: return "url";
    case SourceKind::kAzureBlob: return "azure_blob";
  }
  return "folder";
}

Result<SourceKind> parse_source_kind(std::string_view name) {
  for (SourceKind kind : {SourceKind::kFolder, SourceKind::kUrl, SourceKind::kAzureBlob}) {
    if (source_kind_name(kind) == name) return kind;
  }
  return error(ErrorCode::kInvalidArgument,
               "unknown source kind '" + std::string(name) + "'; expected folder, url or azure_blob");
}

namespace {

json report_json(const SyncReport& r) {
  return {{"started_at", r.started_at}, {"finished_at", r.finished_at}, {"trigger", r.trigger},
          {"listed", r.listed},         {"added", r.added},             {"updated", r.updated},
          {"unchanged", r.unchanged},   {"deleted", r.deleted},         {"failed", r.failed},
          {"pending", r.pending},       {"error", r.error}};
}

SyncReport report_from(const json& j) {
  SyncReport r;
  r.started_at = j.value("started_at", int64_t{0});
  r.finished_at = j.value("finished_at", int64_t{0});
  r.trigger = j.value("trigger", "");
  r.listed = j.value("listed", int64_t{0});
  r.added = j.value("added", int64_t{0});
  r.updated = j.value("updated", int64_t{0});
  r.unchanged = j.value("unchanged", int64_t{0});
  r.deleted = j.value("deleted", int64_t{0});
  r.failed = j.value("failed", int64_t{0});
  r.pending = j.value("pending", int64_t{0});
  r.error = j.value("error", "");
  return r;
}

json to_json(const CollectionSources& all) {
  json sources = json::array();
  for (const auto& record : all.sources) {
    const SourceSpec& s = record.spec;
    json items = json::object();
    for (const auto& [key, item] : record.items) {
      items[key] = {{"version", item.version}, {"doc_id", item.doc_id}, {"outcome", item.outcome},
                    {"error", item.error},     {"synced_at", item.synced_at}};
    }
    json entry = {{"id", s.id},
                  {"kind", source_kind_name(s.kind)},
                  {"location", s.location},
                  {"interval_seconds", s.interval_seconds},
                  {"extensions", s.extensions},
                  {"crawl_depth", s.crawl_depth},
                  {"max_pages", s.max_pages},
                  {"account_key", s.account_key},
                  {"sas_token", s.sas_token},
                  {"auth", s.workload_identity ? "workload_identity" : ""},
                  {"created_at", s.created_at},
                  {"items", std::move(items)}};
    if (record.last_run) entry["last_run"] = report_json(*record.last_run);
    sources.push_back(std::move(entry));
  }
  return {{"version", 1}, {"next_id", all.next_id}, {"sources", std::move(sources)}};
}

Result<CollectionSources> from_json(const json& j) {
  CollectionSources all;
  all.next_id = j.value("next_id", int64_t{1});
  for (const auto& entry : j.at("sources")) {
    SourceRecord record;
    SourceSpec& s = record.spec;
    s.id = entry.at("id").get<std::string>();
    auto kind = parse_source_kind(entry.at("kind").get<std::string>());
    if (!kind) return kind.status();
    s.kind = *kind;
    s.location = entry.at("location").get<std::string>();
    s.interval_seconds = entry.value("interval_seconds", 0.0);
    s.extensions = entry.value("extensions", std::vector<std::string>{});
    s.crawl_depth = entry.value("crawl_depth", 0);
    s.max_pages = entry.value("max_pages", 0);
    s.account_key = entry.value("account_key", "");
    s.sas_token = entry.value("sas_token", "");
    s.workload_identity = entry.value("auth", "") == "workload_identity";
    s.created_at = entry.value("created_at", int64_t{0});
    for (const auto& [key, item] : entry.at("items").items()) {
      record.items[key] = ItemState{item.value("version", ""), item.value("doc_id", ""), item.value("outcome", ""),
                                    item.value("error", ""), item.value("synced_at", int64_t{0})};
    }
    if (entry.contains("last_run")) record.last_run = report_from(entry["last_run"]);
    all.sources.push_back(std::move(record));
  }
  return all;
}

Status io_error(const std::string& what, const std::string& path) {
  return error(ErrorCode::kInternal, what + " " + path + ": " + std::strerror(errno));
}

}  // namespace

Result<CollectionSources> SourceFile::load(const std::string& collection) const {
  std::ifstream in(path(collection), std::ios::binary);
  if (!in) return CollectionSources{};
  std::stringstream text;
  text << in.rdbuf();
  try {
    return from_json(json::parse(text.str()));
  } catch (const std::exception& e) {
    return error(ErrorCode::kInternal, "source state " + path(collection) + " is damaged: " + e.what());
  }
}

Status SourceFile::save(const std::string& collection, const CollectionSources& sources) const {
  std::error_code ec;
  fs::create_directories(dir_, ec);
  if (ec) return error(ErrorCode::kInternal, "cannot create " + dir_ + ": " + ec.message());
  const std::string final_path = path(collection);
  const std::string tmp_path = final_path + ".tmp";
  const std::string text = to_json(sources).dump();
  // 0600: the file may hold a storage key or SAS token.
  const int fd = ::open(tmp_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return io_error("cannot write", tmp_path);
  size_t written = 0;
  while (written < text.size()) {
    const ssize_t n = ::write(fd, text.data() + written, text.size() - written);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      Status failed = io_error("cannot write", tmp_path);
      ::close(fd);
      return failed;
    }
    written += static_cast<size_t>(n);
  }
  if (::fsync(fd) != 0) {
    Status failed = io_error("cannot sync", tmp_path);
    ::close(fd);
    return failed;
  }
  ::close(fd);
  if (::rename(tmp_path.c_str(), final_path.c_str()) != 0) return io_error("cannot replace", final_path);
  return store::sync_directory(dir_);
}

Status SourceFile::remove(const std::string& collection) const {
  std::error_code ec;
  fs::remove(path(collection), ec);
  if (ec) return error(ErrorCode::kInternal, "cannot remove " + path(collection) + ": " + ec.message());
  return Status::ok();
}

std::vector<std::string> SourceFile::collections() const {
  std::vector<std::string> names;
  std::error_code ec;
  for (auto it = fs::directory_iterator(dir_, ec); !ec && it != fs::directory_iterator(); it.increment(ec)) {
    if (it->path().extension() == ".json") names.push_back(it->path().stem().string());
  }
  return names;
}

}  // namespace kr::sources
