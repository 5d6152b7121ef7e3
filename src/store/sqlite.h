// Thin RAII helpers over the SQLite C API, used only inside the store module.
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>

#include "core/status.h"

namespace kr::store {

class Statement;

// Owns one sqlite3 connection (used by one thread at a time).
class Connection {
 public:
  static Result<Connection> open(const std::string& path, bool create, bool read_only);
  Connection();
  Connection(Connection&& other) noexcept;
  Connection& operator=(Connection&& other) noexcept;
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;
  ~Connection();

  sqlite3* get() const { return db_; }
  Status exec(const char* sql) const;
  std::string last_error() const;

  // The statement for `sql`, prepared on this connection's first use and kept until it closes,
  // so hot reads (a search's chunk rows) do not parse SQL each time. Returned reset, with no
  // bindings; use it through a CachedStatement so it is reset again (its read snapshot
  // released) when the caller is done. A failed prepare is not kept.
  Result<Statement*> cached(std::string_view sql) const;
  size_t cached_statements() const { return cache_.size(); }

 private:
  explicit Connection(sqlite3* db);
  void close();
  sqlite3* db_ = nullptr;
  // Finalized before the connection closes.
  mutable std::unordered_map<std::string, std::unique_ptr<Statement>> cache_;
};

// One prepared statement; bind with 1-based indices, step, read columns.
class Statement {
 public:
  Statement(const Connection& connection, std::string_view sql);
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;
  ~Statement();

  bool prepared() const { return stmt_ != nullptr; }
  Statement& bind(int index, int64_t value);
  Statement& bind(int index, std::string_view text);
  Statement& bind_blob(int index, std::string_view bytes);
  Statement& bind_null(int index);

  // SQLITE_ROW -> true, SQLITE_DONE -> false; errors are kept in status().
  bool step();
  void reset();
  // reset() that also forgets an earlier step error: a cached statement's next use starts clean.
  void rearm();
  Status status() const { return status_; }

  int64_t column_int(int index) const;
  std::string column_text(int index) const;
  std::string_view column_blob(int index) const;
  bool column_is_null(int index) const;

 private:
  sqlite3* db_ = nullptr;
  sqlite3_stmt* stmt_ = nullptr;
  Status status_;
};

// A cached statement for one use: reset on construction and again on destruction, so a
// statement kept by the connection never holds a read snapshot between uses.
class CachedStatement {
 public:
  explicit CachedStatement(const Connection& connection, std::string_view sql);
  CachedStatement(const CachedStatement&) = delete;
  CachedStatement& operator=(const CachedStatement&) = delete;
  ~CachedStatement();
  Status status() const { return statement_ ? statement_->status() : status_; }
  Statement& operator*() { return *statement_; }
  Statement* operator->() { return statement_; }

 private:
  Statement* statement_ = nullptr;  // null when the prepare failed (status_ says why)
  Status status_;
};

// BEGIN IMMEDIATE on construction; ROLLBACK on destruction unless commit() succeeded.
class Transaction {
 public:
  explicit Transaction(Connection& connection);
  ~Transaction();
  Status begin_status() const { return begin_status_; }
  Status commit();

 private:
  Connection& connection_;
  Status begin_status_;
  bool done_ = false;
};

// A read snapshot: every statement between construction and destruction sees
// the same committed state (BEGIN DEFERRED ... COMMIT on a read connection).
class ReadTransaction {
 public:
  explicit ReadTransaction(const Connection& connection) : connection_(connection) {
    begin_status_ = connection_.exec("BEGIN");
  }
  ~ReadTransaction() {
    if (begin_status_.is_ok()) (void)connection_.exec("COMMIT");
  }
  ReadTransaction(const ReadTransaction&) = delete;
  ReadTransaction& operator=(const ReadTransaction&) = delete;
  Status begin_status() const { return begin_status_; }

 private:
  const Connection& connection_;
  Status begin_status_;
};

}  // namespace kr::store
