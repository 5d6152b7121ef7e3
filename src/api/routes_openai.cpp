// OpenAI-compatible routes (and KAITO RAGEngine's chat contract):
//   POST /v1/chat/completions  RAG over a collection (index_name, or model = a collection name),
//                              else passthrough to the configured model; JSON or SSE
//   GET  /v1/models            the served model plus one entry per collection
//   POST /v1/embeddings        the configured embedding model (local encoder or remote)
// Checks and messages follow KAITO's RAGEngine (see docs/openai-compatibility.md).
#include <chrono>
#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <functional>
#include <thread>

#include "api/authorization.h"
#include "api/http_util.h"
#include "api/json_mapping.h"
#include "core/hex.h"
#include "core/log.h"
#include "core/text.h"
#include "generate/llm_client.h"
#include "generate/prompt.h"

namespace kr::api {
namespace {

constexpr const char* kNoLlmMessage =
    "InferenceService not configured. This RAGEngine instance only supports document retrieve via /retrieve API. "
    "To use chat completions, configure an InferenceService in the RAGEngine spec.";
constexpr const char* kExtractiveModel = "kaito-rag-extractive";

Status invalid(const std::string& message) { return error(ErrorCode::kInvalidArgument, message); }

void send_openai_error(httplib::Response& res, const Status& status, int http = 0) {
  send_json(res, http ? http : http_status(status.code()), openai_error_json(status));
  if (status.code() == ErrorCode::kUnauthenticated) res.set_header("WWW-Authenticate", "Bearer");
}

std::string completion_id() {
  return "chatcmpl-" + random_hex_id();
}

int64_t now_seconds() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

// Python-style truthiness of an optional field (KAITO rejects truthy tools/functions).
bool truthy(const json& body, const char* field) {
  const auto it = body.find(field);
  if (it == body.end() || it->is_null()) return false;
  if (it->is_boolean()) return it->get<bool>();
  if (it->is_array() || it->is_object() || it->is_string()) return !it->empty() && !(it->is_string() && it->get<std::string>().empty());
  if (it->is_number()) return it->get<double>() != 0;
  return true;
}

// The text of a message's content: a string, or a list of {"type": "text", "text"} parts.
Result<std::string> content_text(const json& content, const std::string& role) {
  if (content.is_string()) return content.get<std::string>();
  if (content.is_array()) {
    std::string text;
    for (const json& part : content) {
      const bool text_part = part.is_object() && part.contains("type") && part["type"] == "text" &&
                             part.contains("text") && part["text"].is_string();
      if (!text_part) {
        return invalid("Invalid request format: only text content parts are supported with retrieval (role '" + role +
                       "')");
      }
      if (!text.empty()) text += "\n";
      text += part["text"].get<std::string>();
    }
    return text;
  }
  return invalid("Invalid request format: the content of a '" + role + "' message must be a string or a list of "
                 "text parts");
}

// A validated RAG chat request.
struct RagChat {
  std::string collection;
  service::ChatAskRequest request;
  bool stream = false;
  bool include_usage = false;
};

// KAITO's steps 9-10: roles and contents, then the query = the user messages after the last
// assistant message (joined by blank lines), the history = everything before.
Status split_messages(const json& body, service::ChatAskRequest& out) {
  const auto it = body.find("messages");
  if (it == body.end() || !it->is_array() || it->empty()) {
    return invalid("Invalid request format: 'messages' must be a non-empty list of messages.");
  }
  std::vector<service::ChatTurn> turns;
  for (const json& m : *it) {
    if (!m.is_object() || !m.contains("role") || !m["role"].is_string()) {
      return invalid("Invalid request format: messages must contain 'role'.");
    }
    std::string role = m["role"].get<std::string>();
    const auto content = m.find("content");
    const bool missing = content == m.end() || content->is_null();
    if (role != "assistant" && missing) {
      return invalid("Invalid request format: messages must contain 'content' for role '" + role + "'.");
    }
    if (role != "user" && role != "system" && role != "assistant" && role != "developer") {
      return invalid("Invalid request format: role '" + role +
                     "' is not supported with retrieval (use system, developer, user or assistant).");
    }
    std::string text;
    if (!missing) {
      auto t = content_text(*content, role);
      if (!t) return t.status();
      text = std::move(*t);
    }
    if (role == "user" && trim(text).empty()) return invalid("Invalid request format: user messages must contain 'content'.");
    if (role == "developer") role = "system";
    turns.push_back({role, std::move(text)});
  }
  size_t first_query = turns.size();
  while (first_query > 0 && turns[first_query - 1].role != "assistant") --first_query;
  std::string query;
  std::vector<service::ChatTurn> history(turns.begin(), turns.begin() + static_cast<std::ptrdiff_t>(first_query));
  for (size_t i = first_query; i < turns.size(); ++i) {
    if (turns[i].role == "user") {
      if (!query.empty()) query += "\n\n";
      query += turns[i].content;
    } else {
      history.push_back(turns[i]);  // a system message after the last assistant turn
    }
  }
  if (trim(query).empty()) return invalid("There must be a user prompt since the latest assistant message.");
  out.history = std::move(history);
  out.question = std::move(query);
  return Status::ok();
}

Result<int> optional_positive(const json& body, const char* field) {
  const auto it = body.find(field);
  if (it == body.end() || it->is_null()) return 0;
  if (!it->is_number_integer() || it->get<int64_t>() < 1 || it->get<int64_t>() > 1'000'000) {
    return invalid(std::string("'") + field + "' must be a positive integer");
  }
  return static_cast<int>(it->get<int64_t>());
}

// Steps 2-5 of KAITO's checks; fills `collection` when the request asks for retrieval.
Status common_checks(const json& body, service::Engine& engine, std::string& collection) {
  if (truthy(body, "tools") || truthy(body, "functions")) return invalid("tools and functions are not supported.");
  if (const auto n = body.find("n"); n != body.end() && !n->is_null()) {
    if (!n->is_number_integer()) return invalid("'n' must be an integer");
    if (n->get<int64_t>() > 1) return invalid("n > 1 is not supported.");
  }
  if (const auto index = body.find("index_name"); index != body.end() && !index->is_null()) {
    if (!index->is_string()) return invalid("'index_name' must be a string");
    const std::string name = index->get<std::string>();
    if (!engine.get_collection(name)) return error(ErrorCode::kNotFound, "No such index: '" + name + "' exists.");
    collection = name;
  }
  if (const auto ratio = body.find("context_token_ratio"); ratio != body.end() && !ratio->is_null()) {
    if (!ratio->is_number()) return invalid("'context_token_ratio' must be a number");
    const double r = ratio->get<double>();
    if (r != 0 && (r < 0.2 || r > 0.8)) {
      return invalid("Invalid context_token_ratio: " + ratio->dump() + ". Must be between 0.2 and 0.8.");
    }
  }
  if (collection.empty()) {
    if (const auto model = body.find("model"); model != body.end() && model->is_string()) {
      const std::string name = model->get<std::string>();
      if (!name.empty() && service::valid_collection_name(name) && engine.get_collection(name)) collection = name;
    }
  }
  return Status::ok();
}

Result<RagChat> rag_request(const json& body, const std::string& collection, service::Engine& engine) {
  RagChat chat;
  chat.collection = collection;
  KR_RETURN_IF_ERROR(split_messages(body, chat.request));
  chat.request.top_k = engine.config().default_top_k;
  double ratio = 0.5;
  if (const auto r = body.find("context_token_ratio"); r != body.end() && r->is_number() && r->get<double>() != 0) {
    ratio = r->get<double>();
  }
  chat.request.sources_budget_ratio = ratio;
  auto max_tokens = optional_positive(body, "max_completion_tokens");
  if (!max_tokens) return max_tokens.status();
  if (*max_tokens == 0) max_tokens = optional_positive(body, "max_tokens");
  if (!max_tokens) return max_tokens.status();
  chat.request.max_tokens = *max_tokens;
  auto temperature = optional_double(body, "temperature", -1, 0, 2);
  if (!temperature) return invalid("'temperature' must be a number between 0 and 2");
  chat.request.temperature = *temperature;
  service::SearchRequest retrieval;  // extension: "mode": bm25 | dense | hybrid
  KR_RETURN_IF_ERROR(read_retrieval_options(body, retrieval));
  chat.request.mode = retrieval.mode;
  auto stream = optional_bool(body, "stream", false);
  if (!stream) return stream.status();
  chat.stream = *stream;
  if (const auto options = body.find("stream_options"); options != body.end() && options->is_object()) {
    const auto usage = options->find("include_usage");
    chat.include_usage = usage != options->end() && usage->is_boolean() && usage->get<bool>();
  }
  // Extension: a metadata filter on the retrieval, as in POST /retrieve.
  if (const auto filter = body.find("metadata_filter"); filter != body.end()) {
    auto parsed = filter_from_json(*filter);
    if (!parsed) return parsed.status();
    chat.request.filter = *parsed;
  }
  // Step 11: the conversation alone must fit the model's window.
  if (engine.has_llm()) {
    auto info = engine.model_info();
    if (!info) return info.status();
    std::vector<generate::ChatMessage> all;
    for (const auto& t : chat.request.history) all.push_back({t.role, t.content});
    all.push_back({"user", chat.request.question});
    if (generate::estimate_messages_tokens(all) > info->max_model_len) {
      return invalid("Prompt length exceeds context window.");
    }
  }
  return chat;
}

Status answer_status(const Status& s) {
  if (s.code() == ErrorCode::kResourceExhausted) {
    return invalid("Prompt length exceeds context window. " + s.message());
  }
  return s;
}

// One SSE payload in OpenAI's framing.
std::string data_event(const json& payload) { return sse_event("", payload); }
const std::string kDone = "data: [DONE]\n\n";

// A streamed answer produced on its own thread and relayed to the client. The response's
// status is chosen once the first bytes arrive: a failure before that keeps its HTTP status
// (a model that is down is a 503, not an error event in a 200 stream).
struct Relay {
  std::mutex mutex;
  std::condition_variable cv;
  std::deque<std::string> chunks;
  bool started = false;   // bytes arrived
  bool finished = false;
  bool cancelled = false;  // the client went away: the producer's next push fails
  Status status;           // the producer's outcome
  std::optional<generate::RawResponse> raw;  // passthrough: the upstream's non-streamed answer

