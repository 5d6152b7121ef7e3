// The sources of every collection and their syncs. A sync lists the source, ingests new and
// changed items through Engine::ingest_many (the ingest pipeline: group commit, bounded queue),
// deletes the documents of removed items, and records per-item state and a run report in the
// data directory (survives restarts). One sync per source at a time; the server also runs a
// scheduler that starts the syncs of sources whose interval has passed.
#pragma once

#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "service/engine.h"
#include "sources/source_state.h"

namespace kr::sources {

// A source as the API and CLI show it.
struct SourceView {
  SourceSpec spec;
  int64_t items = 0;                                     // items with state (synced or failed)
  std::vector<std::pair<std::string, std::string>> failures;  // (key, error) of failed items
  std::optional<SyncReport> last_run;
  std::optional<SyncReport> running;                     // progress of the sync in flight
  int64_t next_sync_at = 0;                              // scheduled sources; 0 = on demand
};

// Thread-safety: every method may be called concurrently.
class SourceManager {
 public:
  explicit SourceManager(service::Engine& engine);
  ~SourceManager();  // stops the scheduler and waits for background syncs

  // Validates and stores a new source (the collection must exist); `from_api` limits folders
  // to config.source_folder_roots. Returns it with its new id.
  Result<SourceView> add(const std::string& collection, SourceSpec spec, bool from_api);
  Result<std::vector<SourceView>> list(const std::string& collection) const;
  Result<SourceView> get(const std::string& collection, const std::string& id) const;
  // Forgets the source; with `delete_documents`, its documents too. kFailedPrecondition while it syncs.
  Status remove(const std::string& collection, const std::string& id, bool delete_documents);
  // The collection was deleted: its sources go with it.
  Status remove_collection(const std::string& collection);

  // Runs one sync on this thread. kFailedPrecondition when one is running already; a source
  // that cannot be listed returns that error (and records it as the run's error).
  Result<SyncReport> sync(const std::string& collection, const std::string& id, const std::string& trigger);
  // Starts a sync in the background (same errors as sync(), except the listing's, known later).
  Status start_sync(const std::string& collection, const std::string& id, const std::string& trigger);

  // Every source of a collection at once (POST /v1/collections/{name}/sync, `kaito-rag sync`):
  // one outcome per source, in creation order. A source that cannot start (already syncing)
  // or whose run fails does not stop the others. kNotFound when the collection does not exist.
  struct SourceOutcome {
    std::string id;
    Status status;                    // why it did not start, or (sync_all) why its run failed
    std::optional<SyncReport> report;  // sync_all: the finished run
  };
  // Runs the syncs one after another on this thread.
  Result<std::vector<SourceOutcome>> sync_all(const std::string& collection, const std::string& trigger);
  // Starts each source's sync in the background.
  Result<std::vector<SourceOutcome>> start_sync_all(const std::string& collection, const std::string& trigger);

  // Starts syncs that are due every `period_seconds` until destruction.
  void start_scheduler(double period_seconds);

 private:
  struct Run;
  using Key = std::pair<std::string, std::string>;  // (collection, source id)

  Result<std::shared_ptr<Run>> claim(const std::string& collection, const std::string& id,
                                     const std::string& trigger);
  Result<SyncReport> execute(const std::string& collection, const std::string& id, Run& run);
  // Replaces one source's items and last run in its collection's file (reloaded under the lock).
  Status store_record(const std::string& collection, const SourceRecord& record);
  SourceView view(const std::string& collection, const SourceRecord& record) const;
  void reap_finished();
  void schedule_due();

  service::Engine& engine_;
  SourceFile file_;
  mutable std::mutex file_mutex_;  // load-modify-save of the files

  mutable std::mutex runs_mutex_;  // guards everything below
  std::map<Key, std::shared_ptr<Run>> runs_;
  std::vector<std::pair<std::shared_ptr<Run>, std::thread>> background_;
  bool stopping_ = false;
  std::condition_variable wake_;
  std::thread scheduler_;
};

}  // namespace kr::sources
