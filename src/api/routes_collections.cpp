// /v1/collections: create, list, get, delete.
#include "api/authorization.h"
#include "api/http_util.h"
#include "api/json_mapping.h"
#include "api/originals.h"
#include "generate/grounding.h"
#include "parse/ocr_languages.h"

namespace kr::api {

void add_collection_routes(Router& router, ApiContext& ctx) {
  service::Engine& engine = ctx.engine;
  Authorization& authz = ctx.auth;

  router.add("GET", "/v1/collections", "/v1/collections", [&engine, &authz](const httplib::Request&, httplib::Response& res) {
    auto all = engine.list_collections();
    if (!all) return send_error(res, all.status());
    json list = json::array();
    for (const auto& info : *all) {
      if (!authz.can_read(info.name)) continue;  // only what the caller may read
      json item = to_json(info);
      item["visibility"] = authz.owners().owner_of(info.name).empty() ? "shared" : "private";
      list.push_back(std::move(item));
    }
    send_json(res, 200, {{"collections", list}});
  });

  router.add("POST", "/v1/collections", "/v1/collections", [&engine, &authz](const httplib::Request& req, httplib::Response& res) {
    auto body = parse_json_body(req, engine.config().max_json_bytes);
    if (!body) return send_error(res, body.status());
    auto name = required_string(*body, "name");
    if (!name) return send_error(res, name.status());
    // "visibility": "private" makes the caller its owner; "shared" (default) needs write on the name.
    const std::string visibility = body->contains("visibility") && (*body)["visibility"].is_string()
                                       ? (*body)["visibility"].get<std::string>()
                                       : "shared";
    if (visibility != "shared" && visibility != "private") {
      return send_error(res, error(ErrorCode::kInvalidArgument, "visibility must be 'shared' or 'private'"));
    }
    const auth::Principal& caller = authz.principal();
    if (visibility == "private" && (caller.kind != auth::PrincipalKind::kUser || !caller.may_own_private)) {
      return send_error(res, error(ErrorCode::kPermissionDenied,
                                   "private collections belong to signed-in users with a role; '" +
                                       caller.display_name + "' cannot own one"));
    }
    if (visibility == "shared") {
      if (Status allowed = authz.require(*name, auth::Permission::kWrite); !allowed) return send_error(res, allowed);
    }
    service::CollectionSettings settings = engine.default_settings();
    if (body->contains("language")) {
      auto language = required_string(*body, "language");
      if (!language) return send_error(res, language.status());
      settings.language = *language;
    }
    auto k1 = optional_double(*body, "bm25_k1", settings.bm25_k1, 0, 100);
    auto b = optional_double(*body, "bm25_b", settings.bm25_b, 0, 1);
    auto size = optional_int(*body, "chunk_max_tokens", settings.chunk_max_tokens, 16, 8192);
    auto overlap = optional_int(*body, "chunk_overlap_tokens", settings.chunk_overlap_tokens, 0, 4096);
    auto threshold = optional_double(*body, "answer_threshold", settings.answer_threshold, 0, 1);
    auto grounding = optional_double(*body, "grounding_threshold", settings.grounding_threshold, 0, 1);
    for (const Status& s :
         {k1.status(), b.status(), size.status(), overlap.status(), threshold.status(), grounding.status()}) {
      if (!s) return send_error(res, s);
    }
    settings.bm25_k1 = *k1;
    settings.bm25_b = *b;
    settings.chunk_max_tokens = *size;
    settings.chunk_overlap_tokens = *overlap;
    settings.answer_threshold = *threshold;
    settings.grounding_threshold = *grounding;
    if (body->contains("grounding_policy") && !(*body)["grounding_policy"].is_null()) {
      const json& policy = (*body)["grounding_policy"];
      if (!policy.is_string() || !generate::parse_grounding_policy(policy.get<std::string>())) {
        return send_error(res, error(ErrorCode::kInvalidArgument,
                                     "grounding_policy must be \"flag\", \"remove\" or \"replace\""));
      }
      settings.grounding_policy = policy.get<std::string>();
    }
    if (body->contains("ocr_languages") && !(*body)["ocr_languages"].is_null()) {
      const json& ocr = (*body)["ocr_languages"];
      if (!ocr.is_string()) {
        return send_error(res, error(ErrorCode::kInvalidArgument, "ocr_languages must be a string like \"eng+deu\""));
      }
      if (Status s = parse::check_ocr_languages(ocr.get<std::string>()); !s) return send_error(res, s);
      settings.ocr_languages = ocr.get<std::string>();
    }
    if (body->contains("description") && (*body)["description"].is_string()) {
      settings.description = (*body)["description"].get<std::string>();
    }
    // Retrieval defaults of this collection (a request's own fields still win).
    service::SearchRequest retrieval;
    json defaults = json::object();
    for (const auto& [from, to] : {std::pair{"search_mode", "mode"}, {"fusion", "fusion"}, {"hybrid_alpha", "alpha"}}) {
      if (body->contains(from)) defaults[to] = (*body)[from];
    }
    if (Status s = read_retrieval_options(defaults, retrieval); !s) return send_error(res, s);
    if (retrieval.mode) settings.search_mode = std::string(retrieve::search_mode_name(*retrieval.mode));
    if (retrieval.fusion) settings.fusion = std::string(retrieve::fusion_method_name(*retrieval.fusion));
    if (retrieval.alpha) settings.hybrid_alpha = *retrieval.alpha;
    // The owner is recorded first so the collection is never visible as shared, not even briefly.
    const bool claim = visibility == "private";
    if (claim && engine.get_collection(*name)) {
      return send_error(res, error(ErrorCode::kAlreadyExists, "collection '" + *name + "' already exists"));
    }
    if (claim) {
      if (Status claimed = authz.owners().claim(*name, caller.subject); !claimed) return send_error(res, claimed);
    }
    auto created = engine.create_collection(*name, settings);
    if (!created) {
      if (claim) (void)authz.owners().release(*name);
      return send_error(res, created.status());
    }
    res.set_header("Location", "/v1/collections/" + *name);
    json out = to_json(*created);
    out["visibility"] = visibility;
    send_json(res, 201, out);
  });

  router.add("GET", R"(/v1/collections/([^/]+))", "/v1/collections/{name}",
             [&engine](const httplib::Request& req, httplib::Response& res) {
               auto info = engine.get_collection(req.matches[1]);
               if (!info) return send_error(res, info.status());
               json body = to_json(*info);
               body["originals_bytes"] = originals_bytes(engine, info->name);  // uploaded files kept as they came
               send_json(res, 200, body);
             });

  router.add("DELETE", R"(/v1/collections/([^/]+))", "/v1/collections/{name}",
             [&engine, &authz, &ctx](const httplib::Request& req, httplib::Response& res) {
               const std::string name = req.matches[1];
               Status status = engine.delete_collection(name);
               if (!status) return send_error(res, status);
               // A later collection of the same name starts shared (or with its new owner).
               if (Status released = authz.owners().release(name); !released) return send_error(res, released);
               // Its sources go with it (a later collection of that name starts without any).
               if (Status forgot = ctx.sources.remove_collection(name); !forgot) return send_error(res, forgot);
               send_json(res, 200, {{"deleted", name}});
             });
}

}  // namespace kr::api
