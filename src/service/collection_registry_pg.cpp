// CollectionRegistry over a PostgreSQL database shared by several replicas.
#include <poll.h>

#include <string_view>

#include "core/log.h"
#include "service/collection_registry.h"
#include "store/pg_collection_store.h"
#include "store/pg_ingest_queue.h"
#include "store/pg_schema.h"

namespace kr::service {

Result<std::shared_ptr<Collection>> CollectionRegistry::open_postgres(int64_t id, const std::string& name) const {
  auto store = std::make_unique<store::PgCollectionStore>(pg_, id, vector_options_.ef_search);
  return Collection::open(name, std::move(store), vector_options_);
}

Status CollectionRegistry::open_all_postgres() {
  auto entries = store::pg_list_collections(*pg_);
  if (!entries) return entries.status();
  std::map<std::string, std::shared_ptr<Collection>> opened;
  std::map<std::string, Status> broken;
  std::map<std::string, int64_t> ids;
  for (const auto& entry : *entries) {
    auto collection = open_postgres(entry.id, entry.name);
    if (!collection) {
      log::error("cannot open collection", {{"collection", entry.name}, {"error", collection.status().to_string()}});
      broken[entry.name] = collection.status();
      continue;
    }
    opened[entry.name] = std::move(collection.value());
    ids[entry.name] = entry.id;
  }
  {
    std::unique_lock lock(mutex_);
    collections_ = std::move(opened);
    broken_ = std::move(broken);
    pg_ids_ = std::move(ids);
  }
  ready_ = true;
  return Status::ok();
}

Result<std::shared_ptr<Collection>> CollectionRegistry::create_postgres(const std::string& name,
                                                                        const CollectionSettings& settings) {
  std::lock_guard change_lock(change_mutex_);
  auto id = store::pg_create_collection(*pg_, name);
  if (!id) return id.status();
  auto store = std::make_unique<store::PgCollectionStore>(pg_, *id, vector_options_.ef_search);
  auto collection = Collection::create(name, std::move(store), settings, vector_options_);
  Status published = collection ? store::pg_publish_collection(*pg_, *id) : collection.status();
  if (!published) {
    (void)store::pg_drop_collection(*pg_, name);  // best effort; a stale reservation expires anyway
    return published;
  }
  {
    std::unique_lock lock(mutex_);
    collections_[name] = *collection;
    pg_ids_[name] = *id;
  }
  log::info("collection created", {{"collection", name}, {"store", "postgres"}});
  return collection;
}

Status CollectionRegistry::remove_postgres(const std::string& name) {
  std::lock_guard change_lock(change_mutex_);
  KR_RETURN_IF_ERROR(store::pg_drop_collection(*pg_, name));
  std::shared_ptr<Collection> collection;
  {
    std::unique_lock lock(mutex_);
    if (auto it = collections_.find(name); it != collections_.end()) {
      collection = it->second;
      collections_.erase(it);
    }
    broken_.erase(name);
    pg_ids_.erase(name);
  }
  if (collection) {
    std::lock_guard write_lock(collection->write_mutex());
    collection->retire();
  }
  log::info("collection deleted", {{"collection", name}, {"store", "postgres"}});
  return Status::ok();
}

Status CollectionRegistry::follow_once() {
  // Listed under the lock: a list read before this replica's own create finished would make the
  // new collection look deleted.
  std::unique_lock change_lock(change_mutex_);
  auto entries = store::pg_list_collections(*pg_);
  if (!entries) return entries.status();
  std::map<std::string, int64_t> current;
  for (const auto& entry : *entries) current[entry.name] = entry.id;
  std::vector<std::shared_ptr<Collection>> gone;
  std::vector<std::pair<std::string, int64_t>> added;
  {
    std::unique_lock lock(mutex_);
    for (auto it = pg_ids_.begin(); it != pg_ids_.end();) {
      auto now = current.find(it->first);
      if (now == current.end() || now->second != it->second) {  // deleted (or deleted and created again)
        if (auto c = collections_.find(it->first); c != collections_.end()) {
          gone.push_back(c->second);
          collections_.erase(c);
        }
        broken_.erase(it->first);
        it = pg_ids_.erase(it);
      } else {
        ++it;
      }
    }
    for (const auto& [name, id] : current) {
      if (!pg_ids_.count(name)) added.emplace_back(name, id);
    }
  }
  for (auto& collection : gone) {
    std::lock_guard write_lock(collection->write_mutex());
    collection->retire();
    log::info("collection deleted by another replica", {{"collection", collection->name()}});
  }
  Status result;
  for (const auto& [name, id] : added) {
    // (Opened under change_mutex_, so a delete on this replica cannot interleave.)
    auto collection = open_postgres(id, name);
    if (!collection) {
      result = collection.status();
      continue;  // retried on the next pass
    }
    std::unique_lock lock(mutex_);
    collections_[name] = std::move(collection.value());
    pg_ids_[name] = id;
  }
  change_lock.unlock();
  for (const auto& collection : all()) {
    if (Status caught_up = collection->catch_up(); !caught_up) result = caught_up;
  }
  return result;
}

void CollectionRegistry::start_following(std::chrono::milliseconds poll_interval) {
  if (!pg_ || follower_.joinable()) return;
  follower_ = std::thread([this, poll_interval] { follow_loop(poll_interval); });
}

void CollectionRegistry::stop_following() {
  {
    std::lock_guard lock(follower_mutex_);
    follower_stop_ = true;
  }
  follower_wake_.notify_all();
  if (follower_.joinable()) follower_.join();
}

void CollectionRegistry::wake_queue_workers() {
  // Under the lock: on_jobs_enqueued({}) returns only after a wake in flight has finished, so
  // the pipeline may be destroyed right after it.
  std::lock_guard lock(follower_mutex_);
  if (jobs_enqueued_) jobs_enqueued_();
}

void CollectionRegistry::on_jobs_enqueued(std::function<void()> wake) {
  std::lock_guard lock(follower_mutex_);
  jobs_enqueued_ = std::move(wake);
}

void CollectionRegistry::follow_loop(std::chrono::milliseconds poll_interval) {
  std::unique_ptr<store::PgConnection> listener;
  bool reported_down = false;
  bool follow = true;  // false after a wake-up only for ingest jobs: nothing to replay
  const auto stopped = [this] {
    std::lock_guard lock(follower_mutex_);
    return follower_stop_;
  };
  while (!stopped()) {
    if (!listener || !listener->healthy()) {
      listener.reset();
      auto conn = pg_->connect_dedicated();
      if (conn) {
        if (auto listening = (*conn)->exec(std::string("LISTEN ") + store::kPgChangeChannel + "; LISTEN " +
                                           store::kPgJobChannel);
            listening) {
          listener = std::move(conn.value());
        }
      }
      follow = true;  // what was notified while not listening is caught by this pass
    }
    Status followed = follow ? follow_once() : Status::ok();
    database_ok_ = followed.is_ok() || followed.code() != ErrorCode::kUnavailable;
    if (!followed && !reported_down) {
      log::warn("cannot follow the shared database; retrying", {{"error", followed.to_string()}});
    } else if (followed && reported_down) {
      log::info("shared database reachable again", {});
    }
    reported_down = !followed.is_ok();
    if (listener) {
      // Sleep until a replica commits (NOTIFY) or the poll interval passes.
      pollfd fd{PQsocket(listener->get()), POLLIN, 0};
      follow = true;
      if (fd.fd >= 0 && ::poll(&fd, 1, static_cast<int>(poll_interval.count())) > 0) {
        if (PQconsumeInput(listener->get()) == 0) listener->mark_broken();
        bool changes = !listener->healthy(), jobs = false;
        while (PGnotify* notify = PQnotifies(listener->get())) {
          (std::string_view(notify->relname) == store::kPgJobChannel ? jobs : changes) = true;
          PQfreemem(notify);
        }
        if (jobs) wake_queue_workers();
        follow = changes || !jobs;
      }
    } else {
      std::unique_lock lock(follower_mutex_);
      follower_wake_.wait_for(lock, poll_interval, [this] { return follower_stop_; });
    }
  }
}

}  // namespace kr::service
