#include "store/pg_original_store.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>

namespace kr::store {
namespace {

constexpr const char* kCollectionId = "(SELECT id FROM kr_collections WHERE name = $1)";

}  // namespace

Status PgOriginalStore::keep_parts(const std::string& collection, const std::string& content_hash,
                                   const std::function<Result<bool>(std::string& part)>& next_part) const {
  if (!valid_content_hash(content_hash)) {
    return error(ErrorCode::kInvalidArgument, "not a SHA-256 hex digest: " + content_hash);
  }
  return pg_transaction(*pool_, [&](PgConnection& conn) -> Status {
    // One writer per (collection, hash): a second upload of the same bytes waits, then sees it kept.
    auto exists = conn.exec(std::string("SELECT ") + kCollectionId + ", pg_advisory_xact_lock(hashtext($1 || $2)), "
                            "EXISTS(SELECT 1 FROM kr_originals WHERE collection_id = " + kCollectionId +
                            " AND content_hash = $2)",
                            PgParams().add(collection).add(content_hash));
    if (!exists) return exists.status();
    if (exists->is_null(0, 0)) return error(ErrorCode::kNotFound, "collection '" + collection + "' was deleted");
    if (exists->text(0, 2) == "t") return Status::ok();
    const int64_t id = exists->int64(0, 0);
    std::string part;
    for (int64_t index = 0;; ++index) {
      part.clear();
      auto more = next_part(part);
      if (!more) return more.status();
      if (!*more && index > 0) break;  // an empty original is one empty part
      auto inserted = conn.exec("INSERT INTO kr_originals(collection_id, content_hash, part, bytes) VALUES($1, $2, $3, $4) "
                                "ON CONFLICT DO NOTHING",
                                PgParams().add(id).add(content_hash).add(index).add_bytes(part));
      if (!inserted) return inserted.status();
      if (!*more) break;
    }
    return Status::ok();
  });
}

Status PgOriginalStore::keep(const std::string& collection, const std::string& content_hash,
                             std::string_view bytes) const {
  size_t offset = 0;
  return keep_parts(collection, content_hash, [&](std::string& part) -> Result<bool> {
    const size_t n = std::min(kPartBytes, bytes.size() - offset);
    part.assign(bytes.substr(offset, n));
    offset += n;
    return n > 0;
  });
}

Status PgOriginalStore::keep_file(const std::string& collection, const std::string& content_hash,
                                  const std::string& path) const {
  std::ifstream in(path, std::ios::binary);
  if (!in) return error(ErrorCode::kUnavailable, "cannot read " + path + ": " + std::strerror(errno));
  return keep_parts(collection, content_hash, [&](std::string& part) -> Result<bool> {
    part.resize(kPartBytes);
    in.read(part.data(), static_cast<std::streamsize>(part.size()));
    if (in.bad()) return error(ErrorCode::kUnavailable, "cannot read " + path);
    part.resize(static_cast<size_t>(in.gcount()));
    return !part.empty();
  });
}

Result<std::string> PgOriginalStore::read(const std::string& collection, const std::string& content_hash) const {
  if (!valid_content_hash(content_hash)) {
    return error(ErrorCode::kInvalidArgument, "not a SHA-256 hex digest: " + content_hash);
  }
  auto lease = pool_->acquire();
  if (!lease) return lease.status();
  auto parts = (*lease)->exec(std::string("SELECT bytes FROM kr_originals WHERE collection_id = ") + kCollectionId +
                                  " AND content_hash = $2 ORDER BY part",
                              PgParams().add(collection).add(content_hash));
  if (!parts) return parts.status();
  if (parts->rows() == 0) return original_not_kept();
  std::string out;
  for (int r = 0; r < parts->rows(); ++r) out += parts->bytes(r, 0);
  return out;
}

Status PgOriginalStore::release(const std::string& collection, const std::string& content_hash) const {
  auto lease = pool_->acquire();
  if (!lease) return lease.status();
  auto erased = (*lease)->exec(std::string("DELETE FROM kr_originals WHERE collection_id = ") + kCollectionId +
                                   " AND content_hash = $2",
                               PgParams().add(collection).add(content_hash));
  return erased ? Status::ok() : erased.status();
}

Status PgOriginalStore::sweep(const std::string& collection, const std::set<std::string>& live) const {
  auto kept = hashes(collection);
  if (!kept) return kept.status();
  for (const auto& hash : *kept) {
    if (!live.contains(hash)) KR_RETURN_IF_ERROR(release(collection, hash));
  }
  return Status::ok();
}

int64_t PgOriginalStore::bytes(const std::string& collection) const {
  auto lease = pool_->acquire();
  if (!lease) return 0;
  auto total = (*lease)->exec(std::string("SELECT COALESCE(SUM(octet_length(bytes)), 0) FROM kr_originals "
                                          "WHERE collection_id = ") + kCollectionId,
                              PgParams().add(collection));
  return total ? total->int64(0, 0) : 0;
}

Result<std::vector<std::string>> PgOriginalStore::hashes(const std::string& collection) const {
  auto lease = pool_->acquire();
  if (!lease) return lease.status();
  auto rows = (*lease)->exec(std::string("SELECT DISTINCT content_hash FROM kr_originals WHERE collection_id = ") +
                                 kCollectionId + " ORDER BY content_hash",
                             PgParams().add(collection));
  if (!rows) return rows.status();
  std::vector<std::string> out;
  for (int r = 0; r < rows->rows(); ++r) out.push_back(rows->text(r, 0));
  return out;
}

}  // namespace kr::store
