#include "sources/source_manager.h"

#include <malloc.h>

#include <algorithm>
#include <chrono>
#include <nlohmann/json.hpp>
#include <set>

#include "core/log.h"
#include "sources/connector.h"

namespace kr::sources {

namespace {

int64_t now_seconds() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

constexpr size_t kFetchBatch = 16;       // items fetched, then ingested in one ingest_many call
constexpr size_t kSaveEvery = 256;       // items between state saves during a long sync
constexpr int kQueueFullRetries = 120;   // x 1 s: the pipeline's queue stays full this long at most

bool transient(const Status& status) {
  return status.code() == ErrorCode::kUnavailable || status.code() == ErrorCode::kDeadlineExceeded;
}

SourceRecord* find_record(CollectionSources& all, const std::string& id) {
  for (auto& record : all.sources) {
    if (record.spec.id == id) return &record;
  }
  return nullptr;
}

Status source_not_found(const std::string& collection, const std::string& id) {
  return error(ErrorCode::kNotFound, "collection '" + collection + "' has no source '" + id + "'");
}

}  // namespace

// A sync in flight: its progress, readable by status requests while it runs.
struct SourceManager::Run {
  mutable std::mutex mutex;
  SyncReport progress;
  bool done = false;

  SyncReport snapshot() const {
    std::lock_guard lock(mutex);
    return progress;
  }
  template <typename F>
  void update(F&& change) {
    std::lock_guard lock(mutex);
    change(progress);
  }
};

SourceManager::SourceManager(service::Engine& engine) : engine_(engine), file_(engine.config().data_dir) {}

SourceManager::~SourceManager() {
  std::vector<std::pair<std::shared_ptr<Run>, std::thread>> background;
  {
    std::lock_guard lock(runs_mutex_);
    stopping_ = true;
    background.swap(background_);
  }
  wake_.notify_all();
  if (scheduler_.joinable()) scheduler_.join();
  {
    std::lock_guard lock(runs_mutex_);
    for (auto& entry : background_) background.push_back(std::move(entry));
  }
  for (auto& [run, thread] : background) thread.join();
}

Result<SourceView> SourceManager::add(const std::string& collection, SourceSpec spec, bool from_api) {
  if (!engine_.has_collection(collection)) {
    return error(ErrorCode::kNotFound, "collection '" + collection + "' does not exist; create it first");
  }
  KR_RETURN_IF_ERROR(validate_source(spec, engine_.config(), from_api));
  std::lock_guard lock(file_mutex_);
  auto all = file_.load(collection);
  if (!all) return all.status();
  spec.id = "src-" + std::to_string(all->next_id++);
  spec.created_at = now_seconds();
  all->sources.push_back(SourceRecord{spec, {}, std::nullopt});
  KR_RETURN_IF_ERROR(file_.save(collection, *all));
  log::info("source added", {{"collection", collection}, {"source", spec.id},
                             {"kind", std::string(source_kind_name(spec.kind))}});
  return view(collection, all->sources.back());
}

Result<std::vector<SourceView>> SourceManager::list(const std::string& collection) const {
  if (!engine_.has_collection(collection)) {
    return error(ErrorCode::kNotFound, "collection '" + collection + "' does not exist");
  }
  std::lock_guard lock(file_mutex_);
  auto all = file_.load(collection);
  if (!all) return all.status();
  std::vector<SourceView> views;
  for (const auto& record : all->sources) views.push_back(view(collection, record));
  return views;
}

Result<SourceView> SourceManager::get(const std::string& collection, const std::string& id) const {
  auto all = list(collection);
  if (!all) return all.status();
  for (auto& v : *all) {
    if (v.spec.id == id) return std::move(v);
  }
  return source_not_found(collection, id);
}

SourceView SourceManager::view(const std::string& collection, const SourceRecord& record) const {
  SourceView v;
  v.spec = record.spec;
  v.items = static_cast<int64_t>(record.items.size());
  for (const auto& [key, item] : record.items) {
    if (item.outcome == "failed") v.failures.emplace_back(key, item.error);
  }
  v.last_run = record.last_run;
  {
    std::lock_guard lock(runs_mutex_);
    if (auto it = runs_.find({collection, record.spec.id}); it != runs_.end()) v.running = it->second->snapshot();
  }
  if (record.spec.interval_seconds > 0) {
    const int64_t last = record.last_run ? record.last_run->started_at : record.spec.created_at;
    v.next_sync_at = last + static_cast<int64_t>(record.spec.interval_seconds);
  }
  return v;
}

Status SourceManager::remove(const std::string& collection, const std::string& id, bool delete_documents) {
  {
    std::lock_guard lock(runs_mutex_);
    if (runs_.count({collection, id})) {
      return error(ErrorCode::kFailedPrecondition, "source '" + id + "' is syncing; remove it when the sync ends");
    }
  }
  std::lock_guard lock(file_mutex_);
  auto all = file_.load(collection);
  if (!all) return all.status();
  SourceRecord* record = find_record(*all, id);
  if (!record) return source_not_found(collection, id);
  if (delete_documents) {
    for (const auto& [key, item] : record->items) {
      if (item.doc_id.empty()) continue;
      Status removed = engine_.delete_document(collection, item.doc_id);
      if (!removed && removed.code() != ErrorCode::kNotFound) return removed;
    }
  }
  all->sources.erase(all->sources.begin() + (record - all->sources.data()));
  return file_.save(collection, *all);
}

Status SourceManager::remove_collection(const std::string& collection) {
  std::lock_guard lock(file_mutex_);
  return file_.remove(collection);
}

Result<std::shared_ptr<SourceManager::Run>> SourceManager::claim(const std::string& collection, const std::string& id,
                                                                 const std::string& trigger) {
  KR_RETURN_IF_ERROR(get(collection, id).status());
  std::lock_guard lock(runs_mutex_);
  if (stopping_) return error(ErrorCode::kUnavailable, "the server is shutting down");
  if (runs_.count({collection, id})) {
    return error(ErrorCode::kFailedPrecondition, "source '" + id + "' is already syncing; see its status");
  }
  auto run = std::make_shared<Run>();
  run->progress.started_at = now_seconds();
  run->progress.trigger = trigger;
  runs_[{collection, id}] = run;
  return run;
}

namespace {

// A sync of a large source allocates tens of MiB for a moment (the state file parsed and
// rewritten, the listing) on whichever thread runs it, and glibc keeps what is freed in that
// thread's arena: RSS grew by ~27 MiB with every 10k-blob re-sync that landed on another HTTP
// worker (bench/sources_blob_10k.py; in use after the runs: 16 MB). Hand it back once a run ends.
void release_freed_memory() { ::malloc_trim(0); }

}  // namespace

Result<SyncReport> SourceManager::sync(const std::string& collection, const std::string& id,
                                       const std::string& trigger) {
  auto run = claim(collection, id, trigger);
  if (!run) return run.status();
  auto report = execute(collection, id, **run);
  release_freed_memory();
  std::lock_guard lock(runs_mutex_);
  runs_.erase({collection, id});
  return report;
}

Status SourceManager::start_sync(const std::string& collection, const std::string& id, const std::string& trigger) {
  reap_finished();
  auto run = claim(collection, id, trigger);
  if (!run) return run.status();
  std::shared_ptr<Run> claimed = *run;
  std::thread worker([this, collection, id, claimed] {
    (void)execute(collection, id, *claimed);
    release_freed_memory();
    std::lock_guard lock(runs_mutex_);
    runs_.erase({collection, id});
    claimed->done = true;
  });
  std::lock_guard lock(runs_mutex_);
  background_.emplace_back(claimed, std::move(worker));
  return Status::ok();
}

Result<std::vector<SourceManager::SourceOutcome>> SourceManager::sync_all(const std::string& collection,
                                                                         const std::string& trigger) {
  auto views = list(collection);
  if (!views) return views.status();
  std::vector<SourceOutcome> outcomes;
  for (const auto& v : *views) {
    SourceOutcome outcome{v.spec.id, Status::ok(), std::nullopt};
    auto report = sync(collection, v.spec.id, trigger);
    if (report) {
      outcome.report = std::move(*report);
    } else {
      outcome.status = report.status();
    }
    outcomes.push_back(std::move(outcome));
  }
  return outcomes;
}

Result<std::vector<SourceManager::SourceOutcome>> SourceManager::start_sync_all(const std::string& collection,
                                                                               const std::string& trigger) {
  auto views = list(collection);
  if (!views) return views.status();
  std::vector<SourceOutcome> outcomes;
  for (const auto& v : *views) outcomes.push_back({v.spec.id, start_sync(collection, v.spec.id, trigger), std::nullopt});
  return outcomes;
}

void SourceManager::reap_finished() {
  std::vector<std::thread> finished;
  {
    std::lock_guard lock(runs_mutex_);
    for (auto it = background_.begin(); it != background_.end();) {
      if (it->first->done) {
        finished.push_back(std::move(it->second));
        it = background_.erase(it);
      } else {
        ++it;
      }
    }
  }
  for (auto& thread : finished) thread.join();
}

Result<SyncReport> SourceManager::execute(const std::string& collection, const std::string& id, Run& run) {
  SourceRecord record;
  {
    std::lock_guard lock(file_mutex_);
    auto all = file_.load(collection);
    if (!all) return all.status();
    SourceRecord* found = find_record(*all, id);
    if (!found) return source_not_found(collection, id);
    record = *found;
  }
  const SourceSpec& spec = record.spec;
  // Ends the run: the report goes to the file whatever happened.
  auto finish = [&](const Status& failure) -> Result<SyncReport> {
    run.update([&](SyncReport& r) {
      r.finished_at = now_seconds();
      if (!failure) r.error = failure.message();
    });
    record.last_run = run.snapshot();
    Status saved = store_record(collection, record);
    const SyncReport& r = *record.last_run;
    log::info("source synced", {{"collection", collection}, {"source", id}, {"added", std::to_string(r.added)},
                                {"updated", std::to_string(r.updated)}, {"deleted", std::to_string(r.deleted)},
                                {"failed", std::to_string(r.failed)}, {"error", r.error}});
    if (!failure) return failure;
    if (!saved) return saved;
    return r;
  };

  auto connector = make_connector(spec, engine_.config());
  if (!connector) return finish(connector.status());
  (*connector)->set_known(record.items);
  auto listed = (*connector)->list();
  if (!listed) return finish(listed.status());
  std::vector<SourceItem> items;
  for (auto& item : *listed) {
    if (extension_allowed(item.key, spec.extensions)) items.push_back(std::move(item));
  }
  run.update([&](SyncReport& r) { r.listed = static_cast<int64_t>(items.size()); });

  std::set<std::string> present;
  std::vector<const SourceItem*> changed;
  for (const auto& item : items) {
    present.insert(item.key);
    if (item.pending) {
      run.update([](SyncReport& r) { ++r.pending; });
      continue;
    }
    auto state = record.items.find(item.key);
    if (state != record.items.end() && state->second.version == item.version) {
      run.update([](SyncReport& r) { ++r.unchanged; });
      continue;
    }
    changed.push_back(&item);
  }

  size_t since_save = 0;
  for (size_t begin = 0; begin < changed.size(); begin += kFetchBatch) {
    const size_t end = std::min(changed.size(), begin + kFetchBatch);
    std::vector<service::IngestInput> inputs;
    std::vector<const SourceItem*> ingesting;
    for (size_t i = begin; i < end; ++i) {
      const SourceItem& item = *changed[i];
      auto bytes = (*connector)->fetch(item);
      if (!bytes) {
        // Transient failures keep the old version so that the next sync tries again.
        ItemState& state = record.items[item.key];
        if (!transient(bytes.status())) state.version = item.version;
        state.outcome = "failed";
        state.error = bytes.status().message();
        state.synced_at = now_seconds();
        run.update([](SyncReport& r) { ++r.failed; });
        continue;
      }
      service::IngestInput input;
      input.name = item.name.empty() ? item.key : item.name;
      input.source = "source:" + spec.id + ":" + item.key;
      input.bytes = std::move(*bytes);
      input.metadata = item.metadata;
      input.metadata["source_id"] = nlohmann::json(spec.id).dump();
      input.metadata["source_kind"] = nlohmann::json(std::string(source_kind_name(spec.kind))).dump();
      input.metadata["source_item"] = nlohmann::json(item.key).dump();
      inputs.push_back(std::move(input));
      ingesting.push_back(&item);
    }
    if (inputs.empty()) continue;
    Result<std::vector<Result<service::IngestResult>>> results = std::vector<Result<service::IngestResult>>{};
    for (int attempt = 0;; ++attempt) {
      results = engine_.ingest_many(collection, inputs, /*create_collection=*/false);
      if (results || results.status().code() != ErrorCode::kUnavailable || attempt >= kQueueFullRetries) break;
      std::this_thread::sleep_for(std::chrono::seconds(1));  // the ingest queue is full: wait for room
    }
    if (!results) {
      return finish(results.status());
    }
    for (size_t i = 0; i < results->size(); ++i) {
      const SourceItem& item = *ingesting[i];
      const auto& result = (*results)[i];
      ItemState& state = record.items[item.key];
      state.synced_at = now_seconds();
      if (!result) {  // the collection went away or the store failed: try again next time
        state.outcome = "failed";
        state.error = result.status().message();
        run.update([](SyncReport& r) { ++r.failed; });
        continue;
      }
      state.version = item.version;
      state.outcome = std::string(service::ingest_outcome_name(result->outcome));
      state.error = result->outcome == service::IngestOutcome::kFailed ? result->error.message() : "";
      if (result->outcome == service::IngestOutcome::kDuplicate) {
        state.doc_id.clear();  // the content belongs to another document: never delete that one
        state.error = "same content as document " + result->duplicate_of;
      } else if (result->outcome != service::IngestOutcome::kFailed) {
        state.doc_id = result->doc_id;
      }
      run.update([&](SyncReport& r) {
        switch (result->outcome) {
          case service::IngestOutcome::kAdded: ++r.added; break;
          case service::IngestOutcome::kUpdated: ++r.updated; break;
          case service::IngestOutcome::kFailed: ++r.failed; break;
          default: ++r.unchanged; break;
        }
      });
    }
    since_save += inputs.size();
    if (since_save >= kSaveEvery) {
      since_save = 0;
      if (Status saved = store_record(collection, record); !saved) return finish(saved);
    }
  }

  // Items the source no longer holds: their documents go (a failed listing never gets here).
  for (auto it = record.items.begin(); it != record.items.end();) {
    if (present.count(it->first)) {
      ++it;
      continue;
    }
    if (!it->second.doc_id.empty()) {
      Status removed = engine_.delete_document(collection, it->second.doc_id);
      if (!removed && removed.code() != ErrorCode::kNotFound) return finish(removed);
      run.update([](SyncReport& r) { ++r.deleted; });
    }
    it = record.items.erase(it);
  }
  return finish(Status::ok());
}

Status SourceManager::store_record(const std::string& collection, const SourceRecord& record) {
  std::lock_guard lock(file_mutex_);
  auto all = file_.load(collection);
  if (!all) return all.status();
  SourceRecord* stored = find_record(*all, record.spec.id);
  if (!stored) return Status::ok();  // removed meanwhile (with its collection)
  stored->items = record.items;
  stored->last_run = record.last_run;
  return file_.save(collection, *all);
}

void SourceManager::start_scheduler(double period_seconds) {
  if (period_seconds <= 0) return;
  scheduler_ = std::thread([this, period_seconds] {
    std::unique_lock lock(runs_mutex_);
    while (!stopping_) {
      wake_.wait_for(lock, std::chrono::duration<double>(period_seconds), [this] { return stopping_; });
      if (stopping_) break;
      lock.unlock();
      schedule_due();
      lock.lock();
    }
  });
}

void SourceManager::schedule_due() {
  const int64_t now = now_seconds();
  for (const auto& collection : file_.collections()) {
    if (!engine_.has_collection(collection)) continue;
    auto views = list(collection);
    if (!views) continue;
    for (const auto& v : *views) {
      if (v.next_sync_at == 0 || v.next_sync_at > now || v.running) continue;
      if (Status started = start_sync(collection, v.spec.id, "schedule"); !started) {
        log::warn("scheduled sync not started", {{"collection", collection}, {"source", v.spec.id},
                                                 {"error", started.message()}});
      }
    }
  }
}

}  // namespace kr::sources
