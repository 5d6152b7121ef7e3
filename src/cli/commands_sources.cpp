// kaito-rag sources add | list | sync | remove and kaito-rag sync: a collection's document sources, from the
// command line (sources/source_manager.h). Folders are not limited to source_folder_roots here:
// the operator at the shell can read them anyway.
#include <iostream>
#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "service/engine.h"
#include "sources/source_manager.h"

namespace kr::cli {
using nlohmann::json;

namespace {

int fail(const Status& status) {
  std::cerr << "kaito-rag sources: " << status.message() << "\n";
  return 1;
}

json report_json(const sources::SyncReport& r) {
  return {{"started_at", r.started_at}, {"finished_at", r.finished_at}, {"trigger", r.trigger},
          {"listed", r.listed},         {"added", r.added},             {"updated", r.updated},
          {"unchanged", r.unchanged},   {"deleted", r.deleted},         {"failed", r.failed},
          {"pending", r.pending},       {"error", r.error}};
}

std::string summary(const sources::SyncReport& r) {
  return std::to_string(r.listed) + " listed, " + std::to_string(r.added) + " added, " + std::to_string(r.updated) +
         " updated, " + std::to_string(r.unchanged) + " unchanged, " + std::to_string(r.deleted) + " deleted, " +
         std::to_string(r.failed) + " failed, " + std::to_string(r.pending) + " pending";
}

json view_json(const sources::SourceView& v) {
  json failures = json::array();
  for (const auto& [key, message] : v.failures) failures.push_back({{"item", key}, {"error", message}});
  return {{"id", v.spec.id},
          {"kind", sources::source_kind_name(v.spec.kind)},
          {"location", v.spec.location},
          {"interval_seconds", v.spec.interval_seconds},
          {"items", v.items},
          {"failures", failures},
          {"last_run", v.last_run ? report_json(*v.last_run) : json(nullptr)}};
}

}  // namespace

int sources_command(const Config& config, const std::string& self, const SourcesArgs& args) {
  const bool writes = args.action != "list";
  service::Engine engine(config, self);
  if (Status opened = engine.open(writes ? service::Engine::Access::kReadWrite : service::Engine::Access::kReadOnly);
      !opened) {
    return fail(opened);
  }
  sources::SourceManager manager(engine);
  if (args.action == "add") {
    auto kind = sources::parse_source_kind(args.kind);
    if (!kind) return fail(kind.status());
    if (!engine.has_collection(args.collection)) {
      auto created = engine.create_collection(args.collection, engine.default_settings());
      if (!created) return fail(created.status());
    }
    sources::SourceSpec spec;
    spec.kind = *kind;
    spec.location = args.location;
    spec.interval_seconds = args.interval_seconds;
    spec.extensions = args.extensions;
    spec.crawl_depth = args.crawl_depth;
    spec.max_pages = args.max_pages;
    spec.account_key = args.account_key;
    spec.sas_token = args.sas_token;
    spec.workload_identity = args.auth == "workload_identity";
    auto added = manager.add(args.collection, std::move(spec), /*from_api=*/false);
    if (!added) return fail(added.status());
    if (args.json) {
      std::cout << view_json(*added).dump() << "\n";
    } else {
      std::cout << "Added source " << added->spec.id << " (" << sources::source_kind_name(added->spec.kind) << " "
                << added->spec.location << ") to '" << args.collection << "'.\n";
    }
    return 0;
  }
  if (args.action == "sync") {
    auto report = manager.sync(args.collection, args.id, "cli");
    if (!report) return fail(report.status());
    if (args.json) {
      std::cout << report_json(*report).dump() << "\n";
    } else {
      std::cout << "Synced " << args.id << ": " << summary(*report) << ".\n";
    }
    auto failed = manager.get(args.collection, args.id);
    if (failed && !args.json) {
      for (const auto& [key, message] : failed->failures) std::cerr << "  failed: " << key << ": " << message << "\n";
    }
    return 0;
  }
  if (args.action == "remove") {
    if (Status removed = manager.remove(args.collection, args.id, !args.keep_documents); !removed) return fail(removed);
    std::cout << "Removed source " << args.id << " from '" << args.collection << "'.\n";
    return 0;
  }
  auto all = manager.list(args.collection);
  if (!all) return fail(all.status());
  if (args.json) {
    json out = json::array();
    for (const auto& v : *all) out.push_back(view_json(v));
    std::cout << out.dump() << "\n";
    return 0;
  }
  for (const auto& v : *all) {
    std::cout << v.spec.id << "  " << sources::source_kind_name(v.spec.kind) << "  " << v.spec.location << "  "
              << v.items << " items";
    if (v.last_run) std::cout << "  last run: " << (v.last_run->error.empty() ? summary(*v.last_run) : v.last_run->error);
    std::cout << "\n";
  }
  return 0;
}

}  // namespace kr::cli

namespace kr::cli {

int sync_collection(const Config& config, const std::string& self, const std::string& collection, bool as_json) {
  service::Engine engine(config, self);
  if (Status opened = engine.open(service::Engine::Access::kReadWrite); !opened) return fail(opened);
  sources::SourceManager manager(engine);
  auto outcomes = manager.sync_all(collection, "cli");
  if (!outcomes) return fail(outcomes.status());
  bool all_ok = true;
  json out = json::array();
  for (const auto& outcome : *outcomes) {
    all_ok = all_ok && outcome.status.is_ok();
    if (as_json) {
      out.push_back({{"id", outcome.id},
                     {"report", outcome.report ? report_json(*outcome.report) : json(nullptr)},
                     {"error", outcome.status ? json(nullptr) : json(outcome.status.message())}});
      continue;
    }
    if (outcome.report) {
      std::cout << "Synced " << outcome.id << ": " << summary(*outcome.report) << ".\n";
    } else {
      std::cerr << "kaito-rag sync: " << outcome.id << ": " << outcome.status.message() << "\n";
    }
  }
  if (as_json) std::cout << json{{"collection", collection}, {"sources", out}}.dump() << "\n";
  if (outcomes->empty() && !as_json) std::cout << "'" << collection << "' has no sources (add one with kaito-rag sources add).\n";
  return all_ok ? 0 : 1;
}

}  // namespace kr::cli
