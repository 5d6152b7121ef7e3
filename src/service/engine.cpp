#include "service/engine.h"

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>

#include <unistd.h>

#include "core/log.h"
#include "core/text.h"
#include "embed/encoder_executor.h"
#include "embed/local_encoder.h"
#include "embed/remote_embedder.h"
#include "generate/prompt.h"
#include "retrieve/cpu_headroom.h"
#include "store/pg_schema.h"

namespace kr::service {
namespace fs = std::filesystem;

namespace {

parse::Limits limits_from(const Config& c) {
  parse::Limits limits;
  limits.max_file_bytes = static_cast<uint64_t>(c.parse_max_file_bytes);
  limits.max_pages = c.parse_max_pages;
  limits.max_seconds_per_file = c.parse_max_seconds;
  limits.ocr_enabled = !c.parse_ocr_language.empty() && c.parse_ocr_language != "off";
  if (limits.ocr_enabled) limits.ocr_language = c.parse_ocr_language;
  limits.ocr_seconds_per_page = c.parse_ocr_seconds_per_page;
  return limits;
}

ParseRunnerOptions parse_options(const Config& c, const std::string& self) {
  ParseRunnerOptions options;
  options.limits = limits_from(c);
  if (c.parse_isolation == "process") options.worker_executable = self;
  options.text_formats_in_process = true;  // see parses_in_process()
  options.scratch_dir = c.data_dir + "/tmp";
  options.max_workers = c.parse_max_workers;
  options.worker_memory_bytes = c.parse_worker_memory_bytes;
  return options;
}

index::VectorIndexOptions vector_options(const Config& c) {
  index::VectorIndexOptions options;
  options.exact_threshold = static_cast<uint64_t>(c.vector_exact_threshold);
  return options;
}

// One helper per core beyond the request's own thread (at least one): the dense side of a
// hybrid search runs there while the request's thread scores BM25.
retrieve::SearchPoolOptions search_pool_options() {
  retrieve::SearchPoolOptions options;
  options.threads = static_cast<int>(std::max(2u, std::thread::hardware_concurrency()) - 1);
  options.queue_max = static_cast<size_t>(4 * options.threads);
  return options;
}

Result<std::shared_ptr<embed::Embedder>> make_model(const Config& c);

// The configured model behind the one encoder executor: embedding_threads workers shared by
// ingest and queries (queries first); each slice runs single-threaded in the model.
Result<std::shared_ptr<embed::Embedder>> make_embedder(const Config& c) {
  auto model = make_model(c);
  if (!model || !*model) return model;
  embed::EncoderExecutorOptions options;
  options.threads = c.embedding_threads;
  if (c.embedding_model.empty()) {
    // Remote: a slice is one HTTP request of up to embedding_batch_size texts.
    options.slice_texts = static_cast<size_t>(c.embedding_batch_size);
    options.slice_chars = SIZE_MAX;
  } else {
    options.interactive_lane = true;  // a query never waits behind an ingest slice on the cores
  }
  return std::shared_ptr<embed::Embedder>(std::make_shared<embed::EncoderExecutor>(std::move(model.value()), options));
}

// The configured model: a local model folder, a remote endpoint, or none (BM25 only).
Result<std::shared_ptr<embed::Embedder>> make_model(const Config& c) {
  if (!c.embedding_model.empty()) {
    embed::LocalEncoderOptions options;
    options.threads = 1;  // the executor's workers are the threads
    options.batch_size = c.embedding_batch_size;
    if (!c.embedding_query_prefix.empty()) options.query_prefix = c.embedding_query_prefix;
    if (!c.embedding_passage_prefix.empty()) options.passage_prefix = c.embedding_passage_prefix;
    options.model_id = c.embedding_name;
    auto precision = embed::parse_encoder_precision(c.encoder_precision);
    if (!precision) return precision.status();
    options.precision = *precision;
    auto encoder = embed::LocalEncoder::load(c.embedding_model, options);
    if (!encoder) {
      return error(encoder.status().code(), "cannot load the embedding model (embedding_model): " +
                                                encoder.status().message());
    }
    return std::shared_ptr<embed::Embedder>(std::move(encoder.value()));
  }
  if (!c.embedding_url.empty()) {
    embed::RemoteEmbedderConfig remote;
    auto protocol = embed::parse_remote_protocol(c.embedding_protocol);
    if (!protocol) return protocol.status();
    remote.protocol = *protocol;
    remote.url = c.embedding_url;
    remote.model = c.embedding_name;
    remote.api_key = c.embedding_api_key;
    remote.batch_size = c.embedding_batch_size;
    remote.query_prefix = c.embedding_query_prefix;
    remote.passage_prefix = c.embedding_passage_prefix;
    auto embedder = embed::make_remote_embedder(remote);
    if (!embedder) return embedder.status();
    // The dimension is learned from the first answer; a server that is down now is not fatal
    // (searches fall back to BM25 and embedded ingests fail cleanly until it answers).
    if (Status probe = (*embedder)->probe(); !probe) {
      log::warn("embedding server not reachable at start-up", {{"url", c.embedding_url}, {"error", probe.to_string()}});
    }
    return std::shared_ptr<embed::Embedder>(std::move(embedder.value()));
  }
  return std::shared_ptr<embed::Embedder>();
}

DocumentInfo to_info(const store::DocumentRecord& d) {
  DocumentInfo info;
  info.doc_id = d.doc_id;
  info.name = d.name;
  info.source = d.source;
  info.content_hash = d.content_hash;
  info.format = d.format;
  info.size_bytes = d.size_bytes;
  info.page_count = d.page_count;
  info.chunk_count = d.chunk_count;
  info.metadata = d.metadata;
  info.warnings = d.warnings;
  info.pages_needing_ocr = d.pages_needing_ocr;
  info.created_at = d.created_at;
  info.updated_at = d.updated_at;
  return info;
}

}  // namespace

std::string_view ingest_outcome_name(IngestOutcome outcome) {
  switch (outcome) {
    case IngestOutcome::kAdded: return "added";
    case IngestOutcome::kUpdated: return "updated";
    case IngestOutcome::kUnchanged: return "unchanged";
    case IngestOutcome::kDuplicate: return "duplicate";
    case IngestOutcome::kFailed: return "failed";
  }
  return "failed";
}

Engine::Engine(Config config, std::string self_executable)
    : config_(std::move(config)),
      parser_(parse_options(config_, self_executable)),
      data_dir_(config_.data_dir),
      registry_(data_dir_, vector_options(config_)),
      query_cache_(static_cast<size_t>(config_.query_embedding_cache)),
      search_pool_(search_pool_options()) {
  AnswererHooks hooks;
  hooks.search = [this](const std::string& collection, const SearchRequest& request) {
    return search(collection, request);
  };
  hooks.settings = [this](const std::string& collection) -> Result<CollectionSettings> {
    auto c = find(collection);
    if (!c) return c.status();
    return (*c)->settings();
  };
  hooks.embedder = [this]() -> embed::Embedder* { return embedder_.get(); };
  answerer_ = std::make_unique<Answerer>(config_, std::move(hooks), counters_);
}

Engine::~Engine() {
  // Nothing is in flight once the owner destroys the engine; the next start loads the snapshots.
  if (registry_.ready()) registry_.save_snapshots();
}

Status Engine::claim_data_dir() { return data_dir_.claim(); }

Status Engine::require_writable() const { return data_dir_.require_writable(); }

CollectionSettings Engine::default_settings() const {
  CollectionSettings s;
  s.language = config_.language;
  s.bm25_k1 = config_.bm25_k1;
  s.bm25_b = config_.bm25_b;
  s.chunk_max_tokens = config_.chunk_max_tokens;
  s.chunk_overlap_tokens = config_.chunk_overlap_tokens;
  return s;
}

Status Engine::open(Access access) {
  {
    const auto started = std::chrono::steady_clock::now();
    auto embedder = make_embedder(config_);
    if (!embedder) return embedder.status();
    embedder_ = std::move(embedder.value());
    if (embedder_) {
      log::info("embedding model ready",
                {{"model", embedder_->info().model_id},
                 {"dimension", std::to_string(embedder_->info().dimension)},
                 {"precision", embedder_->info().precision.empty() ? "remote" : embedder_->info().precision},
                 {"ms", std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(
                                           std::chrono::steady_clock::now() - started).count())}});
    }
  }
  KR_RETURN_IF_ERROR(data_dir_.open(access));
  if (config_.store == "postgres") KR_RETURN_IF_ERROR(open_postgres());
  pipeline_ = std::make_unique<IngestPipeline>(registry_, parser_, embedder_, counters_, pipeline_options());
  KR_RETURN_IF_ERROR(registry_.open_all());
  registry_.start_following(std::chrono::milliseconds(config_.pg_follow_interval_ms));  // no-op when embedded
  if (registry_.shared()) {
    // Any replica takes queued uploads (?wait=false); host:pid names the lease holder.
    char host[256] = {};
    (void)::gethostname(host, sizeof host - 1);
    auto queue = std::make_shared<store::PgIngestQueue>(registry_.postgres(),
                                                        std::string(host) + ":" + std::to_string(::getpid()),
                                                        std::chrono::seconds(config_.pg_queue_lease_seconds));
    pipeline_->start_queue_workers(std::move(queue), config_.pg_queue_workers,
                                   std::chrono::milliseconds(config_.pg_follow_interval_ms));
  }
  return Status::ok();
}

