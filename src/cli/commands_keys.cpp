// kaito-rag keys create|list|revoke|rotate (the data directory's API key store, shared with a
// running server, which picks changes up without a restart) and kaito-rag routes.
#include <ctime>
#include <iostream>
#include <nlohmann/json.hpp>

#include "api/authorization.h"
#include "api/server.h"
#include "auth/api_key_store.h"
#include "cli/commands.h"
#include "service/engine.h"

namespace kr::cli {
namespace {

using nlohmann::json;

int64_t now_seconds() { return static_cast<int64_t>(std::time(nullptr)); }

std::string scopes_text(const std::vector<auth::Grant>& grants) {
  std::string out;
  for (const auto& g : grants) out += (out.empty() ? "" : ",") + auth::grant_string(g);
  return out;
}

json key_json(const auth::ApiKeyInfo& k) {
  return {{"id", k.id},          {"name", k.name},           {"scopes", scopes_text(k.scopes)},
          {"created_at", k.created_at}, {"expires_at", k.expires_at}, {"revoked_at", k.revoked_at},
          {"rotated_at", k.rotated_at}};
}

int fail(const Status& status) {
  std::cerr << "kaito-rag: " << status.message() << "\n";
  return 1;
}

int print_secret(const auth::NewApiKey& key, bool as_json, const char* verb) {
  if (as_json) {
    std::cout << json{{"key", key_json(key.info)}, {"secret", key.secret}}.dump() << "\n";
  } else {
    std::cout << verb << " key '" << key.info.name << "' (" << scopes_text(key.info.scopes) << ").\n"
              << "Secret (shown once; send it as 'Authorization: Bearer <secret>'):\n"
              << key.secret << "\n";
  }
  return 0;
}

}  // namespace

int keys(const Config& config, const KeysArgs& args) {
  auth::ApiKeyStore store(api::auth_text(config, "api_keys"));
  const int64_t now = now_seconds();
  if (args.action == "create") {
    auto scopes = auth::parse_grants(args.scopes);
    if (!scopes) return fail(scopes.status());
    const int64_t expires = args.expires_in_days > 0 ? now + args.expires_in_days * 86400 : 0;
    auto created = store.create(args.name, *scopes, expires, now);
    if (!created) return fail(created.status());
    return print_secret(*created, args.json, "Created");
  }
  if (args.action == "rotate") {
    auto rotated = store.rotate(args.name, args.grace_seconds, now);
    if (!rotated) return fail(rotated.status());
    return print_secret(*rotated, args.json, "Rotated");
  }
  if (args.action == "revoke") {
    if (Status s = store.revoke(args.name, now); !s) return fail(s);
    std::cout << "Revoked key '" << args.name << "'.\n";
    return 0;
  }
  auto listed = store.list();
  if (!listed) return fail(listed.status());
  if (args.json) {
    json out = json::array();
    for (const auto& k : *listed) out.push_back(key_json(k));
    std::cout << out.dump() << "\n";
    return 0;
  }
  for (const auto& k : *listed) {
    const char* state = k.revoked_at ? "revoked" : (k.expires_at && now >= k.expires_at) ? "expired" : "active";
    std::cout << k.name << "\t" << state << "\t" << scopes_text(k.scopes) << "\texpires "
              << (k.expires_at ? std::to_string(k.expires_at) : "never") << "\n";
  }
  return 0;
}

int routes(const Config& config, const std::string& self, bool as_json) {
  // Registration only: the engine is not opened and nothing is bound.
  service::Engine engine(config, self);
  api::Server server(engine);
  const auto lines = server.routes();
  if (as_json) {
    json out = json::array();
    for (const auto& line : lines) {
      const size_t a = line.find(' '), b = line.find(' ', a + 1);
      out.push_back({{"method", line.substr(0, a)}, {"route", line.substr(a + 1, b - a - 1)}, {"access", line.substr(b + 1)}});
    }
    std::cout << out.dump() << "\n";
  } else {
    for (const auto& line : lines) std::cout << line << "\n";
  }
  return 0;
}

}  // namespace kr::cli
