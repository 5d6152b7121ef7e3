// Thin RAII helpers over libpq and a small connection pool, used only inside the store module.
//
// Every failure that means "the database is not there right now" (refused, reset, shut down,
// failover, timeout) becomes kUnavailable, which the API answers with 503 + Retry-After; a
// broken connection is dropped from the pool, so the next request connects again.
#pragma once

#include <libpq-fe.h>

#include <chrono>
#include <cstdlib>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace kr::store {

// The connection URL with any password replaced by "***" (for logs and error messages).
std::string redact_pg_url(const std::string& url);

// One query result.
class PgResult {
 public:
  explicit PgResult(PGresult* result) : result_(result, &PQclear) {}
  int rows() const { return PQntuples(result_.get()); }
  // Rows changed by an INSERT/UPDATE/DELETE.
  int64_t affected_rows() const { return std::atoll(PQcmdTuples(result_.get())); }
  bool is_null(int row, int column) const { return PQgetisnull(result_.get(), row, column) != 0; }
  std::string text(int row, int column) const;
  std::string_view view(int row, int column) const;
  int64_t int64(int row, int column) const;
  double real(int row, int column) const;
  // A bytea column read in text format (\x hex).
  std::string bytes(int row, int column) const;

 private:
  std::unique_ptr<PGresult, decltype(&PQclear)> result_;
};

// Parameters of one statement, all sent as text except bytea ones (binary).
class PgParams {
 public:
  PgParams& add(std::string_view text);
  PgParams& add(int64_t value) { return add(std::string_view(std::to_string(value))); }
  PgParams& add_bytes(std::string_view bytes);
  PgParams& add_null();
  int size() const { return static_cast<int>(values_.size()); }
  const char* const* values() const;
  const int* lengths() const { return lengths_.data(); }
  const int* formats() const { return formats_.data(); }

 private:
  std::vector<std::optional<std::string>> values_;
  std::vector<int> lengths_;
  std::vector<int> formats_;
  mutable std::vector<const char*> pointers_;
};

class PgConnection {
 public:
  static Result<std::unique_ptr<PgConnection>> connect(const std::string& url, std::chrono::seconds timeout);
  ~PgConnection();
  PgConnection(const PgConnection&) = delete;
  PgConnection& operator=(const PgConnection&) = delete;

  Result<PgResult> exec(const std::string& sql);
  Result<PgResult> exec(const std::string& sql, const PgParams& params);
  bool healthy() const { return PQstatus(conn_) == CONNECTION_OK && !broken_; }
  PGconn* get() const { return conn_; }
  // Marks the connection unusable (e.g. a transaction could not be rolled back).
  void mark_broken() { broken_ = true; }

 private:
  explicit PgConnection(PGconn* conn) : conn_(conn) {}
  Result<PgResult> check(PGresult* result, std::string_view sql);
  PGconn* conn_;
  bool broken_ = false;
};

struct PgOptions {
  std::string url;                           // libpq URL or key=value string (may carry a password)
  int max_connections = 8;
  std::chrono::seconds connect_timeout{3};
  std::chrono::milliseconds statement_timeout{30000};
};

// A bounded pool: acquire() waits for a free connection at most connect_timeout.
class PgPool {
 public:
  explicit PgPool(PgOptions options) : options_(std::move(options)) {}

  class Lease {
   public:
    Lease(PgPool* pool, std::unique_ptr<PgConnection> conn) : pool_(pool), conn_(std::move(conn)) {}
    Lease(Lease&&) = default;
    Lease& operator=(Lease&&) = default;
    ~Lease();
    PgConnection& operator*() const { return *conn_; }
    PgConnection* operator->() const { return conn_.get(); }

   private:
    PgPool* pool_;
    std::unique_ptr<PgConnection> conn_;
  };

  Result<Lease> acquire();
  const PgOptions& options() const { return options_; }
  std::string redacted_url() const { return redact_pg_url(options_.url); }
  // A fresh connection outside the pool (LISTEN needs its own).
  Result<std::unique_ptr<PgConnection>> connect_dedicated() const;

 private:
  void release(std::unique_ptr<PgConnection> conn);

  PgOptions options_;
  std::mutex mutex_;
  std::vector<std::unique_ptr<PgConnection>> idle_;
  int open_ = 0;  // connections handed out or idle; guarded by mutex_
};

// Runs `body` inside BEGIN … COMMIT on one pooled connection; rolls back when it fails.
template <typename Body>
auto pg_transaction(PgPool& pool, Body&& body) -> decltype(body(std::declval<PgConnection&>())) {
  auto lease = pool.acquire();
  if (!lease) return lease.status();
  PgConnection& conn = **lease;
  if (auto begun = conn.exec("BEGIN"); !begun) return begun.status();
  auto result = body(conn);
  if (!result.is_ok()) {
    if (!conn.exec("ROLLBACK")) conn.mark_broken();
    return result;
  }
  if (auto committed = conn.exec("COMMIT"); !committed) return committed.status();
  return result;
}

}  // namespace kr::store
