#include "api/json_mapping.h"

#include "api/http_util.h"

namespace kr::api {

json to_json(const Metadata& metadata) {
  json out = json::object();
  for (const auto& [key, value] : metadata) {
    // Stored values are JSON text; one that does not parse (or nests too deep) is shown as a string.
    auto parsed = parse_client_json(value, "metadata value");
    out[key] = parsed ? std::move(*parsed) : json(value);
  }
  return out;
}

json to_json(const service::CollectionInfo& info) {
  return {{"name", info.name},
          {"created_at", info.created_at},
          {"documents", info.documents},
          {"chunks", info.chunks},
          {"text_bytes", info.text_bytes},
          {"index", {{"terms", info.index_terms}, {"postings", info.index_postings}}},
          {"embeddings",
           {{"model", info.embedding_model.empty() ? json(nullptr) : json(info.embedding_model)},
            {"dimension", info.embedding_dimension},
            {"vectors", info.vectors},
            {"index", info.vector_index.empty() ? json(nullptr) : json(info.vector_index)}}},
          {"settings",
           {{"language", info.settings.language},
            {"bm25_k1", info.settings.bm25_k1},
            {"bm25_b", info.settings.bm25_b},
            {"chunk_max_tokens", info.settings.chunk_max_tokens},
            {"chunk_overlap_tokens", info.settings.chunk_overlap_tokens},
            {"description", info.settings.description},
            {"search_mode", info.settings.search_mode.empty() ? json(nullptr) : json(info.settings.search_mode)},
            {"fusion", info.settings.fusion.empty() ? json(nullptr) : json(info.settings.fusion)},
            {"hybrid_alpha", info.settings.hybrid_alpha < 0 ? json(nullptr) : json(info.settings.hybrid_alpha)},
            {"answer_threshold",
             info.settings.answer_threshold < 0 ? json(nullptr) : json(info.settings.answer_threshold)},
            {"grounding_policy",
             info.settings.grounding_policy.empty() ? json(nullptr) : json(info.settings.grounding_policy)},
            {"grounding_threshold",
             info.settings.grounding_threshold < 0 ? json(nullptr) : json(info.settings.grounding_threshold)},
            {"ocr_languages",
             info.settings.ocr_languages.empty() ? json(nullptr) : json(info.settings.ocr_languages)}}}};
}

Status read_retrieval_options(const json& body, service::SearchRequest& request) {
  if (body.contains("mode") && !body["mode"].is_null()) {
    const auto mode = body["mode"].is_string() ? retrieve::parse_search_mode(body["mode"].get<std::string>())
                                               : std::nullopt;
    if (!mode) return error(ErrorCode::kInvalidArgument, "mode must be \"bm25\", \"dense\" or \"hybrid\"");
    request.mode = mode;
  }
  if (body.contains("fusion") && !body["fusion"].is_null()) {
    const auto fusion = body["fusion"].is_string() ? retrieve::parse_fusion_method(body["fusion"].get<std::string>())
                                                   : std::nullopt;
    if (!fusion) return error(ErrorCode::kInvalidArgument, "fusion must be \"rrf\" or \"normalized\"");
    request.fusion = fusion;
  }
  if (body.contains("alpha") && !body["alpha"].is_null()) {
    auto alpha = optional_double(body, "alpha", 0.5, 0, 1);
    if (!alpha) return alpha.status();
    request.alpha = *alpha;
  }
  auto candidates = optional_int(body, "candidates", 0, 0, 10000);
  if (!candidates) return candidates.status();
  request.candidates = *candidates;
  return Status::ok();
}

json to_json(const service::SearchResponse& response, const std::string& query) {
  json results = json::array();
  for (const auto& hit : response.hits) results.push_back(to_json(hit));
  json out = {{"query", query}, {"mode", response.mode}, {"results", results}, {"took_ms", response.took_ms}};
  if (response.embed_ms > 0) out["embed_ms"] = response.embed_ms;
  if (!response.warnings.empty()) out["warnings"] = response.warnings;
  return out;
}

json to_json(const service::DocumentInfo& d) {
  return {{"doc_id", d.doc_id},
          {"name", d.name},
          {"source", d.source},
          {"content_hash", d.content_hash},
          {"format", d.format},
          {"size_bytes", d.size_bytes},
          {"page_count", d.page_count},
          {"chunk_count", d.chunk_count},
          {"metadata", to_json(d.metadata)},
          {"warnings", d.warnings},
          {"pages_needing_ocr", d.pages_needing_ocr},
          {"created_at", d.created_at},
          {"updated_at", d.updated_at}};
}

json to_json(const service::IngestResult& r) {
  json out = {{"name", r.name}, {"status", std::string(service::ingest_outcome_name(r.outcome))}};
  if (r.outcome == service::IngestOutcome::kFailed) {
    out["error"] = error_json(r.error)["error"];
    return out;
  }
  out["doc_id"] = r.doc_id;
  out["format"] = r.format;
  out["chunks"] = r.chunks;
  out["pages"] = r.pages;
  out["warnings"] = r.warnings;
  if (!r.duplicate_of.empty()) out["duplicate_of"] = r.duplicate_of;
  return out;
}

json to_json(const service::SearchHit& h) {
  return {{"chunk_id", h.chunk_id},
          {"bm25_score", h.bm25_score ? json(*h.bm25_score) : json(nullptr)},
          {"dense_score", h.dense_score ? json(*h.dense_score) : json(nullptr)},
          {"doc_id", h.doc_id},
          {"document_name", h.document_name},
          {"score", h.score},
          {"text", h.text},
          {"snippet", h.snippet},
          {"citation",
           {{"document", h.document_name},
            {"page_start", h.page_start},
            {"page_end", h.page_end},
            {"heading_path", h.heading_path},
            {"char_begin", h.char_begin},
            {"char_end", h.char_end}}},
          {"metadata", to_json(h.metadata)}};
}

json answerability_json(const service::Answer& a) {
  if (!a.answerability) return nullptr;
  const auto& v = *a.answerability;
  const auto known = [](double x) { return x < 0 ? json(nullptr) : json(x); };
  return {{"answerable", v.answerable},
          {"score", v.score},
          {"threshold", v.threshold},
          {"signals",
           {{"passage_coverage", v.signals.passage_coverage},
            {"sentence_coverage", v.signals.sentence_coverage},
            {"sentence_similarity", known(v.signals.sentence_similarity)},
            {"top_dense", known(v.signals.top_dense)},
            {"agreement", known(v.signals.agreement)},
            {"specifics_coverage", v.signals.specifics_coverage},
            {"kind_coverage", v.signals.kind_coverage}}}};
}

json grounding_json(const service::AnswerGrounding& g) {
  json sentences = json::array();
  for (const auto& s : g.report.sentences) {
    sentences.push_back({{"text", s.text},
                         {"supported", s.supported},
                         {"score", s.score},
                         {"source", s.source > 0 ? json(s.source) : json(nullptr)},
                         {"cited", s.cited}});
  }
  return {{"policy", std::string(generate::grounding_policy_name(g.policy))},
          {"action", g.action},
          {"supported", g.report.supported},
          {"unsupported", g.report.unsupported},
          {"threshold", g.report.threshold},
          {"sentences", std::move(sentences)}};
}

json to_json(const service::Answer& a) {
  json sources = json::array();
  for (const auto& s : a.sources) {
    json source = to_json(s.hit);
    source["number"] = s.number;
    source["cited"] = s.cited;
    sources.push_back(std::move(source));
  }
  json out = {{"answer", a.text},
              {"mode", a.extractive ? "extractive" : "generative"},
              {"citations", a.citations},
              {"sources", std::move(sources)},
              {"finish_reason", a.finish_reason},
              {"answerable", a.answerability ? json(a.answerability->answerable) : json(nullptr)},
              {"answerability", answerability_json(a)}};
  if (a.grounding) out["grounding"] = grounding_json(*a.grounding);
  if (!a.extractive) {
    out["model"] = a.model;
    if (!a.prompt_style.empty()) out["prompt_style"] = a.prompt_style;
    out["usage"] = {{"prompt_tokens", a.prompt_tokens},
                    {"completion_tokens", a.completion_tokens},
                    {"context_window", a.context_window}};
  } else {
    out["note"] = "extractive answer: no language model is configured (set --llm-url); these are the best-matching "
                  "sentences of the documents";
  }
  if (!a.note.empty()) out["note"] = a.note;
  return out;
}

json error_json(const Status& status) {
  return {{"error", {{"code", std::string(error_code_name(status.code()))}, {"message", status.message()}}}};
}

json to_source_node(const service::SearchHit& hit) {
  json metadata = to_json(hit.metadata);
  return {{"doc_id", hit.doc_id},
          {"node_id", hit.chunk_id},
          {"text", hit.text},
          {"score", hit.score},
          {"dense_score", hit.dense_score ? json(*hit.dense_score) : json(nullptr)},
          {"sparse_score", hit.bm25_score ? json(*hit.bm25_score) : json(nullptr)},
          {"source", nullptr},
          {"metadata", metadata.empty() ? json(nullptr) : metadata}};
}

json source_nodes(const service::Answer& answer) {
  json nodes = json::array();
  for (const auto& s : answer.sources) nodes.push_back(to_source_node(s.hit));
  return nodes;
}

json openai_usage(int prompt_tokens, int completion_tokens) {
  return {{"prompt_tokens", prompt_tokens},
          {"completion_tokens", completion_tokens},
          {"total_tokens", prompt_tokens + completion_tokens}};
}

json openai_completion(const service::Answer& answer, const std::string& id, int64_t created,
                       const std::string& model) {
  return {{"id", id},
          {"object", "chat.completion"},
          {"created", created},
          {"model", model},
          {"choices", json::array({{{"index", 0},
                                    {"message", {{"role", "assistant"}, {"content", answer.text}}},
                                    {"logprobs", nullptr},
                                    {"finish_reason", answer.finish_reason.empty() ? "stop" : answer.finish_reason}}})},
          {"usage", openai_usage(answer.prompt_tokens, answer.completion_tokens)},
          {"source_nodes", source_nodes(answer)},
          {"answerability", answerability_json(answer)}};
}

json openai_chunk(const std::string& id, int64_t created, const std::string& model, const json& delta,
                  const std::string& finish_reason) {
  return {{"id", id},
          {"object", "chat.completion.chunk"},
          {"created", created},
          {"model", model},
          {"choices", json::array({{{"index", 0},
                                    {"delta", delta},
                                    {"logprobs", nullptr},
                                    {"finish_reason", finish_reason.empty() ? json(nullptr) : json(finish_reason)}}})}};
}

json openai_error_json(const Status& status) {
  const ErrorCode code = status.code();
  const char* type = code == ErrorCode::kInvalidArgument || code == ErrorCode::kNotFound ||
                             code == ErrorCode::kResourceExhausted || code == ErrorCode::kTooLarge ||
                             code == ErrorCode::kUnsupported
                         ? "invalid_request_error"
                     : code == ErrorCode::kUnauthenticated ? "authentication_error"
                     : code == ErrorCode::kPermissionDenied ? "permission_error"
                                                           : "server_error";
  return {{"detail", status.message()},
          {"error",
           {{"message", status.message()},
            {"type", type},
            {"param", nullptr},
            {"code", std::string(error_code_name(code))}}}};
}

Result<Metadata> metadata_from_json(const json& value) {
  if (value.is_null()) return Metadata{};
  if (!value.is_object()) return error(ErrorCode::kInvalidArgument, "metadata must be a JSON object");
  Metadata out;
  for (const auto& [key, v] : value.items()) {
    if (key.empty() || key.size() > 256) return error(ErrorCode::kInvalidArgument, "metadata keys must be 1-256 bytes");
    out[key] = v.dump(-1, ' ', false, json::error_handler_t::replace);
  }
  return out;
}

Result<MetadataFilter> filter_from_json(const json& value) {
  MetadataFilter filter;
  if (value.is_null()) return filter;
  if (!value.is_object()) {
    return error(ErrorCode::kInvalidArgument, "filter must be a JSON object like {\"department\": \"hr\"} or "
                                              "{\"department\": [\"hr\", \"it\"]}");
  }
  for (const auto& [key, v] : value.items()) {
    auto& allowed = filter.any_of[key];
    if (v.is_array()) {
      for (const auto& item : v) allowed.push_back(item.dump());
    } else {
      allowed.push_back(v.dump());
    }
  }
  return filter;
}

Result<std::string> required_string(const json& body, const char* field) {
  auto it = body.find(field);
  if (it == body.end() || it->is_null()) {
    return error(ErrorCode::kInvalidArgument, std::string("missing required field '") + field + "'");
  }
  if (!it->is_string()) return error(ErrorCode::kInvalidArgument, std::string("field '") + field + "' must be a string");
  return it->get<std::string>();
}

Result<int> optional_int(const json& body, const char* field, int fallback, int min, int max) {
  auto it = body.find(field);
  if (it == body.end() || it->is_null()) return fallback;
  if (!it->is_number_integer()) {
    return error(ErrorCode::kInvalidArgument, std::string("field '") + field + "' must be an integer");
  }
  const auto value = it->get<int64_t>();
  if (value < min || value > max) {
    return error(ErrorCode::kInvalidArgument, std::string("field '") + field + "' must be between " +
                                                  std::to_string(min) + " and " + std::to_string(max));
  }
  return static_cast<int>(value);
}

Result<double> optional_double(const json& body, const char* field, double fallback, double min, double max) {
  auto it = body.find(field);
  if (it == body.end() || it->is_null()) return fallback;
  if (!it->is_number()) return error(ErrorCode::kInvalidArgument, std::string("field '") + field + "' must be a number");
  const double value = it->get<double>();
  if (value < min || value > max) {
    return error(ErrorCode::kInvalidArgument, std::string("field '") + field + "' is out of range");
  }
  return value;
}

Result<bool> optional_bool(const json& body, const char* field, bool fallback) {
  auto it = body.find(field);
  if (it == body.end() || it->is_null()) return fallback;
  if (!it->is_boolean()) return error(ErrorCode::kInvalidArgument, std::string("field '") + field + "' must be true or false");
  return it->get<bool>();
}

}  // namespace kr::api
