// KAITO RAGEngine's HTTP API (REFERENCE.md section 2) on Kaito-RAG collections:
// /health, /index, /indexes, /indexes/{name}/documents[/delete], DELETE /indexes/{name},
// /persist/{name}, /load/{name}, /retrieve. FastAPI-style errors ({"detail": ...},
// pydantic-style 422 lists). Differences: docs/ragengine-compatibility.md.
#include <algorithm>
#include <cmath>
#include <filesystem>

#include "api/authorization.h"
#include "api/http_util.h"
#include "api/json_mapping.h"
#include "core/text.h"

namespace kr::api {
namespace {

constexpr const char* kIndexNamePattern = "^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$";
constexpr int kMaxTopK = 300;  // RAG_MAX_TOP_K

void send_detail(httplib::Response& res, int status, const std::string& detail) {
  send_json(res, status, {{"detail", detail}});
}

// One pydantic v2 validation error.
json validation_error(const std::string& type, json loc, const std::string& msg, const json& input) {
  return {{"type", type}, {"loc", std::move(loc)}, {"msg", msg}, {"input", input}};
}

void send_validation(httplib::Response& res, const json& errors) { send_json(res, 422, {{"detail", errors}}); }

std::string no_such_index(const std::string& name) { return "No such index: '" + name + "' exists."; }

// Status of a service error; kNotFound of an index becomes KAITO's message.
void send_service_error(httplib::Response& res, const Status& status, const std::string& index,
                        const std::string& prefix = "") {
  if (status.code() == ErrorCode::kNotFound) return send_detail(res, 404, no_such_index(index));
  const int code = http_status(status.code());
  // KAITO answers 500 for anything a handler did not anticipate; keep our more
  // precise 4xx/503 statuses where we have them.
  send_detail(res, code == 400 || code == 422 || code >= 500 ? (code == 503 ? 503 : 500) : code,
              prefix + status.message());
}

// Body as JSON; FastAPI answers 422 for a body that is not JSON or not an object.
std::optional<json> json_body(const httplib::Request& req, httplib::Response& res, int64_t max_bytes) {
  if (static_cast<int64_t>(req.body.size()) > max_bytes) {
    send_detail(res, 413, "request body is larger than " + std::to_string(max_bytes) + " bytes (max_json_bytes)");
    return std::nullopt;
  }
  if (json_nests_deeper_than(req.body, kMaxJsonDepth)) {
    send_detail(res, 400, "request body nests arrays/objects deeper than " + std::to_string(kMaxJsonDepth) +
                              " levels; flatten it");
    return std::nullopt;
  }
  if (req.body.empty()) {  // FastAPI: no body at all is a missing field, not bad JSON
    send_validation(res, json::array({validation_error("missing", json::array({"body"}), "Field required", nullptr)}));
    return std::nullopt;
  }
  json body = json::parse(req.body, nullptr, false);
  if (body.is_discarded()) {
    send_validation(res, json::array({validation_error("json_invalid", json::array({"body", 0}), "JSON decode error",
                                                       json::object())}));
    return std::nullopt;
  }
  if (!body.is_object()) {
    send_validation(res, json::array({validation_error(
                             "model_attributes_type", json::array({"body"}),
                             "Input should be a valid dictionary or object to extract fields from", body)}));
    return std::nullopt;
  }
  return body;
}

// Field checks that append pydantic-style errors.
struct Validator {
  json errors = json::array();

