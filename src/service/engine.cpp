#include "service/engine.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <random>

#include "core/log.h"
#include "core/text.h"
#include "embed/local_encoder.h"
#include "embed/remote_embedder.h"
#include "generate/prompt.h"
#include "store/directory_sync.h"

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

// The configured embedder: a local model folder, a remote endpoint, or none (BM25 only).
Result<std::shared_ptr<embed::Embedder>> make_embedder(const Config& c) {
  if (!c.embedding_model.empty()) {
    embed::LocalEncoderOptions options;
    options.threads = c.embedding_threads;
    options.batch_size = c.embedding_batch_size;
    if (!c.embedding_query_prefix.empty()) options.query_prefix = c.embedding_query_prefix;
    if (!c.embedding_passage_prefix.empty()) options.passage_prefix = c.embedding_passage_prefix;
    options.model_id = c.embedding_name;
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

// Stable public id of a file document: derived from its source, so an updated
// file keeps its id (and its URLs).
std::string doc_id_for_source(const std::string& source) { return sha256_hex("source:" + source).substr(0, 32); }

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

IngestResult failed(const std::string& name, Status status) {
  IngestResult result;
  result.name = name;
  result.outcome = IngestOutcome::kFailed;
  result.error = std::move(status);
  return result;
}

Result<std::string> read_file(const std::string& path, int64_t max_bytes) {
  std::error_code ec;
  const auto size = fs::file_size(path, ec);
  if (ec) return error(ErrorCode::kNotFound, "cannot read " + path + ": " + ec.message());
  if (static_cast<int64_t>(size) > max_bytes) {
    return error(ErrorCode::kTooLarge, "file is " + std::to_string(size) + " bytes, over the limit of " +
                                           std::to_string(max_bytes) + " (parse_max_file_bytes)");
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) return error(ErrorCode::kNotFound, "cannot open " + path);
  std::string bytes(static_cast<size_t>(size), '\0');
  in.read(bytes.data(), static_cast<std::streamsize>(size));
  if (!in) return error(ErrorCode::kInternal, "short read from " + path);
  return bytes;
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

bool valid_collection_name(const std::string& name) {
  // ^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$ — also a safe directory name.
  const auto alnum = [](char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'); };
  if (name.empty() || name.size() > 64 || !alnum(name[0])) return false;
  for (char c : name) {
    if (!alnum(c) && c != '_' && c != '.' && c != '-') return false;
  }
  return true;
}

Engine::Engine(Config config, std::string self_executable)
    : config_(std::move(config)), parser_(parse_options(config_, self_executable)) {
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
  if (lock_fd_ >= 0) ::close(lock_fd_);  // releases the flock
}

Status Engine::claim_data_dir() {
  if (lock_fd_ >= 0) return Status::ok();
  std::error_code ec;
  fs::create_directories(config_.data_dir, ec);
  // One owner per data directory: two servers (or a server and a CLI ingest)
  // would each hold an in-memory index the other's writes never reach.
  const std::string lock_path = config_.data_dir + "/.lock";
  const int fd = ::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) return error(ErrorCode::kUnavailable, "cannot create " + lock_path + " (is the data directory writable?)");
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    ::close(fd);
    return error(ErrorCode::kFailedPrecondition,
                 "the data directory " + config_.data_dir +
                     " is in use by another kaito-rag process (a running server?); stop it, or send files to "
                     "the server's API (curl -F file=@doc.pdf http://HOST/v1/collections/NAME/documents)");
  }
  lock_fd_ = fd;
  return Status::ok();
}

Status Engine::require_writable() const {
  if (access_ == Access::kReadWrite) return Status::ok();
  return error(ErrorCode::kFailedPrecondition, "the data directory was opened read-only");
}

std::string Engine::collections_dir() const { return config_.data_dir + "/collections"; }

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
  access_ = access;
  std::error_code ec;
  {
    const auto started = std::chrono::steady_clock::now();
    auto embedder = make_embedder(config_);
    if (!embedder) return embedder.status();
    embedder_ = std::move(embedder.value());
    if (embedder_) {
      log::info("embedding model ready",
                {{"model", embedder_->info().model_id},
                 {"dimension", std::to_string(embedder_->info().dimension)},
                 {"ms", std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(
                                           std::chrono::steady_clock::now() - started).count())}});
    }
  }
  if (access == Access::kReadWrite) {
    fs::create_directories(collections_dir(), ec);
    if (ec) return error(ErrorCode::kUnavailable, "cannot create data directory " + collections_dir() + ": " + ec.message());
    KR_RETURN_IF_ERROR(claim_data_dir());
    fs::create_directories(config_.data_dir + "/tmp", ec);
    // Leftovers of an interrupted create or delete (see DESIGN.md, "On disk").
    for (const auto& entry : fs::directory_iterator(collections_dir(), ec)) {
      const std::string name = entry.path().filename().string();
      if (name.rfind(".tmp-", 0) == 0 || name.rfind(".trash-", 0) == 0) fs::remove_all(entry.path(), ec);
    }
    for (const auto& entry : fs::directory_iterator(config_.data_dir + "/tmp", ec)) fs::remove_all(entry.path(), ec);
  } else if (!fs::exists(collections_dir(), ec)) {
    ready_ = true;  // nothing ingested yet
    return Status::ok();
  }

  std::map<std::string, std::shared_ptr<Collection>> opened;
  for (const auto& entry : fs::directory_iterator(collections_dir(), ec)) {
    const std::string name = entry.path().filename().string();
    if (!entry.is_directory() || !valid_collection_name(name)) continue;
    const auto started = std::chrono::steady_clock::now();
    auto collection = Collection::open(name, entry.path().string(), vector_options(config_));
    if (!collection) {
      return error(collection.status().code(), "cannot open collection '" + name + "': " + collection.status().message());
    }
    auto info = (*collection)->info();
    log::info("collection opened",
              {{"collection", name},
               {"documents", info ? std::to_string(info->documents) : "?"},
               {"chunks", info ? std::to_string(info->chunks) : "?"},
               {"ms", std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(
                                         std::chrono::steady_clock::now() - started).count())}});
    opened[name] = std::move(collection.value());
  }
  if (ec) return error(ErrorCode::kUnavailable, "cannot list " + collections_dir() + ": " + ec.message());
  {
    std::unique_lock lock(collections_mutex_);
    collections_ = std::move(opened);
  }
  ready_ = true;
  return Status::ok();
}

