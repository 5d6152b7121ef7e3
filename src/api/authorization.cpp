#include "api/authorization.h"

#include <ctime>
#include <sstream>

#include "api/http_util.h"
#include "core/log.h"
#include "store/pg_shared_text.h"

namespace kr::api {
namespace {

using auth::Permission;

// Per request thread; see the header.
thread_local auth::Principal t_principal;

const auth::Principal& anonymous() {
  static const auth::Principal nobody{auth::PrincipalKind::kAnonymous, "anonymous", "anonymous", {}, false, false};
  return nobody;
}

std::vector<std::string> segments(std::string_view path) {
  std::vector<std::string> out;
  size_t start = 1;  // paths start with '/'
  while (start <= path.size()) {
    size_t end = path.find('/', start);
    if (end == std::string_view::npos) end = path.size();
    out.emplace_back(path.substr(start, end - start));
    start = end + 1;
  }
  return out;
}

bool is_loopback(const std::string& host) {
  return host == "localhost" || host == "::1" || host.rfind("127.", 0) == 0;
}

}  // namespace

const std::vector<RouteRule>& route_rules() {
  using A = Access;
  static const std::vector<RouteRule> rules = {
      // Probes and self-description.
      {"GET", "/healthz", A::kPublic},
      {"GET", "/readyz", A::kPublic},
      {"GET", "/health", A::kPublic},  // KAITO RAGEngine's probe
      {"GET", "/openapi.json", A::kPublic},
      {"GET", "/metrics", A::kMetrics},
      {"GET", "/v1/auth/config", A::kPublic},  // what a browser needs to sign in
      // Identity and keys.
      {"GET", "/v1/auth/whoami", A::kAuthenticated},
      {"GET", "/v1/auth/keys", A::kGlobalAdmin},
      {"POST", "/v1/auth/keys", A::kGlobalAdmin},
      {"POST", "/v1/auth/keys/{name}/rotate", A::kGlobalAdmin},
      {"DELETE", "/v1/auth/keys/{name}", A::kGlobalAdmin},
      // Collections: listing is filtered, creation decides private vs shared in the handler.
      {"GET", "/v1/collections", A::kAuthenticated},
      {"POST", "/v1/collections", A::kAuthenticated},
      {"GET", "/v1/collections/{name}", A::kCollection, Permission::kRead},
      {"DELETE", "/v1/collections/{name}", A::kCollection, Permission::kAdmin},
      {"POST", "/v1/collections/{name}/documents", A::kCollection, Permission::kWrite},
      {"GET", "/v1/collections/{name}/documents", A::kCollection, Permission::kRead},
      {"GET", "/v1/collections/{name}/documents/{doc_id}", A::kCollection, Permission::kRead},
      {"DELETE", "/v1/collections/{name}/documents/{doc_id}", A::kCollection, Permission::kWrite},
      {"GET", "/v1/collections/{name}/jobs/{job_id}", A::kCollection, Permission::kRead},
      {"POST", "/v1/collections/{name}/search", A::kCollection, Permission::kRead},
      {"POST", "/v1/collections/{name}/ask", A::kCollection, Permission::kRead},
      // OpenAI-compatible: `model` / `index_name` checked in the handler, /v1/models filtered.
      {"POST", "/v1/chat/completions", A::kAuthenticated},
      {"GET", "/v1/models", A::kAuthenticated},
      {"POST", "/v1/embeddings", A::kAuthenticated},
      // KAITO RAGEngine: body-named indexes checked in the handler, /indexes filtered.
      {"POST", "/index", A::kAuthenticated},
      {"GET", "/indexes", A::kAuthenticated},
      {"GET", "/indexes/{index_name}/documents", A::kCollection, Permission::kRead},
      {"POST", "/indexes/{index_name}/documents", A::kCollection, Permission::kWrite},
      {"POST", "/indexes/{index_name}/documents/delete", A::kCollection, Permission::kWrite},
      {"DELETE", "/indexes/{index_name}", A::kCollection, Permission::kAdmin},
      // Snapshots read and write files shared by every collection, private ones included.
      {"POST", "/persist/{index_name}", A::kGlobalAdmin},
      {"POST", "/load/{index_name}", A::kGlobalAdmin},
      {"POST", "/retrieve", A::kAuthenticated},
      // Kept originals of uploaded documents (the UI's "Open original" and PDF pages).
      {"GET", "/v1/collections/{name}/documents/{doc_id}/original", A::kCollection, Permission::kRead},
      // Document sources (routes_sources.cpp): reading their state needs read, changing them write.
      {"GET", "/v1/collections/{name}/sources", A::kCollection, Permission::kRead},
      {"POST", "/v1/collections/{name}/sources", A::kCollection, Permission::kWrite},
      {"GET", "/v1/collections/{name}/sources/{id}", A::kCollection, Permission::kRead},
      {"DELETE", "/v1/collections/{name}/sources/{id}", A::kCollection, Permission::kWrite},
      {"POST", "/v1/collections/{name}/sources/{id}/sync", A::kCollection, Permission::kWrite},
      {"POST", "/v1/collections/{name}/sync", A::kCollection, Permission::kWrite},
      // Conversations belong to the caller (the handlers scope them by principal).
      {"GET", "/v1/conversations", A::kAuthenticated},
      {"POST", "/v1/conversations", A::kAuthenticated},
      {"GET", "/v1/conversations/{id}", A::kAuthenticated},
      {"PATCH", "/v1/conversations/{id}", A::kAuthenticated},
      {"DELETE", "/v1/conversations/{id}", A::kAuthenticated},
      {"POST", "/v1/conversations/{id}/turns", A::kAuthenticated},
      // The web UI's static files: public, the page asks for a credential itself.
      {"GET", "/", A::kPublic},
      {"GET", "/index.html", A::kPublic},
      {"GET", "/assets/{file}", A::kPublic},
      {"GET", "/favicon.svg", A::kPublic},
  };
  return rules;
}

std::string access_name(Access access) {
  switch (access) {
    case Access::kPublic: return "public";
    case Access::kMetrics: return "metrics";
    case Access::kAuthenticated: return "authenticated";
    case Access::kCollection: return "collection";
    case Access::kGlobalAdmin: return "global-admin";
  }
  return "global-admin";
}

std::string auth_dir(const Config& config) { return config.data_dir + "/auth"; }

std::shared_ptr<SharedText> auth_text(const Config& config, const std::string& name) {
  if (config.store == "postgres") {
    store::PgOptions options;
    options.url = config.pg_url;
    options.max_connections = 2;  // a few small reads per second at most (PgSharedText's recheck)
    return std::make_shared<store::PgSharedText>(std::make_shared<store::PgPool>(std::move(options)), name);
  }
  return std::make_shared<FileSharedText>(auth_dir(config), name + ".json", name + ".lock");
}

Result<auth::AuthSettings> auth_settings(const Config& config) {
  auth::AuthSettings s;
  s.shared_keys = config.api_keys;
  s.key_store_dir = auth_dir(config);
  s.key_store_text = auth_text(config, "api_keys");
  s.oidc = !config.oidc_issuer.empty();
  s.policy.issuer = config.oidc_issuer;
  s.policy.audiences = config.oidc_audience;
  s.policy.clock_skew_seconds = config.oidc_clock_skew_seconds;
  s.policy.roles_claim = config.oidc_roles_claim;
  s.jwks.issuer = config.oidc_issuer;
  s.jwks.jwks_url = config.oidc_jwks_url;
  s.jwks.jwks_file = config.oidc_jwks_file;
  s.jwks.min_refresh_seconds = config.oidc_jwks_min_refresh_seconds;
  auto roles = auth::parse_role_map(config.oidc_role_map);
  if (!roles) return error(ErrorCode::kInvalidArgument, "oidc_role_map: " + roles.status().message());
  s.roles = *roles;
  s.private_collections = config.private_collections;
  return s;
}

Status check_auth_startup(const Config& config) {
  auto settings = auth_settings(config);
  if (!settings) return settings.status();
  auth::OwnershipStore owners(auth_text(config, "owners"));
  KR_RETURN_IF_ERROR(owners.load());
  auth::ApiKeyStore keys(auth_text(config, "api_keys"));
  if (auto listed = keys.list(); !listed) return listed.status();
  const bool any_credential = !config.api_keys.empty() || settings->oidc ||
                              keys.active_count(static_cast<int64_t>(std::time(nullptr))) > 0;
  if (!any_credential && !is_loopback(config.host)) {
    if (!config.allow_unauthenticated) {
      return error(ErrorCode::kFailedPrecondition,
                   "refusing to serve " + config.host + " without authentication: anyone who can reach it could read "
                   "and change every document. Configure --api-keys, --oidc-issuer (with --oidc-audience) or create "
                   "a key with 'kaito-rag keys create', or pass --allow-unauthenticated if a network policy "
                   "protects this port");
    }
    log::warn("serving without authentication on a non-loopback address (--allow-unauthenticated)",
              {{"host", config.host}});
  }
  return Status::ok();
}

Authorization::Authorization(const Config& config)
    : config_(config), rules_(route_rules()), owners_(auth_text(config, "owners")) {
  auto settings = auth_settings(config);
  if (!settings) {
    // check_auth_startup() refuses this configuration; if we get here anyway, admit nobody.
    log::error("authorization is misconfigured; every request will be refused", {{"error", settings.status().message()}});
    auth::AuthSettings closed;
    closed.key_store_dir = auth_dir(config);
    closed.oidc = true;  // enabled, with no issuer that could ever match
    settings = closed;
  }
  authenticator_ = std::make_unique<auth::Authenticator>(std::move(*settings));
  if (Status loaded = owners_.load(); !loaded) log::error("private collection owners", {{"error", loaded.message()}});
}

const auth::Principal& Authorization::principal() const { return t_principal; }

const RouteRule* Authorization::match(const std::string& method, const std::string& path,
                                      std::string& collection) const {
  const std::string verb = method == "HEAD" ? "GET" : method;
  const std::vector<std::string> parts = segments(path);
  const RouteRule* best = nullptr;
  int best_literals = -1;
  for (const auto& rule : rules_) {
    if (rule.method != verb) continue;
    const std::vector<std::string> pattern = segments(rule.label);
    if (pattern.size() != parts.size()) continue;
    int literals = 0;
    std::string first_placeholder;
    bool ok = true;
    for (size_t i = 0; i < parts.size() && ok; ++i) {
      const bool placeholder = pattern[i].size() > 2 && pattern[i].front() == '{' && pattern[i].back() == '}';
      if (placeholder) {
        ok = !parts[i].empty();
        if (first_placeholder.empty()) first_placeholder = parts[i];
      } else {
        ok = pattern[i] == parts[i];
        ++literals;
      }
    }
    if (ok && literals > best_literals) {
      best = &rule;
      best_literals = literals;
      collection = first_placeholder;
    }
  }
  return best;
}

bool Authorization::reject(const httplib::Request& req, httplib::Response& res) {
  std::string collection;
  const RouteRule* rule = match(req.method, req.path, collection);
  // No rule: no such route either; a credential is still needed before the 404.
  const Access access = rule ? rule->access : Access::kAuthenticated;
  t_principal = anonymous();
  if (access == Access::kPublic || (access == Access::kMetrics && !config_.metrics_require_auth)) return false;

  auto principal =
      authenticator_->authenticate(req.get_header_value("Authorization"), static_cast<int64_t>(std::time(nullptr)));
  if (!principal) {
    send_error(res, principal.status());
    return true;
  }
  t_principal = std::move(*principal);
  Status allowed;
  if (access == Access::kCollection) allowed = require(collection, rule->permission);
  if (access == Access::kGlobalAdmin) allowed = require_global_admin();
  if (!allowed) {
    send_error(res, allowed);
    return true;
  }
  return false;
}

Status Authorization::require(const std::string& collection, Permission needed) const {
  const auth::Principal& p = principal();
  const std::string owner = owners_.owner_of(collection);
  if (auth::allows(p, collection, owner, needed)) return Status::ok();
  if (!owner.empty()) return error(ErrorCode::kNotFound, "collection '" + collection + "' does not exist");
  return error(ErrorCode::kPermissionDenied, "'" + p.display_name + "' lacks " +
                                                 std::string(auth::permission_name(needed)) + " permission on collection '" +
                                                 collection + "'");
}

Status Authorization::require_global_admin() const {
  const auth::Principal& p = principal();
  if (auth::is_global_admin(p)) return Status::ok();
  return error(ErrorCode::kPermissionDenied, "'" + p.display_name + "' lacks admin permission on '*' (every collection)");
}

bool Authorization::register_route(const std::string& method, const std::string& label) {
  for (const auto& rule : rules_) {
    if (rule.method == method && rule.label == label) {
      registered_.push_back(rule);
      return true;
    }
  }
  log::error("route without an authorization rule: only global admins may call it; add it to route_rules() "
             "in src/api/authorization.cpp",
             {{"method", method}, {"route", label}});
  rules_.push_back({method, label, Access::kGlobalAdmin, Permission::kAdmin});
  registered_.push_back(rules_.back());
  return false;
}

}  // namespace kr::api
