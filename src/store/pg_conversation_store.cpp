#include "store/pg_conversation_store.h"

namespace kr::store {
namespace {

constexpr const char* kColumns =
    "c.id, c.owner, c.title, c.collection, c.created_at, c.updated_at, "
    "(SELECT COUNT(*) FROM kr_turns t WHERE t.conversation_id = c.id)";

ConversationRecord read_record(const PgResult& rows, int r) {
  return {rows.text(r, 0), rows.text(r, 1), rows.text(r, 2), rows.text(r, 3),
          rows.int64(r, 4), rows.int64(r, 5), rows.int64(r, 6)};
}

// Runs one statement on a pooled connection.
Result<PgResult> run(PgPool& pool, const std::string& sql, const PgParams& params) {
  auto lease = pool.acquire();
  if (!lease) return lease.status();
  return (*lease)->exec(sql, params);
}

// `FOR UPDATE` inside a transaction: appends to one conversation are serialized across replicas.
Result<ConversationRecord> get_on(PgConnection& conn, const std::string& owner, const std::string& id,
                                  bool for_update) {
  auto rows = conn.exec(std::string("SELECT ") + kColumns + " FROM kr_conversations c WHERE c.id = $1 AND c.owner = $2" +
                            (for_update ? " FOR UPDATE" : ""),
                        PgParams().add(id).add(owner));
  if (!rows) return rows.status();
  if (rows->rows() == 0) return conversation_not_found(id);
  return read_record(*rows, 0);
}

}  // namespace

Status PgConversationStore::create(const ConversationRecord& r) {
  auto inserted = run(*pool_,
                      "INSERT INTO kr_conversations(id, owner, title, collection, created_at, updated_at) "
                      "VALUES($1, $2, $3, $4, $5, $6)",
                      PgParams().add(r.id).add(r.owner).add(r.title).add(r.collection).add(r.created_at).add(r.updated_at));
  return inserted ? Status::ok() : inserted.status();
}

Result<std::vector<ConversationRecord>> PgConversationStore::list(const std::string& owner, int64_t offset,
                                                                  int64_t limit, int64_t* total) {
  auto rows = run(*pool_,
                  std::string("SELECT ") + kColumns + ", COUNT(*) OVER () FROM kr_conversations c WHERE c.owner = $1 "
                      "ORDER BY c.updated_at DESC, c.serial DESC LIMIT $2 OFFSET $3",
                  PgParams().add(owner).add(limit).add(offset));
  if (!rows) return rows.status();
  std::vector<ConversationRecord> out;
  for (int r = 0; r < rows->rows(); ++r) out.push_back(read_record(*rows, r));
  if (total) {
    if (rows->rows() > 0) {
      *total = rows->int64(0, 7);
    } else {  // a page past the end still reports the count
      auto count = run(*pool_, "SELECT COUNT(*) FROM kr_conversations WHERE owner = $1", PgParams().add(owner));
      if (!count) return count.status();
      *total = count->int64(0, 0);
    }
  }
  return out;
}

Result<ConversationRecord> PgConversationStore::get(const std::string& owner, const std::string& id) {
  auto lease = pool_->acquire();
  if (!lease) return lease.status();
  return get_on(**lease, owner, id, false);
}

Result<std::vector<TurnRecord>> PgConversationStore::turns(const std::string& owner, const std::string& id) {
  // The owner check and the turns in one statement: one snapshot.
  auto rows = run(*pool_,
                  "SELECT t.seq, t.role, t.content, t.details, t.created_at FROM kr_conversations c "
                  "LEFT JOIN kr_turns t ON t.conversation_id = c.id WHERE c.id = $1 AND c.owner = $2 ORDER BY t.seq",
                  PgParams().add(id).add(owner));
  if (!rows) return rows.status();
  if (rows->rows() == 0) return conversation_not_found(id);
  std::vector<TurnRecord> out;
  for (int r = 0; r < rows->rows(); ++r) {
    if (rows->is_null(r, 0)) continue;  // a conversation without turns yet
    out.push_back({rows->int64(r, 0), rows->text(r, 1), rows->text(r, 2), rows->text(r, 3), rows->int64(r, 4)});
  }
  return out;
}

Status PgConversationStore::rename(const std::string& owner, const std::string& id, const std::string& title,
                                   int64_t now) {
  auto updated = run(*pool_, "UPDATE kr_conversations SET title = $1, updated_at = $2 WHERE id = $3 AND owner = $4",
                     PgParams().add(title).add(now).add(id).add(owner));
  if (!updated) return updated.status();
  return updated->affected_rows() == 1 ? Status::ok() : conversation_not_found(id);
}

Status PgConversationStore::remove(const std::string& owner, const std::string& id) {
  auto erased = run(*pool_, "DELETE FROM kr_conversations WHERE id = $1 AND owner = $2", PgParams().add(id).add(owner));
  if (!erased) return erased.status();
  return erased->affected_rows() == 1 ? Status::ok() : conversation_not_found(id);
}

Result<std::vector<TurnRecord>> PgConversationStore::append(const std::string& owner, const std::string& id,
                                                            std::vector<TurnRecord> turns,
                                                            std::optional<int64_t> replace_from, int64_t now) {
  return pg_transaction(*pool_, [&](PgConnection& conn) -> Result<std::vector<TurnRecord>> {
    KR_RETURN_IF_ERROR(get_on(conn, owner, id, true).status());
    if (replace_from) {
      auto erased = conn.exec("DELETE FROM kr_turns WHERE conversation_id = $1 AND seq >= $2",
                              PgParams().add(id).add(*replace_from));
      if (!erased) return erased.status();
    }
    auto last = conn.exec("SELECT COALESCE(MAX(seq), 0) FROM kr_turns WHERE conversation_id = $1", PgParams().add(id));
    if (!last) return last.status();
    int64_t seq = last->int64(0, 0);
    for (TurnRecord& turn : turns) {
      turn.seq = ++seq;
      turn.created_at = now;
      auto inserted = conn.exec(
          "INSERT INTO kr_turns(conversation_id, seq, role, content, details, created_at) VALUES($1, $2, $3, $4, $5, $6)",
          PgParams().add(id).add(turn.seq).add(turn.role).add(turn.content).add(turn.details).add(now));
      if (!inserted) return inserted.status();
    }
    auto touched = conn.exec("UPDATE kr_conversations SET updated_at = $1 WHERE id = $2", PgParams().add(now).add(id));
    if (!touched) return touched.status();
    return turns;
  });
}

Result<int64_t> PgConversationStore::purge_older_than(int64_t cutoff) {
  auto erased = run(*pool_, "DELETE FROM kr_conversations WHERE updated_at < $1", PgParams().add(cutoff));
  if (!erased) return erased.status();
  return erased->affected_rows();
}

}  // namespace kr::store
