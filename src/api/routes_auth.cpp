// /v1/auth: the sign-in configuration a browser needs, who the caller is, and API key
// administration (global admins only; see route_rules()).
#include <ctime>

#include "api/authorization.h"
#include "api/http_util.h"
#include "api/json_mapping.h"

namespace kr::api {
namespace {

int64_t now_seconds() { return static_cast<int64_t>(std::time(nullptr)); }

json nullable_time(int64_t t) { return t == 0 ? json(nullptr) : json(t); }

json grants_json(const std::vector<auth::Grant>& grants) {
  json out = json::array();
  for (const auto& g : grants) out.push_back(auth::grant_string(g));
  return out;
}

json key_json(const auth::ApiKeyInfo& k, int64_t now) {
  const char* status = k.revoked_at != 0                          ? "revoked"
                       : k.expires_at != 0 && now >= k.expires_at ? "expired"
                                                                  : "active";
  return {{"id", k.id},
          {"name", k.name},
          {"scopes", grants_json(k.scopes)},
          {"status", status},
          {"created_at", k.created_at},
          {"expires_at", nullable_time(k.expires_at)},
          {"revoked_at", nullable_time(k.revoked_at)},
          {"rotated_at", nullable_time(k.rotated_at)},
          {"previous_secret_valid_until", k.previous_valid_until > now ? json(k.previous_valid_until) : json(nullptr)}};
}

// "scopes": ["docs:read", "*:write"] or "docs:read,*:write"
Result<std::vector<auth::Grant>> scopes_field(const json& body) {
  const auto it = body.find("scopes");
  if (it == body.end()) return error(ErrorCode::kInvalidArgument, "scopes is required, e.g. [\"docs:read\"]");
  if (it->is_string()) return auth::parse_grants(it->get<std::string>());
  if (!it->is_array()) return error(ErrorCode::kInvalidArgument, "scopes must be an array of '<collection>:<permission>'");
  std::vector<auth::Grant> grants;
  for (const auto& s : *it) {
    if (!s.is_string()) return error(ErrorCode::kInvalidArgument, "scopes must be an array of strings");
    auto grant = auth::parse_grant(s.get<std::string>());
    if (!grant) return grant.status();
    grants.push_back(*grant);
  }
  return grants;
}

// "expires_at" (Unix seconds) or "expires_in_days"; neither = never.
Result<int64_t> expiry_field(const json& body, int64_t now) {
  if (body.contains("expires_at") && !body["expires_at"].is_null()) {
    if (!body["expires_at"].is_number_integer()) return error(ErrorCode::kInvalidArgument, "expires_at must be Unix seconds");
    return body["expires_at"].get<int64_t>();
  }
  auto days = optional_int(body, "expires_in_days", 0, 0, 3650);
  if (!days) return days.status();
  return *days == 0 ? int64_t{0} : now + int64_t{*days} * 86400;
}

}  // namespace

void add_auth_routes(Router& router, ApiContext& ctx) {
  Authorization& authz = ctx.auth;
  const int64_t max_json = ctx.engine.config().max_json_bytes;

  router.add("GET", "/v1/auth/config", "/v1/auth/config", [&authz](const httplib::Request&, httplib::Response& res) {
    const Config& c = authz.config();
    const auth::AuthSettings& s = authz.authenticator().settings();
    json methods = json::array();
    if (!s.shared_keys.empty() || authz.authenticator().key_store().active_count(now_seconds()) > 0) {
      methods.push_back("api_key");
    }
    json oidc = nullptr;
    if (s.oidc) {
      methods.push_back("oidc");
      json scopes = json::array();
      std::string word;
      for (char ch : c.oidc_scopes + " ") {
        if (ch == ' ' || ch == ',') {
          if (!word.empty()) scopes.push_back(word);
          word.clear();
        } else {
          word += ch;
        }
      }
      oidc = {{"issuer", c.oidc_issuer},
              {"audience", c.oidc_audience},
              {"client_id", c.oidc_client_id.empty() ? json(nullptr) : json(c.oidc_client_id)},
              {"scopes", scopes},
              {"redirect_uri", c.oidc_redirect_uri.empty() ? json(nullptr) : json(c.oidc_redirect_uri)}};
    }
    send_json(res, 200, {{"auth_enabled", authz.authenticator().enabled()}, {"methods", methods}, {"oidc", oidc}});
  });

  router.add("GET", "/v1/auth/whoami", "/v1/auth/whoami", [&authz](const httplib::Request&, httplib::Response& res) {
    const auth::Principal& p = authz.principal();
    static const char* kinds[] = {"anonymous", "shared_key", "api_key", "user"};
    send_json(res, 200, {{"subject", p.subject},
                         {"name", p.display_name},
                         {"kind", kinds[static_cast<int>(p.kind)]},
                         {"grants", grants_json(p.grants)},
                         {"superuser", p.superuser},
                         {"global_admin", auth::is_global_admin(p)},
                         {"may_own_private", p.may_own_private}});
  });

  router.add("GET", "/v1/auth/keys", "/v1/auth/keys", [&authz](const httplib::Request&, httplib::Response& res) {
    auto keys = authz.authenticator().key_store().list();
    if (!keys) return send_error(res, keys.status());
    const int64_t now = now_seconds();
    json list = json::array();
    for (const auto& k : *keys) list.push_back(key_json(k, now));
    send_json(res, 200, {{"keys", list}});
  });

  router.add("POST", "/v1/auth/keys", "/v1/auth/keys", [&authz, max_json](const httplib::Request& req, httplib::Response& res) {
    auto body = parse_json_body(req, max_json);
    if (!body) return send_error(res, body.status());
    auto name = required_string(*body, "name");
    if (!name) return send_error(res, name.status());
    auto scopes = scopes_field(*body);
    if (!scopes) return send_error(res, scopes.status());
    const int64_t now = now_seconds();
    auto expires = expiry_field(*body, now);
    if (!expires) return send_error(res, expires.status());
    auto created = authz.authenticator().key_store().create(*name, *scopes, *expires, now);
    if (!created) return send_error(res, created.status());
    res.set_header("Location", "/v1/auth/keys");
    send_json(res, 201, {{"key", key_json(created->info, now)}, {"secret", created->secret}});
  });

  router.add("POST", R"(/v1/auth/keys/([^/]+)/rotate)", "/v1/auth/keys/{name}/rotate",
             [&authz, max_json](const httplib::Request& req, httplib::Response& res) {
               json body = json::object();
               if (!req.body.empty()) {
                 auto parsed = parse_json_body(req, max_json);
                 if (!parsed) return send_error(res, parsed.status());
                 body = *parsed;
               }
               auto grace = optional_int(body, "grace_seconds", 0, 0, 30 * 86400);
               if (!grace) return send_error(res, grace.status());
               const int64_t now = now_seconds();
               auto rotated = authz.authenticator().key_store().rotate(req.matches[1], *grace, now);
               if (!rotated) return send_error(res, rotated.status());
               send_json(res, 200, {{"key", key_json(rotated->info, now)}, {"secret", rotated->secret}});
             });

  router.add("DELETE", R"(/v1/auth/keys/([^/]+))", "/v1/auth/keys/{name}",
             [&authz](const httplib::Request& req, httplib::Response& res) {
               const std::string name = req.matches[1];
               Status revoked = authz.authenticator().key_store().revoke(name, now_seconds());
               if (!revoked) return send_error(res, revoked);
               send_json(res, 200, {{"revoked", name}});
             });
}

}  // namespace kr::api
