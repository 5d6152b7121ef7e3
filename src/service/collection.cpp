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

Status write_settings(store::CollectionStore& store, const CollectionSettings& s, int64_t created_at) {
  KR_RETURN_IF_ERROR(store.set_setting("language", s.language));
  KR_RETURN_IF_ERROR(store.set_setting("bm25_k1", std::to_string(s.bm25_k1)));
  KR_RETURN_IF_ERROR(store.set_setting("bm25_b", std::to_string(s.bm25_b)));
  KR_RETURN_IF_ERROR(store.set_setting("chunk_max_tokens", std::to_string(s.chunk_max_tokens)));
  KR_RETURN_IF_ERROR(store.set_setting("chunk_overlap_tokens", std::to_string(s.chunk_overlap_tokens)));
  KR_RETURN_IF_ERROR(store.set_setting("description", s.description));
  return store.set_setting("created_at", std::to_string(created_at));
}

Status read_settings(const store::CollectionStore& store, CollectionSettings& s, int64_t& created_at) {
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

Collection::Collection(std::string name, std::string directory, std::unique_ptr<store::CollectionStore> store,
                       CollectionSettings settings, int64_t created_at, std::shared_ptr<const index::Analyzer> analyzer)
    : name_(std::move(name)),
      directory_(std::move(directory)),
      store_(std::move(store)),
      settings_(std::move(settings)),
      created_at_(created_at),
      analyzer_(std::move(analyzer)),
      bm25_(index::Bm25Params{settings_.bm25_k1, settings_.bm25_b}) {}

Result<std::shared_ptr<Collection>> Collection::create(const std::string& name, const std::string& directory,
                                                       const CollectionSettings& settings) {
  auto analyzer = make_analyzer(settings);
  if (!analyzer) return analyzer.status();
  auto store = store::CollectionStore::open(directory, /*create=*/true);
  if (!store) return store.status();
  const int64_t created_at =
      std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
  KR_RETURN_IF_ERROR(write_settings(**store, settings, created_at));
  return std::shared_ptr<Collection>(
      new Collection(name, directory, std::move(store.value()), settings, created_at, std::move(analyzer.value())));
}

Result<std::shared_ptr<Collection>> Collection::open(const std::string& name, const std::string& directory) {
  auto store = store::CollectionStore::open(directory, /*create=*/false);
  if (!store) return store.status();
  CollectionSettings settings;
  int64_t created_at = 0;
  KR_RETURN_IF_ERROR(read_settings(**store, settings, created_at));
  auto analyzer = make_analyzer(settings);
  if (!analyzer) return analyzer.status();
  std::shared_ptr<Collection> collection(
      new Collection(name, directory, std::move(store.value()), settings, created_at, std::move(analyzer.value())));
  KR_RETURN_IF_ERROR(collection->load_indexes());
  return collection;
}

Status Collection::load_indexes() {
  std::unordered_map<uint64_t, DocEntry> docs;
  KR_RETURN_IF_ERROR(store_->for_each_document([&](const store::DocumentRecord& d) {
    docs[static_cast<uint64_t>(d.key)] = DocEntry{d.doc_id, d.name, d.metadata};
  }));
  std::vector<index::ChunkPostings> postings;
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
  }));
  KR_RETURN_IF_ERROR(decode_status);
  bm25_.apply(postings, {});
  std::unique_lock lock(docs_mutex_);
  docs_ = std::move(docs);
  return Status::ok();
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
  auto outcome = store_->put_document(std::move(document), std::move(chunks));
  if (!outcome) return outcome.status();
  // Committed: from here on the document exists durably; the in-memory indexes follow.
  std::vector<index::ChunkPostings> add;
  add.reserve(outcome->added_chunks.size());
  for (auto& c : outcome->added_chunks) {
    auto terms = index::decode_term_freqs(c.terms);
    add.push_back({static_cast<uint64_t>(c.id), static_cast<uint64_t>(outcome->document.key),
                   terms ? std::move(terms.value()) : index::TermFreqs{}, c.term_count});
  }
  std::vector<uint64_t> remove(outcome->removed_chunks.begin(), outcome->removed_chunks.end());
  {
    // Doc entry first so that a search that sees the new chunks can resolve them.
    std::unique_lock lock(docs_mutex_);
    docs_[static_cast<uint64_t>(outcome->document.key)] =
        DocEntry{outcome->document.doc_id, outcome->document.name, outcome->document.metadata};
  }
  bm25_.apply(add, remove);
  {
    std::unique_lock lock(docs_mutex_);
    for (auto it = docs_.begin(); it != docs_.end();) {
      if (it->second.doc_id == outcome->document.doc_id && it->first != static_cast<uint64_t>(outcome->document.key)) {
        it = docs_.erase(it);
      } else {
        ++it;
      }
    }
  }
  return outcome->document;
}