Status Engine::open_postgres() {
  store::PgOptions options;
  options.url = config_.pg_url;
  options.max_connections = config_.pg_max_connections;
  auto pool = std::make_shared<store::PgPool>(std::move(options));
  log::info("opening the PostgreSQL store", {{"url", pool->redacted_url()}});
  KR_RETURN_IF_ERROR(store::pg_migrate(*pool));
  registry_.use_postgres(std::move(pool));
  return Status::ok();
}

IngestPipelineOptions Engine::pipeline_options() const {
  IngestPipelineOptions options;
  options.batch_documents = static_cast<size_t>(config_.ingest_batch_documents);
  options.batch_chunks = static_cast<size_t>(config_.ingest_batch_chunks);
  options.queue_documents = static_cast<size_t>(config_.ingest_queue_documents);
  options.prepare_threads = std::max(1u, std::thread::hardware_concurrency());
  options.max_file_bytes = config_.parse_max_file_bytes;
  options.new_collection_settings = default_settings();
  return options;
}

Result<std::shared_ptr<Collection>> Engine::find(const std::string& name) const { return registry_.find(name); }

Result<CollectionInfo> Engine::create_collection(const std::string& name, const CollectionSettings& settings) {
  auto created = registry_.create(name, settings);
  if (!created) return created.status();
  return (*created)->info();
}

