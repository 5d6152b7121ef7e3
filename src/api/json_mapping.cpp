#include "api/json_mapping.h"

namespace kr::api {

json to_json(const Metadata& metadata) {
  json out = json::object();
  for (const auto& [key, value] : metadata) {
    out[key] = json::parse(value, nullptr, /*allow_exceptions=*/false);
    if (out[key].is_discarded()) out[key] = value;
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
          {"settings",
           {{"language", info.settings.language},
            {"bm25_k1", info.settings.bm25_k1},
            {"bm25_b", info.settings.bm25_b},
            {"chunk_max_tokens", info.settings.chunk_max_tokens},
            {"chunk_overlap_tokens", info.settings.chunk_overlap_tokens},
            {"description", info.settings.description}}}};
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
              {"finish_reason", a.finish_reason}};
  if (!a.extractive) {
    out["model"] = a.model;
    out["usage"] = {{"prompt_tokens", a.prompt_tokens},
                    {"completion_tokens", a.completion_tokens},
                    {"context_window", a.context_window}};
  } else {
    out["note"] = "extractive answer: no language model is configured (set --llm-url); these are the best-matching "
                  "sentences of the documents";
  }
  return out;
}

json error_json(const Status& status) {
  return {{"error", {{"code", std::string(error_code_name(status.code()))}, {"message", status.message()}}}};
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
