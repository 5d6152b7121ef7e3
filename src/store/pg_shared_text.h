// SharedText in the shared database (kr_shared_texts): the API key store and the owners of
// private collections with --store postgres, the same on every replica.
//
// update() locks the row (SELECT … FOR UPDATE) for the read-change-write, so two replicas
// creating keys at once both keep theirs. stamp() asks the database for the row's version at
// most once per `recheck` (default 1 s): a key revoked through replica A stops working on
// replica B within that interval (A itself sees it at once).
#pragma once

#include <chrono>
#include <memory>
#include <mutex>

#include "core/shared_text.h"
#include "store/pg_connection.h"

namespace kr::store {

class PgSharedText final : public SharedText {
 public:
  // The schema is migrated on first use (the server's auth checks run before its engine opens).
  PgSharedText(std::shared_ptr<PgPool> pool, std::string name,
               std::chrono::milliseconds recheck = std::chrono::milliseconds(1000))
      : pool_(std::move(pool)), name_(std::move(name)), recheck_(recheck) {}

  Result<std::string> read() const override;
  Status update(const std::function<Status(std::string& content)>& change) override;
  std::string stamp() const override;
  std::string describe() const override { return "the PostgreSQL store's shared text '" + name_ + "'"; }

 private:
  Status ensure_schema() const;
  void remember(int64_t version) const;

  std::shared_ptr<PgPool> pool_;
  const std::string name_;
  const std::chrono::milliseconds recheck_;
  mutable std::mutex mutex_;
  mutable bool migrated_ = false;
  mutable std::string stamp_;
  mutable std::chrono::steady_clock::time_point checked_{};
};

}  // namespace kr::store
