#include "store/pg_connection.h"

#include <regex>
#include <thread>

namespace kr::store {
namespace {

// SQLSTATE classes meaning the server is unreachable, restarting or failing over.
bool is_unavailable_state(std::string_view state) {
  return state.starts_with("08") ||  // connection exception
         state.starts_with("57P") ||  // admin/crash shutdown, cannot connect now
         state == "53300" ||          // too many connections
         state == "40001" || state == "40P01" ||  // serialization failure, deadlock: retryable
         state == "57014";            // statement timeout
}

}  // namespace

std::string redact_pg_url(const std::string& url) {
  // postgresql://user:secret@host/db  and  password=secret
  static const std::regex in_url(R"(^(postgres(?:ql)?://[^:/@]*):[^@]*@)");
  static const std::regex in_keywords(R"((password\s*=\s*)('(?:[^'\\]|\\.)*'|\S+))");
  std::string out = std::regex_replace(url, in_url, "$1:***@");
  return std::regex_replace(out, in_keywords, "$1***");
}

std::string PgResult::text(int row, int column) const { return std::string(view(row, column)); }

std::string_view PgResult::view(int row, int column) const {
  return {PQgetvalue(result_.get(), row, column),
          static_cast<size_t>(PQgetlength(result_.get(), row, column))};
}

int64_t PgResult::int64(int row, int column) const {
  return is_null(row, column) ? 0 : std::stoll(PQgetvalue(result_.get(), row, column));
}

double PgResult::real(int row, int column) const {
  return is_null(row, column) ? 0 : std::stod(PQgetvalue(result_.get(), row, column));
}

std::string PgResult::bytes(int row, int column) const {
  size_t length = 0;
  unsigned char* raw = PQunescapeBytea(reinterpret_cast<const unsigned char*>(PQgetvalue(result_.get(), row, column)),
                                       &length);
  if (raw == nullptr) return {};
  std::string out(reinterpret_cast<const char*>(raw), length);
  PQfreemem(raw);
  return out;
}

PgParams& PgParams::add(std::string_view text) {
  values_.emplace_back(std::string(text));
  lengths_.push_back(static_cast<int>(text.size()));
  formats_.push_back(0);
  return *this;
}

PgParams& PgParams::add_bytes(std::string_view bytes) {
  values_.emplace_back(std::string(bytes));
  lengths_.push_back(static_cast<int>(bytes.size()));
  formats_.push_back(1);
  return *this;
}

PgParams& PgParams::add_null() {
  values_.emplace_back(std::nullopt);
  lengths_.push_back(0);
  formats_.push_back(0);
  return *this;
}

const char* const* PgParams::values() const {
  pointers_.clear();
  for (const auto& v : values_) pointers_.push_back(v ? v->data() : nullptr);
  return pointers_.data();
}

Result<std::unique_ptr<PgConnection>> PgConnection::connect(const std::string& url, std::chrono::seconds timeout) {
  const std::string timeout_text = std::to_string(std::max<long>(1, timeout.count()));
  const char* keys[] = {"dbname", "connect_timeout", "keepalives_idle", "keepalives_interval", "keepalives_count",
                        "application_name", nullptr};
  const char* values[] = {url.c_str(), timeout_text.c_str(), "10", "5", "3", "kaito-rag", nullptr};
  PGconn* conn = PQconnectdbParams(keys, values, /*expand_dbname=*/1);
  if (conn == nullptr) return error(ErrorCode::kUnavailable, "cannot allocate a PostgreSQL connection");
  if (PQstatus(conn) != CONNECTION_OK) {
    std::string message = PQerrorMessage(conn);
    PQfinish(conn);
    while (!message.empty() && (message.back() == '\n' || message.back() == ' ')) message.pop_back();
    return error(ErrorCode::kUnavailable, "cannot connect to PostgreSQL at " + redact_pg_url(url) + ": " +
                                              redact_pg_url(message) + "; retry when the database is up");
  }
  return std::unique_ptr<PgConnection>(new PgConnection(conn));
}

PgConnection::~PgConnection() { PQfinish(conn_); }

Result<PgResult> PgConnection::check(PGresult* raw, std::string_view sql) {
  PgResult result(raw);
  const ExecStatusType status = raw ? PQresultStatus(raw) : PGRES_FATAL_ERROR;
  if (status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK) return result;
  const char* state_raw = raw ? PQresultErrorField(raw, PG_DIAG_SQLSTATE) : nullptr;
  const std::string state = state_raw ? state_raw : "";
  std::string message = raw ? PQresultErrorMessage(raw) : PQerrorMessage(conn_);
  while (!message.empty() && (message.back() == '\n' || message.back() == ' ')) message.pop_back();
  const bool lost = PQstatus(conn_) != CONNECTION_OK || state.empty();
  if (lost) broken_ = true;
  if (lost || is_unavailable_state(state)) {
    return error(ErrorCode::kUnavailable, "the PostgreSQL database is unavailable (" + message +
                                              "); retry shortly");
  }
  if (state == "23505") return error(ErrorCode::kAlreadyExists, message);
  std::string head(sql.substr(0, 60));
  return error(ErrorCode::kInternal, "PostgreSQL error " + state + " in '" + head + "': " + message);
}

Result<PgResult> PgConnection::exec(const std::string& sql) { return check(PQexec(conn_, sql.c_str()), sql); }

Result<PgResult> PgConnection::exec(const std::string& sql, const PgParams& params) {
  return check(PQexecParams(conn_, sql.c_str(), params.size(), nullptr, params.values(), params.lengths(),
                            params.formats(), /*resultFormat=*/0),
               sql);
}

PgPool::Lease::~Lease() {
  if (pool_ && conn_) pool_->release(std::move(conn_));
}

Result<std::unique_ptr<PgConnection>> PgPool::connect_dedicated() const {
  auto conn = PgConnection::connect(options_.url, options_.connect_timeout);
  if (!conn) return conn;
  const std::string timeout = "SET statement_timeout = " + std::to_string(options_.statement_timeout.count());
  if (auto set = (*conn)->exec(timeout); !set) return set.status();
  return conn;
}

Result<PgPool::Lease> PgPool::acquire() {
  const auto deadline = std::chrono::steady_clock::now() + options_.connect_timeout;
  while (true) {
    {
      std::lock_guard lock(mutex_);
      while (!idle_.empty()) {
        auto conn = std::move(idle_.back());
        idle_.pop_back();
        if (conn->healthy()) return Lease(this, std::move(conn));
        --open_;  // dropped: the server went away since it was used
      }
      if (open_ < options_.max_connections) {
        ++open_;
        break;
      }
    }
    if (std::chrono::steady_clock::now() > deadline) {
      return error(ErrorCode::kUnavailable, "all " + std::to_string(options_.max_connections) +
                                                " PostgreSQL connections are busy; retry shortly");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  auto conn = connect_dedicated();
  if (!conn) {
    std::lock_guard lock(mutex_);
    --open_;
    return conn.status();
  }
  return Lease(this, std::move(conn.value()));
}

void PgPool::release(std::unique_ptr<PgConnection> conn) {
  std::lock_guard lock(mutex_);
  // A connection left inside a transaction (a bug path) or broken is closed, not reused.
  if (!conn->healthy() || PQtransactionStatus(conn->get()) != PQTRANS_IDLE) {
    --open_;
    return;
  }
  idle_.push_back(std::move(conn));
}

}  // namespace kr::store
