// The service: collections on one data directory, ingest, search and answers.
// Everything the HTTP API and the CLI do goes through here.
#pragma once

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <shared_mutex>
#include <string>
#include <vector>

#include "core/config.h"
#include "embed/embedder.h"
#include "generate/llm_client.h"
#include "service/answerer.h"
#include "service/collection.h"
#include "service/collection_registry.h"
#include "service/counters.h"
#include "service/ingest_pipeline.h"
#include "service/parse_runner.h"
#include "service/text_documents.h"
#include "service/types.h"
#include "retrieve/query_embedding_cache.h"
#include "retrieve/search_pool.h"
#include "store/data_dir.h"

namespace kr::service {


// Thread-safety: all public methods may be called concurrently.
class Engine {
 public:
  // `self_executable` is the path of this binary, used to run isolated parse
  // workers when config.parse_isolation == "process".
  Engine(Config config, std::string self_executable);
  ~Engine();

  // kReadWrite owns the data directory (lock, scratch cleanup); kReadOnly writes nothing.
  using Access = store::DataDirectory::Access;
  // Opens every collection in the data directory (rebuilding in-memory indexes).
  // Until it returns, ready() is false. kFailedPrecondition when another process
  // owns the data directory and read-write access was asked for.
  Status open(Access access = Access::kReadWrite);
  // Takes the data directory's exclusive lock (open(kReadWrite) does it too);
  // lets a server fail fast before it starts listening.
  Status claim_data_dir();
  // Collections loaded and, with the PostgreSQL store, the database reachable.
  bool ready() const { return registry_.ready() && registry_.database_ok(); }
  bool database_ok() const { return registry_.database_ok(); }
  const Config& config() const { return config_; }
  // The shared database in --store postgres mode (null when embedded).
  const std::shared_ptr<store::PgPool>& postgres() const { return registry_.postgres(); }
  const EngineCounters& counters() const { return counters_; }
  bool has_llm() const { return answerer_->has_llm(); }

  // Collections. Names: 1-64 characters of [A-Za-z0-9_.-], starting with a letter or digit.
  Result<CollectionInfo> create_collection(const std::string& name, const CollectionSettings& settings);
  Result<std::vector<CollectionInfo>> list_collections() const;
  Result<CollectionInfo> get_collection(const std::string& name) const;
  // Whether the collection exists and is served (no I/O; O(log n)).
  bool has_collection(const std::string& name) const;
  Status delete_collection(const std::string& name);
  // Settings for a new collection from the configuration defaults.
  CollectionSettings default_settings() const;

  // Ingests one file; a per-file failure is an IngestResult with outcome kFailed,
  // not an error. Errors are for the request as a whole (e.g. bad collection name).
  // Creates the collection with default settings when `create_collection` and it is missing.
  Result<IngestResult> ingest(const std::string& collection, IngestInput input, bool create_collection = true);
  // Many files through the pipeline's group commit (IngestPipeline::ingest): one result per
  // input, in order; kResourceExhausted when the ingest queue is full (retry later).
  Result<std::vector<Result<IngestResult>>> ingest_many(const std::string& collection, std::vector<IngestInput> inputs,
                                                        bool create_collection = true,
                                                        const IngestProgress& progress = {});
  // --store postgres: accepts the files into the shared ingest queue and returns once their jobs
  // are committed (IngestPipeline::enqueue); any replica ingests them. ingest_job: a job's state.
  Result<std::vector<QueuedIngest>> ingest_queued(const std::string& collection, std::vector<IngestInput> inputs,
                                                  bool create_collection = true);
  Result<store::IngestJobStatus> ingest_job(const std::string& collection, int64_t job_id);

  Result<std::vector<DocumentInfo>> list_documents(const std::string& collection, int64_t offset, int64_t limit,
                                                   const MetadataFilter& filter, int64_t* total) const;
  Result<DocumentInfo> get_document(const std::string& collection, const std::string& doc_id) const;
  Status delete_document(const std::string& collection, const std::string& doc_id);