  const json* field(const json& object, const json& loc_prefix, const std::string& name, bool required) {
    auto it = object.find(name);
    if (it == object.end()) {
      if (required) {
        json loc = loc_prefix;
        loc.push_back(name);
        errors.push_back(validation_error("missing", loc, "Field required", object));
      }
      return nullptr;
    }
    return &*it;
  }
  static json at(json loc, const json& more) {
    loc.push_back(more);
    return loc;
  }
  bool string(const json& value, const json& loc) {
    if (value.is_string()) return true;
    errors.push_back(validation_error("string_type", loc, "Input should be a valid string", value));
    return false;
  }
  bool index_name(const json& value, const json& loc) {
    if (!string(value, loc)) return false;
    if (service::valid_collection_name(value.get<std::string>())) return true;
    errors.push_back(validation_error("string_pattern_mismatch", loc,
                                      std::string("String should match pattern '") + kIndexNamePattern + "'", value));
    return false;
  }
  bool object_or_null(const json& value, const json& loc) {
    if (value.is_object() || value.is_null()) return true;
    errors.push_back(validation_error("dict_type", loc, "Input should be a valid dictionary", value));
    return false;
  }
  bool list(const json& value, const json& loc) {
    if (value.is_array()) return true;
    errors.push_back(validation_error("list_type", loc, "Input should be a valid list", value));
    return false;
  }
  // pydantic's lax int: integral floats, numeric strings and booleans (true is 1).
  bool integer_in(const json& value, const json& loc, int64_t min, int64_t max, int64_t& out) {
    if (value.is_boolean()) {
      out = value.get<bool>() ? 1 : 0;
    } else if (value.is_number_integer()) {
      out = value.is_number_unsigned() && value.get<uint64_t>() > INT64_MAX ? INT64_MAX : value.get<int64_t>();
    } else if (value.is_number_float() && std::fabs(value.get<double>()) < 9e18 &&
               value.get<double>() == std::trunc(value.get<double>())) {  // the cast of a larger double is undefined
      out = static_cast<int64_t>(value.get<double>());
    } else if (value.is_number_float() && std::isfinite(value.get<double>())) {
      errors.push_back(validation_error("int_from_float", loc,
                                        "Input should be a valid integer, got a number with a fractional part", value));
      return false;
    } else if (value.is_string()) {
      try {
        size_t used = 0;
        out = std::stoll(value.get<std::string>(), &used);
        if (used != value.get<std::string>().size()) throw std::invalid_argument("");
      } catch (const std::exception&) {
        errors.push_back(validation_error("int_parsing", loc,
                                          "Input should be a valid integer, unable to parse string as an integer", value));
        return false;
      }
    } else {
      errors.push_back(validation_error("int_type", loc, "Input should be a valid integer", value));
      return false;
    }
    return in_range(out, value, loc, min, max);
  }
  bool in_range(int64_t v, const json& input, const json& loc, int64_t min, int64_t max) {
    if (v < min) {
      errors.push_back(validation_error("greater_than_equal", loc,
                                        "Input should be greater than or equal to " + std::to_string(min), input));
      return false;
    }
    if (v > max) {
      errors.push_back(validation_error("less_than_equal", loc,
                                        "Input should be less than or equal to " + std::to_string(max), input));
      return false;
    }
    return true;
  }
  // A Document of a request; `documents` keeps the echo (with defaults) per entry.
  void documents(const json& body, json& echoes, std::vector<service::TextDocument>& out) {
    const json loc = json::array({"body", "documents"});
    const json* list_value = field(body, json::array({"body"}), "documents", true);
    if (!list_value || !list(*list_value, loc)) return;
    for (size_t i = 0; i < list_value->size(); ++i) {
      const json& item = (*list_value)[i];
      const json item_loc = at(loc, i);
      if (!item.is_object()) {
        errors.push_back(validation_error("model_attributes_type", item_loc,
                                          "Input should be a valid dictionary or object to extract fields from", item));
        continue;
      }
      const size_t before = errors.size();
      json echo = {{"doc_id", ""}, {"text", nullptr}, {"metadata", json::object()}, {"hash_value", nullptr},
                   {"is_truncated", false}};
      service::TextDocument document;
      if (const json* v = field(item, item_loc, "doc_id", false); v && string(*v, at(item_loc, "doc_id"))) {
        echo["doc_id"] = *v;
        document.doc_id = v->get<std::string>();
      }
      if (const json* v = field(item, item_loc, "text", true); v && string(*v, at(item_loc, "text"))) {
        echo["text"] = *v;
        document.text = v->get<std::string>();
      }
      if (const json* v = field(item, item_loc, "metadata", false); v && object_or_null(*v, at(item_loc, "metadata"))) {
        echo["metadata"] = *v;
        auto metadata = metadata_from_json(*v);
        if (!metadata) {
          errors.push_back(validation_error("value_error", at(item_loc, "metadata"), "Value error, " + metadata.status().message(), *v));
        } else {
          document.metadata = std::move(metadata.value());
        }
      }
      if (const json* v = field(item, item_loc, "hash_value", false); v) {
        if (v->is_null() || string(*v, at(item_loc, "hash_value"))) echo["hash_value"] = *v;
      }
      if (const json* v = field(item, item_loc, "is_truncated", false); v) {
        if (v->is_boolean()) {
          echo["is_truncated"] = *v;
        } else {
          errors.push_back(validation_error("bool_type", at(item_loc, "is_truncated"), "Input should be a valid boolean", *v));
        }
      }
      if (errors.size() == before) {
        echoes.push_back(std::move(echo));
        out.push_back(std::move(document));
      }
    }
  }
};

// Query parameter as a bounded integer (FastAPI Query(ge, le)); nullopt after sending 422.
std::optional<int64_t> query_param(const httplib::Request& req, Validator& v, const char* name, int64_t fallback,
                                   int64_t min, int64_t max) {
  if (!req.has_param(name)) return fallback;
  int64_t out = 0;
  if (!v.integer_in(json(req.get_param_value(name)), json::array({"query", name}), min, max, out)) return std::nullopt;
  return out;
}

// KAITO's metadata filter: every key must equal the value exactly.
MetadataFilter exact_filter(const json& object) {
  MetadataFilter filter;
  if (!object.is_object()) return filter;
  for (const auto& [key, value] : object.items()) filter.any_of[key] = {value.dump(-1, ' ', false, json::error_handler_t::replace)};
  return filter;
}

// Truncates to `max_chars` code points (Python string length).
std::pair<std::string, bool> truncate_chars(const std::string& text, int64_t max_chars) {
  int64_t chars = 0;
  for (size_t i = 0; i < text.size(); ++i) {
    if ((static_cast<unsigned char>(text[i]) & 0xC0) != 0x80) {
      if (chars == max_chars) return {text.substr(0, i), true};
      ++chars;
    }
  }
  return {text, false};
}

// A persist/load path: explicit (relative paths are relative to the data directory) or the default.
// KAITO's `path` parameter, confined to the snapshot directory: relative paths are taken from
// it, and anything that resolves outside it (.., absolute paths, symlinks) is refused -- the
// route would otherwise read or write wherever a caller points it.
Result<std::string> snapshot_path(const httplib::Request& req, const service::Engine& engine, const std::string& index) {
  namespace fs = std::filesystem;
  const std::string& configured = engine.config().snapshot_dir;
  std::error_code ec;
  const fs::path root = fs::weakly_canonical(fs::absolute(configured.empty() ? engine.persist_base_dir() : configured), ec);
  if (ec) return error(ErrorCode::kInternal, "cannot resolve the snapshot directory: " + ec.message());
  if (!req.has_param("path")) return (root / index).string();
  const fs::path asked(req.get_param_value("path"));
  const fs::path target = fs::weakly_canonical(asked.is_absolute() ? asked : root / asked, ec);
  const auto [root_end, target_it] = std::mismatch(root.begin(), root.end(), target.begin(), target.end());
  if (ec || root_end != root.end() || target_it == target.end()) {
    return error(ErrorCode::kPermissionDenied, "path '" + asked.string() + "' is outside the snapshot directory " +
                                                   root.string() + " (snapshot_dir); use a path inside it");
  }
  return asked.is_absolute() ? asked.string() : (root / asked).string();
}

}  // namespace

void add_ragengine_routes(Router& router, ApiContext& ctx) {
  service::Engine& engine = ctx.engine;
  RequestMetrics& metrics = ctx.metrics;
  Authorization& authz = ctx.auth;

  // Registers a route and counts it as KAITO's <metric>_requests_total / _latency_seconds.
  const auto add = [&router, &metrics](const std::string& method, const std::string& pattern, const std::string& label,
                                       const std::string& metric, Handler handler) {
    router.add(method, pattern, label, metric.empty() ? std::move(handler) : count_operation(metrics, metric, std::move(handler)));
  };
  const int64_t max_json = engine.config().max_json_bytes;

  add("GET", "/health", "/health", "", [&engine](const httplib::Request&, httplib::Response& res) {
    if (!engine.ready()) return send_detail(res, 503, "RAG operations not initialized");
    send_json(res, 200, {{"status", "Healthy"}, {"detail", nullptr}});
  });

  add("POST", "/index", "/index", "rag_index", [&engine, &authz, max_json](const httplib::Request& req, httplib::Response& res) {
    auto body = json_body(req, res, max_json);
    if (!body) return;
    Validator v;
    const json* name = v.field(*body, json::array({"body"}), "index_name", true);
    if (name) v.index_name(*name, json::array({"body", "index_name"}));
    json echoes = json::array();
    std::vector<service::TextDocument> documents;
    v.documents(*body, echoes, documents);
    if (!v.errors.empty()) return send_validation(res, v.errors);
    const std::string index = name->get<std::string>();
    if (Status allowed = authz.require(index, auth::Permission::kWrite); !allowed) return send_error(res, allowed);
    auto indexed = engine.index_texts(index, documents);
    if (!indexed) return send_service_error(res, indexed.status(), index);
    // KAITO answers with new Documents: the request's hash_value/is_truncated are not echoed.
    for (size_t i = 0; i < echoes.size(); ++i) {
      echoes[i]["doc_id"] = (*indexed)[i].doc_id;
      echoes[i]["hash_value"] = nullptr;
      echoes[i]["is_truncated"] = false;
    }
    send_json(res, 200, echoes);
  });

  add("GET", "/indexes", "/indexes", "rag_indexes", [&engine, &authz](const httplib::Request&, httplib::Response& res) {
    auto names = engine.list_indexes_by_creation();
    if (!names) return send_detail(res, 500, names.status().message());
    json readable = json::array();
    for (const auto& name : *names) {
      if (authz.can_read(name)) readable.push_back(name);
    }
    send_json(res, 200, readable);
  });

  add("GET", R"(/indexes/([^/]+)/documents)", "/indexes/{index_name}/documents", "rag_indexes_document",
      [&engine](const httplib::Request& req, httplib::Response& res) {
        const std::string index = req.matches[1];
        Validator v;
        auto limit = query_param(req, v, "limit", 10, 1, 100);
        auto offset = query_param(req, v, "offset", 0, 0, INT64_MAX);
        auto max_text_length = query_param(req, v, "max_text_length", 1000, 1, INT64_MAX);
        if (!v.errors.empty()) return send_validation(res, v.errors);
        json filter_json = json::object();
        if (req.has_param("metadata_filter")) {
          auto parsed = parse_client_json(req.get_param_value("metadata_filter"), "metadata_filter");
          if (parsed) filter_json = std::move(*parsed);
          if (!parsed || !(filter_json.is_object() || filter_json.is_null())) {
            return send_detail(res, 400, "Invalid metadata filter format. Must be a valid JSON string.");
          }
        }
        auto page = engine.list_text_chunks(index, *offset, *limit, exact_filter(filter_json));
        if (!page) return send_service_error(res, page.status(), index);
        json documents = json::array();
        for (const auto& chunk : page->chunks) {
          auto [text, truncated] = truncate_chars(chunk.text, *max_text_length);
          documents.push_back({{"doc_id", chunk.doc_id},
                               {"text", text},
                               {"metadata", to_json(chunk.metadata)},
                               {"hash_value", chunk.hash},
                               {"is_truncated", truncated}});
        }
        send_json(res, 200, {{"documents", documents}, {"count", documents.size()}, {"total_items", page->total}});
      });

  add("POST", R"(/indexes/([^/]+)/documents)", "/indexes/{index_name}/documents", "rag_indexes_update_document",
      [&engine, max_json](const httplib::Request& req, httplib::Response& res) {
        const std::string index = req.matches[1];
        auto body = json_body(req, res, max_json);
        if (!body) return;
        Validator v;
        json echoes = json::array();
        std::vector<service::TextDocument> documents;
        v.documents(*body, echoes, documents);
        if (!v.errors.empty()) return send_validation(res, v.errors);
        auto outcomes = engine.update_texts(index, documents);
        if (!outcomes) return send_service_error(res, outcomes.status(), index, "Update failed: ");
        json updated = json::array(), unchanged = json::array(), not_found = json::array();
        for (size_t i = 0; i < outcomes->size(); ++i) {
          switch ((*outcomes)[i]) {
            case service::TextUpdateOutcome::kUpdated: updated.push_back(echoes[i]); break;
            case service::TextUpdateOutcome::kUnchanged: unchanged.push_back(echoes[i]); break;
            case service::TextUpdateOutcome::kNotFound: not_found.push_back(echoes[i]); break;
          }
        }
        send_json(res, 200, {{"updated_documents", updated},
                             {"unchanged_documents", unchanged},
                             {"not_found_documents", not_found}});
      });

  add("POST", R"(/indexes/([^/]+)/documents/delete)", "/indexes/{index_name}/documents/delete",
      "rag_indexes_delete_document", [&engine, max_json](const httplib::Request& req, httplib::Response& res) {
        const std::string index = req.matches[1];
        auto body = json_body(req, res, max_json);
        if (!body) return;
        Validator v;
        std::vector<std::string> doc_ids;
        const json loc = json::array({"body", "doc_ids"});
        if (const json* ids = v.field(*body, json::array({"body"}), "doc_ids", true); ids && v.list(*ids, loc)) {
          for (size_t i = 0; i < ids->size(); ++i) {
            if (v.string((*ids)[i], Validator::at(loc, i))) doc_ids.push_back((*ids)[i].get<std::string>());
          }
        }
        if (!v.errors.empty()) return send_validation(res, v.errors);
        auto found = engine.delete_texts(index, doc_ids);
        if (!found) return send_service_error(res, found.status(), index, "Delete failed: ");
        json deleted = json::array(), not_found = json::array();
        for (size_t i = 0; i < doc_ids.size(); ++i) ((*found)[i] ? deleted : not_found).push_back(doc_ids[i]);
        send_json(res, 200, {{"deleted_doc_ids", deleted}, {"not_found_doc_ids", not_found}});
      });

  add("DELETE", R"(/indexes/([^/]+))", "/indexes/{index_name}", "rag_delete_index",
      [&engine, &authz](const httplib::Request& req, httplib::Response& res) {
        const std::string index = req.matches[1];
        Status status = engine.delete_collection(index);
        if (!status) return send_service_error(res, status, index, "Deletion failed: ");
        if (Status released = authz.owners().release(index); !released) return send_error(res, released);
        send_json(res, 200, {{"message", "Successfully deleted index " + index + "."}});
      });

  add("POST", R"(/persist/([^/]+))", "/persist/{index_name}", "rag_persist",
      [&engine](const httplib::Request& req, httplib::Response& res) {
        const std::string index = req.matches[1];
        // Default: <snapshot dir>/<index>; an explicit path must lie inside the snapshot dir.
        auto path = snapshot_path(req, engine, index);
        if (!path) return send_detail(res, http_status(path.status().code()), path.status().message());
        auto persisted = engine.persist_index(index, *path);
        if (!persisted) return send_service_error(res, persisted.status(), index, "Persistence failed: ");
        send_json(res, 200, {{"message", "Successfully persisted index " + index + " to " + *persisted + "."}});
      });

  add("POST", R"(/load/([^/]+))", "/load/{index_name}", "rag_load",
      [&engine](const httplib::Request& req, httplib::Response& res) {
        const std::string index = req.matches[1];
        Validator v;
        bool overwrite = false;
        if (req.has_param("overwrite")) {
          std::string value = req.get_param_value("overwrite");
          for (char& c : value) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
          if (value == "true" || value == "1" || value == "yes" || value == "on" || value == "t" || value == "y") {
            overwrite = true;
          } else if (!(value == "false" || value == "0" || value == "no" || value == "off" || value == "f" || value == "n")) {
            v.errors.push_back(validation_error("bool_parsing", json::array({"query", "overwrite"}),
                                                "Input should be a valid boolean, unable to interpret input",
                                                req.get_param_value("overwrite")));
          }
        }
        if (!service::valid_collection_name(index)) {
          v.errors.push_back(validation_error("string_pattern_mismatch", json::array({"path", "index_name"}),
                                              std::string("String should match pattern '") + kIndexNamePattern + "'", index));
        }
        if (!v.errors.empty()) return send_validation(res, v.errors);
        auto confined = snapshot_path(req, engine, index);
        if (!confined) return send_detail(res, http_status(confined.status().code()), confined.status().message());
        const std::string& path = *confined;
        Status status = engine.load_index(index, path, overwrite);
        if (!status) {
          if (status.code() == ErrorCode::kNotFound || status.code() == ErrorCode::kAlreadyExists) {
            return send_detail(res, http_status(status.code()), status.message());
          }
          if (status.code() == ErrorCode::kUnavailable && !engine.ready()) return send_detail(res, 503, status.message());
          return send_detail(res, 500, "Loading failed: " + status.message());
        }
        send_json(res, 200, {{"message", "Successfully loaded index " + index + " from " + path + "."}});
      });

  add("POST", "/retrieve", "/retrieve", "rag_indexes_retrieve",
      [&engine, &authz, max_json](const httplib::Request& req, httplib::Response& res) {
        auto body = json_body(req, res, max_json);
        if (!body) return;
        Validator v;
        const json root = json::array({"body"});
        const json* name = v.field(*body, root, "index_name", true);
        if (name) v.string(*name, Validator::at(root, "index_name"));
        const json* query = v.field(*body, root, "query", true);
        if (query) v.string(*query, Validator::at(root, "query"));
        int64_t top_k = 5;
        if (const json* n = v.field(*body, root, "max_node_count", false)) {
          v.integer_in(*n, Validator::at(root, "max_node_count"), 1, kMaxTopK, top_k);
        }
        json filter_json = nullptr;
        if (const json* f = v.field(*body, root, "metadata_filter", false); f && v.object_or_null(*f, Validator::at(root, "metadata_filter"))) {
          filter_json = *f;
        }
        if (!v.errors.empty()) return send_validation(res, v.errors);
        const std::string index = name->get<std::string>();
        if (Status allowed = authz.require(index, auth::Permission::kRead); !allowed) {
          if (allowed.code() == ErrorCode::kNotFound) return send_detail(res, 404, no_such_index(index));
          return send_error(res, allowed);
        }
        const std::string text = query->get<std::string>();
        if (trim(text).empty()) {
          auto exists = engine.get_collection(index);  // 404 is checked first
          if (!exists) return send_service_error(res, exists.status(), index, "Retrieve failed: ");
          return send_detail(res, 400, "Query string cannot be empty.");
        }
        auto found = engine.search(index, {text, static_cast<int>(top_k), exact_filter(filter_json)});
        if (!found) return send_service_error(res, found.status(), index, "Retrieve failed: ");
        json results = json::array();
        for (const auto& hit : found->hits) results.push_back(to_source_node(hit));
        send_json(res, 200, {{"query", text}, {"results", results}, {"count", results.size()}});
      });
}

}  // namespace kr::api
