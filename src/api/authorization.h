// The one authorization layer in front of every route. Each route the router registers has a
// rule (route template -> access); the pre-routing hook authenticates the caller and applies the
// rule before any body is read. Handlers whose collection is named in the body (OpenAI `model` /
// `index_name`, RAGEngine /index and /retrieve) or that list collections ask require() /
// can_read() here. A route without a rule is treated as global-admin-only (never open by
// accident) and reported at start-up and by `kaito-rag routes`.
// Thread-safe; the current principal is per request thread (httplib serves one request per
// worker thread at a time).
#pragma once

#include <httplib.h>

#include <memory>
#include <string>
#include <vector>

#include "auth/authenticator.h"
#include "auth/ownership.h"
#include "auth/permission.h"
#include "core/config.h"

namespace kr::api {

enum class Access {
  kPublic,         // no credential: probes, the OpenAPI document, /v1/auth/config
  kMetrics,        // public unless metrics_require_auth
  kAuthenticated,  // any valid credential; the handler filters lists or checks a body-named collection
  kCollection,     // `permission` on the collection named by the route's first placeholder
  kGlobalAdmin,    // admin on "*": key administration, snapshots
};

struct RouteRule {
  std::string method;
  std::string label;  // route template, e.g. "/v1/collections/{name}/search"
  Access access = Access::kGlobalAdmin;
  auth::Permission permission = auth::Permission::kAdmin;  // for kCollection
};

// Every rule the server knows, one per registered route.
const std::vector<RouteRule>& route_rules();
std::string access_name(Access access);

// Start-up checks (called before listening): a non-loopback `host` needs a credential source
// unless allow_unauthenticated; role map and ownership file must be readable.
Status check_auth_startup(const Config& config);

class Authorization {
 public:
  explicit Authorization(const Config& config);

  // Pre-routing: authenticates and applies the rule of `req`'s route. True when it answered
  // (401/403) and the request must not reach a handler.
  bool reject(const httplib::Request& req, httplib::Response& res);

  // The caller of the request being served on this thread.
  const auth::Principal& principal() const;
  // ok, or kPermissionDenied (403) / kNotFound (someone else's private collection: its name is not revealed).
  Status require(const std::string& collection, auth::Permission needed) const;
  bool can_read(const std::string& collection) const { return require(collection, auth::Permission::kRead).is_ok(); }
  Status require_global_admin() const;

  // Called by the router for every route it registers (before serving). A route without a rule
  // in route_rules() gets a global-admin-only one and an error in the log; returns false then.
  bool register_route(const std::string& method, const std::string& label);
  // What the router registered, with the rule applied to each (for `kaito-rag routes`).
  const std::vector<RouteRule>& registered() const { return registered_; }

  auth::Authenticator& authenticator() { return *authenticator_; }
  auth::OwnershipStore& owners() { return owners_; }
  const Config& config() const { return config_; }

 private:
  const RouteRule* match(const std::string& method, const std::string& path, std::string& collection) const;

  const Config& config_;
  std::vector<RouteRule> rules_;       // route_rules() plus closed rules for unlisted routes
  std::vector<RouteRule> registered_;  // in registration order
  std::unique_ptr<auth::Authenticator> authenticator_;
  auth::OwnershipStore owners_;
};

// <data_dir>/auth: key store and private-collection owners.
std::string auth_dir(const Config& config);
// Where the API keys ("api_keys") and collection owners ("owners") live: files under auth_dir,
// or with --store postgres the shared database (own small pool), so replicas agree.
std::shared_ptr<SharedText> auth_text(const Config& config, const std::string& name);
// The settings the authenticator is built from (also used by `kaito-rag keys`).
Result<auth::AuthSettings> auth_settings(const Config& config);

}  // namespace kr::api