  bool push(std::string bytes) {
    std::lock_guard lock(mutex);
    if (cancelled) return false;
    started = true;
    chunks.push_back(std::move(bytes));
    cv.notify_all();
    return true;
  }
  void finish(Status s, std::optional<generate::RawResponse> answer = std::nullopt) {
    std::lock_guard lock(mutex);
    status = std::move(s);
    raw = std::move(answer);
    finished = true;
    cv.notify_all();
  }
};

// Owns the producer thread: destroying it cancels the producer and joins it.
struct RelayOwner {
  std::shared_ptr<Relay> relay = std::make_shared<Relay>();
  std::thread thread;
  ~RelayOwner() {
    {
      std::lock_guard lock(relay->mutex);
      relay->cancelled = true;
    }
    if (thread.joinable()) thread.join();
  }
};

std::string error_tail(const Status& status) {
  json payload = openai_error_json(status);
  payload.erase("detail");
  payload["error"]["status"] = http_status(status.code());
  return sse_event("", payload) + "data: [DONE]\n\n";
}

// Starts `produce` (which pushes bytes and returns its outcome through Relay::finish), waits
// for its first bytes, then either answers an early failure with `on_early_end` (true = handled)
// or streams: `prefix`, the relayed bytes, and an error event when the producer failed.
void relay_stream(httplib::Response& res, const std::atomic<bool>& stopping, std::string prefix,
                  std::function<void(Relay&)> produce,
                  const std::function<bool(Relay&, httplib::Response&)>& on_early_end) {
  auto owner = std::make_shared<RelayOwner>();
  std::shared_ptr<Relay> relay = owner->relay;
  owner->thread = std::thread([relay, produce = std::move(produce)] { produce(*relay); });
  {
    std::unique_lock lock(relay->mutex);
    relay->cv.wait(lock, [&] { return relay->started || relay->finished; });
    if (!relay->started && on_early_end(*relay, res)) return;
  }
  res.set_header("Cache-Control", "no-cache");
  res.set_header("X-Accel-Buffering", "no");
  res.set_chunked_content_provider(
      "text/event-stream", [owner, &stopping, prefix = std::move(prefix)](size_t, httplib::DataSink& sink) {
        Relay& r = *owner->relay;
        auto cancel = [&r] {
          std::lock_guard lock(r.mutex);
          r.cancelled = true;  // the producer stops at its next push
          return false;
        };
        if (!prefix.empty() && !sink.write(prefix.data(), prefix.size())) return cancel();
        for (;;) {
          std::deque<std::string> ready;
          bool finished = false;
          {
            std::unique_lock lock(r.mutex);
            r.cv.wait_for(lock, std::chrono::milliseconds(200), [&] { return !r.chunks.empty() || r.finished; });
            ready.swap(r.chunks);
            finished = r.finished;
          }
          for (const std::string& bytes : ready) {
            if (stopping.load() || !sink.write(bytes.data(), bytes.size())) return cancel();
          }
          if (stopping.load()) return cancel();
          if (finished) break;
        }
        if (!r.status && r.status.code() != ErrorCode::kCancelled) {
          const std::string tail = error_tail(r.status);
          sink.write(tail.data(), tail.size());
        }
        sink.done();
        return true;
      });
}

void rag_chat(const RagChat& chat, service::Engine& engine, const std::atomic<bool>& stopping,
              httplib::Response& res) {
  const std::string id = completion_id();
  const int64_t created = now_seconds();
  if (!chat.stream) {
    auto answer = engine.chat(chat.collection, chat.request);
    if (!answer) return send_openai_error(res, answer_status(answer.status()));
    const std::string model = answer->model.empty() ? kExtractiveModel : answer->model;
    return send_json(res, 200, openai_completion(*answer, id, created, model));
  }
  std::string model = kExtractiveModel;
  if (engine.has_llm()) {
    auto info = engine.model_info();  // a model that is down is a 503 before the stream starts
    if (!info) return send_openai_error(res, info.status());
    model = info->id;
  }
  const std::string prefix = data_event(openai_chunk(id, created, model, {{"role", "assistant"}, {"content", ""}}));
  relay_stream(
      res, stopping, prefix,
      [&engine, chat, id, created, model](Relay& relay) {
        auto answer = engine.chat(chat.collection, chat.request, [&](const std::string& delta) {
          return relay.push(data_event(openai_chunk(id, created, model, {{"content", delta}})));
        });
        if (!answer) return relay.finish(answer_status(answer.status()));
        json last = openai_chunk(id, created, model, json::object(),
                                 answer->finish_reason.empty() ? "stop" : answer->finish_reason);
        last["source_nodes"] = source_nodes(*answer);
        last["answerability"] = answerability_json(*answer);
        std::string tail = data_event(last);
        if (chat.include_usage) {
          json usage = openai_chunk(id, created, model, json::object());
          usage["choices"] = json::array();
          usage["usage"] = openai_usage(answer->prompt_tokens, answer->completion_tokens);
          tail += data_event(usage);
        }
        relay.push(tail + kDone);
        relay.finish(Status::ok());
      },
      [](Relay& relay, httplib::Response& r) {
        if (relay.status) return false;
        send_openai_error(r, relay.status);
        return true;
      });
}

// The upstream answer to forward: a 200 JSON gets "source_nodes": null; other statuses keep theirs.
void send_forwarded(httplib::Response& res, const generate::RawResponse& raw) {
  if (raw.status == 200) {
    // The model server's JSON is re-dumped: it gets the same depth limit as a client's.
    auto body = parse_client_json(raw.body, "model response");
    if (body && body->is_object()) {
      (*body)["source_nodes"] = nullptr;
      return send_json(res, 200, *body);
    }
  }
  res.status = raw.status;
  res.set_content(raw.body, raw.content_type.empty() || raw.content_type.find("event-stream") != std::string::npos
                                ? "application/json"
                                : raw.content_type);
}

void passthrough(json body, service::Engine& engine, const std::atomic<bool>& stopping, httplib::Response& res) {
  if (!engine.has_llm()) return send_openai_error(res, error(ErrorCode::kUnavailable, kNoLlmMessage));
  body.erase("context_token_ratio");
  body.erase("index_name");
  const auto stream_field = body.find("stream");
  const bool stream = stream_field != body.end() && stream_field->is_boolean() && stream_field->get<bool>();
  const std::string text = body.dump(-1, ' ', false, json::error_handler_t::replace);
  if (!stream) {
    auto raw = engine.forward_chat(text);
    if (!raw) return send_openai_error(res, raw.status());
    return send_forwarded(res, *raw);
  }

  relay_stream(
      res, stopping, "",
      [&engine, text](Relay& relay) {
        auto raw = engine.forward_chat(text, [&relay](std::string_view bytes) { return relay.push(std::string(bytes)); });
        if (!raw) return relay.finish(raw.status());
        relay.finish(Status::ok(), std::move(*raw));
      },
      [](Relay& relay, httplib::Response& r) {
        if (!relay.status) {
          send_openai_error(r, relay.status);
          return true;
        }
        if (relay.raw && relay.raw->status != 200) {
          send_forwarded(r, *relay.raw);
          return true;
        }
        return false;
      });
}

}  // namespace

void add_openai_routes(Router& router, ApiContext& ctx) {
  service::Engine& engine = ctx.engine;
  const std::atomic<bool>& stopping = ctx.stopping;
  Authorization& authz = ctx.auth;

  ModelSlots& model_slots = ctx.model_slots;
  // Counted as KAITO's rag_chat_* too; a stream counts when its response starts, as in KAITO.
  router.add("POST", "/v1/chat/completions", "/v1/chat/completions", count_operation(ctx.metrics, "rag_chat",
             [&engine, &stopping, &model_slots, &authz](const httplib::Request& req, httplib::Response& res) {
               auto body = parse_json_body(req, engine.config().max_json_bytes);
               if (!body) return send_openai_error(res, body.status());
               if (engine.has_llm()) {
                 if (Status slot = model_slots.acquire_for_request(); !slot) {
                   send_openai_error(res, slot);
                   return res.set_header("Retry-After", "1");
                 }
               }
               std::string collection;
               if (Status s = common_checks(*body, engine, collection); !s) return send_openai_error(res, s);
               if (!collection.empty()) {
                 if (Status allowed = authz.require(collection, auth::Permission::kRead); !allowed) {
                   const bool named = body->contains("index_name") && !(*body)["index_name"].is_null();
                   if (allowed.code() != ErrorCode::kNotFound) return send_openai_error(res, allowed);
                   // Someone else's private collection is treated like no collection at all.
                   if (named) return send_openai_error(res, error(ErrorCode::kNotFound, "No such index: '" + collection + "' exists."));
                   collection.clear();
                 }
               }
               if (collection.empty()) return passthrough(std::move(*body), engine, stopping, res);
               auto chat = rag_request(*body, collection, engine);
               if (!chat) return send_openai_error(res, chat.status());
               rag_chat(*chat, engine, stopping, res);
             }));

  router.add("GET", "/v1/models", "/v1/models", [&engine, &authz](const httplib::Request&, httplib::Response& res) {
    json data = json::array();
    if (engine.has_llm()) {
      if (auto info = engine.model_info()) {
        json model = {{"id", info->id}, {"object", "model"}, {"created", now_seconds()}, {"owned_by", "llm"}};
        if (info->max_model_len > 0) model["max_model_len"] = info->max_model_len;
        // Where answers come from, for the web UI's settings: the parsed URL carries no
        // credentials, query or fragment (parse_llm_url refuses them).
        json details = {{"type", "llm"}};
        if (auto endpoint = generate::parse_llm_url(engine.config().llm_url)) details["endpoint"] = endpoint->api_url();
        model["kaito_rag"] = std::move(details);
        data.push_back(std::move(model));
      } else {
        log::warn("GET /v1/models: the language model is not listed", {{"error", info.status().message()}});
      }
    }
    if (const embed::Embedder* embedder = engine.embedder()) {
      data.push_back({{"id", embedder->info().model_id},
                      {"object", "model"},
                      {"created", now_seconds()},
                      {"owned_by", "kaito-rag"},
                      {"kaito_rag", {{"type", "embedding"}, {"dimension", embedder->info().dimension}}}});
    }
    auto collections = engine.list_collections();
    if (!collections) return send_openai_error(res, collections.status());
    for (const auto& c : *collections) {
      if (!authz.can_read(c.name)) continue;
      data.push_back({{"id", c.name},
                      {"object", "model"},
                      {"created", c.created_at},
                      {"owned_by", "kaito-rag"},
                      {"kaito_rag", {{"type", "collection"}, {"documents", c.documents}}}});
    }
    send_json(res, 200, {{"object", "list"}, {"data", std::move(data)}});
  });

  router.add("POST", "/v1/embeddings", "/v1/embeddings", [&engine](const httplib::Request& req, httplib::Response& res) {
    auto body = parse_json_body(req, engine.config().max_json_bytes);
    if (!body) return send_openai_error(res, body.status());
    const embed::Embedder* embedder = engine.embedder();
    if (!embedder) {
      return send_openai_error(res, error(ErrorCode::kUnavailable, "no embedding model is configured on this server "
                                                                   "(set embedding_model or embedding_url)"));
    }
    // "input": a string or an array of strings (token-id arrays are not accepted: our tokenizer
    // is not the caller's).
    std::vector<std::string> texts;
    const auto input = body->find("input");
    if (input == body->end()) return send_openai_error(res, error(ErrorCode::kInvalidArgument, "input is required"));
    if (input->is_string()) {
      texts.push_back(input->get<std::string>());
    } else if (input->is_array() && !input->empty()) {
      for (const auto& item : *input) {
        if (!item.is_string()) {
          return send_openai_error(res, error(ErrorCode::kInvalidArgument,
                                              "input must be a string or an array of strings (token arrays are not "
                                              "supported)"));
        }
        texts.push_back(item.get<std::string>());
      }
    } else {
      return send_openai_error(res, error(ErrorCode::kInvalidArgument, "input must be a non-empty string or array"));
    }
    if (texts.size() > 2048) {
      return send_openai_error(res, error(ErrorCode::kInvalidArgument, "at most 2048 inputs per request"));
    }
    const std::string format = body->value("encoding_format", "float");
    if (format != "float" && format != "base64") {
      return send_openai_error(res, error(ErrorCode::kInvalidArgument, "encoding_format must be float or base64"));
    }
    if (const auto model = body->find("model"); model != body->end() && model->is_string() &&
                                                !model->get<std::string>().empty() &&
                                                model->get<std::string>() != embedder->info().model_id) {
      return send_openai_error(res, error(ErrorCode::kNotFound, "model '" + model->get<std::string>() +
                                                                    "' is not served here; the embedding model is '" +
                                                                    embedder->info().model_id + "'"));
    }
    // Extension: "input_type": "query" adds the model's query prefix (e5, bge); default passage.
    const std::string input_type = body->value("input_type", "passage");
    if (input_type != "query" && input_type != "passage" && input_type != "document") {
      return send_openai_error(res, error(ErrorCode::kInvalidArgument, "input_type must be query or passage"));
    }
    const auto kind = input_type == "query" ? embed::InputKind::kQuery : embed::InputKind::kPassage;
    if (body->contains("dimensions") && (*body)["dimensions"] != embedder->info().dimension) {
      return send_openai_error(res, error(ErrorCode::kInvalidArgument,
                                          "dimensions must be " + std::to_string(embedder->info().dimension) +
                                              " (this model's size) or omitted"));
    }
    auto vectors = engine.embed_texts(texts, kind);
    if (!vectors) return send_openai_error(res, vectors.status());
    json data = json::array();
    int64_t approximate_tokens = 0;
    for (size_t i = 0; i < vectors->rows(); ++i) {
      const auto row = vectors->row(i);
      json embedding = format == "base64"
                           ? json(base64_encode({reinterpret_cast<const char*>(row.data()), row.size_bytes()}))
                           : json(std::vector<float>(row.begin(), row.end()));
      data.push_back({{"object", "embedding"}, {"index", i}, {"embedding", std::move(embedding)}});
      approximate_tokens += static_cast<int64_t>(texts[i].size() / 4 + 1);
    }
    send_json(res, 200, {{"object", "list"},
                         {"data", std::move(data)},
                         {"model", embedder->info().model_id},
                         {"usage", {{"prompt_tokens", approximate_tokens}, {"total_tokens", approximate_tokens}}}});
  });
}

}  // namespace kr::api
