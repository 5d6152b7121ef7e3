#include "store/pg_shared_text.h"

#include "store/pg_schema.h"

namespace kr::store {

Status PgSharedText::ensure_schema() const {
  {
    std::lock_guard lock(mutex_);
    if (migrated_) return Status::ok();
  }
  KR_RETURN_IF_ERROR(pg_migrate(*pool_));
  std::lock_guard lock(mutex_);
  migrated_ = true;
  return Status::ok();
}

void PgSharedText::remember(int64_t version) const {
  std::lock_guard lock(mutex_);
  stamp_ = std::to_string(version);
  checked_ = std::chrono::steady_clock::now();
}

Result<std::string> PgSharedText::read() const {
  KR_RETURN_IF_ERROR(ensure_schema());
  auto lease = pool_->acquire();
  if (!lease) return lease.status();
  auto row = (*lease)->exec("SELECT content, version FROM kr_shared_texts WHERE name = $1", PgParams().add(name_));
  if (!row) return row.status();
  if (row->rows() == 0) {
    remember(0);
    return std::string();
  }
  remember(row->int64(0, 1));
  return row->text(0, 0);
}

Status PgSharedText::update(const std::function<Status(std::string& content)>& change) {
  KR_RETURN_IF_ERROR(ensure_schema());
  int64_t version = 0;
  Status status = pg_transaction(*pool_, [&](PgConnection& conn) -> Status {
    // The row exists before it is locked, so the first two writers serialize on it too.
    auto made = conn.exec("INSERT INTO kr_shared_texts(name, content, version) VALUES($1, '', 0) ON CONFLICT DO NOTHING",
                          PgParams().add(name_));
    if (!made) return made.status();
    auto row = conn.exec("SELECT content, version FROM kr_shared_texts WHERE name = $1 FOR UPDATE", PgParams().add(name_));
    if (!row) return row.status();
    std::string content = row->text(0, 0);
    KR_RETURN_IF_ERROR(change(content));
    version = row->int64(0, 1) + 1;
    auto written = conn.exec("UPDATE kr_shared_texts SET content = $1, version = $2 WHERE name = $3",
                             PgParams().add(content).add(version).add(name_));
    return written ? Status::ok() : written.status();
  });
  if (status) remember(version);
  return status;
}

std::string PgSharedText::stamp() const {
  {
    std::lock_guard lock(mutex_);
    if (!stamp_.empty() && std::chrono::steady_clock::now() - checked_ < recheck_) return stamp_;
  }
  if (!ensure_schema()) return "unreachable";
  auto lease = pool_->acquire();
  if (!lease) return "unreachable";  // differs from any version: the next read says why
  auto row = (*lease)->exec("SELECT version FROM kr_shared_texts WHERE name = $1", PgParams().add(name_));
  if (!row) return "unreachable";
  const int64_t version = row->rows() == 0 ? 0 : row->int64(0, 0);
  remember(version);
  return std::to_string(version);
}

}  // namespace kr::store
