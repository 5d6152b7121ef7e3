// /v1/conversations: the web UI's chat history, kept per user (service/conversations.h).
#include <memory>

#include "api/authorization.h"
#include "api/http_util.h"
#include "api/json_mapping.h"
#include "core/text.h"
#include "service/conversations.h"

namespace kr::api {
namespace {

// The user a conversation belongs to: the authenticated principal's stable subject
// ("user:<iss>#<sub>", "key:<name>"); each shared key (--api-keys) by a hash prefix of the
// key, since they all share one principal; one local user when auth is off.
std::string request_principal(const Authorization& authz, const httplib::Request& req) {
  const auth::Principal& principal = authz.principal();
  if (principal.kind == auth::PrincipalKind::kAnonymous) return "local";
  if (principal.kind != auth::PrincipalKind::kSharedKey) return principal.subject;
  const std::string header = req.get_header_value("Authorization");
  const size_t space = header.find(' ');
  const std::string token(trim(space == std::string::npos ? header : header.substr(space + 1)));
  return "shared-key:" + sha256_hex(token).substr(0, 16);
}

json to_json(const service::ConversationRecord& c) {
  return {{"id", c.id},
          {"title", c.title},
          {"collection", c.collection},
          {"created_at", c.created_at},
          {"updated_at", c.updated_at},
          {"turn_count", c.turn_count}};
}

json to_json(const service::TurnRecord& t) {
  json details = t.details.empty() ? json(nullptr) : json::parse(t.details, nullptr, false);
  if (details.is_discarded()) details = nullptr;
  return {{"seq", t.seq}, {"role", t.role}, {"content", t.content}, {"details", details}, {"created_at", t.created_at}};
}

Result<std::string> optional_title(const json& body) {
  if (!body.contains("title") || body["title"].is_null()) return std::string();
  if (!body["title"].is_string()) return error(ErrorCode::kInvalidArgument, "title must be a string");
  return body["title"].get<std::string>();
}

Result<std::vector<service::TurnRecord>> turns_field(const json& body) {
  const auto it = body.find("turns");
  if (it == body.end() || !it->is_array()) {
    return error(ErrorCode::kInvalidArgument, "turns must be a list of {role, content, details} objects");
  }
  std::vector<service::TurnRecord> turns;
  for (const json& t : *it) {
    if (!t.is_object() || !t.contains("role") || !t["role"].is_string() || !t.contains("content") ||
        !t["content"].is_string()) {
      return error(ErrorCode::kInvalidArgument, "each turn needs a string 'role' and a string 'content'");
    }
    service::TurnRecord turn;
    turn.role = t["role"].get<std::string>();
    turn.content = t["content"].get<std::string>();
    if (const auto d = t.find("details"); d != t.end() && !d->is_null()) {
      if (!d->is_object()) return error(ErrorCode::kInvalidArgument, "a turn's details must be a JSON object");
      turn.details = d->dump(-1, ' ', false, json::error_handler_t::replace);
    }
    turns.push_back(std::move(turn));
  }
  return turns;
}

}  // namespace

void add_conversation_routes(Router& router, ApiContext& ctx) {
  service::Engine& engine = ctx.engine;
  Authorization& authz = ctx.auth;
  auto conversations = std::make_shared<service::Conversations>(engine.config(), &engine);
  const std::string one = R"(/v1/conversations/([^/]+))";

  router.add("GET", "/v1/conversations", "/v1/conversations",
             [&engine, &authz, conversations](const httplib::Request& req, httplib::Response& res) {
               auto offset = query_int(req, "offset", 0, 0, INT64_MAX);
               auto limit = query_int(req, "limit", 50, 1, 500);
               if (!offset) return send_error(res, offset.status());
               if (!limit) return send_error(res, limit.status());
               int64_t total = 0;
               auto list = conversations->list(request_principal(authz, req), *offset, *limit, &total);
               if (!list) return send_error(res, list.status());
               json items = json::array();
               for (const auto& c : *list) items.push_back(to_json(c));
               send_json(res, 200, {{"conversations", items}, {"total", total}, {"offset", *offset}, {"limit", *limit}});
             });

  router.add("POST", "/v1/conversations", "/v1/conversations",
             [&engine, &authz, conversations](const httplib::Request& req, httplib::Response& res) {
               auto body = parse_json_body(req, engine.config().max_json_bytes);
               if (!body) return send_error(res, body.status());
               auto collection = required_string(*body, "collection");
               if (!collection) return send_error(res, collection.status());
               auto title = optional_title(*body);
               if (!title) return send_error(res, title.status());
               auto created = conversations->create(request_principal(authz, req), *title, *collection);
               if (!created) return send_error(res, created.status());
               res.set_header("Location", "/v1/conversations/" + created->id);
               send_json(res, 201, to_json(*created));
             });

  router.add("GET", one, "/v1/conversations/{id}",
             [&engine, &authz, conversations](const httplib::Request& req, httplib::Response& res) {
               auto found = conversations->get(request_principal(authz, req), req.matches[1]);
               if (!found) return send_error(res, found.status());
               json body = to_json(found->conversation);
               json turns = json::array();
               for (const auto& t : found->turns) turns.push_back(to_json(t));
               body["turns"] = std::move(turns);
               send_json(res, 200, body);
             });

  router.add("PATCH", one, "/v1/conversations/{id}",
             [&engine, &authz, conversations](const httplib::Request& req, httplib::Response& res) {
               auto body = parse_json_body(req, engine.config().max_json_bytes);
               if (!body) return send_error(res, body.status());
               auto title = required_string(*body, "title");
               if (!title) return send_error(res, title.status());
               auto renamed = conversations->rename(request_principal(authz, req), req.matches[1], *title);
               if (!renamed) return send_error(res, renamed.status());
               send_json(res, 200, to_json(*renamed));
             });

  router.add("DELETE", one, "/v1/conversations/{id}",
             [&engine, &authz, conversations](const httplib::Request& req, httplib::Response& res) {
               const std::string id = req.matches[1];
               Status status = conversations->remove(request_principal(authz, req), id);
               if (!status) return send_error(res, status);
               send_json(res, 200, {{"deleted", id}});
             });

  router.add("POST", one + "/turns", "/v1/conversations/{id}/turns",
             [&engine, &authz, conversations](const httplib::Request& req, httplib::Response& res) {
               auto body = parse_json_body(req, engine.config().max_json_bytes);
               if (!body) return send_error(res, body.status());
               auto turns = turns_field(*body);
               if (!turns) return send_error(res, turns.status());
               std::optional<int64_t> replace_from;
               if (body->contains("replace_from") && !(*body)["replace_from"].is_null()) {
                 if (!(*body)["replace_from"].is_number_integer()) {
                   return send_error(res, error(ErrorCode::kInvalidArgument, "replace_from must be an integer"));
                 }
                 replace_from = (*body)["replace_from"].get<int64_t>();
               }
               auto added = conversations->append(request_principal(authz, req), req.matches[1],
                                                  std::move(*turns), replace_from);
               if (!added) return send_error(res, added.status());
               json items = json::array();
               for (const auto& t : *added) items.push_back(to_json(t));
               send_json(res, 200, {{"turns", items}});
             });
}

}  // namespace kr::api
