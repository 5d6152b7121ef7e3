// The KAITO RAGEngine layer of the Engine: text documents through the ingest
// pipeline, chunk listing, creation order of indexes, persist and load.
// See docs/ragengine-compatibility.md for the contract and the differences.
#include <sqlite3.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>
#include <set>

#include "core/log.h"
#include "core/text.h"
#include "service/engine.h"
#include "store/directory_sync.h"

namespace kr::service {
namespace fs = std::filesystem;

namespace {

// Collection setting with the creation time in nanoseconds, so GET /indexes can
// list in creation order (created_at has one-second resolution).
constexpr const char* kCreatedNsSetting = "ragengine_created_ns";
constexpr const char* kManifestName = "manifest.json";
constexpr const char* kDatabaseName = "collection.db";
constexpr const char* kManifestFormat = "kaito-rag-index";

int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string random_suffix() { return std::to_string(std::random_device()()); }

IngestInput text_input(const std::string& doc_id, const TextDocument& document) {
  IngestInput input;
  input.name = doc_id + ".txt";
  input.source = "ragengine:" + doc_id;
  input.bytes = document.text;
  input.metadata = document.metadata;
  input.doc_id = doc_id;
  return input;
}

// Copies the database at `from` into a new file `to` with SQLite's online backup
// (a consistent snapshot even while the collection is being written).
Status backup_database(const std::string& from, const std::string& to) {
  sqlite3* source = nullptr;
  sqlite3* target = nullptr;
  Status status;
  if (sqlite3_open_v2(from.c_str(), &source, SQLITE_OPEN_READONLY, nullptr) != SQLITE_OK) {
    status = error(ErrorCode::kUnavailable, "cannot open " + from + ": " + sqlite3_errmsg(source));
  } else if (sqlite3_open_v2(to.c_str(), &target, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nullptr) != SQLITE_OK) {
    status = error(ErrorCode::kUnavailable, "cannot create " + to + ": " + sqlite3_errmsg(target));
  } else {
    sqlite3_busy_timeout(source, 5000);
    sqlite3_backup* backup = sqlite3_backup_init(target, "main", source, "main");
    if (!backup) {
      status = error(ErrorCode::kUnavailable, std::string("cannot back up ") + from + ": " + sqlite3_errmsg(target));
    } else {
      int rc = SQLITE_OK;
      do {
        rc = sqlite3_backup_step(backup, -1);
        if (rc == SQLITE_BUSY || rc == SQLITE_LOCKED) sqlite3_sleep(20);
      } while (rc == SQLITE_OK || rc == SQLITE_BUSY || rc == SQLITE_LOCKED);
      sqlite3_backup_finish(backup);
      if (rc != SQLITE_DONE) {
        status = error(ErrorCode::kUnavailable, std::string("backup of ") + from + " failed: " + sqlite3_errstr(rc));
      } else if (sqlite3_exec(target, "PRAGMA journal_mode=DELETE", nullptr, nullptr, nullptr) != SQLITE_OK) {
        status = error(ErrorCode::kUnavailable, std::string("cannot finish ") + to + ": " + sqlite3_errmsg(target));
      }
    }
  }
  sqlite3_close(source);
  sqlite3_close(target);
  return status;
}

Status write_file_atomically(const std::string& path, const std::string& content) {
  const std::string tmp = path + ".tmp-" + random_suffix();
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out << content;
    out.flush();
    if (!out) return error(ErrorCode::kUnavailable, "cannot write " + tmp);
  }
  std::error_code ec;
  fs::rename(tmp, path, ec);
  if (ec) {
    fs::remove(tmp, ec);
    return error(ErrorCode::kUnavailable, "cannot write " + path + ": " + ec.message());
  }
  (void)store::sync_directory(fs::path(path).parent_path().string());
  return Status::ok();
}

}  // namespace

std::string text_doc_id(const std::string& text) { return sha256_hex(text); }

std::string text_node_id(const std::string& doc_id, int ordinal) { return doc_id + ":" + std::to_string(ordinal); }

std::string text_chunk_hash(const std::string& text, const Metadata& metadata) {
  std::string input = text;
  input += '\0';
  for (const auto& [key, value] : metadata) input += key + '\0' + value + '\0';
  return sha256_hex(input);
}

std::string Engine::persist_base_dir() const {
  const char* env = std::getenv("DEFAULT_VECTOR_DB_PERSIST_DIR");
  std::string base = env && *env ? env : "storage";
  if (fs::path(base).is_absolute()) return base;
  return config_.data_dir + "/" + base;
}

