#include "store/store_migration.h"

#include <chrono>
#include <filesystem>
#include <map>

#include "core/hex.h"
#include "store/collection_store.h"
#include "store/pg_collection_store.h"
#include "store/pg_original_store.h"
#include "store/pg_schema.h"

namespace kr::store {
namespace {

namespace fs = std::filesystem;

// One side of a migration: a collection's documents and its originals.
struct Side {
  std::unique_ptr<DocumentStore> documents;
  std::unique_ptr<OriginalStore> originals;
  std::string originals_name;  // the collection name the originals are filed under
};

Result<std::optional<int64_t>> pg_collection_id(PgPool& pool, const std::string& name) {
  auto entries = pg_list_collections(pool);
  if (!entries) return entries.status();
  for (const auto& e : *entries) {
    if (e.name == name) return std::optional<int64_t>(e.id);
  }
  return std::optional<int64_t>();
}

Result<Side> open_source(const DataDirectory& data_dir, const std::shared_ptr<PgPool>& pg,
                         const MigrationOptions& options) {
  Side side;
  side.originals_name = options.collection;
  if (options.to_postgres) {  // from the embedded store
    const std::string dir = data_dir.collection_dir(options.collection);
    if (!fs::exists(dir + "/collection.db")) {
      return error(ErrorCode::kNotFound, "no collection '" + options.collection + "' in " + data_dir.root());
    }
    auto opened = CollectionStore::open(dir, /*create=*/false);
    if (!opened) return opened.status();
    side.documents = std::move(*opened);
    side.originals = std::make_unique<FileOriginalStore>(data_dir.collections_dir());
    return side;
  }
  auto id = pg_collection_id(*pg, options.collection);
  if (!id) return id.status();
  if (!*id) return error(ErrorCode::kNotFound, "no collection '" + options.collection + "' in the PostgreSQL store");
  side.documents = std::make_unique<PgCollectionStore>(pg, **id, 0);
  side.originals = std::make_unique<PgOriginalStore>(pg);
  return side;
}

// The unpublished target: a staging folder or an unpublished row under a temporary name.
struct Target {
  Side side;
  std::string staging_dir;  // embedded
  int64_t pg_id = 0;        // PostgreSQL
};

Result<Target> create_target(const DataDirectory& data_dir, const std::shared_ptr<PgPool>& pg,
                             const MigrationOptions& options) {
  Target target;
  if (options.to_postgres) {
    auto existing = pg_collection_id(*pg, options.target);
    if (!existing) return existing.status();
    if (*existing && !options.overwrite) {
      return error(ErrorCode::kAlreadyExists, "collection '" + options.target + "' already exists in the PostgreSQL "
                                              "store; pass --overwrite to replace it");
    }
    target.side.originals_name = "." + options.target + ".migrating-" + random_hex_id();
    auto id = pg_create_collection(*pg, target.side.originals_name);
    if (!id) return id.status();
    target.pg_id = *id;
    target.side.documents = std::make_unique<PgCollectionStore>(pg, *id, 0);
    target.side.originals = std::make_unique<PgOriginalStore>(pg);
    return target;
  }
  if (fs::exists(data_dir.collection_dir(options.target)) && !options.overwrite) {
    return error(ErrorCode::kAlreadyExists, "collection '" + options.target + "' already exists in " +
                                                data_dir.root() + "; pass --overwrite to replace it");
  }
  target.staging_dir = data_dir.staging_dir(options.target);
  std::error_code ec;
  fs::create_directories(target.staging_dir, ec);
  if (ec) return error(ErrorCode::kUnavailable, "cannot create " + target.staging_dir + ": " + ec.message());
  auto opened = CollectionStore::open(target.staging_dir, /*create=*/true);
  if (!opened) return opened.status();
  target.side.documents = std::move(*opened);
  target.side.originals = std::make_unique<FileOriginalStore>(data_dir.collections_dir());
  target.side.originals_name = fs::path(target.staging_dir).filename().string();
  return target;
}

void discard(const std::shared_ptr<PgPool>& pg, Target& target) {
  target.side.documents.reset();
  if (target.pg_id != 0) (void)pg_drop_collection(*pg, target.side.originals_name);
  std::error_code ec;
  if (!target.staging_dir.empty()) fs::remove_all(target.staging_dir, ec);
}

Status publish(const DataDirectory& data_dir, const std::shared_ptr<PgPool>& pg, const MigrationOptions& options,
               Target& target) {
  target.side.documents.reset();  // closes the embedded database before its folder moves
  if (target.pg_id != 0) return pg_publish_collection_as(*pg, target.pg_id, options.target, options.overwrite);
  const std::string final_dir = data_dir.collection_dir(options.target);
  std::error_code ec;
  std::string trash;
  if (fs::exists(final_dir)) {
    trash = data_dir.trash_dir(options.target);
    fs::rename(final_dir, trash, ec);
    if (ec) return error(ErrorCode::kUnavailable, "cannot move " + final_dir + " aside: " + ec.message());
  }
  fs::rename(target.staging_dir, final_dir, ec);
  if (ec) return error(ErrorCode::kUnavailable, "cannot publish " + final_dir + ": " + ec.message());
  target.staging_dir.clear();
  if (!trash.empty()) fs::remove_all(trash, ec);  // swept at the next start-up otherwise
  return Status::ok();
}

Status copy_settings(const DocumentStore& from, DocumentStore& to) {
  auto settings = from.all_settings();
  if (!settings) return settings.status();
  for (const auto& [key, value] : *settings) KR_RETURN_IF_ERROR(to.set_setting(key, value));
  return Status::ok();
}

Status copy_documents(const DocumentStore& from, DocumentStore& to, const MigrationOptions& options,
                      const std::function<void(const std::string&)>& progress) {
  std::map<int64_t, std::vector<float>> vectors;  // chunk id -> embedding
  KR_RETURN_IF_ERROR(from.for_each_chunk_vector([&](int64_t chunk, int64_t, std::span<const float> v) {
    vectors[chunk].assign(v.begin(), v.end());
  }));
  if (!vectors.empty()) KR_RETURN_IF_ERROR(to.prepare_vectors(static_cast<int>(vectors.begin()->second.size())));
  int64_t copied = 0;
  const int64_t batch = static_cast<int64_t>(options.batch_documents);
  for (int64_t offset = 0;; offset += batch) {
    auto page = from.list_documents(offset, batch, {});
    if (!page) return page.status();
    std::vector<PutRequest> requests;
    for (auto& document : page->documents) {
      auto listed = from.document_chunks(document.key);
      if (!listed) return listed.status();
      std::vector<int64_t> ids;
      for (const auto& c : *listed) ids.push_back(c.id);
      auto chunks = from.get_chunks_with_terms(ids);
      if (!chunks) return chunks.status();
      for (auto& chunk : *chunks) {
        if (auto v = vectors.find(chunk.id); v != vectors.end()) chunk.vector = std::move(v->second);
        chunk.id = 0;
        chunk.document_key = 0;
      }
      document.key = 0;
      requests.push_back({std::move(document), std::move(*chunks)});
    }
    if (!requests.empty()) {
      auto put = to.put_documents(std::move(requests));
      if (!put) return put.status();
      copied += static_cast<int64_t>(put->size());
    }
    progress("documents " + std::to_string(copied) + "/" + std::to_string(page->total));
    if (static_cast<int64_t>(page->documents.size()) < batch) break;
  }
  return Status::ok();
}

Status copy_originals(const Side& from, const Side& to, const std::function<void(const std::string&)>& progress) {
  auto hashes = from.originals->hashes(from.originals_name);
  if (!hashes) return hashes.status();
  size_t done = 0;
  for (const auto& hash : *hashes) {
    auto bytes = from.originals->read(from.originals_name, hash);
    if (!bytes) return bytes.status();
    KR_RETURN_IF_ERROR(to.originals->keep(to.originals_name, hash, *bytes));
    if (++done % 100 == 0 || done == hashes->size()) {
      progress("originals " + std::to_string(done) + "/" + std::to_string(hashes->size()));
    }
  }
  return Status::ok();
}

}  // namespace

Result<MigrationReport> migrate_collection(const DataDirectory& data_dir, std::shared_ptr<PgPool> postgres,
                                           const MigrationOptions& given,
                                           const std::function<void(const std::string&)>& progress) {
  const auto started = std::chrono::steady_clock::now();
  MigrationOptions options = given;
  if (options.target.empty()) options.target = options.collection;
  if (options.batch_documents == 0) options.batch_documents = 64;
  auto source = open_source(data_dir, postgres, options);
  if (!source) return source.status();
  auto target = create_target(data_dir, postgres, options);
  if (!target) return target.status();

  MigrationReport report;
  Status status = copy_settings(*source->documents, *target->side.documents);
  if (status) status = copy_documents(*source->documents, *target->side.documents, options, progress);
  if (status) status = copy_originals(*source, target->side, progress);
  if (status) {
    progress("verifying counts and checksums");
    auto from = digest_collection(*source->documents, *source->originals, source->originals_name);
    auto to = digest_collection(*target->side.documents, *target->side.originals, target->side.originals_name);
    if (!from) status = from.status();
    else if (!to) status = to.status();
    else if (!(*from == *to)) {
      status = error(ErrorCode::kDataCorruption, "the copy differs from its source (was the source changed during "
                                                 "the run?): source " + from->describe() + "; copy " + to->describe());
    } else {
      report.source = *from;
      report.copy = *to;
    }
  }
  if (status) status = publish(data_dir, postgres, options, *target);
  if (!status) {
    discard(postgres, *target);
    return status;
  }
  report.ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - started).count();
  return report;
}

}  // namespace kr::store
