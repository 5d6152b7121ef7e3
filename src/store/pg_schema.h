// The PostgreSQL store's schema: versioned migrations and the catalog of collections.
//
// Every replica runs migrate() at start-up. The migrations are serialized by a session advisory
// lock, so replicas starting at once apply each step exactly once and all see the final schema.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/status.h"
#include "store/pg_connection.h"

namespace kr::store {

// Highest migration version this build knows.
int pg_schema_version();

// Applies the missing migrations (each in its own transaction) under the advisory lock. Refuses
// a database migrated by a newer build (kFailedPrecondition).
Status pg_migrate(PgPool& pool);

struct PgCollectionEntry {
  int64_t id = 0;
  std::string name;
};

// The collections in the database, in name order.
Result<std::vector<PgCollectionEntry>> pg_list_collections(PgPool& pool);
// Reserves the name (kAlreadyExists when taken); the collection stays invisible to
// pg_list_collections until pg_publish_collection, so no replica opens it half-made.
Result<int64_t> pg_create_collection(PgPool& pool, const std::string& name);
Status pg_publish_collection(PgPool& pool, int64_t id);
// Publishes the (unpublished) collection `id` under `name` in one transaction; with `replace`, a
// collection already holding that name is dropped in the same transaction (migrate-store
// --overwrite), else that is kAlreadyExists.
Status pg_publish_collection_as(PgPool& pool, int64_t id, const std::string& name, bool replace);
// Removes the collection with everything in it (kNotFound when absent).
Status pg_drop_collection(PgPool& pool, const std::string& name);

// Channel every committing replica notifies (payload: the collection id).
inline constexpr const char* kPgChangeChannel = "kaito_rag_changes";

}  // namespace kr::store
