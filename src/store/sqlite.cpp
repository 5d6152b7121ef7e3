#include "store/sqlite.h"

#include "core/log.h"

namespace kr::store {
namespace {

Status sqlite_error(sqlite3* db, int rc, std::string_view what) {
  const char* message = db ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
  const int primary = rc & 0xFF;
  ErrorCode code = ErrorCode::kInternal;
  if (primary == SQLITE_CORRUPT || primary == SQLITE_NOTADB) code = ErrorCode::kDataCorruption;
  else if (primary == SQLITE_FULL) code = ErrorCode::kInsufficientStorage;
  else if (primary == SQLITE_BUSY || primary == SQLITE_LOCKED) code = ErrorCode::kUnavailable;
  else if (primary == SQLITE_CANTOPEN || primary == SQLITE_PERM || primary == SQLITE_READONLY) code = ErrorCode::kUnavailable;
  if (code == ErrorCode::kInsufficientStorage) {
    log::error("disk full on the data directory", {{"operation", std::string(what)}, {"sqlite", message}});
    return {code, "disk full on the data directory: " + std::string(what) + ": " + message};
  }
  return {code, std::string(what) + ": " + message};
}

}  // namespace

Result<Connection> Connection::open(const std::string& path, bool create, bool read_only) {
  sqlite3* db = nullptr;
  int flags = SQLITE_OPEN_NOMUTEX | (read_only ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE);
  if (create && !read_only) flags |= SQLITE_OPEN_CREATE;
  const int rc = sqlite3_open_v2(path.c_str(), &db, flags, nullptr);
  if (rc != SQLITE_OK) {
    Status status = sqlite_error(db, rc, "cannot open database " + path);
    sqlite3_close(db);
    return status;
  }
  // Wait for a concurrent writer (another connection or process) instead of failing at once.
  sqlite3_busy_timeout(db, 10000);
  return Connection(db);
}

Connection::Connection() = default;
Connection::Connection(sqlite3* db) : db_(db) {}
Connection::Connection(Connection&& other) noexcept : db_(other.db_), cache_(std::move(other.cache_)) {
  other.db_ = nullptr;
  other.cache_.clear();
}

Connection& Connection::operator=(Connection&& other) noexcept {
  if (this != &other) {
    close();
    db_ = other.db_;
    cache_ = std::move(other.cache_);  // its statements belong to db_, which moves with them
    other.db_ = nullptr;
    other.cache_.clear();
  }
  return *this;
}

Connection::~Connection() { close(); }

void Connection::close() {
  cache_.clear();  // sqlite3_close refuses a connection with unfinalized statements
  if (db_) sqlite3_close(db_);
  db_ = nullptr;
}

Result<Statement*> Connection::cached(std::string_view sql) const {
  const std::string key(sql);
  if (auto it = cache_.find(key); it != cache_.end()) {
    it->second->rearm();
    return it->second.get();
  }
  auto statement = std::make_unique<Statement>(*this, sql);
  if (!statement->prepared()) return statement->status();
  return cache_.emplace(key, std::move(statement)).first->second.get();
}

CachedStatement::CachedStatement(const Connection& connection, std::string_view sql) {
  auto statement = connection.cached(sql);
  if (statement) statement_ = *statement;
  else status_ = statement.status();
}

CachedStatement::~CachedStatement() {
  if (statement_) statement_->reset();
}

Status Connection::exec(const char* sql) const {
  char* message = nullptr;
  const int rc = sqlite3_exec(db_, sql, nullptr, nullptr, &message);
  if (rc == SQLITE_OK) return Status::ok();
  std::string text = message ? message : sqlite3_errstr(rc);
  sqlite3_free(message);
  Status status = sqlite_error(db_, rc, std::string("SQL failed"));
  const bool full = status.code() == ErrorCode::kInsufficientStorage;
  return {status.code(), (full ? "disk full on the data directory: SQL failed: " : "SQL failed: ") + text};
}

std::string Connection::last_error() const { return db_ ? sqlite3_errmsg(db_) : "no connection"; }

Statement::Statement(const Connection& connection, std::string_view sql) : db_(connection.get()) {
  const int rc = sqlite3_prepare_v2(db_, sql.data(), static_cast<int>(sql.size()), &stmt_, nullptr);
  if (rc != SQLITE_OK) {
    status_ = sqlite_error(db_, rc, "cannot prepare statement");
    stmt_ = nullptr;
  }
}

Statement::~Statement() { sqlite3_finalize(stmt_); }

Statement& Statement::bind(int index, int64_t value) {
  if (stmt_) sqlite3_bind_int64(stmt_, index, value);
  return *this;
}
Statement& Statement::bind(int index, std::string_view text) {
  if (stmt_) sqlite3_bind_text(stmt_, index, text.data(), static_cast<int>(text.size()), SQLITE_TRANSIENT);
  return *this;
}
Statement& Statement::bind_blob(int index, std::string_view bytes) {
  if (stmt_) sqlite3_bind_blob(stmt_, index, bytes.data(), static_cast<int>(bytes.size()), SQLITE_TRANSIENT);
  return *this;
}
Statement& Statement::bind_null(int index) {
  if (stmt_) sqlite3_bind_null(stmt_, index);
  return *this;
}

bool Statement::step() {
  if (!stmt_) return false;
  const int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) return true;
  if (rc != SQLITE_DONE) status_ = sqlite_error(db_, rc, "SQL step failed");
  return false;
}

void Statement::reset() {
  if (!stmt_) return;
  sqlite3_reset(stmt_);
  sqlite3_clear_bindings(stmt_);
}

void Statement::rearm() {
  reset();
  status_ = Status::ok();
}

int64_t Statement::column_int(int index) const { return sqlite3_column_int64(stmt_, index); }
std::string Statement::column_text(int index) const {
  const auto* text = reinterpret_cast<const char*>(sqlite3_column_text(stmt_, index));
  return text ? std::string(text, static_cast<size_t>(sqlite3_column_bytes(stmt_, index))) : std::string();
}
std::string_view Statement::column_blob(int index) const {
  const void* data = sqlite3_column_blob(stmt_, index);
  return data ? std::string_view(static_cast<const char*>(data), static_cast<size_t>(sqlite3_column_bytes(stmt_, index)))
              : std::string_view();
}
bool Statement::column_is_null(int index) const { return sqlite3_column_type(stmt_, index) == SQLITE_NULL; }

Transaction::Transaction(Connection& connection) : connection_(connection) {
  begin_status_ = connection_.exec("BEGIN IMMEDIATE");
  done_ = !begin_status_.is_ok();
}

Transaction::~Transaction() {
  if (!done_) (void)connection_.exec("ROLLBACK");
}

Status Transaction::commit() {
  Status status = connection_.exec("COMMIT");
  if (status.is_ok()) done_ = true;
  return status;
}

}  // namespace kr::store
