// Conversations of the web UI in the shared database (kr_conversations, kr_turns), so a user's
// conversation is the same on every replica.
#pragma once

#include <memory>

#include "store/conversation_store.h"
#include "store/pg_connection.h"

namespace kr::store {

// Thread-safety: every call takes its own pooled connection.
class PgConversationStore final : public ConversationStore {
 public:
  explicit PgConversationStore(std::shared_ptr<PgPool> pool) : pool_(std::move(pool)) {}

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
  std::shared_ptr<PgPool> pool_;
};

}  // namespace kr::store
