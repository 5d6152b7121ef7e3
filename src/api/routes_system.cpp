// GET /healthz, /readyz, /metrics, /openapi.json.
#include <sstream>

#include "api/http_util.h"
#include "api/openapi_document.h"

namespace kr::api {

namespace {

std::string service_metrics(service::Engine& engine) {
  const auto& c = engine.counters();
  std::ostringstream out;
  out << "# HELP kaito_rag_ready 1 when the server has loaded its collections.\n"
      << "# TYPE kaito_rag_ready gauge\n"
      << "kaito_rag_ready " << (engine.ready() ? 1 : 0) << "\n"
      << "# HELP kaito_rag_ingest_files_total Files processed by ingest, by outcome.\n"
      << "# TYPE kaito_rag_ingest_files_total counter\n"
      << "kaito_rag_ingest_files_total{outcome=\"added\"} " << c.files_added << "\n"
      << "kaito_rag_ingest_files_total{outcome=\"updated\"} " << c.files_updated << "\n"
      << "kaito_rag_ingest_files_total{outcome=\"unchanged\"} " << c.files_unchanged << "\n"
      << "kaito_rag_ingest_files_total{outcome=\"duplicate\"} " << c.files_duplicate << "\n"
      << "kaito_rag_ingest_files_total{outcome=\"failed\"} " << c.files_failed << "\n"
      << "# HELP kaito_rag_ingest_chunks_total Chunks written by ingest.\n"
      << "# TYPE kaito_rag_ingest_chunks_total counter\n"
      << "kaito_rag_ingest_chunks_total " << c.chunks_added << "\n"
      << "# HELP kaito_rag_ingest_bytes_total Bytes of files ingested.\n"
      << "# TYPE kaito_rag_ingest_bytes_total counter\n"
      << "kaito_rag_ingest_bytes_total " << c.bytes_ingested << "\n"
      << "# HELP kaito_rag_answers_total Answers by result.\n"
      << "# TYPE kaito_rag_answers_total counter\n"
      << "kaito_rag_answers_total{result=\"ok\"} " << c.answers << "\n"
      << "kaito_rag_answers_total{result=\"error\"} " << c.answer_failures << "\n";
  const auto& query_cache = engine.query_cache();
  out << "# HELP kaito_rag_query_embedding_cache_total Query vectors looked up in the cache, by result.\n"
      << "# TYPE kaito_rag_query_embedding_cache_total counter\n"
      << "kaito_rag_query_embedding_cache_total{result=\"hit\"} " << query_cache.hits() << "\n"
      << "kaito_rag_query_embedding_cache_total{result=\"miss\"} " << query_cache.misses() << "\n"
      << "# HELP kaito_rag_query_embedding_cache_entries Query vectors in the cache (capacity: query_embedding_cache).\n"
      << "# TYPE kaito_rag_query_embedding_cache_entries gauge\n"
      << "kaito_rag_query_embedding_cache_entries " << query_cache.size() << "\n";
  auto collections = engine.list_collections();
  if (collections) {
    out << "# HELP kaito_rag_collections Collections on this server.\n# TYPE kaito_rag_collections gauge\n"
        << "kaito_rag_collections " << collections->size() << "\n";
  }
  if (const embed::Embedder* embedder = engine.embedder(); embedder != nullptr && !embedder->info().precision.empty()) {
    out << "# HELP kaito_rag_encoder_info The local encoder's model and the precision it chose at start-up.\n"
        << "# TYPE kaito_rag_encoder_info gauge\n"
        << "kaito_rag_encoder_info{model=\"" << label_value(embedder->info().model_id) << "\",precision=\""
        << embedder->info().precision << "\"} 1\n";
  }
  // Per-collection series name every collection (private ones too): only when asked for.
  if (collections && engine.config().metrics_collection_labels) {
    const std::pair<const char*, const char*> gauges[] = {
        {"kaito_rag_collection_documents", "Documents per collection."},
        {"kaito_rag_collection_chunks", "Chunks per collection."},
        {"kaito_rag_index_terms", "Distinct terms in the lexical index per collection."},
        {"kaito_rag_index_postings", "Postings in the lexical index per collection."}};
    for (size_t g = 0; g < 4; ++g) {
      out << "# HELP " << gauges[g].first << " " << gauges[g].second << "\n# TYPE " << gauges[g].first << " gauge\n";
      for (const auto& info : *collections) {
        const uint64_t values[] = {static_cast<uint64_t>(info.documents), static_cast<uint64_t>(info.chunks),
                                   info.index_terms, info.index_postings};
        out << gauges[g].first << "{collection=\"" << label_value(info.name) << "\"} " << values[g] << "\n";
      }
    }
  }
  return out.str();
}

}  // namespace

void add_system_routes(Router& router, ApiContext& ctx) {
  router.add("GET", "/healthz", "/healthz", [](const httplib::Request&, httplib::Response& res) {
    send_json(res, 200, {{"status", "ok"}});
  });
  router.add("GET", "/readyz", "/readyz", [&ctx](const httplib::Request&, httplib::Response& res) {
    if (ctx.engine.ready()) {
      send_json(res, 200, {{"status", "ready"}, {"llm", ctx.engine.has_llm() ? "configured" : "none (extractive answers)"}});
    } else {
      send_error(res, error(ErrorCode::kUnavailable, ctx.engine.database_ok()
                                                         ? "loading collections"
                                                         : "the PostgreSQL database is unreachable; retrying"));
    }
  });
  router.add("GET", "/metrics", "/metrics", [&ctx](const httplib::Request&, httplib::Response& res) {
    res.set_content(ctx.metrics.render() + service_metrics(ctx.engine), "text/plain; version=0.0.4; charset=utf-8");
  });
  router.add("GET", "/openapi.json", "/openapi.json", [](const httplib::Request&, httplib::Response& res) {
    res.set_content(std::string(openapi_document()), "application/json");
  });
}

}  // namespace kr::api
