// Originals in the shared database (kr_originals), so replica B serves a file uploaded through A
// and no replica keeps one on its disk.
//
// Why bytea in 1 MiB parts, not large objects or blob storage: parts cascade with their
// collection (large objects need their own cleanup, vacuumlo), travel with the database's
// backups, point-in-time restore and read replicas (Azure Flexible Server manages those), need
// no second credential, and a part at a time keeps a write's memory at 1 MiB (one bytea value
// is read whole by libpq; 1 GiB is its hard limit). The cost is database storage: at tens of
// GiB of originals a pointer to Blob Storage becomes cheaper — the interface is the place.
#pragma once

#include <functional>
#include <memory>

#include "store/original_store.h"
#include "store/pg_connection.h"

namespace kr::store {

// Thread-safety: every call takes its own pooled connection.
class PgOriginalStore final : public OriginalStore {
 public:
  static constexpr size_t kPartBytes = 1 << 20;

  explicit PgOriginalStore(std::shared_ptr<PgPool> pool) : pool_(std::move(pool)) {}

  Status keep(const std::string& collection, const std::string& content_hash, std::string_view bytes) const override;
  Status keep_file(const std::string& collection, const std::string& content_hash,
                   const std::string& path) const override;
  Result<std::string> read(const std::string& collection, const std::string& content_hash) const override;
  Status release(const std::string& collection, const std::string& content_hash) const override;
  Status sweep(const std::string& collection, const std::set<std::string>& live) const override;
  int64_t bytes(const std::string& collection) const override;
  Result<std::vector<std::string>> hashes(const std::string& collection) const override;

 private:
  // Writes the parts `next_part` yields (false at the end) in one transaction, unless kept.
  Status keep_parts(const std::string& collection, const std::string& content_hash,
                    const std::function<Result<bool>(std::string& part)>& next_part) const;
  std::shared_ptr<PgPool> pool_;
};

}  // namespace kr::store
