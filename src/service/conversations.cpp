#include "service/conversations.h"

#include <chrono>

#include "core/hex.h"
#include "core/log.h"
#include "core/text.h"
#include "service/engine.h"
#include "store/pg_conversation_store.h"

namespace kr::service {
namespace {

int64_t now_seconds() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

std::string new_id() { return random_hex_id(); }

Result<std::string> clean_title(std::string title) {
  title = std::string(trim(title));
  if (title.empty()) return std::string("New conversation");
  if (title.size() > Conversations::kMaxTitleBytes) {
    return error(ErrorCode::kInvalidArgument, "title is longer than " + std::to_string(Conversations::kMaxTitleBytes) +
                                                  " bytes");
  }
  return title;
}

}  // namespace

Conversations::Conversations(const Config& config, const Engine* engine)
    : path_(config.data_dir + "/conversations.sqlite"),
      shared_(config.store == "postgres" && engine != nullptr),
      engine_(engine),
      retention_days_(config.conversation_retention_days) {}

Result<store::ConversationStore*> Conversations::store() {
  std::lock_guard lock(open_mutex_);
  if (!store_ && shared_) {
    // The routes exist before the engine has opened the database (/readyz says 503 until then).
    if (!engine_->postgres()) return error(ErrorCode::kUnavailable, "the PostgreSQL store is not open yet; retry");
    store_ = std::make_unique<store::PgConversationStore>(engine_->postgres());
  }
  if (!store_) {
    auto opened = store::ConversationStore::open(path_);
    if (!opened) return opened.status();
    store_ = std::move(*opened);
  }
  apply_retention(*store_);
  return store_.get();
}

// At most once an hour, on use: no timer thread for a setting measured in days.
void Conversations::apply_retention(store::ConversationStore& store) {
  if (retention_days_ <= 0) return;
  const int64_t now = now_seconds();
  if (now - last_purge_.load() < 3600) return;
  last_purge_ = now;
  auto purged = store.purge_older_than(now - int64_t{retention_days_} * 86400);
  if (!purged) log::warn("conversation retention failed", {{"error", purged.status().message()}});
  else if (*purged > 0) log::info("conversations expired", {{"deleted", std::to_string(*purged)}});
}

Result<ConversationRecord> Conversations::create(const std::string& owner, std::string title,
                                                 const std::string& collection) {
  auto clean = clean_title(std::move(title));
  if (!clean) return clean.status();
  if (!valid_collection_name(collection)) {
    return error(ErrorCode::kInvalidArgument, "collection '" + collection + "' is not a valid collection name");
  }
  auto db = store();
  if (!db) return db.status();
  const int64_t now = now_seconds();
  ConversationRecord record{new_id(), owner, *clean, collection, now, now, 0};
  KR_RETURN_IF_ERROR((*db)->create(record));
  return record;
}

Result<std::vector<ConversationRecord>> Conversations::list(const std::string& owner, int64_t offset, int64_t limit,
                                                            int64_t* total) {
  auto db = store();
  if (!db) return db.status();
  return (*db)->list(owner, offset, limit, total);
}

Result<ConversationWithTurns> Conversations::get(const std::string& owner, const std::string& id) {
  auto db = store();
  if (!db) return db.status();
  auto record = (*db)->get(owner, id);
  if (!record) return record.status();
  auto turns = (*db)->turns(owner, id);
  if (!turns) return turns.status();
  return ConversationWithTurns{std::move(*record), std::move(*turns)};
}

Result<ConversationRecord> Conversations::rename(const std::string& owner, const std::string& id, std::string title) {
  auto clean = clean_title(std::move(title));
  if (!clean) return clean.status();
  auto db = store();
  if (!db) return db.status();
  KR_RETURN_IF_ERROR((*db)->rename(owner, id, *clean, now_seconds()));
  return (*db)->get(owner, id);
}

Status Conversations::remove(const std::string& owner, const std::string& id) {
  auto db = store();
  if (!db) return db.status();
  return (*db)->remove(owner, id);
}

Result<std::vector<TurnRecord>> Conversations::append(const std::string& owner, const std::string& id,
                                                      std::vector<TurnRecord> turns,
                                                      std::optional<int64_t> replace_from) {
  if (turns.empty() || turns.size() > kMaxTurnsPerAppend) {
    return error(ErrorCode::kInvalidArgument, "send 1 to " + std::to_string(kMaxTurnsPerAppend) + " turns");
  }
  for (const TurnRecord& turn : turns) {
    if (turn.role != "user" && turn.role != "assistant") {
      return error(ErrorCode::kInvalidArgument, "a turn's role must be 'user' or 'assistant', got '" + turn.role + "'");
    }
    if (turn.content.size() > kMaxContentBytes) {
      return error(ErrorCode::kTooLarge, "a turn's content is limited to " + std::to_string(kMaxContentBytes) + " bytes");
    }
    if (turn.details.size() > kMaxDetailsBytes) {
      return error(ErrorCode::kTooLarge, "a turn's details are limited to " + std::to_string(kMaxDetailsBytes) + " bytes");
    }
  }
  if (replace_from && *replace_from < 1) return error(ErrorCode::kInvalidArgument, "replace_from must be at least 1");
  auto db = store();
  if (!db) return db.status();
  return (*db)->append(owner, id, std::move(turns), replace_from, now_seconds());
}

}  // namespace kr::service
