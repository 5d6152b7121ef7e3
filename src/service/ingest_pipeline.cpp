#include "service/ingest_pipeline.h"

#include <atomic>
#include <condition_variable>
#include <thread>

#include "chunk/chunker.h"
#include "core/log.h"
#include "core/file_hash.h"
#include "core/text.h"
#include "service/ingest_inputs.h"
#include "service/ingest_pipeline_internal.h"

namespace kr::service {

IngestPipeline::IngestPipeline(CollectionRegistry& registry, const ParseRunner& parser,
                               std::shared_ptr<embed::Embedder> embedder, EngineCounters& counters,
                               IngestPipelineOptions options)
    : registry_(registry),
      parser_(parser),
      embedder_(std::move(embedder)),
      counters_(counters),
      options_(std::move(options)) {
  options_.batch_documents = std::max<size_t>(1, options_.batch_documents);
  options_.prepare_threads = std::max<size_t>(1, options_.prepare_threads);
}

size_t IngestPipeline::in_flight() const {
  std::lock_guard lock(mutex_);
  return in_flight_;
}

size_t IngestPipeline::queued() const {
  std::lock_guard lock(mutex_);
  size_t total = 0;
  for (const auto& [collection, queue] : queues_) total += queue->pending.size();
  return total;
}

Result<std::shared_ptr<Collection>> IngestPipeline::find_or_create(const std::string& name, bool create) {
  auto found = registry_.find(name);
  if (found || !create || found.status().code() != ErrorCode::kNotFound) return found;
  auto created = registry_.create(name, options_.new_collection_settings);
  if (!created && created.status().code() != ErrorCode::kAlreadyExists) return created.status();
  return registry_.find(name);
}

Result<std::vector<Result<IngestResult>>> IngestPipeline::ingest(const std::string& collection,
                                                                 std::vector<IngestInput> inputs, bool create,
                                                                 const IngestProgress& progress) {
  if (!valid_collection_name(collection)) {
    return error(ErrorCode::kInvalidArgument, "invalid collection name '" + collection + "'");
  }
  {
    // Admission: a bounded amount of work in the pipeline; the caller retries later.
    std::lock_guard lock(mutex_);
    if (in_flight_ > 0 && in_flight_ + inputs.size() > options_.queue_documents) {
      return error(ErrorCode::kUnavailable,
                   "the ingest queue is full (" + std::to_string(in_flight_) + " documents in progress, limit " +
                       std::to_string(options_.queue_documents) + " (ingest_queue_documents)); retry shortly");
    }
    in_flight_ += inputs.size();
  }
  const size_t count = inputs.size();
  std::vector<Result<IngestResult>> results(count, Result<IngestResult>(IngestResult{}));
  std::vector<std::shared_ptr<Ticket>> tickets(count);
  std::vector<std::shared_ptr<CommitQueue>> queues(count);
  const auto answer = [&](size_t i, Result<IngestResult> result) {
    results[i] = std::move(result);
    if (progress) progress(i, results[i]);
    std::lock_guard lock(mutex_);
    --in_flight_;
  };

  // Parse pool: this thread plus up to prepare_threads - 1 helpers. Each prepared document
  // enters its collection's queue as soon as the documents before it in this request have,
  // so commits start while later files still parse and documents are stored in request order
  // (listings, e.g. RAGEngine's, show them in the order they were sent).
  std::atomic<size_t> next{0};
  std::mutex order_mutex;
  std::condition_variable order_changed;
  size_t next_in_order = 0;
  const auto in_turn = [&](size_t i, const auto& step) {
    std::unique_lock lock(order_mutex);
    order_changed.wait(lock, [&] { return next_in_order == i; });
    step();
    ++next_in_order;
    order_changed.notify_all();
  };
  const auto prepare_all = [&] {
    for (size_t i = next++; i < count; i = next++) {
      auto prepared = prepare(collection, std::move(inputs[i]), create);
      if (auto* final_result = std::get_if<Result<IngestResult>>(&prepared)) {
        in_turn(i, [] {});
        answer(i, std::move(*final_result));
        continue;
      }
      auto pending = std::move(std::get<std::unique_ptr<Pending>>(prepared));
      pending->ticket = std::make_shared<Ticket>();
      tickets[i] = pending->ticket;
      in_turn(i, [&] { queues[i] = enqueue(std::move(pending)); });
    }
  };
  {
    std::vector<std::jthread> helpers;
    const size_t threads = std::min(count, options_.prepare_threads);
    for (size_t t = 1; t < threads; ++t) helpers.emplace_back(prepare_all);
    prepare_all();
  }
  for (size_t i = 0; i < count; ++i) {
    if (tickets[i]) answer(i, wait(tickets[i], queues[i]));
  }
  return results;
}

std::variant<Result<IngestResult>, std::unique_ptr<IngestPipeline::Pending>> IngestPipeline::prepare(
    const std::string& collection_name, IngestInput input, bool create) {
  // A missing collection is created only once a file has parsed: a batch of
  // rejected files leaves nothing behind.
  std::shared_ptr<Collection> collection;
  if (auto found = registry_.find(collection_name)) {
    collection = *found;
  } else if (found.status().code() != ErrorCode::kNotFound || !create) {
    return Result<IngestResult>(found.status());
  }
  normalize_identity(input);
  // A file input stays on disk: it is hashed as a stream and read only by its parser.
  const bool from_file = input.bytes.empty() && !input.path.empty();
  if (Status described = describe_input(input, options_.max_file_bytes); !described) {
    counters_.files_failed++;
    return Result<IngestResult>(failed_ingest(input.name, described));
  }
  const std::string content_hash = from_file ? input.file_sha256 : sha256_hex(input.bytes);
  const std::string doc_id = input.doc_id.empty() ? doc_id_for_source(input.source) : input.doc_id;
  IngestResult result;
  result.name = input.name;
  result.doc_id = doc_id;

  // A cheap check before parsing; the commit re-decides replace/duplicate inside its transaction.
  if (collection && collection->document_key(doc_id)) {
    auto same_source = collection->store().find_by_doc_id(doc_id);
    if (!same_source) return Result<IngestResult>(same_source.status());
    if (same_source->has_value() && (*same_source)->content_hash == content_hash &&
        (*same_source)->metadata == input.metadata) {
      counters_.files_unchanged++;
      result.outcome = IngestOutcome::kUnchanged;
      result.format = (*same_source)->format;
      result.chunks = (*same_source)->chunk_count;
      result.pages = (*same_source)->page_count;
      return Result<IngestResult>(std::move(result));
    }
  }

  // A new collection is created with the server's defaults: its OCR languages are the runner's.
  const ParseRequest request{input.password, collection ? collection->settings().ocr_languages : std::string()};
  auto parsed = from_file ? parser_.parse_file(input.path, input.file_size, input.name, request)
                          : parser_.parse(input.bytes, input.name, request);
  input.bytes = {};  // parsed: the raw bytes are not needed any more
  if (!parsed) {
    counters_.files_failed++;
    log::info("file rejected", {{"collection", collection_name}, {"file", input.name},
                                {"reason", parsed.status().to_string()}});
    return Result<IngestResult>(failed_ingest(input.name, parsed.status()));
  }
  if (!collection) {
    auto created = find_or_create(collection_name, /*create=*/true);
    if (!created) return Result<IngestResult>(created.status());
    collection = *created;
  }
  chunk::Options chunk_options;
  chunk_options.max_tokens = collection->settings().chunk_max_tokens;
  chunk_options.overlap_tokens = collection->settings().chunk_overlap_tokens;
  if (embedder_ && embedder_->info().max_tokens > 0 && embedder_->count_tokens("", embed::InputKind::kPassage) >= 0) {
    // Chunks never exceed what the encoder embeds: a longer tail would be cut off unseen.
    chunk_options.max_model_tokens = embedder_->info().max_tokens;
    chunk_options.model_tokens = [embedder = embedder_](std::string_view text) {
      return embedder->count_tokens(text, embed::InputKind::kPassage);
    };
  }
  const auto chunks = chunk::chunk_document(*parsed, chunk_options);

  auto pending = std::make_unique<Pending>();
  pending->collection = collection;
  pending->bytes = static_cast<size_t>(input.file_size);
  store::DocumentRecord& document = pending->put.document;
  document.doc_id = doc_id;
  document.name = input.name;
  document.source = input.source;
  document.content_hash = content_hash;
  document.format = std::string(parse::format_name(parsed->format));
  document.size_bytes = input.file_size;
  document.page_count = parsed->page_count;
  document.metadata = std::move(input.metadata);
  document.warnings = parsed->warnings;
  document.pages_needing_ocr = parsed->pages_needing_ocr;
  if (chunks.empty()) document.warnings.push_back("no text could be extracted; the document cannot be found by search");
  pending->put.chunks = collection->to_store_chunks(chunks);
  // File documents are identified by source: the same bytes under another source are a
  // duplicate. Documents with an explicit id (RAGEngine texts) and evaluation corpora are not.
  pending->put.refuse_duplicate_content = input.doc_id.empty() && !input.allow_duplicate_content;

  result.format = document.format;
  result.pages = document.page_count;
  result.warnings = document.warnings;
  result.chunks = static_cast<int>(pending->put.chunks.size());
  pending->result = std::move(result);
  return pending;
}

std::shared_ptr<IngestPipeline::CommitQueue> IngestPipeline::enqueue(std::unique_ptr<Pending> pending) {
  std::lock_guard lock(mutex_);
  auto& queue = queues_[pending->collection.get()];
  if (!queue) {
    queue = std::make_shared<CommitQueue>();
    queue->collection = pending->collection;
  }
  queue->pending.push_back(std::move(pending));
  return queue;
}

std::vector<std::unique_ptr<IngestPipeline::Pending>> IngestPipeline::take_batch(CommitQueue& queue) {
  std::vector<std::unique_ptr<Pending>> batch;
  size_t chunks = 0;
  while (!queue.pending.empty() && batch.size() < options_.batch_documents) {
    const size_t next_chunks = queue.pending.front()->put.chunks.size();
    if (!batch.empty() && chunks + next_chunks > options_.batch_chunks) break;
    chunks += next_chunks;
    batch.push_back(std::move(queue.pending.front()));
    queue.pending.pop_front();
  }
  return batch;
}

Result<IngestResult> IngestPipeline::wait(const std::shared_ptr<Ticket>& ticket,
                                          const std::shared_ptr<CommitQueue>& queue) {
  std::unique_lock lock(mutex_);
  while (!ticket->answered) {
    if (queue->leader_active || queue->pending.empty()) {
      answered_.wait(lock);  // another caller is committing a batch (maybe holding this document)
      continue;
    }
    queue->leader_active = true;
    auto batch = take_batch(*queue);
    lock.unlock();
    commit_batch(*queue->collection, batch);
    lock.lock();
    queue->leader_active = false;
    if (auto it = queues_.find(queue->collection.get());
        queue->pending.empty() && it != queues_.end() && it->second == queue) {
      queues_.erase(it);  // idle; the next document of this collection starts a new queue
    }
    answered_.notify_all();
  }
  return std::move(ticket->result);
}

Result<EmbeddingSpace> IngestPipeline::embed_batch(const Collection& collection,
                                                   std::vector<std::unique_ptr<Pending>>& batch) {
  const EmbeddingSpace current = collection.embedding_space();
  if (!embedder_) {
    if (current.model.empty()) return EmbeddingSpace{};
    return error(ErrorCode::kFailedPrecondition,
                 "collection '" + collection.name() + "' holds embeddings of '" + current.model +
                     "' but no embedding model is configured; configure it (embedding_model or embedding_url) "
                     "or delete and re-create the collection");
  }
  if (!current.model.empty() && current.model != embedder_->info().model_id) {
    return error(ErrorCode::kFailedPrecondition,
                 "collection '" + collection.name() + "' holds embeddings of '" + current.model +
                     "' but the configured embedding model is '" + embedder_->info().model_id +
                     "'; vectors of two models cannot be mixed: run `kaito-rag reembed " + collection.name() +
                     "` to switch the collection to the configured model");
  }
  if (current.model.empty() && collection.chunk_count() > 0) {
    // An existing lexical-only collection stays lexical until it is re-embedded as a whole.
    return EmbeddingSpace{};
  }
  std::vector<std::string> texts;
  for (const auto& pending : batch) {
    for (const auto& r : pending->put.chunks) texts.push_back(indexed_text(r.heading_path, r.text));
  }
  if (texts.empty()) return current;
  // One call for the whole batch: the encoder packs and parallelizes across documents.
  auto vectors = embedder_->embed(texts, embed::InputKind::kPassage);
  if (!vectors) return error(vectors.status().code(), "embedding failed: " + vectors.status().message());
  if (vectors->rows() != texts.size()) return error(ErrorCode::kInternal, "the embedder returned too few vectors");
  size_t row = 0;
  for (auto& pending : batch) {
    for (auto& r : pending->put.chunks) {
      const auto v = vectors->row(row++);
      r.vector.assign(v.begin(), v.end());
    }
  }
  return EmbeddingSpace{embedder_->info().model_id, vectors->dimension};
}

void IngestPipeline::commit_batch(Collection& collection, std::vector<std::unique_ptr<Pending>>& batch) {
  std::vector<Result<IngestResult>> results;
  const auto fail_all = [&](const Status& status, bool per_file) {
    for (auto& pending : batch) {
      if (per_file) {
        counters_.files_failed++;
        results.emplace_back(failed_ingest(pending->result.name, status));
      } else {
        results.emplace_back(status);
      }
    }
  };
  // Embeddings are computed before the write lock: searches and deletes go on meanwhile.
  auto space = embed_batch(collection, batch);
  if (!space) {
    log::info("files rejected", {{"collection", collection.name()}, {"files", std::to_string(batch.size())},
                                 {"reason", space.status().to_string()}});
    fail_all(space.status(), /*per_file=*/true);
  } else {
    std::lock_guard write_lock(collection.write_mutex());
    Status adopted;
    if (!space->model.empty() && collection.embedding_space() != *space) {
      // The collection's model is decided by its first embedded batch.
      adopted = collection.adopt_embedding_space(*space);
    }
    if (!adopted) {
      fail_all(adopted, /*per_file=*/true);
    } else {
      std::vector<store::PutRequest> requests;
      requests.reserve(batch.size());
      for (auto& pending : batch) requests.push_back(std::move(pending->put));
      auto outcomes = collection.put_batch(std::move(requests));
      if (!outcomes) {
        fail_all(outcomes.status(), /*per_file=*/false);
      } else {
        counters_.ingest_batches++;
        for (size_t i = 0; i < batch.size(); ++i) {
          IngestResult result = std::move(batch[i]->result);
          const store::PutOutcome& outcome = (*outcomes)[i];
          if (!outcome.duplicate_of.empty()) {
            counters_.files_duplicate++;
            result.outcome = IngestOutcome::kDuplicate;
            result.duplicate_of = outcome.duplicate_of;
            result.doc_id = outcome.duplicate_of;
          } else {
            result.outcome = outcome.replaced ? IngestOutcome::kUpdated : IngestOutcome::kAdded;
            (outcome.replaced ? counters_.files_updated : counters_.files_added)++;
            counters_.chunks_added += static_cast<uint64_t>(result.chunks);
            counters_.bytes_ingested += batch[i]->bytes;
          }
          results.emplace_back(std::move(result));
        }
      }
    }
  }
  std::lock_guard lock(mutex_);
  for (size_t i = 0; i < batch.size(); ++i) {
    batch[i]->ticket->result = std::move(results[i]);
    batch[i]->ticket->answered = true;
  }
}

}  // namespace kr::service
