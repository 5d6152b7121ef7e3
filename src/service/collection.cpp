#include "service/collection.h"

#include <algorithm>
#include <chrono>
#include <cctype>
#include <unordered_set>

#include "core/log.h"
#include "core/text.h"

namespace kr::service {
namespace {

Result<std::shared_ptr<const index::Analyzer>> make_analyzer(const CollectionSettings& settings) {
  index::AnalyzerOptions options;
  options.language = settings.language;
  options.stem = settings.language != "none";
  return index::Analyzer::create(options);
}

std::string to_lower_ascii(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// Lower-cased words of 3+ ASCII letters/digits in the query, for snippets.
std::vector<std::string> snippet_words(const std::string& query) {
  std::vector<std::string> words;
  std::string current;
  for (char c : query + " ") {
    if (std::isalnum(static_cast<unsigned char>(c)) || (static_cast<unsigned char>(c) >= 0x80)) {
      current += c;
    } else {
      if (current.size() >= 3) words.push_back(to_lower_ascii(current));
      current.clear();
    }
  }
  return words;
}

Status write_settings(store::DocumentStore& store, const CollectionSettings& s, int64_t created_at) {
  KR_RETURN_IF_ERROR(store.set_setting("language", s.language));
  KR_RETURN_IF_ERROR(store.set_setting("bm25_k1", std::to_string(s.bm25_k1)));
  KR_RETURN_IF_ERROR(store.set_setting("bm25_b", std::to_string(s.bm25_b)));
  KR_RETURN_IF_ERROR(store.set_setting("chunk_max_tokens", std::to_string(s.chunk_max_tokens)));
  KR_RETURN_IF_ERROR(store.set_setting("chunk_overlap_tokens", std::to_string(s.chunk_overlap_tokens)));
  KR_RETURN_IF_ERROR(store.set_setting("description", s.description));
  KR_RETURN_IF_ERROR(store.set_setting("search_mode", s.search_mode));
  KR_RETURN_IF_ERROR(store.set_setting("fusion", s.fusion));
  KR_RETURN_IF_ERROR(store.set_setting("hybrid_alpha", std::to_string(s.hybrid_alpha)));
  KR_RETURN_IF_ERROR(store.set_setting("answer_threshold", std::to_string(s.answer_threshold)));
  KR_RETURN_IF_ERROR(store.set_setting("grounding_policy", s.grounding_policy));
  KR_RETURN_IF_ERROR(store.set_setting("grounding_threshold", std::to_string(s.grounding_threshold)));
  KR_RETURN_IF_ERROR(store.set_setting("ocr_languages", s.ocr_languages));
  return store.set_setting("created_at", std::to_string(created_at));
}

Status read_settings(const store::DocumentStore& store, CollectionSettings& s, int64_t& created_at) {
  auto get = [&](const std::string& key, auto&& apply) -> Status {
    auto value = store.get_setting(key);
    if (!value) return value.status();
    if (value->has_value()) {
      try {
        apply(**value);
      } catch (const std::exception&) {
        return error(ErrorCode::kDataCorruption, "collection setting '" + key + "' is unreadable: " + **value);
      }
    }
    return Status::ok();
  };
  KR_RETURN_IF_ERROR(get("language", [&](const std::string& v) { s.language = v; }));
  KR_RETURN_IF_ERROR(get("bm25_k1", [&](const std::string& v) { s.bm25_k1 = std::stod(v); }));
  KR_RETURN_IF_ERROR(get("bm25_b", [&](const std::string& v) { s.bm25_b = std::stod(v); }));
  KR_RETURN_IF_ERROR(get("chunk_max_tokens", [&](const std::string& v) { s.chunk_max_tokens = std::stoi(v); }));
  KR_RETURN_IF_ERROR(get("chunk_overlap_tokens", [&](const std::string& v) { s.chunk_overlap_tokens = std::stoi(v); }));
  KR_RETURN_IF_ERROR(get("description", [&](const std::string& v) { s.description = v; }));
  KR_RETURN_IF_ERROR(get("search_mode", [&](const std::string& v) { s.search_mode = v; }));
  KR_RETURN_IF_ERROR(get("fusion", [&](const std::string& v) { s.fusion = v; }));
  KR_RETURN_IF_ERROR(get("hybrid_alpha", [&](const std::string& v) { s.hybrid_alpha = std::stod(v); }));
  KR_RETURN_IF_ERROR(get("answer_threshold", [&](const std::string& v) { s.answer_threshold = std::stod(v); }));
  KR_RETURN_IF_ERROR(get("grounding_policy", [&](const std::string& v) { s.grounding_policy = v; }));
  KR_RETURN_IF_ERROR(get("grounding_threshold", [&](const std::string& v) { s.grounding_threshold = std::stod(v); }));
  KR_RETURN_IF_ERROR(get("ocr_languages", [&](const std::string& v) { s.ocr_languages = v; }));
  return get("created_at", [&](const std::string& v) { created_at = std::stoll(v); });
}

}  // namespace

std::string indexed_text(const std::vector<std::string>& heading_path, const std::string& text) {
  std::string out;
  for (const auto& heading : heading_path) out += heading + "\n";
  out += text;
  return out;
}

std::string make_snippet(const std::string& text, const std::vector<std::string>& query_words, size_t max_bytes) {
  if (text.size() <= max_bytes) return text;
  const std::string lower = to_lower_ascii(text);
  size_t hit = std::string::npos;
  for (const auto& word : query_words) {
    const size_t at = lower.find(word);
    if (at != std::string::npos && at < hit) hit = at;
  }
  size_t begin = 0;
  if (hit != std::string::npos && hit > max_bytes / 3) begin = hit - max_bytes / 3;
  // Move to a UTF-8 boundary and, when close, to the start of a word.
  while (begin > 0 && (static_cast<unsigned char>(text[begin]) & 0xC0) == 0x80) --begin;
  for (size_t back = 1; back <= 20 && back <= begin; ++back) {
    const char c = text[begin - back];
    if (c == ' ' || c == '\n') {
      begin -= back - 1;
      break;
    }
  }
  std::string snippet(utf8_prefix(std::string_view(text).substr(begin), max_bytes));
  std::string out = (begin > 0 ? "…" : "") + std::string(trim(snippet));
  if (begin + snippet.size() < text.size()) out += "…";
  return out;
}

Collection::Collection(std::string name, std::string directory, std::unique_ptr<store::DocumentStore> store,
                       CollectionSettings settings, int64_t created_at, std::shared_ptr<const index::Analyzer> analyzer,
                       index::VectorIndexOptions vector_options)
    : name_(std::move(name)),
      directory_(std::move(directory)),
      store_(std::move(store)),
      settings_(std::move(settings)),
      created_at_(created_at),
      analyzer_(std::move(analyzer)),
      bm25_(index::Bm25Params{settings_.bm25_k1, settings_.bm25_b}),
      vector_options_(vector_options) {}

Result<std::shared_ptr<Collection>> Collection::create(const std::string& name, const std::string& directory,
                                                       const CollectionSettings& settings,
                                                       const index::VectorIndexOptions& vector_options) {
  auto store = store::CollectionStore::open(directory, /*create=*/true);
  if (!store) return store.status();
  auto made = create(name, std::unique_ptr<store::DocumentStore>(std::move(store.value())), settings, vector_options);
  if (made) (*made)->directory_ = directory;
  return made;
}

Result<std::shared_ptr<Collection>> Collection::create(const std::string& name,
                                                       std::unique_ptr<store::DocumentStore> store,
                                                       const CollectionSettings& settings,
                                                       const index::VectorIndexOptions& vector_options) {
  auto analyzer = make_analyzer(settings);
  if (!analyzer) return analyzer.status();
  const int64_t created_at =
      std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
  KR_RETURN_IF_ERROR(write_settings(*store, settings, created_at));
  return std::shared_ptr<Collection>(new Collection(name, "", std::move(store), settings, created_at,
                                                    std::move(analyzer.value()), vector_options));
}

Result<std::shared_ptr<Collection>> Collection::open(const std::string& name, const std::string& directory,
                                                     const index::VectorIndexOptions& vector_options) {
  auto store = store::CollectionStore::open(directory, /*create=*/false);
  if (!store) return store.status();
  return open_in(name, directory, std::move(store.value()), vector_options);
}

Result<std::shared_ptr<Collection>> Collection::open(const std::string& name,
                                                     std::unique_ptr<store::DocumentStore> store,
                                                     const index::VectorIndexOptions& vector_options) {
  return open_in(name, "", std::move(store), vector_options);
}

Result<std::shared_ptr<Collection>> Collection::open_in(const std::string& name, const std::string& directory,
                                                        std::unique_ptr<store::DocumentStore> store,
                                                        const index::VectorIndexOptions& vector_options) {
  CollectionSettings settings;
  int64_t created_at = 0;
  KR_RETURN_IF_ERROR(read_settings(*store, settings, created_at));
  auto analyzer = make_analyzer(settings);
  if (!analyzer) return analyzer.status();
  std::shared_ptr<Collection> collection(new Collection(name, directory, std::move(store), settings,
                                                       created_at, std::move(analyzer.value()), vector_options));
  KR_RETURN_IF_ERROR(collection->load_indexes());
  KR_RETURN_IF_ERROR(collection->load_vectors());
  return collection;
}

Status Collection::load_indexes() {
  // A shared store pins one snapshot for the whole load; catch_up() replays what follows it.
  auto version = store_->begin_consistent_read();
  if (!version) return version.status();
  Status loaded = load_indexes_from_store();
  store_->end_consistent_read();
  if (loaded) applied_version_ = *version;
  return loaded;
}

Status Collection::load_indexes_from_store() {
  std::unordered_map<uint64_t, DocEntry> docs;
  KR_RETURN_IF_ERROR(store_->for_each_document([&](const store::DocumentRecord& d) {
    docs[static_cast<uint64_t>(d.key)] = DocEntry{d.doc_id, d.name, d.metadata};
  }));
  std::vector<index::ChunkPostings> postings;
  std::unordered_map<uint64_t, uint64_t> chunk_docs;
  Status decode_status;
  KR_RETURN_IF_ERROR(store_->for_each_chunk_terms([&](int64_t chunk_id, int64_t doc_key, std::string_view terms,
                                                       uint32_t term_count) {
    auto decoded = index::decode_term_freqs(terms);
    if (!decoded) {
      decode_status = error(ErrorCode::kDataCorruption, "chunk " + std::to_string(chunk_id) + " of collection '" +
                                                            name_ + "': " + decoded.status().message());
      return;
    }
    postings.push_back({static_cast<uint64_t>(chunk_id), static_cast<uint64_t>(doc_key), std::move(decoded.value()),
                        term_count});
    chunk_docs[static_cast<uint64_t>(chunk_id)] = static_cast<uint64_t>(doc_key);
  }));
  KR_RETURN_IF_ERROR(decode_status);
  bm25_.apply(postings, {});
  // The one full scan of the chunks' text: afterwards stats are kept up to date in memory.
  auto stats = store_->stats();
  if (!stats) return stats.status();
  text_bytes_ = stats->text_bytes;
  std::unordered_map<std::string, uint64_t> keys;
  for (const auto& [key, entry] : docs) keys[entry.doc_id] = key;
  std::unique_lock lock(docs_mutex_);
  docs_ = std::move(docs);
  keys_by_doc_id_ = std::move(keys);
  chunk_docs_ = std::move(chunk_docs);
  return Status::ok();
}

Status Collection::load_vectors() {
  auto model = store_->get_setting("embedding_model");
  if (!model) return model.status();
  auto dimension = store_->get_setting("embedding_dimension");
  if (!dimension) return dimension.status();
  EmbeddingSpace space;
  if (model->has_value() && !(*model)->empty()) {
    space.model = **model;
    try {
      space.dimension = dimension->has_value() ? std::stoi(**dimension) : 0;
    } catch (const std::exception&) {
    }
    if (space.dimension <= 0) {
      return error(ErrorCode::kDataCorruption, "collection '" + name_ + "' records embedding model '" + space.model +
                                                   "' without a valid dimension");
    }
  }
  std::shared_ptr<index::VectorIndex> vectors;
  if (!space.model.empty() && !store_->searches_vectors()) {
    // The snapshot saved at the last clean shutdown, if nothing was written since.
    const uint64_t generation = store_->generation();
    auto snapshot = index::VectorIndex::load(snapshot_path(), space.dimension, generation, vector_options_);
    if (snapshot) {
      auto loaded = std::make_shared<index::VectorIndex>(std::move(snapshot.value()));
      std::lock_guard lock(space_mutex_);
      space_ = space;
      vectors_ = std::move(loaded);
      snapshot_generation_ = generation;
      return Status::ok();
    }
    if (snapshot.status().code() != ErrorCode::kNotFound) {
      log::info("vector snapshot not used; rebuilding the vector index from the store",
                {{"collection", name_}, {"reason", snapshot.status().to_string()}});
    }
    vectors = std::make_shared<index::VectorIndex>(space.dimension, vector_options_);
    Status failure;
    KR_RETURN_IF_ERROR(store_->for_each_chunk_vector([&](int64_t chunk_id, int64_t, std::span<const float> vector) {
      if (!failure.is_ok()) return;
      if (static_cast<int>(vector.size()) != space.dimension) {
        failure = error(ErrorCode::kDataCorruption, "chunk " + std::to_string(chunk_id) + " of collection '" + name_ +
                                                        "' has a " + std::to_string(vector.size()) +
                                                        "-dimensional vector; the collection's model has " +
                                                        std::to_string(space.dimension));
        return;
      }
      failure = vectors->upsert(static_cast<uint64_t>(chunk_id), vector);
    }));
    KR_RETURN_IF_ERROR(failure);
  }
  std::lock_guard lock(space_mutex_);
  space_ = space;
  vectors_ = std::move(vectors);
  return Status::ok();
}

EmbeddingSpace Collection::embedding_space() const {
  std::lock_guard lock(space_mutex_);
  return space_;
}

Status Collection::adopt_embedding_space(const EmbeddingSpace& space) {
  if (space.model.empty() || space.dimension <= 0) {
    return error(ErrorCode::kInvalidArgument, "an embedding space needs a model and a dimension");
  }
  {
    std::lock_guard lock(space_mutex_);
    if (space_ == space) return Status::ok();
    if (!space_.model.empty()) {
      return error(ErrorCode::kFailedPrecondition,
                   "collection '" + name_ + "' already holds vectors of '" + space_.model + "'");
    }
  }
  // Dimension first: a crash between the two leaves no model recorded, i.e. no embeddings.
  KR_RETURN_IF_ERROR(store_->set_setting("embedding_dimension", std::to_string(space.dimension)));
  if (store_->searches_vectors()) KR_RETURN_IF_ERROR(store_->prepare_vectors(space.dimension));
  KR_RETURN_IF_ERROR(store_->set_setting("embedding_model", space.model));
  std::lock_guard lock(space_mutex_);
  space_ = space;
  if (!store_->searches_vectors()) vectors_ = std::make_shared<index::VectorIndex>(space.dimension, vector_options_);
  return Status::ok();
}

Status Collection::reembed(
    const EmbeddingSpace& space,
    const std::function<Result<std::vector<std::vector<float>>>(const std::vector<std::string>&)>& embed,
    const std::function<void(size_t, size_t)>& progress) {
  std::vector<int64_t> document_keys;
  KR_RETURN_IF_ERROR(store_->for_each_document([&](const store::DocumentRecord& d) { document_keys.push_back(d.key); }));
  auto stats = store_->stats();
  if (!stats) return stats.status();
  const size_t total = static_cast<size_t>(stats->chunks);
  constexpr size_t kBatch = 64;
  size_t done = 0;
  bool first = true;
  std::vector<int64_t> ids;
  std::vector<std::string> texts;
  auto flush = [&]() -> Status {
    if (texts.empty() && !first) return Status::ok();
    auto vectors = embed(texts);
    if (!vectors) return vectors.status();
    if (vectors->size() != texts.size()) return error(ErrorCode::kInternal, "the embedder returned too few vectors");
    std::vector<std::pair<int64_t, std::vector<float>>> batch;
    for (size_t i = 0; i < ids.size(); ++i) {
      if (static_cast<int>((*vectors)[i].size()) != space.dimension) {
        return error(ErrorCode::kFailedPrecondition, "the embedder returned " + std::to_string((*vectors)[i].size()) +
                                                         "-dimensional vectors, expected " +
                                                         std::to_string(space.dimension));
      }
      batch.emplace_back(ids[i], std::move((*vectors)[i]));
    }
    KR_RETURN_IF_ERROR(store_->stage_vectors(batch, first));
    first = false;
    done += ids.size();
    ids.clear();
    texts.clear();
    if (progress) progress(done, total);
    return Status::ok();
  };
  for (int64_t key : document_keys) {
    auto chunks = store_->document_chunks(key);
    if (!chunks) return chunks.status();
    for (const auto& chunk : *chunks) {
      ids.push_back(chunk.id);
      texts.push_back(indexed_text(chunk.heading_path, chunk.text));
      if (texts.size() == kBatch) KR_RETURN_IF_ERROR(flush());
    }
  }
  KR_RETURN_IF_ERROR(flush());
  KR_RETURN_IF_ERROR(store_->commit_staged_vectors(
      {{"embedding_dimension", std::to_string(space.dimension)}, {"embedding_model", space.model}}));
  return load_vectors();
}

std::vector<store::ChunkRecord> Collection::to_store_chunks(const std::vector<chunk::Chunk>& chunks) const {
  std::vector<store::ChunkRecord> out;
  out.reserve(chunks.size());
  for (const auto& c : chunks) {
    store::ChunkRecord record;
    record.ordinal = c.ordinal;
    record.text = c.text;
    record.page_start = c.page_start;
    record.page_end = c.page_end;
    record.heading_path = c.heading_path;
    record.char_begin = static_cast<int64_t>(c.char_begin);
    record.char_end = static_cast<int64_t>(c.char_end);
    record.token_estimate = c.token_estimate;
    const auto terms = analyzer_->analyze(indexed_text(c.heading_path, c.text));
    record.term_count = static_cast<uint32_t>(terms.size());
    record.terms = index::encode_term_freqs(index::count_terms(terms));
    out.push_back(std::move(record));
  }
  return out;
}

Result<store::DocumentRecord> Collection::put(store::DocumentRecord document, std::vector<store::ChunkRecord> chunks) {
  std::vector<store::PutRequest> requests(1);
  requests[0].document = std::move(document);
  requests[0].chunks = std::move(chunks);
  auto outcomes = put_batch(std::move(requests));
  if (!outcomes) return outcomes.status();
  return std::move(outcomes->front().document);
}

Result<std::vector<store::PutOutcome>> Collection::put_batch(std::vector<store::PutRequest> requests) {
  if (retired_) {
    return error(ErrorCode::kNotFound, "collection '" + name_ + "' was deleted or replaced while the documents were "
                                       "being ingested; nothing was stored");
  }
  auto outcomes = store_->put_documents(std::move(requests));
  if (!outcomes) return outcomes;
  // Committed: from here on the documents exist durably; the in-memory indexes follow.
  if (store_->shared()) {
    // In commit order with the other replicas' changes. When the database drops right after the
    // commit, the documents are durable and the next catch_up applies them.
    if (Status caught_up = catch_up(); !caught_up) {
      log::warn("committed documents not yet applied in memory", {{"collection", name_}, {"error", caught_up.to_string()}});
    }
    return outcomes;
  }
  for (auto& outcome : *outcomes) {
    if (outcome.duplicate_of.empty()) apply_put(outcome);
  }
  return outcomes;
}

void Collection::apply_put(store::PutOutcome& outcome) {
  const uint64_t key = static_cast<uint64_t>(outcome.document.key);
  std::vector<index::ChunkPostings> add;
  add.reserve(outcome.added_chunks.size());
  int64_t added_bytes = 0;
  for (auto& c : outcome.added_chunks) {
    auto terms = index::decode_term_freqs(c.terms);
    add.push_back({static_cast<uint64_t>(c.id), key, terms ? std::move(terms.value()) : index::TermFreqs{},
                   c.term_count});
    added_bytes += static_cast<int64_t>(c.text.size());
  }
  const std::vector<uint64_t> remove(outcome.removed_chunks.begin(), outcome.removed_chunks.end());
  std::optional<uint64_t> old_key;
  {
    // Doc entry first so that a search that sees the new chunks can resolve them.
    std::unique_lock lock(docs_mutex_);
    if (auto it = keys_by_doc_id_.find(outcome.document.doc_id); it != keys_by_doc_id_.end() && it->second != key) {
      old_key = it->second;
    }
    docs_[key] = DocEntry{outcome.document.doc_id, outcome.document.name, outcome.document.metadata};
    keys_by_doc_id_[outcome.document.doc_id] = key;
    for (const auto& c : outcome.added_chunks) chunk_docs_[static_cast<uint64_t>(c.id)] = key;
  }
  bm25_.apply(add, remove);
  if (auto vectors = current_vectors()) {
    for (uint64_t id : remove) vectors->remove(id);
    for (const auto& c : outcome.added_chunks) {
      if (c.vector.empty()) continue;
      Status status = vectors->upsert(static_cast<uint64_t>(c.id), c.vector);
      if (!status) {
        vectors_diverged_ = true;  // never snapshot an index that disagrees with the store
        log::error("vector index update failed", {{"collection", name_}, {"error", status.to_string()}});
      }
    }
  }
  {
    std::unique_lock lock(docs_mutex_);
    if (old_key) docs_.erase(*old_key);
    for (uint64_t id : remove) chunk_docs_.erase(id);
  }
  text_bytes_ += added_bytes - outcome.removed_text_bytes;
}

Status Collection::remove(const std::string& doc_id) {
  if (retired_) return error(ErrorCode::kNotFound, "collection '" + name_ + "' was deleted");
  int64_t removed_bytes = 0;
  auto removed = store_->delete_document(doc_id, &removed_bytes);
  if (!removed) return removed.status();
  if (store_->shared()) {
    if (Status caught_up = catch_up(); !caught_up) {
      log::warn("deleted document not yet removed in memory", {{"collection", name_}, {"error", caught_up.to_string()}});
    }
    return Status::ok();
  }
  apply_remove(doc_id, *removed, removed_bytes);
  return Status::ok();
}

void Collection::apply_remove(const std::string& doc_id, const std::vector<int64_t>& removed_ids,
                              int64_t removed_bytes) {
  const std::vector<int64_t>* removed = &removed_ids;
  bm25_.apply({}, std::vector<uint64_t>(removed->begin(), removed->end()));
  if (auto vectors = current_vectors()) {
    for (int64_t id : *removed) vectors->remove(static_cast<uint64_t>(id));
  }
  std::unique_lock lock(docs_mutex_);
  if (auto it = keys_by_doc_id_.find(doc_id); it != keys_by_doc_id_.end()) {
    docs_.erase(it->second);
    keys_by_doc_id_.erase(it);
  }
  for (int64_t id : *removed) chunk_docs_.erase(static_cast<uint64_t>(id));
  text_bytes_ -= removed_bytes;
}

Status Collection::catch_up() {
  if (!store_->shared() || retired_) return Status::ok();
  std::lock_guard lock(sync_mutex_);
  while (true) {
    auto changes = store_->changes_since(applied_version_.load(), 256);
    if (!changes) return changes.status();
    for (const auto& change : *changes) {
      if (change.version != applied_version_.load() + 1) {
        return error(ErrorCode::kDataCorruption, "collection '" + name_ + "': change " +
                                                     std::to_string(change.version) + " follows " +
                                                     std::to_string(applied_version_.load()));
      }
      KR_RETURN_IF_ERROR(apply_change(change));
      applied_version_ = change.version;
    }
    if (changes->size() < 256) return Status::ok();
  }
}

Status Collection::apply_change(const store::ChangeRecord& change) {
  if (embedding_space().model.empty()) KR_RETURN_IF_ERROR(load_vectors());  // another replica adopted a model
  auto document = store_->find_by_key(change.document_key);
  if (!document) return document.status();
  if (!document->has_value()) {
    // Deleted or replaced again by a later change: only the removal matters now. The added
    // text still counts, because the later change subtracts it.
    apply_remove(change.doc_id, change.removed_chunks, change.removed_text_bytes - change.added_text_bytes);
    return Status::ok();
  }
  auto chunks = store_->get_chunks_with_terms(change.added_chunks);
  if (!chunks) return chunks.status();
  store::PutOutcome outcome;
  outcome.document = std::move(**document);
  outcome.removed_chunks = change.removed_chunks;
  outcome.removed_text_bytes = change.removed_text_bytes;
  outcome.added_chunks = std::move(chunks.value());
  apply_put(outcome);
  return Status::ok();
}

SearchHit Collection::make_hit(const store::ChunkRecord& chunk, const DocEntry& doc, double score,
                               const std::vector<std::string>& query_words) const {
  SearchHit hit;
  hit.chunk_id = doc.doc_id + ":" + std::to_string(chunk.ordinal);
  hit.doc_id = doc.doc_id;
  hit.document_name = doc.name;
  hit.ordinal = chunk.ordinal;
  hit.score = score;
  hit.text = chunk.text;
  hit.snippet = make_snippet(chunk.text, query_words);
  hit.page_start = chunk.page_start;
  hit.page_end = chunk.page_end;
  hit.heading_path = chunk.heading_path;
  hit.char_begin = chunk.char_begin;
  hit.char_end = chunk.char_end;
  hit.metadata = doc.metadata;
  return hit;
}

std::shared_ptr<index::VectorIndex> Collection::current_vectors() const {
  std::lock_guard lock(space_mutex_);
  return vectors_;
}

std::optional<std::unordered_set<uint64_t>> Collection::allowed_documents(const MetadataFilter& filter) const {
  if (filter.empty()) return std::nullopt;
  std::unordered_set<uint64_t> allowed;
  std::shared_lock lock(docs_mutex_);
  for (const auto& [key, doc] : docs_) {
    if (filter.accepts(doc.metadata)) allowed.insert(key);
  }
  return allowed;
}

std::vector<retrieve::Candidate> Collection::lexical_candidates(const std::vector<std::string>& terms, size_t count,
                                                                const std::function<bool(uint64_t)>& accept_doc) const {
  std::vector<retrieve::Candidate> out;
  for (const auto& s : bm25_.search(terms, count, accept_doc)) out.push_back({s.chunk_id, s.score});
  return out;
}

Result<std::vector<retrieve::Candidate>> Collection::dense_candidates(
    const std::vector<float>& query, size_t count, const std::optional<std::unordered_set<uint64_t>>& allowed) const {
  std::vector<retrieve::Candidate> out;
  if (store_->searches_vectors()) {
    std::vector<int64_t> keys;
    if (allowed) keys.assign(allowed->begin(), allowed->end());
    auto matches = store_->search_vectors(query, static_cast<int>(count), vector_options_.ef_search,
                                          allowed ? &keys : nullptr);
    if (!matches) return matches.status();
    for (const auto& m : *matches) out.push_back({static_cast<uint64_t>(m.chunk_id), m.score});
    return out;
  }
  auto vectors = current_vectors();
  if (!vectors) return out;
  std::vector<index::VectorHit> hits;
  if (allowed) {
    // The chunk -> document table is read inside the index's search: hold it for the call.
    std::shared_lock lock(docs_mutex_);
    const std::function<bool(uint64_t)> accept = [&](uint64_t chunk_id) {
      const auto it = chunk_docs_.find(chunk_id);
      return it != chunk_docs_.end() && allowed->contains(it->second);
    };
    hits = vectors->search(query, static_cast<int>(count), &accept);
  } else {
    hits = vectors->search(query, static_cast<int>(count));
  }
  for (const auto& hit : hits) out.push_back({hit.id, hit.score});
  return out;
}

Result<SearchResponse> Collection::search(const SearchRequest& request) const {
  return search(request, SearchPlan{});
}

Result<SearchResponse> Collection::search(const SearchRequest& request, const SearchPlan& plan) const {
  using retrieve::SearchMode;
  const auto started = std::chrono::steady_clock::now();
  if (trim(request.query).empty()) return error(ErrorCode::kInvalidArgument, "query must not be empty");
  if (request.top_k < 1 || request.top_k > 1000) return error(ErrorCode::kInvalidArgument, "top_k must be between 1 and 1000");
  SearchResponse response;
  response.mode = std::string(retrieve::search_mode_name(plan.mode));
  if (plan.mode != SearchMode::kBm25) {
    const EmbeddingSpace space = embedding_space();
    if (space.model.empty()) {
      return error(ErrorCode::kFailedPrecondition, "collection '" + name_ + "' has no embeddings; run `kaito-rag "
                                                   "reembed " + name_ + "` with an embedding model configured");
    }
    if (static_cast<int>(plan.query_vector.size()) != space.dimension) {
      return error(ErrorCode::kFailedPrecondition, "the query vector has " + std::to_string(plan.query_vector.size()) +
                                                       " dimensions; collection '" + name_ + "' holds " +
                                                       std::to_string(space.dimension) + "-dimensional vectors");
    }
  }

  const auto allowed = allowed_documents(request.filter);
  std::function<bool(uint64_t)> accept_doc;
  if (allowed) accept_doc = [&allowed](uint64_t key) { return allowed->contains(key); };
  // Over-fetch a little: a chunk removed between the index lookup and the read is skipped.
  const size_t wanted = static_cast<size_t>(request.top_k) + 4;
  const size_t per_side = plan.mode == SearchMode::kHybrid ? std::max(wanted, static_cast<size_t>(plan.candidates))
                                                           : wanted;
  std::vector<retrieve::Candidate> lexical;
  Result<std::vector<retrieve::Candidate>> dense = std::vector<retrieve::Candidate>{};
  const std::function<void()> find_lexical = [&] {
    const auto terms = analyzer_->analyze(request.query);
    if (!terms.empty()) lexical = lexical_candidates(terms, per_side, accept_doc);  // else only stop words
  };
  const std::function<void()> find_dense = [&] { dense = dense_candidates(plan.query_vector, per_side, allowed); };
  if (plan.mode == SearchMode::kHybrid && plan.pool != nullptr) {
    plan.pool->run_both(find_lexical, find_dense);
  } else {
    if (plan.mode != SearchMode::kDense) find_lexical();
    if (plan.mode != SearchMode::kBm25) find_dense();
  }
  if (!dense) return dense.status();

  std::vector<retrieve::FusedCandidate> ranked;
  if (plan.mode == SearchMode::kHybrid) {
    ranked = retrieve::fuse(lexical, *dense, plan.fusion);
  } else {
    const bool is_dense = plan.mode == SearchMode::kDense;
    for (const auto& c : is_dense ? *dense : lexical) {
      retrieve::FusedCandidate f;
      f.id = c.id;
      f.score = c.score;
      (is_dense ? f.dense_score : f.lexical_score) = c.score;
      ranked.push_back(f);
    }
  }
  if (ranked.size() > wanted) ranked.resize(wanted);

  std::vector<int64_t> ids;
  for (const auto& r : ranked) ids.push_back(static_cast<int64_t>(r.id));
  auto chunks = store_->get_chunks(ids);
  if (!chunks) return chunks.status();
  std::unordered_map<int64_t, const store::ChunkRecord*> by_id;
  for (const auto& c : *chunks) by_id[c.id] = &c;

  const auto words = snippet_words(request.query);
  std::shared_lock lock(docs_mutex_);
  for (const auto& r : ranked) {
    if (response.hits.size() >= static_cast<size_t>(request.top_k)) break;
    auto chunk = by_id.find(static_cast<int64_t>(r.id));
    if (chunk == by_id.end()) continue;
    auto doc = docs_.find(static_cast<uint64_t>(chunk->second->document_key));
    if (doc == docs_.end()) continue;
    SearchHit hit = make_hit(*chunk->second, doc->second, r.score, words);
    hit.bm25_score = r.lexical_score;
    hit.dense_score = r.dense_score;
    response.hits.push_back(std::move(hit));
  }
  response.took_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started).count();
  return response;
}

Status Collection::check() const {
  KR_RETURN_IF_ERROR(store_->check_integrity());
  auto stats = store_->stats();
  if (!stats) return stats.status();
  const auto index_stats = bm25_.stats();
  if (index_stats.chunks != static_cast<uint64_t>(stats->chunks)) {
    return error(ErrorCode::kDataCorruption, "the lexical index holds " + std::to_string(index_stats.chunks) +
                                                 " chunks but the store " + std::to_string(stats->chunks));
  }
  const EmbeddingSpace space = embedding_space();
  if (!space.model.empty() && stats->vectors != stats->chunks) {
    return error(ErrorCode::kDataCorruption, std::to_string(stats->chunks - stats->vectors) + " of " +
                                                 std::to_string(stats->chunks) + " chunks have no '" + space.model +
                                                 "' vector");
  }
  if (auto vectors = current_vectors(); vectors && vectors->size() != static_cast<uint64_t>(stats->vectors)) {
    return error(ErrorCode::kDataCorruption, "the vector index holds " + std::to_string(vectors->size()) +
                                                 " vectors but the store " + std::to_string(stats->vectors));
  }
  if (text_bytes_.load() != stats->text_bytes) {
    return error(ErrorCode::kDataCorruption, "the in-memory statistics count " + std::to_string(text_bytes_.load()) +
                                                 " bytes of text but the store " + std::to_string(stats->text_bytes));
  }
  std::shared_lock lock(docs_mutex_);
  if (docs_.size() != static_cast<size_t>(stats->documents) || keys_by_doc_id_.size() != docs_.size()) {
    return error(ErrorCode::kDataCorruption, "the document table holds " + std::to_string(docs_.size()) +
                                                 " documents but the store " + std::to_string(stats->documents));
  }
  return Status::ok();
}

Result<CollectionInfo> Collection::info() const {
  // From memory only: this runs on every chat, listing and /metrics scrape.
  const auto index_stats = bm25_.stats();
  CollectionInfo info;
  info.name = name_;
  info.settings = settings_;
  info.created_at = created_at_;
  {
    std::shared_lock lock(docs_mutex_);
    info.documents = static_cast<int64_t>(docs_.size());
  }
  info.chunks = static_cast<int64_t>(index_stats.chunks);
  info.text_bytes = text_bytes_.load();
  info.index_terms = index_stats.terms;
  info.index_postings = index_stats.postings;
  const EmbeddingSpace space = embedding_space();
  info.embedding_model = space.model;
  info.embedding_dimension = space.dimension;
  if (auto vectors = current_vectors()) {
    info.vectors = static_cast<int64_t>(vectors->size());
    info.vector_index = vectors->mode() == index::VectorIndexMode::kGraph ? "hnsw" : "exact";
  } else if (store_->searches_vectors() && !space.model.empty()) {
    info.vectors = info.chunks;  // every chunk of an embedded collection has its vector (check() verifies)
    info.vector_index = "pgvector-hnsw";
  }
  return info;
}

std::string Collection::snapshot_path() const { return directory() + "/vectors.snapshot"; }

Status Collection::save_snapshot() {
  auto vectors = current_vectors();
  const uint64_t generation = store_->generation();
  if (!vectors || retired_ || vectors_diverged_ || generation == snapshot_generation_) return Status::ok();
  KR_RETURN_IF_ERROR(vectors->save(snapshot_path(), generation));
  snapshot_generation_ = generation;
  return Status::ok();
}

std::string Collection::directory() const {
  std::lock_guard lock(directory_mutex_);
  return directory_;
}

void Collection::relocate(const std::string& directory) {
  std::lock_guard lock(directory_mutex_);
  directory_ = directory;
  store_->relocate(directory);
}

std::optional<int64_t> Collection::document_key(const std::string& doc_id) const {
  std::shared_lock lock(docs_mutex_);
  auto it = keys_by_doc_id_.find(doc_id);
  if (it == keys_by_doc_id_.end()) return std::nullopt;
  return static_cast<int64_t>(it->second);
}

}  // namespace kr::service