Result<std::vector<TextIndexOutcome>> Engine::index_texts(const std::string& index,
                                                          const std::vector<TextDocument>& documents) {
  KR_RETURN_IF_ERROR(require_writable());
  if (!valid_collection_name(index)) return error(ErrorCode::kInvalidArgument, "invalid index name '" + index + "'");
  std::vector<TextIndexOutcome> out;
  if (documents.empty()) {
    if (auto found = find(index); !found && found.status().code() != ErrorCode::kNotFound) return found.status();
    return out;  // a new index with no documents is not created
  }
  for (const auto& document : documents) {
    if (document.text.empty()) return error(ErrorCode::kInvalidArgument, "document text is empty");
  }
  bool created_here = false;
  auto collection = find(index);
  if (!collection && collection.status().code() == ErrorCode::kNotFound) {
    auto created = registry_.create(index, default_settings());
    if (created) {
      created_here = true;
    } else if (created.status().code() != ErrorCode::kAlreadyExists) {
      return created.status();
    }
    collection = find(index);
    if (collection && created_here) {
      KR_RETURN_IF_ERROR((*collection)->store().set_setting(kCreatedNsSetting, std::to_string(now_ns())));
    }
  }
  if (!collection) return collection.status();
  // Texts not stored yet (nor earlier in this request) go through the pipeline together:
  // one embedding call and one transaction per batch.
  std::vector<IngestInput> inputs;
  std::vector<size_t> input_of;  // out index -> inputs index, or npos when skipped
  std::set<std::string> seen;
  for (const auto& document : documents) {
    TextIndexOutcome outcome{text_doc_id(document.text), false};
    const bool stored = (*collection)->document_key(outcome.doc_id).has_value();
    if (stored || !seen.insert(outcome.doc_id).second) {
      log::info("document already indexed; skipped", {{"index", index}, {"doc_id", outcome.doc_id}});
      input_of.push_back(std::string::npos);
    } else {
      input_of.push_back(inputs.size());
      inputs.push_back(text_input(outcome.doc_id, document));
    }
    out.push_back(std::move(outcome));
  }
  auto results = ingest_many(index, std::move(inputs), /*create_collection=*/false);
  Status failure = results.status();
  size_t added = 0;
  for (size_t i = 0; failure.is_ok() && i < out.size(); ++i) {
    if (input_of[i] == std::string::npos) continue;
    const Result<IngestResult>& result = (*results)[input_of[i]];
    if (!result) failure = result.status();
    else if (result->outcome == IngestOutcome::kFailed) failure = result->error;
    else if (result->outcome == IngestOutcome::kAdded) out[i].added = true, ++added;
  }
  if (!failure.is_ok()) {
    if (created_here && added == 0) (void)delete_collection(index);  // a failed request creates no index
    return failure;
  }
  return out;
}

Result<std::vector<std::string>> Engine::list_indexes_by_creation() const {
  if (!ready()) return error(ErrorCode::kUnavailable, "the server is still loading its collections; try again shortly");
  const auto all = registry_.all();
  std::vector<std::pair<int64_t, std::string>> keyed;
  for (const auto& c : all) {
    int64_t key = c->created_at() * 1000000000LL;
    if (auto ns = c->store().get_setting(kCreatedNsSetting); ns && ns->has_value()) {
      try {
        key = std::stoll(**ns);
      } catch (const std::exception&) {
      }
    }
    keyed.emplace_back(key, c->name());
  }
  std::sort(keyed.begin(), keyed.end());
  std::vector<std::string> names;
  for (auto& [key, name] : keyed) names.push_back(std::move(name));
  return names;
}

Result<TextChunkPage> Engine::list_text_chunks(const std::string& index, int64_t offset, int64_t limit,
                                               const MetadataFilter& filter) const {
  auto c = find(index);
  if (!c) return c.status();
  if (offset < 0 || limit < 1) return error(ErrorCode::kInvalidArgument, "offset must be >= 0 and limit >= 1");
  // Documents in insertion order; their chunks in order. Only the documents that
  // overlap the page have their chunks read.
  auto documents = (*c)->store().list_documents(0, INT64_MAX, filter);
  if (!documents) return documents.status();
  TextChunkPage page;
  int64_t position = 0;
  for (const auto& d : documents->documents) {
    const int64_t begin = position;
    position += d.chunk_count;
    if (position <= offset || begin >= offset + limit) continue;
    auto chunks = (*c)->store().document_chunks(d.key);
    if (!chunks) return chunks.status();
    for (size_t i = 0; i < chunks->size(); ++i) {
      const int64_t at = begin + static_cast<int64_t>(i);
      if (at < offset || at >= offset + limit) continue;
      const auto& chunk = (*chunks)[i];
      page.chunks.push_back(
          {d.doc_id, text_node_id(d.doc_id, chunk.ordinal), chunk.text, d.metadata, text_chunk_hash(chunk.text, d.metadata)});
    }
  }
  page.total = position;
  return page;
}