Result<std::shared_ptr<Collection>> Engine::find(const std::string& name) const {
  if (!ready_) return error(ErrorCode::kUnavailable, "the server is still loading its collections; try again shortly");
  std::shared_lock lock(collections_mutex_);
  auto it = collections_.find(name);
  if (it == collections_.end()) return error(ErrorCode::kNotFound, "collection '" + name + "' does not exist");
  return it->second;
}

Result<std::shared_ptr<Collection>> Engine::find_or_create(const std::string& name, bool create) {
  auto found = find(name);
  if (found || !create || found.status().code() != ErrorCode::kNotFound) return found;
  auto created = create_collection(name, default_settings());
  if (!created && created.status().code() != ErrorCode::kAlreadyExists) return created.status();
  return find(name);
}

Result<CollectionInfo> Engine::create_collection(const std::string& name, const CollectionSettings& settings) {
  if (!ready_) return error(ErrorCode::kUnavailable, "the server is still loading its collections; try again shortly");
  KR_RETURN_IF_ERROR(require_writable());
  if (!valid_collection_name(name)) {
    return error(ErrorCode::kInvalidArgument, "invalid collection name '" + name +
                                                  "': use 1-64 letters, digits, '_', '.' or '-', starting with a "
                                                  "letter or digit");
  }
  if (settings.bm25_k1 < 0 || settings.bm25_b < 0 || settings.bm25_b > 1) {
    return error(ErrorCode::kInvalidArgument, "bm25_k1 must be >= 0 and bm25_b between 0 and 1");
  }
  if (settings.chunk_max_tokens < 16 || settings.chunk_max_tokens > 8192 || settings.chunk_overlap_tokens < 0 ||
      settings.chunk_overlap_tokens * 2 >= settings.chunk_max_tokens) {
    return error(ErrorCode::kInvalidArgument,
                 "chunk_max_tokens must be 16-8192 and chunk_overlap_tokens below half of it");
  }
  std::lock_guard create_lock(create_mutex_);
  {
    std::shared_lock lock(collections_mutex_);
    if (collections_.count(name)) return error(ErrorCode::kAlreadyExists, "collection '" + name + "' already exists");
  }
  // Build in a temporary directory, then rename: a crash never leaves a half-made collection.
  const std::string final_dir = collections_dir() + "/" + name;
  const std::string tmp_dir = collections_dir() + "/.tmp-" + name + "-" + std::to_string(std::random_device()());
  std::error_code ec;
  fs::create_directories(tmp_dir, ec);
  if (ec) return error(ErrorCode::kUnavailable, "cannot create " + tmp_dir + ": " + ec.message());
  {
    auto made = Collection::create(name, tmp_dir, settings, vector_options(config_));
    if (!made) {
      fs::remove_all(tmp_dir, ec);
      return made.status();
    }
  }  // closed before the rename
  fs::rename(tmp_dir, final_dir, ec);
  if (ec) {
    fs::remove_all(tmp_dir, ec);
    return error(ErrorCode::kUnavailable, "cannot create collection directory " + final_dir + ": " + ec.message());
  }
  (void)store::sync_directory(collections_dir());  // the rename survives a power loss (logged on failure)
  auto collection = Collection::open(name, final_dir, vector_options(config_));
  if (!collection) return collection.status();
  {
    std::unique_lock lock(collections_mutex_);
    collections_[name] = *collection;
  }
  log::info("collection created", {{"collection", name}});
  return (*collection)->info();
}