Result<std::vector<CollectionInfo>> Engine::list_collections() const { return registry_.list(); }

Result<CollectionInfo> Engine::get_collection(const std::string& name) const {
  auto collection = find(name);
  if (!collection) return collection.status();
  return (*collection)->info();
}

bool Engine::has_collection(const std::string& name) const { return registry_.has_collection(name); }

Status Engine::delete_collection(const std::string& name) { return registry_.remove(name); }

Result<IngestResult> Engine::ingest(const std::string& collection_name, IngestInput input, bool create_collection) {
  std::vector<IngestInput> inputs;
  inputs.push_back(std::move(input));
  auto results = ingest_many(collection_name, std::move(inputs), create_collection);
  if (!results) return results.status();
  return std::move(results->front());
}

Result<std::vector<Result<IngestResult>>> Engine::ingest_many(const std::string& collection,
                                                              std::vector<IngestInput> inputs, bool create_collection,
                                                              const IngestProgress& progress) {
  KR_RETURN_IF_ERROR(require_writable());
  if (!pipeline_) return error(ErrorCode::kUnavailable, "the engine is not open yet");
  return pipeline_->ingest(collection, std::move(inputs), create_collection, progress);
}

Result<std::vector<QueuedIngest>> Engine::ingest_queued(const std::string& collection, std::vector<IngestInput> inputs,
                                                        bool create_collection) {
  KR_RETURN_IF_ERROR(require_writable());
  if (!pipeline_) return error(ErrorCode::kUnavailable, "the engine is not open yet");
  return pipeline_->enqueue(collection, std::move(inputs), create_collection);
}

Result<store::IngestJobStatus> Engine::ingest_job(const std::string& collection, int64_t job_id) {
  if (!pipeline_) return error(ErrorCode::kUnavailable, "the engine is not open yet");
  return pipeline_->job_status(collection, job_id);
}