Status Collection::remove(const std::string& doc_id) {
  auto removed = store_->delete_document(doc_id);
  if (!removed) return removed.status();
  bm25_.apply({}, std::vector<uint64_t>(removed->begin(), removed->end()));
  std::unique_lock lock(docs_mutex_);
  for (auto it = docs_.begin(); it != docs_.end();) {
    it = it->second.doc_id == doc_id ? docs_.erase(it) : std::next(it);
  }
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

Result<SearchResponse> Collection::search(const SearchRequest& request) const {
  const auto started = std::chrono::steady_clock::now();
  if (trim(request.query).empty()) return error(ErrorCode::kInvalidArgument, "query must not be empty");
  if (request.top_k < 1 || request.top_k > 1000) return error(ErrorCode::kInvalidArgument, "top_k must be between 1 and 1000");
  SearchResponse response;
  const auto terms = analyzer_->analyze(request.query);
  if (terms.empty()) return response;  // only stop words or punctuation

  std::function<bool(uint64_t)> accept;
  std::unordered_set<uint64_t> allowed;
  if (!request.filter.empty()) {
    std::shared_lock lock(docs_mutex_);
    for (const auto& [key, doc] : docs_) {
      if (request.filter.accepts(doc.metadata)) allowed.insert(key);
    }
    accept = [&allowed](uint64_t key) { return allowed.count(key) > 0; };
  }
  // Over-fetch a little: a chunk removed between the index lookup and the read is skipped.
  const auto scored = bm25_.search(terms, static_cast<size_t>(request.top_k) + 4, accept);
  std::vector<int64_t> ids;
  for (const auto& s : scored) ids.push_back(static_cast<int64_t>(s.chunk_id));
  auto chunks = store_->get_chunks(ids);
  if (!chunks) return chunks.status();
  std::unordered_map<int64_t, const store::ChunkRecord*> by_id;
  for (const auto& c : *chunks) by_id[c.id] = &c;

  const auto words = snippet_words(request.query);
  std::shared_lock lock(docs_mutex_);
  for (const auto& s : scored) {
    if (response.hits.size() >= static_cast<size_t>(request.top_k)) break;
    auto chunk = by_id.find(static_cast<int64_t>(s.chunk_id));
    auto doc = docs_.find(s.doc_key);
    if (chunk == by_id.end() || doc == docs_.end()) continue;
    response.hits.push_back(make_hit(*chunk->second, doc->second, s.score, words));
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
  std::shared_lock lock(docs_mutex_);
  if (docs_.size() != static_cast<size_t>(stats->documents)) {
    return error(ErrorCode::kDataCorruption, "the document table holds " + std::to_string(docs_.size()) +
                                                 " documents but the store " + std::to_string(stats->documents));
  }
  return Status::ok();
}

Result<CollectionInfo> Collection::info() const {
  auto stats = store_->stats();
  if (!stats) return stats.status();
  const auto index_stats = bm25_.stats();
  CollectionInfo info;
  info.name = name_;
  info.settings = settings_;
  info.created_at = created_at_;
  info.documents = stats->documents;
  info.chunks = stats->chunks;
  info.text_bytes = stats->text_bytes;
  info.index_terms = index_stats.terms;
  info.index_postings = index_stats.postings;
  return info;
}

}  // namespace kr::service