Result<std::vector<CollectionInfo>> Engine::list_collections() const {
  if (!ready_) return error(ErrorCode::kUnavailable, "the server is still loading its collections; try again shortly");
  std::vector<std::shared_ptr<Collection>> all;
  {
    std::shared_lock lock(collections_mutex_);
    for (const auto& [name, c] : collections_) all.push_back(c);
  }
  std::vector<CollectionInfo> out;
  for (const auto& c : all) {
    auto info = c->info();
    if (!info) return info.status();
    out.push_back(std::move(info.value()));
  }
  return out;
}

Result<CollectionInfo> Engine::get_collection(const std::string& name) const {
  auto collection = find(name);
  if (!collection) return collection.status();
  return (*collection)->info();
}

Status Engine::delete_collection(const std::string& name) {
  KR_RETURN_IF_ERROR(require_writable());
  std::lock_guard create_lock(create_mutex_);
  auto collection = find(name);
  if (!collection) return collection.status();
  {
    std::unique_lock lock(collections_mutex_);
    collections_.erase(name);
  }
  // Wait for an ingest in flight, then move the directory aside atomically.
  std::lock_guard write_lock((*collection)->write_mutex());
  const std::string trash = collections_dir() + "/.trash-" + name + "-" + std::to_string(std::random_device()());
  std::error_code ec;
  fs::rename((*collection)->directory(), trash, ec);
  if (ec) return error(ErrorCode::kUnavailable, "cannot delete collection '" + name + "': " + ec.message());
  (void)store::sync_directory(collections_dir());
  fs::remove_all(trash, ec);  // open readers keep their file handles; removal is safe on POSIX
  log::info("collection deleted", {{"collection", name}});
  return Status::ok();
}