Result<std::vector<DocumentInfo>> Engine::list_documents(const std::string& collection, int64_t offset, int64_t limit,
                                                         const MetadataFilter& filter, int64_t* total) const {
  auto c = find(collection);
  if (!c) return c.status();
  if (offset < 0) return error(ErrorCode::kInvalidArgument, "offset must be >= 0");
  if (limit < 1 || limit > 1000) return error(ErrorCode::kInvalidArgument, "limit must be between 1 and 1000");
  auto page = (*c)->store().list_documents(offset, limit, filter);
  if (!page) return page.status();
  if (total) *total = page->total;
  std::vector<DocumentInfo> out;
  for (const auto& d : page->documents) out.push_back(to_info(d));
  return out;
}

Result<DocumentInfo> Engine::get_document(const std::string& collection, const std::string& doc_id) const {
  auto c = find(collection);
  if (!c) return c.status();
  auto d = (*c)->store().find_by_doc_id(doc_id);
  if (!d) return d.status();
  if (!d->has_value()) {
    return error(ErrorCode::kNotFound, "document '" + doc_id + "' does not exist in collection '" + collection + "'");
  }
  return to_info(**d);
}

Status Engine::delete_document(const std::string& collection, const std::string& doc_id) {
  KR_RETURN_IF_ERROR(require_writable());
  auto c = find(collection);
  if (!c) return c.status();
  std::lock_guard write_lock((*c)->write_mutex());
  Status status = (*c)->remove(doc_id);
  if (status.code() == ErrorCode::kNotFound && !(*c)->retired()) {
    return error(ErrorCode::kNotFound, "document '" + doc_id + "' does not exist in collection '" + collection + "'");
  }
  return status;
}

Result<SearchResponse> Engine::search(const std::string& collection, const SearchRequest& request) const {
  auto c = find(collection);
  if (!c) return c.status();
  const Collection& target = **c;
  using retrieve::SearchMode;
  const CollectionSettings& settings = target.settings();
  // Request, then collection, then server configuration.
  const std::string default_mode = settings.search_mode.empty() ? config_.search_mode : settings.search_mode;
  const bool explicit_mode = request.mode.has_value();
  SearchPlan plan;
  plan.mode = request.mode.value_or(retrieve::parse_search_mode(default_mode).value_or(SearchMode::kHybrid));
  plan.fusion.method = request.fusion.value_or(
      retrieve::parse_fusion_method(settings.fusion.empty() ? config_.fusion : settings.fusion)
          .value_or(retrieve::FusionMethod::kNormalized));
  plan.fusion.alpha = request.alpha.value_or(settings.hybrid_alpha >= 0 ? settings.hybrid_alpha : config_.hybrid_alpha);
  plan.fusion.rrf_k = config_.rrf_k;
  if (plan.fusion.alpha < 0 || plan.fusion.alpha > 1) return error(ErrorCode::kInvalidArgument, "alpha must be between 0 and 1");
  const int configured = request.candidates > 0 ? request.candidates : config_.search_candidates;
  plan.candidates = configured > 0 ? configured : std::max(50, 4 * request.top_k);

  std::vector<std::string> warnings;
  double embed_ms = 0;
  // A server without an embedding model is a BM25 server: its default needs no warning.
  if (!embedder_ && !explicit_mode) plan.mode = SearchMode::kBm25;
  if (plan.mode != SearchMode::kBm25) {
    // Why dense retrieval cannot run, if it cannot; a default mode then falls back to BM25.
    const EmbeddingSpace space = target.embedding_space();
    std::string unavailable;
    ErrorCode code = ErrorCode::kFailedPrecondition;
    if (!embedder_) {
      unavailable = "no embedding model is configured (embedding_model or embedding_url)";
    } else if (space.model.empty()) {
      unavailable = "collection '" + target.name() + "' has no embeddings (run `kaito-rag reembed " + target.name() + "`)";
    } else if (space.model != embedder_->info().model_id) {
      unavailable = "collection '" + target.name() + "' was embedded with '" + space.model +
                    "', the configured model is '" + embedder_->info().model_id + "' (run `kaito-rag reembed " +
                    target.name() + "`)";
    } else {
      const auto started = std::chrono::steady_clock::now();
      auto vector = embed_query(request.query, space.model);
      embed_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started).count();
      if (vector && static_cast<int>(vector->size()) == space.dimension) {
        plan.query_vector = std::move(vector.value());
      } else {
        code = vector ? ErrorCode::kFailedPrecondition : vector.status().code();
        unavailable = vector ? "the embedding model returned " + std::to_string(vector->size()) +
                                   "-dimensional vectors, the collection holds " + std::to_string(space.dimension)
                             : "embedding the query failed: " + vector.status().message();
      }
    }
    if (!unavailable.empty()) {
      if (explicit_mode) return error(code, std::string(retrieve::search_mode_name(plan.mode)) + " search: " + unavailable);
      warnings.push_back(std::string(retrieve::search_mode_name(plan.mode)) + " search unavailable, used bm25: " +
                         unavailable);
      plan.mode = SearchMode::kBm25;
    }
  }
  // A helper runs the dense side only when a core is idle (retrieve/cpu_headroom.h): on a
  // saturated machine the hand-off costs more than it saves. The load is a machine-wide fact.
  static retrieve::CpuHeadroom headroom(static_cast<int>(std::max(1u, std::thread::hardware_concurrency())));
  if (plan.mode == SearchMode::kHybrid && headroom.available()) plan.pool = &search_pool_;
  auto response = target.search(request, plan);
  if (!response) return response;
  response->embed_ms = embed_ms;
  response->took_ms += embed_ms;
  response->warnings = std::move(warnings);
  return response;
}

