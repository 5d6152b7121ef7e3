// /v1/collections/{name}/search and /ask (JSON or Server-Sent Events).
#include <chrono>
#include <optional>

#include "api/http_util.h"
#include "api/json_mapping.h"
#include "core/log.h"

namespace kr::api {
namespace {

struct QueryFields {
  std::string text;
  int top_k = 8;
  MetadataFilter filter;
  bool stream = false;
  service::SearchRequest retrieval;  // mode, fusion, alpha, candidates
  std::vector<service::ChatTurn> history;  // /ask only: earlier turns of a conversation
};

// "history": [{"role": "user"|"assistant", "content": "..."}], oldest first.
Result<std::vector<service::ChatTurn>> history_field(const json& body) {
  std::vector<service::ChatTurn> turns;
  const auto it = body.find("history");
  if (it == body.end() || it->is_null()) return turns;
  if (!it->is_array()) return error(ErrorCode::kInvalidArgument, "history must be a list of {role, content} objects");
  for (const json& turn : *it) {
    const bool valid = turn.is_object() && turn.contains("role") && turn["role"].is_string() &&
                       turn.contains("content") && turn["content"].is_string() &&
                       (turn["role"] == "user" || turn["role"] == "assistant");
    if (!valid) {
      return error(ErrorCode::kInvalidArgument,
                   "each history entry must be {\"role\": \"user\" or \"assistant\", \"content\": string}");
    }
    turns.push_back({turn["role"].get<std::string>(), turn["content"].get<std::string>()});
  }
  return turns;
}

Result<QueryFields> query_fields(const json& body, const char* text_field, int default_top_k) {
  QueryFields fields;
  auto text = required_string(body, text_field);
  if (!text) return text.status();
  if (text->size() > 16384) return error(ErrorCode::kInvalidArgument, std::string(text_field) + " is longer than 16384 bytes");
  fields.text = *text;
  auto top_k = optional_int(body, "top_k", default_top_k, 1, 1000);
  if (!top_k) return top_k.status();
  fields.top_k = *top_k;
  auto filter = filter_from_json(body.contains("filter") ? body["filter"] : json());
  if (!filter) return filter.status();
  fields.filter = *filter;
  auto stream = optional_bool(body, "stream", false);
  if (!stream) return stream.status();
  fields.stream = *stream;
  KR_RETURN_IF_ERROR(read_retrieval_options(body, fields.retrieval));
  auto history = history_field(body);
  if (!history) return history.status();
  fields.history = std::move(*history);
  return fields;
}

}  // namespace

void add_query_routes(Router& router, ApiContext& ctx) {
  service::Engine& engine = ctx.engine;

  router.add("POST", R"(/v1/collections/([^/]+)/search)", "/v1/collections/{name}/search",
             [&engine](const httplib::Request& req, httplib::Response& res) {
               auto body = parse_json_body(req, engine.config().max_json_bytes);
               if (!body) return send_error(res, body.status());
               auto fields = query_fields(*body, "query", engine.config().default_top_k);
               if (!fields) return send_error(res, fields.status());
               service::SearchRequest request = fields->retrieval;
               request.query = fields->text;
               request.top_k = fields->top_k;
               request.filter = fields->filter;
               auto found = engine.search(req.matches[1], request);
               if (!found) return send_error(res, found.status());
               send_json(res, 200, to_json(*found, fields->text));
             });

  const std::atomic<bool>& stopping = ctx.stopping;
  ModelSlots& model_slots = ctx.model_slots;
  router.add("POST", R"(/v1/collections/([^/]+)/ask)", "/v1/collections/{name}/ask",
             [&engine, &stopping, &model_slots](const httplib::Request& req, httplib::Response& res) {
               auto body = parse_json_body(req, engine.config().max_json_bytes);
               if (!body) return send_error(res, body.status());
               auto fields = query_fields(*body, "question", engine.config().default_top_k);
               if (!fields) return send_error(res, fields.status());
               const std::string collection = req.matches[1];
               service::AskRequest request{fields->text, fields->top_k, fields->filter};
               request.mode = fields->retrieval.mode;
               if (engine.has_llm()) {
                 if (Status slot = model_slots.acquire_for_request(); !slot) return send_busy(res, slot);
               }
               // With history the question is a follow-up: answered as a chat turn (Engine::chat).
               std::optional<service::ChatAskRequest> follow_up;
               if (!fields->history.empty()) {
                 follow_up.emplace();
                 follow_up->history = fields->history;
                 follow_up->question = fields->text;
                 follow_up->top_k = fields->top_k;
                 follow_up->filter = fields->filter;
                 follow_up->mode = fields->retrieval.mode;
               }
               const auto answer_it = [&engine, collection, request, follow_up](const service::AnswerSink& sink) {
                 return follow_up ? engine.chat(collection, *follow_up, sink) : engine.ask(collection, request, sink);
               };
               if (!fields->stream) {
                 auto answer = answer_it({});
                 if (!answer) return send_error(res, answer.status());
                 return send_json(res, 200, to_json(*answer));
               }
               // Errors we can know before the stream starts keep their HTTP status.
               auto exists = engine.get_collection(collection);
               if (!exists) return send_error(res, exists.status());
               if (std::string_view(fields->text).find_first_not_of(" \t\r\n") == std::string_view::npos) {
                 return send_error(res, error(ErrorCode::kInvalidArgument, "question must not be empty"));
               }
               res.set_header("Cache-Control", "no-cache");
               res.set_header("X-Accel-Buffering", "no");
               res.set_chunked_content_provider(
                   "text/event-stream", [&stopping, answer_it, collection](size_t, httplib::DataSink& sink) {
                     auto write = [&sink, &stopping](const std::string& event) {
                       return !stopping.load() && sink.write(event.data(), event.size());
                     };
                     auto answer = answer_it([&write](const std::string& delta) {
                       return write(sse_event("token", {{"delta", delta}}));
                     });
                     if (answer) {
                       write(sse_event("done", to_json(*answer)));
                     } else if (answer.status().code() == ErrorCode::kCancelled) {
                       // The client closed the stream (a UI's stop button): the model call was
                       // abandoned with it, so the model server stops generating.
                       log::info("answer stream cancelled by the client; generation stopped", {{"collection", collection}});
                     } else {
                       json payload = error_json(answer.status());
                       payload["error"]["status"] = http_status(answer.status().code());
                       write(sse_event("error", payload));
                     }
                     sink.done();
                     return true;
                   });
             });
}

}  // namespace kr::api