Result<IngestResult> Engine::ingest(const std::string& collection_name, IngestInput input, bool create_collection) {
  KR_RETURN_IF_ERROR(require_writable());
  if (!valid_collection_name(collection_name)) {
    return error(ErrorCode::kInvalidArgument, "invalid collection name '" + collection_name + "'");
  }
  // A missing collection is created only once a file has parsed: a batch of
  // rejected files leaves nothing behind.
  std::shared_ptr<Collection> collection;
  if (auto found = find(collection_name)) {
    collection = *found;
  } else if (found.status().code() != ErrorCode::kNotFound || !create_collection) {
    return found.status();
  }
  if (input.name.empty()) input.name = input.path.empty() ? "untitled" : fs::path(input.path).filename().string();
  if (input.source.empty()) input.source = input.path.empty() ? input.name : input.path;
  input.name = sanitize_utf8(input.name);
  input.source = sanitize_utf8(input.source);

  if (input.bytes.empty() && !input.path.empty()) {
    auto bytes = read_file(input.path, config_.parse_max_file_bytes);
    if (!bytes) {
      counters_.files_failed++;
      return failed(input.name, bytes.status());
    }
    input.bytes = std::move(bytes.value());
  }
  if (static_cast<int64_t>(input.bytes.size()) > config_.parse_max_file_bytes) {
    counters_.files_failed++;
    return failed(input.name, error(ErrorCode::kTooLarge, "file is " + std::to_string(input.bytes.size()) +
                                                              " bytes, over the limit of " +
                                                              std::to_string(config_.parse_max_file_bytes)));
  }

  const std::string content_hash = sha256_hex(input.bytes);
  const std::string doc_id = input.doc_id.empty() ? doc_id_for_source(input.source) : input.doc_id;
  IngestResult result;
  result.name = input.name;
  result.doc_id = doc_id;

  // Cheap checks before parsing; repeated under the write lock before committing.
  auto same_source = collection ? collection->store().find_by_doc_id(doc_id)
                                : Result<std::optional<store::DocumentRecord>>(std::nullopt);
  if (!same_source) return same_source.status();
  if (same_source->has_value() && (*same_source)->content_hash == content_hash &&
      (*same_source)->metadata == input.metadata) {
    counters_.files_unchanged++;
    result.outcome = IngestOutcome::kUnchanged;
    result.format = (*same_source)->format;
    result.chunks = (*same_source)->chunk_count;
    result.pages = (*same_source)->page_count;
    return result;
  }

  auto parsed = parser_.parse(input.bytes, input.name, input.password);
  if (!parsed) {
    counters_.files_failed++;
    log::info("file rejected", {{"collection", collection_name}, {"file", input.name},
                                {"reason", parsed.status().to_string()}});
    return failed(input.name, parsed.status());
  }
  if (!collection) {
    auto created = find_or_create(collection_name, /*create=*/true);
    if (!created) return created.status();
    collection = *created;
  }
  Collection& c = *collection;
  chunk::Options chunk_options;
  chunk_options.max_tokens = c.settings().chunk_max_tokens;
  chunk_options.overlap_tokens = c.settings().chunk_overlap_tokens;
  const auto chunks = chunk::chunk_document(*parsed, chunk_options);
  auto records = c.to_store_chunks(chunks);
  // Embeddings are computed before the write lock: other ingests and searches go on meanwhile.
  auto space = embed_chunks(c, records);
  if (!space) {
    counters_.files_failed++;
    log::info("file rejected", {{"collection", collection_name}, {"file", input.name},
                                {"reason", space.status().to_string()}});
    return failed(input.name, space.status());
  }

  store::DocumentRecord document;
  document.doc_id = doc_id;
  document.name = input.name;
  document.source = input.source;
  document.content_hash = content_hash;
  document.format = std::string(parse::format_name(parsed->format));
  document.size_bytes = static_cast<int64_t>(input.bytes.size());
  document.page_count = parsed->page_count;
  document.metadata = input.metadata;
  document.warnings = parsed->warnings;
  document.pages_needing_ocr = parsed->pages_needing_ocr;
  if (chunks.empty()) document.warnings.push_back("no text could be extracted; the document cannot be found by search");

  result.format = document.format;
  result.pages = document.page_count;
  result.warnings = document.warnings;
  result.chunks = static_cast<int>(records.size());

  std::lock_guard write_lock(c.write_mutex());
  if (!space->model.empty() && c.embedding_space() != *space) {
    // The collection's model was decided (or changed by reembed) while this file was embedded.
    Status adopted = c.adopt_embedding_space(*space);
    if (!adopted) return failed(input.name, adopted);
  }
  auto previous = c.store().find_by_doc_id(doc_id);
  if (!previous) return previous.status();
  auto duplicate = c.store().find_by_hash(content_hash);
  if (!duplicate) return duplicate.status();
  if (duplicate->has_value() && (*duplicate)->doc_id != doc_id && input.doc_id.empty() &&
      !input.allow_duplicate_content) {
    counters_.files_duplicate++;
    result.outcome = IngestOutcome::kDuplicate;
    result.duplicate_of = (*duplicate)->doc_id;
    result.doc_id = (*duplicate)->doc_id;
    return result;
  }
  auto stored = c.put(std::move(document), std::move(records));
  if (!stored) return stored.status();
  result.outcome = previous->has_value() ? IngestOutcome::kUpdated : IngestOutcome::kAdded;
  (result.outcome == IngestOutcome::kAdded ? counters_.files_added : counters_.files_updated)++;
  counters_.chunks_added += static_cast<uint64_t>(result.chunks);
  counters_.bytes_ingested += input.bytes.size();
  return result;
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
  if (status.code() == ErrorCode::kNotFound) {
    return error(ErrorCode::kNotFound, "document '" + doc_id + "' does not exist in collection '" + collection + "'");
  }
  return status;
}