Result<std::vector<float>> Engine::embed_query(const std::string& query, const std::string& model) const {
  if (auto cached = query_cache_.find(model, query)) return std::move(*cached);
  auto embedded = embedder_->embed(std::vector<std::string>{query}, embed::InputKind::kQuery);
  if (!embedded) return embedded.status();
  std::vector<float> vector(embedded->values.begin(), embedded->values.end());
  // Only a vector the collection can use is kept (a wrong dimension is reported, not cached).
  if (embedded->dimension == static_cast<int>(vector.size())) query_cache_.insert(model, query, vector);
  return vector;
}

Result<embed::Embeddings> Engine::embed_texts(const std::vector<std::string>& texts, embed::InputKind kind) {
  if (!embedder_) {
    return error(ErrorCode::kFailedPrecondition,
                 "no embedding model is configured (set embedding_model to a local model folder or embedding_url)");
  }
  return embedder_->embed(texts, kind);
}

Status Engine::reembed(const std::string& collection, const std::function<void(size_t, size_t)>& progress) {
  KR_RETURN_IF_ERROR(require_writable());
  if (!embedder_) {
    return error(ErrorCode::kFailedPrecondition,
                 "no embedding model is configured (set embedding_model or embedding_url) to re-embed with");
  }
  auto c = find(collection);
  if (!c) return c.status();
  std::lock_guard write_lock((*c)->write_mutex());
  const std::string model = embedder_->info().model_id;
  // The dimension is known once the model has answered (remote embedders learn it then).
  auto probe = embedder_->embed(std::vector<std::string>{"dimension probe"}, embed::InputKind::kPassage);
  if (!probe) return probe.status();
  const EmbeddingSpace space{model, probe->dimension};
  return (*c)->reembed(
      space,
      [this](const std::vector<std::string>& texts) -> Result<std::vector<std::vector<float>>> {
        auto vectors = embedder_->embed(texts, embed::InputKind::kPassage);
        if (!vectors) return vectors.status();
        std::vector<std::vector<float>> out;
        for (size_t i = 0; i < vectors->rows(); ++i) out.emplace_back(vectors->row(i).begin(), vectors->row(i).end());
        return out;
      },
      progress);
}

Result<Answer> Engine::ask(const std::string& collection, const AskRequest& request, const AnswerSink& sink) {
  return answerer_->ask(collection, request, sink);
}

Result<Answer> Engine::chat(const std::string& collection, const ChatAskRequest& request, const AnswerSink& sink) {
  return answerer_->chat(collection, request, sink);
}

Result<generate::ModelInfo> Engine::model_info() { return answerer_->model_info(); }

Result<generate::RawResponse> Engine::forward_chat(const std::string& json_body, const generate::ByteSink& sink) {
  return answerer_->forward_chat(json_body, sink);
}

Status Engine::check() const { return registry_.check(); }

}  // namespace kr::service
