// kaito-rag migrate-store: one collection from the embedded store to PostgreSQL or back
// (store/store_migration.h), with progress on stderr and the verified counts and checksums.
#include <iostream>
#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "store/pg_schema.h"
#include "store/store_migration.h"

namespace kr::cli {
namespace {

using nlohmann::json;

int fail(const Status& status) {
  std::cerr << "kaito-rag migrate-store: " << status.message() << "\n";
  return 1;
}

json digest_json(const store::StoreDigest& d) {
  return {{"documents", d.documents},         {"chunks", d.chunks},
          {"embeddings", d.vectors},          {"originals", d.originals},
          {"settings", d.settings},           {"documents_sha256", d.documents_sha256},
          {"chunks_sha256", d.chunks_sha256}, {"embeddings_sha256", d.vectors_sha256},
          {"originals_sha256", d.originals_sha256}, {"settings_sha256", d.settings_sha256}};
}

}  // namespace

int migrate_store(const Config& config, const MigrateStoreArgs& args) {
  if (config.pg_url.empty()) {
    return fail(error(ErrorCode::kInvalidArgument, "give the PostgreSQL database with --pg-url (or KAITO_RAG_PG_URL)"));
  }
  // The embedded side must not be in use: a server would never see what is written behind it.
  store::DataDirectory data_dir(config.data_dir);
  if (Status opened = data_dir.open(store::DataDirectory::Access::kReadWrite); !opened) {
    return fail(error(opened.code(), opened.message() + " (stop the server using " + config.data_dir +
                                         " before migrating its collections)"));
  }
  store::PgOptions options;
  options.url = config.pg_url;
  options.max_connections = 2;
  auto pool = std::make_shared<store::PgPool>(std::move(options));
  if (Status migrated = store::pg_migrate(*pool); !migrated) return fail(migrated);

  store::MigrationOptions migration;
  migration.collection = args.collection;
  migration.target = args.target;
  migration.to_postgres = args.to == "postgres";
  migration.overwrite = args.overwrite;
  const std::string from = migration.to_postgres ? "embedded" : "postgres";
  std::cerr << "migrating '" << args.collection << "' from the " << from << " store to " << args.to << "\n";
  auto report = store::migrate_collection(data_dir, pool, migration,
                                          [](const std::string& line) { std::cerr << "  " << line << "\n"; });
  if (!report) return fail(report.status());
  if (args.json) {
    std::cout << json{{"collection", args.collection},
                      {"target", args.target.empty() ? args.collection : args.target},
                      {"from", from},
                      {"to", args.to},
                      {"verified", true},
                      {"ms", report->ms},
                      {"source", digest_json(report->source)},
                      {"copy", digest_json(report->copy)}}
                     .dump()
              << "\n";
  } else {
    std::cout << "Copied and verified in " << report->ms << " ms: " << report->copy.describe() << "\n";
  }
  return 0;
}

}  // namespace kr::cli
