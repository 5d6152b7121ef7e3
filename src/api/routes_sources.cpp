// /v1/collections/{name}/sources: document sources kept in sync (sources/source_manager.h).
#include "api/authorization.h"
#include "api/http_util.h"
#include "api/json_mapping.h"

namespace kr::api {

namespace {

json report_json(const sources::SyncReport& r) {
  return {{"started_at", r.started_at}, {"finished_at", r.finished_at}, {"trigger", r.trigger},
          {"listed", r.listed},         {"added", r.added},             {"updated", r.updated},
          {"unchanged", r.unchanged},   {"deleted", r.deleted},         {"failed", r.failed},
          {"pending", r.pending},       {"error", r.error.empty() ? json(nullptr) : json(r.error)}};
}

// Credentials never leave the server: only whether they are set.
json source_json(const sources::SourceView& v) {
  const sources::SourceSpec& s = v.spec;
  json failures = json::array();
  for (const auto& [key, message] : v.failures) failures.push_back({{"item", key}, {"error", message}});
  json out = {{"id", s.id},
              {"kind", sources::source_kind_name(s.kind)},
              {"location", s.location},
              {"interval_seconds", s.interval_seconds},
              {"extensions", s.extensions},
              {"crawl_depth", s.crawl_depth},
              {"max_pages", s.max_pages},
              {"credentials", s.workload_identity ? "workload_identity"
                              : !s.account_key.empty() ? "shared_key"
                              : !s.sas_token.empty()   ? "sas"
                                                       : "none"},
              {"created_at", s.created_at},
              {"items", v.items},
              {"failures", std::move(failures)},
              {"status", v.running ? "syncing" : "idle"},
              {"last_run", v.last_run ? report_json(*v.last_run) : json(nullptr)},
              {"progress", v.running ? report_json(*v.running) : json(nullptr)},
              {"next_sync_at", v.next_sync_at ? json(v.next_sync_at) : json(nullptr)}};
  return out;
}

Result<sources::SourceSpec> spec_from(const json& body) {
  sources::SourceSpec spec;
  auto kind = required_string(body, "kind");
  if (!kind) return kind.status();
  auto parsed_kind = sources::parse_source_kind(*kind);
  if (!parsed_kind) return parsed_kind.status();
  spec.kind = *parsed_kind;
  auto location = required_string(body, "location");
  if (!location) return location.status();
  spec.location = *location;
  auto interval = optional_double(body, "interval_seconds", 0, 0, 365.0 * 86400);
  if (!interval) return interval.status();
  spec.interval_seconds = *interval;
  for (auto [field, target] : {std::pair{"crawl_depth", &spec.crawl_depth}, {"max_pages", &spec.max_pages}}) {
    if (!body.contains(field)) continue;
    if (!body[field].is_number_integer()) return error(ErrorCode::kInvalidArgument, std::string(field) + " must be an integer");
    const auto value = body[field].get<int64_t>();
    if (value < 0 || value > sources::kMaxPagesLimit) {
      return error(ErrorCode::kInvalidArgument, std::string(field) + " is out of range");
    }
    *target = static_cast<int>(value);
  }
  if (body.contains("extensions")) {
    const json& list = body["extensions"];
    if (!list.is_array()) return error(ErrorCode::kInvalidArgument, "extensions must be a list like [\".pdf\"]");
    for (const auto& ext : list) {
      if (!ext.is_string()) return error(ErrorCode::kInvalidArgument, "extensions must be strings");
      spec.extensions.push_back(ext.get<std::string>());
    }
  }
  for (auto [field, target] : {std::pair{"account_key", &spec.account_key}, {"sas_token", &spec.sas_token}}) {
    if (!body.contains(field)) continue;
    if (!body[field].is_string()) return error(ErrorCode::kInvalidArgument, std::string(field) + " must be a string");
    *target = body[field].get<std::string>();
  }
  if (body.contains("auth")) {
    if (!body["auth"].is_string() || body["auth"] != "workload_identity") {
      return error(ErrorCode::kInvalidArgument,
                   "auth must be \"workload_identity\" (a shared key or SAS is given as account_key or sas_token)");
    }
    spec.workload_identity = true;
  }
  return spec;
}

// {"code", "message"} of a source's failure; null when it has none.
json outcome_error(const Status& status) {
  return status ? json(nullptr) : error_json(status)["error"];
}

}  // namespace

void add_source_routes(Router& router, ApiContext& ctx) {
  sources::SourceManager& manager = ctx.sources;
  service::Engine& engine = ctx.engine;
  const std::string sources_route = R"(/v1/collections/([^/]+)/sources)";
  const std::string source_route = R"(/v1/collections/([^/]+)/sources/([^/]+))";

  router.add("GET", sources_route, "/v1/collections/{name}/sources",
             [&manager](const httplib::Request& req, httplib::Response& res) {
               auto all = manager.list(req.matches[1]);
               if (!all) return send_error(res, all.status());
               json list = json::array();
               for (const auto& v : *all) list.push_back(source_json(v));
               send_json(res, 200, {{"sources", list}});
             });

  router.add("POST", sources_route, "/v1/collections/{name}/sources",
             [&manager, &engine](const httplib::Request& req, httplib::Response& res) {
               auto body = parse_json_body(req, engine.config().max_json_bytes);
               if (!body) return send_error(res, body.status());
               auto spec = spec_from(*body);
               if (!spec) return send_error(res, spec.status());
               auto added = manager.add(req.matches[1], std::move(*spec), /*from_api=*/true);
               if (!added) return send_error(res, added.status());
               send_json(res, 201, source_json(*added));
             });

  router.add("GET", source_route, "/v1/collections/{name}/sources/{id}",
             [&manager](const httplib::Request& req, httplib::Response& res) {
               auto found = manager.get(req.matches[1], req.matches[2]);
               if (!found) return send_error(res, found.status());
               send_json(res, 200, source_json(*found));
             });

  router.add("DELETE", source_route, "/v1/collections/{name}/sources/{id}",
             [&manager](const httplib::Request& req, httplib::Response& res) {
               const std::string keep = req.get_param_value("keep_documents");
               if (!keep.empty() && keep != "true" && keep != "false") {
                 return send_error(res, error(ErrorCode::kInvalidArgument, "keep_documents must be true or false"));
               }
               Status removed = manager.remove(req.matches[1], req.matches[2], keep != "true");
               if (!removed) return send_error(res, removed);
               send_json(res, 200, {{"deleted", std::string(req.matches[2])}});
             });

  // Every source of the collection: 202 with each source's state (follow GET …/sources), or with
  // ?wait=true 200 once all have run, with each run's report. A source that is already syncing
  // or fails is reported in its entry; it does not fail the request.
  router.add("POST", R"(/v1/collections/([^/]+)/sync)", "/v1/collections/{name}/sync",
             [&manager](const httplib::Request& req, httplib::Response& res) {
               const std::string collection = req.matches[1];
               const std::string wait = req.get_param_value("wait");
               if (!wait.empty() && wait != "true" && wait != "false") {
                 return send_error(res, error(ErrorCode::kInvalidArgument, "wait must be true or false"));
               }
               auto outcomes = wait == "true" ? manager.sync_all(collection, "api")
                                              : manager.start_sync_all(collection, "api");
               if (!outcomes) return send_error(res, outcomes.status());
               json entries = json::array();
               for (const auto& outcome : *outcomes) {
                 json entry = {{"id", outcome.id}, {"error", outcome_error(outcome.status)}};
                 if (wait == "true") {
                   entry["report"] = outcome.report ? report_json(*outcome.report) : json(nullptr);
                 } else {
                   entry["started"] = outcome.status.is_ok();
                   auto now = manager.get(collection, outcome.id);
                   entry["source"] = now ? source_json(*now) : json(nullptr);
                 }
                 entries.push_back(std::move(entry));
               }
               send_json(res, wait == "true" ? 200 : 202, {{"collection", collection}, {"sources", entries}});
             });

  // Starts a sync (202, follow it with GET …/sources/{id}); ?wait=true answers with the run's report.
  router.add("POST", source_route + "/sync", "/v1/collections/{name}/sources/{id}/sync",
             [&manager](const httplib::Request& req, httplib::Response& res) {
               const std::string collection = req.matches[1];
               const std::string id = req.matches[2];
               const std::string wait = req.get_param_value("wait");
               if (!wait.empty() && wait != "true" && wait != "false") {
                 return send_error(res, error(ErrorCode::kInvalidArgument, "wait must be true or false"));
               }
               if (wait == "true") {
                 auto report = manager.sync(collection, id, "api");
                 if (!report) return send_error(res, report.status());
                 return send_json(res, 200, report_json(*report));
               }
               if (Status started = manager.start_sync(collection, id, "api"); !started) {
                 return send_error(res, started);
               }
               auto now = manager.get(collection, id);
               if (!now) return send_error(res, now.status());
               send_json(res, 202, source_json(*now));
             });
}

}  // namespace kr::api
