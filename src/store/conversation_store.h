// Conversations of the web UI, per user: embedded in <data_dir>/conversations.sqlite (WAL,
// synchronous=FULL: a turn acknowledged to the client survives a crash, like documents).
// The store knows nothing of JSON: a turn's `details` (sources, mode) is opaque text.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "core/status.h"

namespace kr::store {

struct ConversationRecord {
  std::string id;
  std::string owner;       // the authenticated principal
  std::string title;
  std::string collection;
  int64_t created_at = 0;  // unix seconds
  int64_t updated_at = 0;
  int64_t turn_count = 0;
};

struct TurnRecord {
  int64_t seq = 0;         // 1, 2, ... within the conversation
  std::string role;        // user | assistant
  std::string content;
  std::string details;     // opaque (JSON from the API layer)
  int64_t created_at = 0;
};

// Thread-safety: every method may be called concurrently.
// Two implementations: SQLite under the data directory (open()) and the shared database
// (PgConversationStore, store/pg_conversation_store.h), so a user's conversation follows them
// to any replica.
class ConversationStore {
 public:
  virtual ~ConversationStore() = default;
  // The embedded one: one SQLite connection behind a mutex (conversation traffic is a few small
  // writes per question).
  static Result<std::unique_ptr<ConversationStore>> open(const std::string& path);

  virtual Status create(const ConversationRecord& record) = 0;
  // Newest first. `total` receives the owner's count.
  virtual Result<std::vector<ConversationRecord>> list(const std::string& owner, int64_t offset, int64_t limit,
                                                       int64_t* total) = 0;
  // kNotFound unless it exists and belongs to `owner` (another user's id looks absent).
  virtual Result<ConversationRecord> get(const std::string& owner, const std::string& id) = 0;
  virtual Result<std::vector<TurnRecord>> turns(const std::string& owner, const std::string& id) = 0;
  virtual Status rename(const std::string& owner, const std::string& id, const std::string& title, int64_t now) = 0;
  virtual Status remove(const std::string& owner, const std::string& id) = 0;
  // Appends `turns` in one transaction, numbering them after the last kept turn. With
  // `replace_from`, turns from that seq on are deleted first (regenerate, edit a question).
  virtual Result<std::vector<TurnRecord>> append(const std::string& owner, const std::string& id,
                                                 std::vector<TurnRecord> turns, std::optional<int64_t> replace_from,
                                                 int64_t now) = 0;
  // Deletes conversations (of every owner) not updated since `cutoff`; returns how many.
  virtual Result<int64_t> purge_older_than(int64_t cutoff) = 0;
};

// The message of a conversation that is absent or someone else's.
Status conversation_not_found(const std::string& id);

}  // namespace kr::store