Result<std::vector<TextUpdateOutcome>> Engine::update_texts(const std::string& index,
                                                            const std::vector<TextDocument>& documents) {
  KR_RETURN_IF_ERROR(require_writable());
  auto c = find(index);
  if (!c) return c.status();
  std::vector<TextUpdateOutcome> out;
  std::vector<IngestInput> inputs;
  std::vector<size_t> input_of;  // out index -> inputs index
  for (const auto& document : documents) {
    if (document.doc_id.empty() || !(*c)->document_key(document.doc_id)) {
      out.push_back(TextUpdateOutcome::kNotFound);
      continue;
    }
    if (document.text.empty()) return error(ErrorCode::kInvalidArgument, "document text is empty");
    // The id stays the same even when the text changes (as in KAITO).
    input_of.resize(out.size() + 1, std::string::npos);
    input_of[out.size()] = inputs.size();
    inputs.push_back(text_input(document.doc_id, document));
    out.push_back(TextUpdateOutcome::kUpdated);
  }
  if (inputs.empty()) return out;
  auto results = ingest_many(index, std::move(inputs), /*create_collection=*/false);
  if (!results) return results.status();
  for (size_t i = 0; i < input_of.size(); ++i) {
    if (input_of[i] == std::string::npos) continue;
    const Result<IngestResult>& result = (*results)[input_of[i]];
    if (!result) return result.status();
    if (result->outcome == IngestOutcome::kFailed) return result->error;
    if (result->outcome == IngestOutcome::kUnchanged) out[i] = TextUpdateOutcome::kUnchanged;
  }
  return out;
}

Result<std::vector<bool>> Engine::delete_texts(const std::string& index, const std::vector<std::string>& doc_ids) {
  KR_RETURN_IF_ERROR(require_writable());
  auto c = find(index);
  if (!c) return c.status();
  std::vector<bool> found;
  for (const auto& doc_id : doc_ids) {  // membership is decided before deleting
    auto existing = (*c)->store().find_by_doc_id(doc_id);
    if (!existing) return existing.status();
    found.push_back(existing->has_value());
  }
  for (size_t i = 0; i < doc_ids.size(); ++i) {
    if (!found[i]) continue;
    Status status = delete_document(index, doc_ids[i]);
    if (!status && status.code() != ErrorCode::kNotFound) return status;
  }
  return found;
}

Result<std::string> Engine::persist_index(const std::string& index, const std::string& path) {
  auto c = find(index);
  if (!c) return c.status();
  std::error_code ec;
  fs::create_directories(path, ec);
  if (ec) return error(ErrorCode::kUnavailable, "cannot create " + path + ": " + ec.message());
  const std::string database = path + "/" + kDatabaseName;
  const std::string tmp = database + ".tmp-" + random_suffix();
  Status status = backup_database((*c)->directory() + "/" + kDatabaseName, tmp);
  if (status) {
    fs::rename(tmp, database, ec);
    if (ec) status = error(ErrorCode::kUnavailable, "cannot write " + database + ": " + ec.message());
    else (void)store::sync_directory(path);
  }
  if (!status) {
    fs::remove(tmp, ec);
    return status;
  }
  auto info = (*c)->info();
  nlohmann::json manifest = {{"format", kManifestFormat},
                             {"version", 1},
                             {"index_name", index},
                             {"database", kDatabaseName},
                             {"persisted_at", std::chrono::duration_cast<std::chrono::seconds>(
                                                  std::chrono::system_clock::now().time_since_epoch())
                                                  .count()},
                             {"documents", info ? info->documents : 0},
                             {"chunks", info ? info->chunks : 0}};
  KR_RETURN_IF_ERROR(write_file_atomically(path + "/" + kManifestName, manifest.dump(2) + "\n"));
  log::info("index persisted", {{"index", index}, {"path", path}});
  return path;
}

Status Engine::load_index(const std::string& index, const std::string& path, bool overwrite) {
  if (!ready()) return error(ErrorCode::kUnavailable, "the server is still loading its collections; try again shortly");
  KR_RETURN_IF_ERROR(require_writable());
  if (!valid_collection_name(index)) return error(ErrorCode::kInvalidArgument, "invalid index name '" + index + "'");
  std::error_code ec;
  if (!fs::exists(path, ec)) return error(ErrorCode::kNotFound, "Path does not exist: " + path);
  const std::string source = path + "/" + kDatabaseName;
  if (!fs::is_regular_file(source, ec)) {
    return error(ErrorCode::kCorruptInput, path + " does not hold a persisted index (no " + kDatabaseName + ")");
  }
  if (!overwrite && find(index)) {
    return error(ErrorCode::kAlreadyExists,
                 "Index '" + index + "' already exists. Use a different name or delete the existing index first.");
  }
  // Copy into a staging folder, check it, then swap it in atomically (CollectionRegistry::install).
  const std::string tmp_dir = data_dir_.staging_dir(index);
  fs::create_directories(tmp_dir, ec);
  if (ec) return error(ErrorCode::kUnavailable, "cannot create " + tmp_dir + ": " + ec.message());
  if (Status copied = backup_database(source, tmp_dir + "/" + kDatabaseName); !copied) {
    fs::remove_all(tmp_dir, ec);
    return copied;
  }
  Status status = registry_.install(index, tmp_dir, overwrite, [](Collection& loaded) -> Status {
    Status integrity = loaded.store().check_integrity();
    if (!integrity) return error(ErrorCode::kCorruptInput, "the persisted index is damaged: " + integrity.message());
    return loaded.store().set_setting(kCreatedNsSetting, std::to_string(now_ns()));
  });
  if (!status) return status;
  log::info("index loaded", {{"index", index}, {"path", path}, {"overwrite", overwrite ? "true" : "false"}});
  return Status::ok();
}

}  // namespace kr::service
