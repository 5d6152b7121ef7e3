#include "store/conversation_store.h"

#include <mutex>

#include "store/sqlite.h"

namespace kr::store {
namespace {

constexpr const char* kSchema = R"sql(
CREATE TABLE IF NOT EXISTS conversations(
  id TEXT PRIMARY KEY,
  owner TEXT NOT NULL,
  title TEXT NOT NULL,
  collection TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS conversations_owner ON conversations(owner, updated_at);
CREATE TABLE IF NOT EXISTS turns(
  conversation_id TEXT NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
  seq INTEGER NOT NULL,
  role TEXT NOT NULL,
  content TEXT NOT NULL,
  details TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  PRIMARY KEY(conversation_id, seq));
PRAGMA user_version = 1;
)sql";

constexpr const char* kColumns =
    "c.id, c.owner, c.title, c.collection, c.created_at, c.updated_at, "
    "(SELECT COUNT(*) FROM turns t WHERE t.conversation_id = c.id)";

ConversationRecord read_record(const Statement& s) {
  return {s.column_text(0), s.column_text(1), s.column_text(2), s.column_text(3),
          s.column_int(4),  s.column_int(5),  s.column_int(6)};
}

Status not_found(const std::string& id) { return conversation_not_found(id); }

class SqliteConversationStore final : public ConversationStore {
 public:
  explicit SqliteConversationStore(Connection connection) : db_(std::move(connection)) {}
  Status create(const ConversationRecord& record) override;
  Result<std::vector<ConversationRecord>> list(const std::string& owner, int64_t offset, int64_t limit,
                                               int64_t* total) override;
  Result<ConversationRecord> get(const std::string& owner, const std::string& id) override;
  Result<std::vector<TurnRecord>> turns(const std::string& owner, const std::string& id) override;
  Status rename(const std::string& owner, const std::string& id, const std::string& title, int64_t now) override;
  Status remove(const std::string& owner, const std::string& id) override;
  Result<std::vector<TurnRecord>> append(const std::string& owner, const std::string& id,
                                         std::vector<TurnRecord> turns, std::optional<int64_t> replace_from,
                                         int64_t now) override;
  Result<int64_t> purge_older_than(int64_t cutoff) override;

