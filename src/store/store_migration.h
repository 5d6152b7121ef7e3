// `kaito-rag migrate-store`: copies one collection between the embedded store (the data
// directory) and PostgreSQL, either way, and proves the copy equal (store_digest.h) before
// anyone can see it.
//
// The copy is built where nobody looks — a staging folder (embedded) or an unpublished row
// (PostgreSQL) — and published by one rename / one transaction only once its counts and
// checksums equal the source's; a failed or interrupted run leaves the target as it was.
// The source is never changed.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "core/status.h"
#include "store/data_dir.h"
#include "store/pg_connection.h"
#include "store/store_digest.h"

namespace kr::store {

struct MigrationOptions {
  std::string collection;        // source name
  std::string target;            // name of the copy (default: the same)
  bool to_postgres = true;       // embedded -> PostgreSQL, else PostgreSQL -> embedded
  bool overwrite = false;        // replace an existing target collection (else kAlreadyExists)
  size_t batch_documents = 64;   // documents per write transaction
};

struct MigrationReport {
  StoreDigest source;
  StoreDigest copy;  // equal to source (else the run failed)
  int64_t ms = 0;
};

// `data_dir` must be open read-write (no server is using it); `postgres` is migrated.
// `progress` receives one line per batch.
Result<MigrationReport> migrate_collection(const DataDirectory& data_dir, std::shared_ptr<PgPool> postgres,
                                           const MigrationOptions& options,
                                           const std::function<void(const std::string&)>& progress);

}  // namespace kr::store
