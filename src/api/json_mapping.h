// Service types <-> JSON. The only place that knows the API's JSON shapes.
#pragma once

#include <nlohmann/json.hpp>

#include "core/metadata.h"
#include "core/status.h"
#include "service/types.h"

namespace kr::api {

using nlohmann::json;

json to_json(const Metadata& metadata);
json to_json(const service::CollectionInfo& info);
json to_json(const service::DocumentInfo& info);
json to_json(const service::IngestResult& result);
json to_json(const service::SearchHit& hit);
json to_json(const service::Answer& answer);
// Extension field: {"answerable", "score", "threshold", "signals"}; null when nothing was retrieved.
json answerability_json(const service::Answer& answer);
json error_json(const Status& status);

// OpenAI / KAITO RAGEngine shapes (routes_openai.cpp).
// KAITO's NodeWithScore: {doc_id, node_id (our chunk id), text, score, dense_score: null,
// sparse_score: null, source: null, metadata (null when empty)}.
json to_source_node(const service::SearchHit& hit);
// The sources of an answer (those put in the prompt) as NodeWithScore.
json source_nodes(const service::Answer& answer);
// OpenAI usage object.
json openai_usage(int prompt_tokens, int completion_tokens);
// A whole ChatCompletion for a RAG answer, with source_nodes.
json openai_completion(const service::Answer& answer, const std::string& id, int64_t created,
                       const std::string& model);
// One chat.completion.chunk with choice 0 (`delta`, `finish_reason` null when empty).
json openai_chunk(const std::string& id, int64_t created, const std::string& model, const json& delta,
                  const std::string& finish_reason = "");
// Errors of the OpenAI routes: KAITO's {"detail": message} plus OpenAI's {"error": {message, type,
// param, code}} (code is our error-code name, as on every other route).
json openai_error_json(const Status& status);

// A JSON object of scalar or any values -> Metadata (canonical JSON text per value).
Result<Metadata> metadata_from_json(const json& value);
// {"key": value} or {"key": [v1, v2]} (any of) -> MetadataFilter.
Result<MetadataFilter> filter_from_json(const json& value);

// Typed field access with messages a person can act on.
Result<std::string> required_string(const json& body, const char* field);
// Optional retrieval fields of search/ask/chat bodies: mode, fusion, alpha, candidates.
Status read_retrieval_options(const json& body, service::SearchRequest& request);
// A search response: {query, mode, results, took_ms[, embed_ms][, warnings]}.
json to_json(const service::SearchResponse& response, const std::string& query);
Result<int> optional_int(const json& body, const char* field, int fallback, int min, int max);
Result<double> optional_double(const json& body, const char* field, double fallback, double min, double max);
Result<bool> optional_bool(const json& body, const char* field, bool fallback);

}  // namespace kr::api