 private:
  Result<ConversationRecord> get_locked(const std::string& owner, const std::string& id);
  std::mutex mutex_;
  Connection db_;
};

}  // namespace

Status conversation_not_found(const std::string& id) {
  return error(ErrorCode::kNotFound, "no conversation '" + id + "' (deleted, expired by the retention setting, "
                                     "or it belongs to another user)");
}

Result<std::unique_ptr<ConversationStore>> ConversationStore::open(const std::string& path) {
  auto connection = Connection::open(path, /*create=*/true, /*read_only=*/false);
  if (!connection) return connection.status();
  KR_RETURN_IF_ERROR(connection->exec("PRAGMA journal_mode=WAL"));
  KR_RETURN_IF_ERROR(connection->exec("PRAGMA synchronous=FULL"));
  KR_RETURN_IF_ERROR(connection->exec("PRAGMA foreign_keys=ON"));
  KR_RETURN_IF_ERROR(connection->exec(kSchema));
  return std::unique_ptr<ConversationStore>(new SqliteConversationStore(std::move(*connection)));
}

Status SqliteConversationStore::create(const ConversationRecord& r) {
  std::lock_guard lock(mutex_);
  Statement insert(db_, "INSERT INTO conversations(id, owner, title, collection, created_at, updated_at) "
                        "VALUES(?, ?, ?, ?, ?, ?)");
  insert.bind(1, r.id).bind(2, r.owner).bind(3, r.title).bind(4, r.collection).bind(5, r.created_at).bind(6, r.updated_at);
  insert.step();
  return insert.status();
}

Result<std::vector<ConversationRecord>> SqliteConversationStore::list(const std::string& owner, int64_t offset,
                                                                int64_t limit, int64_t* total) {
  std::lock_guard lock(mutex_);
  ReadTransaction snapshot(db_);
  KR_RETURN_IF_ERROR(snapshot.begin_status());
  if (total) {
    Statement count(db_, "SELECT COUNT(*) FROM conversations WHERE owner = ?");
    count.bind(1, owner);
    *total = count.step() ? count.column_int(0) : 0;
    KR_RETURN_IF_ERROR(count.status());
  }
  Statement select(db_, std::string("SELECT ") + kColumns +
                            " FROM conversations c WHERE c.owner = ? ORDER BY c.updated_at DESC, c.rowid DESC "
                            "LIMIT ? OFFSET ?");
  select.bind(1, owner).bind(2, limit).bind(3, offset);
  std::vector<ConversationRecord> out;
  while (select.step()) out.push_back(read_record(select));
  KR_RETURN_IF_ERROR(select.status());
  return out;
}

Result<ConversationRecord> SqliteConversationStore::get_locked(const std::string& owner, const std::string& id) {
  Statement select(db_, std::string("SELECT ") + kColumns + " FROM conversations c WHERE c.id = ? AND c.owner = ?");
  select.bind(1, id).bind(2, owner);
  if (select.step()) return read_record(select);
  KR_RETURN_IF_ERROR(select.status());
  return not_found(id);
}

Result<ConversationRecord> SqliteConversationStore::get(const std::string& owner, const std::string& id) {
  std::lock_guard lock(mutex_);
  return get_locked(owner, id);
}

Result<std::vector<TurnRecord>> SqliteConversationStore::turns(const std::string& owner, const std::string& id) {
  std::lock_guard lock(mutex_);
  ReadTransaction snapshot(db_);
  KR_RETURN_IF_ERROR(snapshot.begin_status());
  KR_RETURN_IF_ERROR(get_locked(owner, id).status());
  Statement select(db_, "SELECT seq, role, content, details, created_at FROM turns WHERE conversation_id = ? "
                        "ORDER BY seq");
  select.bind(1, id);
  std::vector<TurnRecord> out;
  while (select.step()) {
    out.push_back({select.column_int(0), select.column_text(1), select.column_text(2), select.column_text(3),
                   select.column_int(4)});
  }
  KR_RETURN_IF_ERROR(select.status());
  return out;
}

Status SqliteConversationStore::rename(const std::string& owner, const std::string& id, const std::string& title,
                                 int64_t now) {
  std::lock_guard lock(mutex_);
  Statement update(db_, "UPDATE conversations SET title = ?, updated_at = ? WHERE id = ? AND owner = ?");
  update.bind(1, title).bind(2, now).bind(3, id).bind(4, owner);
  update.step();
  KR_RETURN_IF_ERROR(update.status());
  return sqlite3_changes(db_.get()) == 1 ? Status::ok() : not_found(id);
}

Status SqliteConversationStore::remove(const std::string& owner, const std::string& id) {
  std::lock_guard lock(mutex_);
  Statement erase(db_, "DELETE FROM conversations WHERE id = ? AND owner = ?");
  erase.bind(1, id).bind(2, owner);
  erase.step();
  KR_RETURN_IF_ERROR(erase.status());
  return sqlite3_changes(db_.get()) == 1 ? Status::ok() : not_found(id);
}

Result<std::vector<TurnRecord>> SqliteConversationStore::append(const std::string& owner, const std::string& id,
                                                          std::vector<TurnRecord> turns,
                                                          std::optional<int64_t> replace_from, int64_t now) {
  std::lock_guard lock(mutex_);
  Transaction tx(db_);
  KR_RETURN_IF_ERROR(tx.begin_status());
  KR_RETURN_IF_ERROR(get_locked(owner, id).status());
  if (replace_from) {
    Statement erase(db_, "DELETE FROM turns WHERE conversation_id = ? AND seq >= ?");
    erase.bind(1, id).bind(2, *replace_from);
    erase.step();
    KR_RETURN_IF_ERROR(erase.status());
  }
  Statement last(db_, "SELECT COALESCE(MAX(seq), 0) FROM turns WHERE conversation_id = ?");
  last.bind(1, id);
  int64_t seq = last.step() ? last.column_int(0) : 0;
  KR_RETURN_IF_ERROR(last.status());
  Statement insert(db_, "INSERT INTO turns(conversation_id, seq, role, content, details, created_at) "
                        "VALUES(?, ?, ?, ?, ?, ?)");
  for (TurnRecord& turn : turns) {
    turn.seq = ++seq;
    turn.created_at = now;
    insert.reset();
    insert.bind(1, id).bind(2, turn.seq).bind(3, turn.role).bind(4, turn.content).bind(5, turn.details).bind(6, now);
    insert.step();
    KR_RETURN_IF_ERROR(insert.status());
  }
  Statement touch(db_, "UPDATE conversations SET updated_at = ? WHERE id = ?");
  touch.bind(1, now).bind(2, id);
  touch.step();
  KR_RETURN_IF_ERROR(touch.status());
  KR_RETURN_IF_ERROR(tx.commit());
  return turns;
}

Result<int64_t> SqliteConversationStore::purge_older_than(int64_t cutoff) {
  std::lock_guard lock(mutex_);
  Statement erase(db_, "DELETE FROM conversations WHERE updated_at < ?");
  erase.bind(1, cutoff);
  erase.step();
  KR_RETURN_IF_ERROR(erase.status());
  return static_cast<int64_t>(sqlite3_changes(db_.get()));
}

}  // namespace kr::store
