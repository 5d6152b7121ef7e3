// Thin RAII helpers over the SQLite C API, used only inside the store module.
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <string>
#include <string_view>

#include "core/status.h"

namespace kr::store {

// Owns one sqlite3 connection.
class Connection {
 public:
  static Result<Connection> open(const std::string& path, bool create, bool read_only);
  Connection() = default;
  Connection(Connection&& other) noexcept : db_(other.db_) { other.db_ = nullptr; }
  Connection& operator=(Connection&& other) noexcept;
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;
  ~Connection();

  sqlite3* get() const { return db_; }
  Status exec(const char* sql) const;
  std::string last_error() const;

 private:
  explicit Connection(sqlite3* db) : db_(db) {}
  sqlite3* db_ = nullptr;
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
