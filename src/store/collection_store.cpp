#include "store/collection_store.h"

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <sstream>

namespace kr::store {
namespace {

// Schema version 2 (version 1 lacked chunk_vectors). Migrations add a block and bump user_version.
constexpr int kSchemaVersion = 2;
constexpr const char* kSchema = R"sql(
CREATE TABLE IF NOT EXISTS settings(key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS documents(
  id INTEGER PRIMARY KEY,
  doc_id TEXT NOT NULL UNIQUE,
  name TEXT NOT NULL,
  source TEXT NOT NULL,
  content_hash TEXT NOT NULL,
  format TEXT NOT NULL,
  size_bytes INTEGER NOT NULL,
  page_count INTEGER NOT NULL,
  chunk_count INTEGER NOT NULL,
  warnings TEXT NOT NULL,
  pages_needing_ocr TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS documents_source ON documents(source);
CREATE INDEX IF NOT EXISTS documents_hash ON documents(content_hash);
CREATE TABLE IF NOT EXISTS document_metadata(
  document_id INTEGER NOT NULL REFERENCES documents(id) ON DELETE CASCADE,
  key TEXT NOT NULL,
  value TEXT NOT NULL,
  PRIMARY KEY(document_id, key));
CREATE INDEX IF NOT EXISTS document_metadata_kv ON document_metadata(key, value);
CREATE TABLE IF NOT EXISTS chunks(
  id INTEGER PRIMARY KEY,
  document_id INTEGER NOT NULL REFERENCES documents(id) ON DELETE CASCADE,
  ordinal INTEGER NOT NULL,
  text TEXT NOT NULL,
  page_start INTEGER NOT NULL,
  page_end INTEGER NOT NULL,
  heading_path TEXT NOT NULL,
  char_begin INTEGER NOT NULL,
  char_end INTEGER NOT NULL,
  token_estimate INTEGER NOT NULL,
  terms BLOB NOT NULL,
  term_count INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS chunks_document ON chunks(document_id, ordinal);
)sql";

// Version 2: each chunk's embedding (float32 little-endian), written in the chunk's transaction.
// chunk_vectors_next stages a re-embedding until it replaces chunk_vectors in one transaction.
constexpr const char* kSchemaV2 = R"sql(
CREATE TABLE IF NOT EXISTS chunk_vectors(
  chunk_id INTEGER PRIMARY KEY REFERENCES chunks(id) ON DELETE CASCADE,
  vector BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS chunk_vectors_next(
  chunk_id INTEGER PRIMARY KEY REFERENCES chunks(id) ON DELETE CASCADE,
  vector BLOB NOT NULL);
PRAGMA user_version = 2;
)sql";

std::string_view vector_bytes(const std::vector<float>& v) {
  return {reinterpret_cast<const char*>(v.data()), v.size() * sizeof(float)};
}

constexpr char kListSeparator = '\x1f';  // ASCII unit separator: never in sanitized text we keep

std::string join_list(const std::vector<std::string>& items) {
  std::string out;
  for (size_t i = 0; i < items.size(); ++i) {
    if (i) out += kListSeparator;
    for (char c : items[i]) out += (c == kListSeparator ? ' ' : c);
  }
  return out;
}

std::vector<std::string> split_list(const std::string& text) {
  std::vector<std::string> out;
  if (text.empty()) return out;
  std::string current;
  for (char c : text) {
    if (c == kListSeparator) {
      out.push_back(std::move(current));
      current.clear();
    } else {
      current += c;
    }
  }
  out.push_back(std::move(current));
  return out;
}

std::string join_ints(const std::vector<int>& values) {
  std::string out;
  for (size_t i = 0; i < values.size(); ++i) out += (i ? "," : "") + std::to_string(values[i]);
  return out;
}

std::vector<int> split_ints(const std::string& text) {
  std::vector<int> out;
  std::stringstream stream(text);
  std::string item;
  while (std::getline(stream, item, ',')) {
    if (!item.empty()) out.push_back(std::atoi(item.c_str()));
  }
  return out;
}

int64_t now_seconds() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

constexpr const char* kDocumentColumns =
    "id, doc_id, name, source, content_hash, format, size_bytes, page_count, chunk_count, warnings, "
    "pages_needing_ocr, created_at, updated_at";

DocumentRecord read_document_row(const Statement& row) {
  DocumentRecord d;
  d.key = row.column_int(0);
  d.doc_id = row.column_text(1);
  d.name = row.column_text(2);
  d.source = row.column_text(3);
  d.content_hash = row.column_text(4);
  d.format = row.column_text(5);
  d.size_bytes = row.column_int(6);
  d.page_count = static_cast<int>(row.column_int(7));
  d.chunk_count = static_cast<int>(row.column_int(8));
  d.warnings = split_list(row.column_text(9));
  d.pages_needing_ocr = split_ints(row.column_text(10));
  d.created_at = row.column_int(11);
  d.updated_at = row.column_int(12);
  return d;
}

constexpr const char* kChunkColumns =
    "id, document_id, ordinal, text, page_start, page_end, heading_path, char_begin, char_end, token_estimate, "
    "terms, term_count";

ChunkRecord read_chunk_row(const Statement& row) {
  ChunkRecord c;
  c.id = row.column_int(0);
  c.document_key = row.column_int(1);
  c.ordinal = static_cast<int>(row.column_int(2));
  c.text = row.column_text(3);
  c.page_start = static_cast<int>(row.column_int(4));
  c.page_end = static_cast<int>(row.column_int(5));
  c.heading_path = split_list(row.column_text(6));
  c.char_begin = row.column_int(7);
  c.char_end = row.column_int(8);
  c.token_estimate = static_cast<int>(row.column_int(9));
  c.terms = std::string(row.column_blob(10));
  c.term_count = static_cast<uint32_t>(row.column_int(11));
  return c;
}

Status load_metadata(const Connection& db, DocumentRecord& document) {
  Statement select(db, "SELECT key, value FROM document_metadata WHERE document_id = ?");
  KR_RETURN_IF_ERROR(select.status());
  select.bind(1, document.key);
  while (select.step()) document.metadata[select.column_text(0)] = select.column_text(1);
  return select.status();
}

// SQL fragment + bindings for a metadata filter on documents.id.
struct FilterSql {
  std::string where;
  std::vector<std::string> params;
};

FilterSql filter_sql(const MetadataFilter& filter) {
  FilterSql out;
  for (const auto& [key, values] : filter.any_of) {
    out.where += " AND id IN (SELECT document_id FROM document_metadata WHERE key = ? AND value IN (";
    out.params.push_back(key);
    for (size_t i = 0; i < values.size(); ++i) {
      out.where += i ? ", ?" : "?";
      out.params.push_back(values[i]);
    }
    if (values.empty()) out.where += "NULL";
    out.where += "))";
  }
  return out;
}

}  // namespace

// A read connection borrowed from the pool for the duration of one call.
class CollectionStore::ReadLease {
 public:
  explicit ReadLease(const CollectionStore& store) : store_(store) {
    {
      std::lock_guard lock(store_.pool_mutex_);
      if (!store_.readers_.empty()) {
        connection_ = std::move(store_.readers_.back());
        store_.readers_.pop_back();
        return;
      }
    }
    auto opened = store_.open_reader();
    if (opened) connection_ = std::move(opened.value());
    else status_ = opened.status();
  }
  ~ReadLease() {
    if (!connection_.get()) return;
    std::lock_guard lock(store_.pool_mutex_);
    if (store_.readers_.size() < 8) store_.readers_.push_back(std::move(connection_));
  }
  const Connection& db() const { return connection_; }
  Status status() const { return status_; }

 private:
  const CollectionStore& store_;
  Connection connection_;
  Status status_;
};

Result<std::unique_ptr<CollectionStore>> CollectionStore::open(const std::string& directory, bool create) {
  const std::string path = directory + "/collection.db";
  std::error_code ec;
  if (!create && !std::filesystem::exists(path, ec)) {
    return error(ErrorCode::kNotFound, "no collection database at " + path);
  }
  auto writer = Connection::open(path, create, /*read_only=*/false);
  if (!writer) return writer.status();
  // WAL lets readers proceed during a write; synchronous=FULL makes a commit
  // durable before we acknowledge it (a kill -9 never loses an acknowledged ingest;
  // FULL also survives power loss).
  KR_RETURN_IF_ERROR(writer->exec("PRAGMA journal_mode=WAL"));
  KR_RETURN_IF_ERROR(writer->exec("PRAGMA synchronous=FULL"));
  KR_RETURN_IF_ERROR(writer->exec("PRAGMA foreign_keys=ON"));
  {
    Statement version(*writer, "PRAGMA user_version");
    KR_RETURN_IF_ERROR(version.status());
    const int64_t schema_version = version.step() ? version.column_int(0) : 0;
    if (schema_version > kSchemaVersion) {
      return error(ErrorCode::kFailedPrecondition,
                   "collection database " + path + " was written by a newer kaito-rag (schema " +
                       std::to_string(schema_version) + ")");
    }
    // Only a new or older database is written to on open (one small, additive migration).
    if (schema_version == 0) KR_RETURN_IF_ERROR(writer->exec(kSchema));
    if (schema_version < 2) KR_RETURN_IF_ERROR(writer->exec(kSchemaV2));
  }
  uint64_t generation = 0;
  {
    Statement select(*writer, "SELECT value FROM settings WHERE key = 'data_generation'");
    KR_RETURN_IF_ERROR(select.status());
    if (select.step()) generation = std::strtoull(select.column_text(0).c_str(), nullptr, 10);
    KR_RETURN_IF_ERROR(select.status());
  }
  auto store = std::unique_ptr<CollectionStore>(new CollectionStore(path, std::move(writer.value())));
  store->generation_ = generation;
  return store;
}

CollectionStore::CollectionStore(std::string path, Connection writer)
    : path_(std::move(path)), writer_(std::move(writer)) {}

CollectionStore::~CollectionStore() = default;

void CollectionStore::relocate(const std::string& directory) {
  std::lock_guard lock(pool_mutex_);
  path_ = directory + "/collection.db";
}

Result<Connection> CollectionStore::open_reader() const {
  std::string path;
  {
    std::lock_guard lock(pool_mutex_);
    path = path_;
  }
  auto reader = Connection::open(path, /*create=*/false, /*read_only=*/false);
  if (!reader) return reader.status();
  KR_RETURN_IF_ERROR(reader->exec("PRAGMA query_only=ON"));
  return reader;
}

namespace {
Result<std::optional<DocumentRecord>> find_document(const Connection& db, const std::string& column,
                                                    const std::string& value, int64_t int_value = 0) {
  Statement select(db, std::string("SELECT ") + kDocumentColumns + " FROM documents WHERE " + column +
                           " = ? ORDER BY id LIMIT 1");
  KR_RETURN_IF_ERROR(select.status());
  if (column == "id") select.bind(1, int_value);
  else select.bind(1, value);
  if (!select.step()) {
    KR_RETURN_IF_ERROR(select.status());
    return std::optional<DocumentRecord>();
  }
  DocumentRecord document = read_document_row(select);
  KR_RETURN_IF_ERROR(load_metadata(db, document));
  return std::optional<DocumentRecord>(std::move(document));
}
}  // namespace

Result<std::optional<DocumentRecord>> CollectionStore::find_by_doc_id(const std::string& doc_id) const {
  ReadLease lease(*this);
  KR_RETURN_IF_ERROR(lease.status());
  return find_document(lease.db(), "doc_id", doc_id);
}

Result<std::optional<DocumentRecord>> CollectionStore::find_by_source(const std::string& source) const {
  ReadLease lease(*this);
  KR_RETURN_IF_ERROR(lease.status());
  return find_document(lease.db(), "source", source);
}

Result<std::optional<DocumentRecord>> CollectionStore::find_by_hash(const std::string& content_hash) const {
  ReadLease lease(*this);
  KR_RETURN_IF_ERROR(lease.status());
  return find_document(lease.db(), "content_hash", content_hash);
}

Result<std::optional<DocumentRecord>> CollectionStore::find_by_key(int64_t key) const {
  ReadLease lease(*this);
  KR_RETURN_IF_ERROR(lease.status());
  return find_document(lease.db(), "id", "", key);
}

Result<std::vector<PutOutcome>> CollectionStore::put_documents(std::vector<PutRequest> requests) {
  std::lock_guard lock(write_mutex_);
  Transaction transaction(writer_);
  KR_RETURN_IF_ERROR(transaction.begin_status());
  std::vector<PutOutcome> outcomes;
  outcomes.reserve(requests.size());
  for (auto& request : requests) {
    auto outcome = put_in_transaction(std::move(request));
    if (!outcome) return outcome.status();  // rolls the whole batch back
    outcomes.push_back(std::move(outcome.value()));
  }
  KR_RETURN_IF_ERROR(advance_generation());
  KR_RETURN_IF_ERROR(transaction.commit());
  write_transactions_++;
  generation_++;
  return outcomes;
}

namespace {
// Chunk ids and text size of a stored document's chunks (read inside the writer's transaction).
Status old_chunks_of(const Connection& db, int64_t key, std::vector<int64_t>& ids, int64_t& text_bytes) {
  Statement select(db, "SELECT id, LENGTH(CAST(text AS BLOB)) FROM chunks WHERE document_id = ?");
  KR_RETURN_IF_ERROR(select.status());
  select.bind(1, key);
  while (select.step()) {
    ids.push_back(select.column_int(0));
    text_bytes += select.column_int(1);
  }
  return select.status();
}
}  // namespace

Status CollectionStore::advance_generation() {
  Statement upsert(writer_,
                   "INSERT INTO settings(key, value) VALUES('data_generation', ?) "
                   "ON CONFLICT(key) DO UPDATE SET value = excluded.value");
  KR_RETURN_IF_ERROR(upsert.status());
  upsert.bind(1, std::to_string(generation_.load() + 1));
  upsert.step();
  return upsert.status();
}

Result<PutOutcome> CollectionStore::put_in_transaction(PutRequest request) {
  DocumentRecord& document = request.document;
  std::vector<ChunkRecord>& chunks = request.chunks;
  PutOutcome outcome;
  if (request.refuse_duplicate_content) {
    auto same_content = find_document(writer_, "content_hash", document.content_hash);
    if (!same_content) return same_content.status();
    if (same_content->has_value() && (*same_content)->doc_id != document.doc_id) {
      outcome.duplicate_of = (*same_content)->doc_id;
      outcome.document = std::move(document);
      return outcome;
    }
  }

  const int64_t now = now_seconds();
  int64_t created_at = now;
  {
    auto previous = find_document(writer_, "doc_id", document.doc_id);
    if (!previous) return previous.status();
    if (previous->has_value()) {
      const int64_t old_key = (*previous)->key;
      created_at = (*previous)->created_at;
      outcome.replaced = true;
      KR_RETURN_IF_ERROR(old_chunks_of(writer_, old_key, outcome.removed_chunks, outcome.removed_text_bytes));
      Statement remove(writer_, "DELETE FROM documents WHERE id = ?");
      KR_RETURN_IF_ERROR(remove.status());
      remove.bind(1, old_key);
      remove.step();
      KR_RETURN_IF_ERROR(remove.status());
    }
  }

  document.created_at = created_at;
  document.updated_at = now;
  document.chunk_count = static_cast<int>(chunks.size());
  {
    Statement insert(writer_,
                     "INSERT INTO documents(doc_id, name, source, content_hash, format, size_bytes, page_count, "
                     "chunk_count, warnings, pages_needing_ocr, created_at, updated_at) "
                     "VALUES(?,?,?,?,?,?,?,?,?,?,?,?)");
    KR_RETURN_IF_ERROR(insert.status());
    insert.bind(1, document.doc_id).bind(2, document.name).bind(3, document.source).bind(4, document.content_hash);
    insert.bind(5, document.format).bind(6, document.size_bytes).bind(7, int64_t{document.page_count});
    insert.bind(8, int64_t{document.chunk_count}).bind(9, join_list(document.warnings));
    insert.bind(10, join_ints(document.pages_needing_ocr)).bind(11, document.created_at).bind(12, document.updated_at);
    insert.step();
    KR_RETURN_IF_ERROR(insert.status());
    document.key = sqlite3_last_insert_rowid(writer_.get());
  }
  {
    Statement insert(writer_, "INSERT INTO document_metadata(document_id, key, value) VALUES(?,?,?)");
    KR_RETURN_IF_ERROR(insert.status());
    for (const auto& [key, value] : document.metadata) {
      insert.reset();
      insert.bind(1, document.key).bind(2, key).bind(3, value);
      insert.step();
      KR_RETURN_IF_ERROR(insert.status());
    }
  }
  {
    Statement insert(writer_,
                     "INSERT INTO chunks(document_id, ordinal, text, page_start, page_end, heading_path, char_begin, "
                     "char_end, token_estimate, terms, term_count) VALUES(?,?,?,?,?,?,?,?,?,?,?)");
    KR_RETURN_IF_ERROR(insert.status());
    for (auto& chunk : chunks) {
      insert.reset();
      chunk.document_key = document.key;
      insert.bind(1, document.key).bind(2, int64_t{chunk.ordinal}).bind(3, chunk.text);
      insert.bind(4, int64_t{chunk.page_start}).bind(5, int64_t{chunk.page_end}).bind(6, join_list(chunk.heading_path));
      insert.bind(7, chunk.char_begin).bind(8, chunk.char_end).bind(9, int64_t{chunk.token_estimate});
      insert.bind_blob(10, chunk.terms).bind(11, int64_t{chunk.term_count});
      insert.step();
      KR_RETURN_IF_ERROR(insert.status());
      chunk.id = sqlite3_last_insert_rowid(writer_.get());
    }
  }
  {
    Statement insert(writer_, "INSERT INTO chunk_vectors(chunk_id, vector) VALUES(?,?)");
    KR_RETURN_IF_ERROR(insert.status());
    for (const auto& chunk : chunks) {
      if (chunk.vector.empty()) continue;
      insert.reset();
      insert.bind(1, chunk.id).bind_blob(2, vector_bytes(chunk.vector));
      insert.step();
      KR_RETURN_IF_ERROR(insert.status());
    }
  }
  outcome.document = std::move(document);
  outcome.added_chunks = std::move(chunks);
  return outcome;
}

Result<std::vector<int64_t>> CollectionStore::delete_document(const std::string& doc_id, int64_t* removed_text_bytes) {
  std::lock_guard lock(write_mutex_);
  Transaction transaction(writer_);
  KR_RETURN_IF_ERROR(transaction.begin_status());
  auto existing = find_document(writer_, "doc_id", doc_id);
  if (!existing) return existing.status();
  if (!existing->has_value()) return error(ErrorCode::kNotFound, "document '" + doc_id + "' does not exist");
  std::vector<int64_t> removed;
  int64_t text_bytes = 0;
  KR_RETURN_IF_ERROR(old_chunks_of(writer_, (*existing)->key, removed, text_bytes));
  Statement remove(writer_, "DELETE FROM documents WHERE id = ?");
  KR_RETURN_IF_ERROR(remove.status());
  remove.bind(1, (*existing)->key);
  remove.step();
  KR_RETURN_IF_ERROR(remove.status());
  KR_RETURN_IF_ERROR(advance_generation());
  KR_RETURN_IF_ERROR(transaction.commit());
  write_transactions_++;
  generation_++;
  if (removed_text_bytes) *removed_text_bytes = text_bytes;
  return removed;
}

Result<DocumentPage> CollectionStore::list_documents(int64_t offset, int64_t limit,
                                                     const MetadataFilter& filter) const {
  ReadLease lease(*this);
  KR_RETURN_IF_ERROR(lease.status());
  const FilterSql where = filter_sql(filter);
  ReadTransaction snapshot(lease.db());  // the total and the page describe the same state
  KR_RETURN_IF_ERROR(snapshot.begin_status());
  DocumentPage page;
  {
    Statement count(lease.db(), "SELECT COUNT(*) FROM documents WHERE 1=1" + where.where);
    KR_RETURN_IF_ERROR(count.status());
    for (size_t i = 0; i < where.params.size(); ++i) count.bind(static_cast<int>(i + 1), where.params[i]);
    if (count.step()) page.total = count.column_int(0);
    KR_RETURN_IF_ERROR(count.status());
  }
  Statement select(lease.db(), std::string("SELECT ") + kDocumentColumns + " FROM documents WHERE 1=1" + where.where +
                                   " ORDER BY id LIMIT ? OFFSET ?");
  KR_RETURN_IF_ERROR(select.status());
  int index = 1;
  for (const auto& param : where.params) select.bind(index++, param);
  select.bind(index, limit);
  select.bind(index + 1, offset);
  while (select.step()) page.documents.push_back(read_document_row(select));
  KR_RETURN_IF_ERROR(select.status());
  for (auto& document : page.documents) KR_RETURN_IF_ERROR(load_metadata(lease.db(), document));
  return page;
}

Result<std::vector<ChunkRecord>> CollectionStore::get_chunks(const std::vector<int64_t>& ids) const {
  ReadLease lease(*this);
  KR_RETURN_IF_ERROR(lease.status());
  std::vector<ChunkRecord> out;
  out.reserve(ids.size());
  // Every search reads its hits here: prepared once per read connection, not per call.
  static const std::string sql = std::string("SELECT ") + kChunkColumns + " FROM chunks WHERE id = ?";
  CachedStatement select(lease.db(), sql);
  KR_RETURN_IF_ERROR(select.status());
  for (int64_t id : ids) {
    select->reset();
    select->bind(1, id);
    if (select->step()) out.push_back(read_chunk_row(*select));
    KR_RETURN_IF_ERROR(select.status());
  }
  return out;
}

Result<std::vector<ChunkRecord>> CollectionStore::get_chunks_with_terms(const std::vector<int64_t>& ids) const {
  auto chunks = get_chunks(ids);
  if (!chunks) return chunks.status();
  ReadLease lease(*this);
  KR_RETURN_IF_ERROR(lease.status());
  Statement select(lease.db(), "SELECT terms, term_count FROM chunks WHERE id = ?");
  KR_RETURN_IF_ERROR(select.status());
  for (auto& chunk : *chunks) {
    select.reset();
    select.bind(1, chunk.id);
    if (select.step()) {
      chunk.terms = std::string(select.column_blob(0));
      chunk.term_count = static_cast<uint32_t>(select.column_int(1));
    }
    KR_RETURN_IF_ERROR(select.status());
  }
  return chunks;
}

Result<std::vector<ChunkRecord>> CollectionStore::document_chunks(int64_t document_key) const {
  ReadLease lease(*this);
  KR_RETURN_IF_ERROR(lease.status());
  std::vector<ChunkRecord> out;
  static const std::string sql =
      std::string("SELECT ") + kChunkColumns + " FROM chunks WHERE document_id = ? ORDER BY ordinal";
  CachedStatement select(lease.db(), sql);
  KR_RETURN_IF_ERROR(select.status());
  select->bind(1, document_key);
  while (select->step()) out.push_back(read_chunk_row(*select));
  KR_RETURN_IF_ERROR(select.status());
  return out;
}

Status CollectionStore::for_each_chunk_terms(
    const std::function<void(int64_t, int64_t, std::string_view, uint32_t)>& visit) const {
  ReadLease lease(*this);
  KR_RETURN_IF_ERROR(lease.status());
  // One read transaction: a consistent snapshot even while an ingest commits.
  Statement select(lease.db(), "SELECT id, document_id, terms, term_count FROM chunks ORDER BY id");
  KR_RETURN_IF_ERROR(select.status());
  while (select.step()) {
    visit(select.column_int(0), select.column_int(1), select.column_blob(2),
          static_cast<uint32_t>(select.column_int(3)));
  }
  return select.status();
}

Status CollectionStore::for_each_chunk_vector(
    const std::function<void(int64_t, int64_t, std::span<const float>)>& visit) const {
  ReadLease lease(*this);
  KR_RETURN_IF_ERROR(lease.status());
  Statement select(lease.db(),
                   "SELECT v.chunk_id, c.document_id, v.vector FROM chunk_vectors v JOIN chunks c ON c.id = v.chunk_id "
                   "ORDER BY v.chunk_id");
  KR_RETURN_IF_ERROR(select.status());
  std::vector<float> buffer;
  while (select.step()) {
    const std::string_view bytes = select.column_blob(2);
    if (bytes.size() % sizeof(float) != 0) {
      return error(ErrorCode::kDataCorruption, "the vector of chunk " + std::to_string(select.column_int(0)) +
                                                   " has " + std::to_string(bytes.size()) + " bytes");
    }
    buffer.resize(bytes.size() / sizeof(float));
    std::memcpy(buffer.data(), bytes.data(), bytes.size());
    visit(select.column_int(0), select.column_int(1), buffer);
  }
  return select.status();
}

Status CollectionStore::stage_vectors(const std::vector<std::pair<int64_t, std::vector<float>>>& vectors,
                                      bool first_batch) {
  std::lock_guard lock(write_mutex_);
  Transaction transaction(writer_);
  KR_RETURN_IF_ERROR(transaction.begin_status());
  if (first_batch) KR_RETURN_IF_ERROR(writer_.exec("DELETE FROM chunk_vectors_next"));
  Statement insert(writer_, "INSERT OR REPLACE INTO chunk_vectors_next(chunk_id, vector) VALUES(?,?)");
  KR_RETURN_IF_ERROR(insert.status());
  for (const auto& [chunk_id, vector] : vectors) {
    insert.reset();
    insert.bind(1, chunk_id).bind_blob(2, vector_bytes(vector));
    insert.step();
    KR_RETURN_IF_ERROR(insert.status());
  }
  return transaction.commit();
}

Status CollectionStore::commit_staged_vectors(const std::vector<std::pair<std::string, std::string>>& settings) {
  std::lock_guard lock(write_mutex_);
  Transaction transaction(writer_);
  KR_RETURN_IF_ERROR(transaction.begin_status());
  KR_RETURN_IF_ERROR(writer_.exec("DELETE FROM chunk_vectors"));
  KR_RETURN_IF_ERROR(writer_.exec("INSERT INTO chunk_vectors(chunk_id, vector) SELECT chunk_id, vector FROM "
                                  "chunk_vectors_next WHERE chunk_id IN (SELECT id FROM chunks)"));
  KR_RETURN_IF_ERROR(writer_.exec("DELETE FROM chunk_vectors_next"));
  Statement upsert(writer_, "INSERT INTO settings(key, value) VALUES(?, ?) ON CONFLICT(key) DO UPDATE SET value = "
                            "excluded.value");
  KR_RETURN_IF_ERROR(upsert.status());
  for (const auto& [key, value] : settings) {
    upsert.reset();
    upsert.bind(1, key).bind(2, value);
    upsert.step();
    KR_RETURN_IF_ERROR(upsert.status());
  }
  KR_RETURN_IF_ERROR(advance_generation());
  KR_RETURN_IF_ERROR(transaction.commit());
  generation_++;
  return Status::ok();
}

Status CollectionStore::for_each_document(const std::function<void(const DocumentRecord&)>& visit) const {
  ReadLease lease(*this);
  KR_RETURN_IF_ERROR(lease.status());
  Statement select(lease.db(), std::string("SELECT ") + kDocumentColumns + " FROM documents ORDER BY id");
  KR_RETURN_IF_ERROR(select.status());
  while (select.step()) {
    DocumentRecord document = read_document_row(select);
    KR_RETURN_IF_ERROR(load_metadata(lease.db(), document));
    visit(document);
  }
  return select.status();
}

Result<std::optional<std::string>> CollectionStore::get_setting(const std::string& key) const {
  ReadLease lease(*this);
  KR_RETURN_IF_ERROR(lease.status());
  Statement select(lease.db(), "SELECT value FROM settings WHERE key = ?");
  KR_RETURN_IF_ERROR(select.status());
  select.bind(1, key);
  if (select.step()) return std::optional<std::string>(select.column_text(0));
  KR_RETURN_IF_ERROR(select.status());
  return std::optional<std::string>();
}

Result<std::vector<std::pair<std::string, std::string>>> CollectionStore::all_settings() const {
  ReadLease lease(*this);
  KR_RETURN_IF_ERROR(lease.status());
  Statement select(lease.db(), "SELECT key, value FROM settings ORDER BY key");
  KR_RETURN_IF_ERROR(select.status());
  std::vector<std::pair<std::string, std::string>> out;
  while (select.step()) out.emplace_back(select.column_text(0), select.column_text(1));
  KR_RETURN_IF_ERROR(select.status());
  return out;
}

Status CollectionStore::set_setting(const std::string& key, const std::string& value) {
  std::lock_guard lock(write_mutex_);
  Statement upsert(writer_, "INSERT INTO settings(key, value) VALUES(?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value");
  KR_RETURN_IF_ERROR(upsert.status());
  upsert.bind(1, key).bind(2, value);
  upsert.step();
  return upsert.status();
}

Result<CollectionStats> CollectionStore::stats() const {
  ReadLease lease(*this);
  KR_RETURN_IF_ERROR(lease.status());
  ReadTransaction snapshot(lease.db());
  KR_RETURN_IF_ERROR(snapshot.begin_status());
  CollectionStats stats;
  Statement documents(lease.db(), "SELECT COUNT(*) FROM documents");
  KR_RETURN_IF_ERROR(documents.status());
  if (documents.step()) stats.documents = documents.column_int(0);
  Statement chunks(lease.db(), "SELECT COUNT(*), COALESCE(SUM(LENGTH(CAST(text AS BLOB))), 0) FROM chunks");
  KR_RETURN_IF_ERROR(chunks.status());
  if (chunks.step()) {
    stats.chunks = chunks.column_int(0);
    stats.text_bytes = chunks.column_int(1);
  }
  Statement vectors(lease.db(), "SELECT COUNT(*) FROM chunk_vectors");
  KR_RETURN_IF_ERROR(vectors.status());
  if (vectors.step()) stats.vectors = vectors.column_int(0);
  KR_RETURN_IF_ERROR(vectors.status());
  return stats;
}

Status CollectionStore::check_integrity() const {
  ReadLease lease(*this);
  KR_RETURN_IF_ERROR(lease.status());
  Statement check(lease.db(), "PRAGMA integrity_check");
  KR_RETURN_IF_ERROR(check.status());
  std::string result;
  while (check.step()) result += check.column_text(0);
  KR_RETURN_IF_ERROR(check.status());
  if (result != "ok") return error(ErrorCode::kDataCorruption, "integrity check failed: " + result);
  Statement orphans(lease.db(),
                    "SELECT COUNT(*) FROM chunks WHERE document_id NOT IN (SELECT id FROM documents)");
  KR_RETURN_IF_ERROR(orphans.status());
  if (orphans.step() && orphans.column_int(0) > 0) {
    return error(ErrorCode::kDataCorruption, "chunks without a document: " + std::to_string(orphans.column_int(0)));
  }
  Statement counts(lease.db(),
                   "SELECT COUNT(*) FROM documents d WHERE chunk_count != (SELECT COUNT(*) FROM chunks c WHERE "
                   "c.document_id = d.id)");
  KR_RETURN_IF_ERROR(counts.status());
  if (counts.step() && counts.column_int(0) > 0) {
    return error(ErrorCode::kDataCorruption,
                 "documents whose chunk count disagrees with their chunks: " + std::to_string(counts.column_int(0)));
  }
  return Status::ok();
}

}  // namespace kr::store
