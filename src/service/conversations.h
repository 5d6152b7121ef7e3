// Conversations kept for the web UI, per user (the authenticated principal): validation,
// ids and the retention setting over store::ConversationStore.
#pragma once

#include <atomic>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "core/config.h"
#include "store/conversation_store.h"

namespace kr::service {

class Engine;

using store::ConversationRecord;
using store::TurnRecord;

struct ConversationWithTurns {
  ConversationRecord conversation;
  std::vector<TurnRecord> turns;
};

// Thread-safety: all methods may be called concurrently.
class Conversations {
 public:
  static constexpr size_t kMaxTitleBytes = 200;
  static constexpr size_t kMaxContentBytes = 256 * 1024;
  static constexpr size_t kMaxDetailsBytes = 2 * 1024 * 1024;
  static constexpr size_t kMaxTurnsPerAppend = 20;

  // The database (<data_dir>/conversations.sqlite) is opened on first use, after the engine
  // has claimed the data directory. With `postgres` (--store postgres) they live in the shared
  // database instead, like everything else a replica needs.
  explicit Conversations(const Config& config, const Engine* engine = nullptr);

  Result<ConversationRecord> create(const std::string& owner, std::string title, const std::string& collection);
  Result<std::vector<ConversationRecord>> list(const std::string& owner, int64_t offset, int64_t limit, int64_t* total);
  Result<ConversationWithTurns> get(const std::string& owner, const std::string& id);
  Result<ConversationRecord> rename(const std::string& owner, const std::string& id, std::string title);
  Status remove(const std::string& owner, const std::string& id);
  Result<std::vector<TurnRecord>> append(const std::string& owner, const std::string& id, std::vector<TurnRecord> turns,
                                         std::optional<int64_t> replace_from);

 private:
  Result<store::ConversationStore*> store();
  void apply_retention(store::ConversationStore& store);

  std::string path_;
  bool shared_;                  // --store postgres
  const Engine* engine_;   // its database, once opened
  int retention_days_;
  std::mutex open_mutex_;
  std::unique_ptr<store::ConversationStore> store_;
  std::atomic<int64_t> last_purge_{0};
};

}  // namespace kr::service