Result<EmbeddingSpace> Engine::embed_chunks(const Collection& collection, std::vector<store::ChunkRecord>& records) {
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
  if (records.empty()) return current;
  std::vector<std::string> texts;
  texts.reserve(records.size());
  for (const auto& r : records) texts.push_back(indexed_text(r.heading_path, r.text));
  auto vectors = embedder_->embed(texts, embed::InputKind::kPassage);
  if (!vectors) {
    return error(vectors.status().code(), "embedding failed: " + vectors.status().message());
  }
  for (size_t i = 0; i < records.size(); ++i) {
    const auto row = vectors->row(i);
    records[i].vector.assign(row.begin(), row.end());
  }
  return EmbeddingSpace{embedder_->info().model_id, vectors->dimension};
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
      auto vector = embedder_->embed(std::vector<std::string>{request.query}, embed::InputKind::kQuery);
      embed_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started).count();
      if (vector && vector->dimension == space.dimension) {
        plan.query_vector.assign(vector->values.begin(), vector->values.end());
      } else {
        code = vector ? ErrorCode::kFailedPrecondition : vector.status().code();
        unavailable = vector ? "the embedding model returned " + std::to_string(vector->dimension) +
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
  auto response = target.search(request, plan);
  if (!response) return response;
  response->embed_ms = embed_ms;
  response->took_ms += embed_ms;
  response->warnings = std::move(warnings);
  return response;
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

Status Engine::check() const {
  std::vector<std::shared_ptr<Collection>> all;
  {
    std::shared_lock lock(collections_mutex_);
    for (const auto& [name, c] : collections_) all.push_back(c);
  }
  for (const auto& c : all) {
    std::lock_guard write_lock(c->write_mutex());
    Status status = c->check();
    if (!status) return error(status.code(), "collection '" + c->name() + "': " + status.message());
  }
  return Status::ok();
}

}  // namespace kr::service
