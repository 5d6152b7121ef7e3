// The open collections of one data directory: find, create, delete, list, replace.
#pragma once

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <vector>

#include "index/vector_index.h"
#include "service/collection.h"
#include "service/types.h"
#include "store/data_dir.h"
#include "store/pg_connection.h"
#include <thread>
#include <condition_variable>

namespace kr::service {

// Names: 1-64 characters of [A-Za-z0-9_.-], starting with a letter or digit (a safe folder name).
bool valid_collection_name(const std::string& name);

// Thread-safety: every method may be called concurrently. Creation, deletion and replacement
// are serialized among themselves; lookups never wait for them.
class CollectionRegistry {
 public:
  CollectionRegistry(store::DataDirectory& data_dir, index::VectorIndexOptions vector_options)
      : data_dir_(data_dir), vector_options_(vector_options) {}
  ~CollectionRegistry() { stop_following(); }

  // Shared mode (collection_registry_pg.cpp): collections live in a PostgreSQL database that
  // other replicas share, instead of folders of the data directory. Call before open_all().
  void use_postgres(std::shared_ptr<store::PgPool> pool) { pg_ = std::move(pool); }
  bool shared() const { return pg_ != nullptr; }
  const std::shared_ptr<store::PgPool>& postgres() const { return pg_; }
  // Starts the thread that follows the other replicas: LISTEN for their commits (and poll, in
  // case a notification is lost), open the collections they created, drop the ones they
  // deleted, replay their changes into each collection's in-memory indexes.
  void start_following(std::chrono::milliseconds poll_interval = std::chrono::milliseconds(500));
  void stop_following();
  // Called on the follower thread when another replica enqueues ingest jobs (NOTIFY on the job
  // channel), so idle queue workers start at once instead of at their next poll.
  void on_jobs_enqueued(std::function<void()> wake);
  // False while the shared database cannot be reached (readiness); always true when embedded.
  bool database_ok() const { return database_ok_.load(); }
  // One pass of the follower (also used by tests and by the follower thread).
  Status follow_once();

  // Opens every collection folder. One that cannot be opened (unreadable, corrupt, from a
  // newer version) is logged and answers kUnavailable from then on; the others are served.
  // Until it returns, ready() is false and lookups answer kUnavailable.
  Status open_all();
  bool ready() const { return ready_.load(); }

  // kUnavailable while loading or for a collection that could not be opened, kNotFound when absent.
  Result<std::shared_ptr<Collection>> find(const std::string& name) const;
  // Whether a collection of this name is served (no I/O).
  bool has_collection(const std::string& name) const;
  // Every served collection (not the broken ones), in name order.
  std::vector<std::shared_ptr<Collection>> all() const;
  Result<std::vector<CollectionInfo>> list() const;

  // Validates the settings, builds the collection in a staging folder and renames it into place.
  Result<std::shared_ptr<Collection>> create(const std::string& name, const CollectionSettings& settings);
  // Waits for a write in flight, retires the collection (later writes fail, store nothing) and
  // removes its folder. Also removes a collection that could not be opened.
  Status remove(const std::string& name);
  // Serves the collection database prepared in `staging_dir` (a folder inside the collections
  // folder) as `name`. With an existing collection and `overwrite`, the two folders are
  // exchanged atomically (renameat2 RENAME_EXCHANGE): at every instant, on disk and in memory,
  // `name` is either the old or the new collection; on any failure the old one stays.
  // `prepare` runs on the opened new collection before it becomes visible. kCorruptInput when
  // the staged database cannot be opened; the staging folder is removed on every failure.
  Status install(const std::string& name, const std::string& staging_dir, bool overwrite,
                 const std::function<Status(Collection&)>& prepare = {});

  // Saves every collection's vector snapshot (at shutdown); failures are logged.
  void save_snapshots() const;

  // Runs check() on every collection, holding each one's write lock.
  Status check() const;

 private:
  Result<std::shared_ptr<Collection>> open_collection(const std::string& name, const std::string& directory) const;
  Status open_all_postgres();
  Result<std::shared_ptr<Collection>> open_postgres(int64_t id, const std::string& name) const;
  Result<std::shared_ptr<Collection>> create_postgres(const std::string& name, const CollectionSettings& settings);
  Status remove_postgres(const std::string& name);
  void follow_loop(std::chrono::milliseconds poll_interval);
  void wake_queue_workers();

  store::DataDirectory& data_dir_;
  index::VectorIndexOptions vector_options_;
  std::atomic<bool> ready_{false};
  mutable std::shared_mutex mutex_;                      // guards the two maps
  std::map<std::string, std::shared_ptr<Collection>> collections_;
  std::map<std::string, Status> broken_;                 // name -> why it could not be opened
  std::mutex change_mutex_;                              // serializes create / remove / install
  std::shared_ptr<store::PgPool> pg_;                    // shared mode when set
  std::atomic<bool> database_ok_{true};
  std::map<std::string, int64_t> pg_ids_;                // name -> kr_collections.id; guarded by mutex_
  std::thread follower_;
  std::mutex follower_mutex_;
  std::condition_variable follower_wake_;
  bool follower_stop_ = false;                           // guarded by follower_mutex_
  std::function<void()> jobs_enqueued_;                  // guarded by follower_mutex_
};

}  // namespace kr::service