  // Retrieval in the request's mode, else the collection's, else the configured one. A default
  // dense/hybrid search that cannot run (no embeddings, model down) falls back to BM25 with a
  // warning in the response; an explicitly requested one fails with the reason.
  Result<SearchResponse> search(const std::string& collection, const SearchRequest& request) const;

  // The configured embedding model (local or remote); null when none is configured.
  const embed::Embedder* embedder() const { return embedder_.get(); }
  // Query vectors of recent dense/hybrid searches (hits and misses for /metrics).
  const retrieve::QueryEmbeddingCache& query_cache() const { return query_cache_; }
  // Embeds texts with the configured model (POST /v1/embeddings); kFailedPrecondition without one.
  Result<embed::Embeddings> embed_texts(const std::vector<std::string>& texts, embed::InputKind kind);
  // Recomputes every chunk vector of a collection with the configured model (after a model
  // change); the old vectors serve until the new set is complete. Progress: (done, total).
  Status reembed(const std::string& collection, const std::function<void(size_t, size_t)>& progress = {});

  // Answers from the collection: with the configured model (streaming through
  // `sink` when given), or extractively when no model is configured.
  Result<Answer> ask(const std::string& collection, const AskRequest& request, const AnswerSink& sink = {});

  // KAITO RAGEngine layer: text documents, chunk listing, persist/load (engine_ragengine.cpp, text_documents.h).
  Result<std::vector<TextIndexOutcome>> index_texts(const std::string& index, const std::vector<TextDocument>& documents);
  Result<std::vector<std::string>> list_indexes_by_creation() const;
  Result<TextChunkPage> list_text_chunks(const std::string& index, int64_t offset, int64_t limit,
                                         const MetadataFilter& filter) const;
  Result<std::vector<TextUpdateOutcome>> update_texts(const std::string& index, const std::vector<TextDocument>& documents);
  Result<std::vector<bool>> delete_texts(const std::string& index, const std::vector<std::string>& doc_ids);
  Result<std::string> persist_index(const std::string& index, const std::string& path);
  Status load_index(const std::string& index, const std::string& path, bool overwrite);
  std::string persist_base_dir() const;

  // Multi-turn chat over a collection (service/answerer.h). With a model, a follow-up (a question
  // with history) is first condensed into a standalone question for retrieval (on failure the
  // raw question is used); the answer prompt holds the sources, the latest history turns that
  // fit and the question. Without a model: the extractive answer to the last question.
  Result<Answer> chat(const std::string& collection, const ChatAskRequest& request, const AnswerSink& sink = {});
  // The configured model's id and context window; kFailedPrecondition when none is configured.
  Result<generate::ModelInfo> model_info();
  // Forwards an OpenAI chat request to the model unchanged (generate::LlmClient::forward_chat).
  Result<generate::RawResponse> forward_chat(const std::string& json_body, const generate::ByteSink& sink = {});

  // Integrity of every collection's store plus index/store agreement (for tests and `kaito-rag check`).
  Status check() const;

 private:
  Result<std::shared_ptr<Collection>> find(const std::string& name) const;
  Status require_writable() const;
  IngestPipelineOptions pipeline_options() const;
  Status open_postgres();
  // The query's vector from the cache, else from the embedder (then cached).
  Result<std::vector<float>> embed_query(const std::string& query, const std::string& model) const;

  Config config_;
  ParseRunner parser_;
  std::shared_ptr<embed::Embedder> embedder_;  // set by open(); null = BM25 only
  EngineCounters counters_;
  std::unique_ptr<Answerer> answerer_;  // after counters_: it counts answers there
  store::DataDirectory data_dir_;
  CollectionRegistry registry_;
  std::unique_ptr<IngestPipeline> pipeline_;  // set by open()
  mutable retrieve::QueryEmbeddingCache query_cache_;
  mutable retrieve::SearchPool search_pool_;  // the dense side of hybrid searches
};

}  // namespace kr::service
