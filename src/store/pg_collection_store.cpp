#include "store/pg_collection_store.h"

#include <algorithm>
#include <charconv>
#include <chrono>

#include "store/pg_schema.h"

namespace kr::store {
namespace {

// Class id of the per-collection write lock (pg_advisory_xact_lock(int, int)).
constexpr int kWriteLockClass = 0x6b72;

constexpr char kListSeparator = '\x1f';  // as in the embedded store

std::string join_list(const std::vector<std::string>& items) {
  std::string out;
  for (size_t i = 0; i < items.size(); ++i) {
    if (i) out += kListSeparator;
    for (char c : items[i]) out += (c == kListSeparator ? ' ' : c);
  }
  return out;
}

std::vector<std::string> split_list(std::string_view text, char separator = kListSeparator) {
  std::vector<std::string> out;
  if (text.empty()) return out;
  size_t begin = 0;
  while (true) {
    const size_t end = text.find(separator, begin);
    out.emplace_back(text.substr(begin, end == std::string_view::npos ? std::string_view::npos : end - begin));
    if (end == std::string_view::npos) break;
    begin = end + 1;
  }
  return out;
}

std::string join_ints(const std::vector<int>& values) {
  std::string out;
  for (size_t i = 0; i < values.size(); ++i) out += (i ? "," : "") + std::to_string(values[i]);
  return out;
}

std::vector<int> split_ints(std::string_view text) {
  std::vector<int> out;
  for (const auto& item : split_list(text, ',')) {
    if (!item.empty()) out.push_back(std::atoi(item.c_str()));
  }
  return out;
}

// PostgreSQL array literals: {1,2,3} and {"a","b"}.
std::string int_array(const std::vector<int64_t>& values) {
  std::string out = "{";
  for (size_t i = 0; i < values.size(); ++i) out += (i ? "," : "") + std::to_string(values[i]);
  return out + "}";
}

std::vector<int64_t> parse_int_array(std::string_view text) {
  std::vector<int64_t> out;
  if (text.size() < 2) return out;
  for (const auto& item : split_list(text.substr(1, text.size() - 2), ',')) {
    if (!item.empty()) out.push_back(std::stoll(item));
  }
  return out;
}

std::string text_array(const std::vector<std::string>& values) {
  std::string out = "{";
  for (size_t i = 0; i < values.size(); ++i) {
    out += i ? ",\"" : "\"";
    for (char c : values[i]) {
      if (c == '"' || c == '\\') out += '\\';
      out += c;
    }
    out += '"';
  }
  return out + "}";
}

// pgvector's text form: [0.1,0.2,...] (shortest round-trip float text).
std::string vector_literal(std::span<const float> v) {
  std::string out = "[";
  char buffer[32];
  for (size_t i = 0; i < v.size(); ++i) {
    if (i) out += ',';
    auto [end, ec] = std::to_chars(buffer, buffer + sizeof buffer, v[i]);
    out.append(buffer, end);
  }
  return out + "]";
}

std::vector<float> parse_vector(std::string_view text) {
  std::vector<float> out;
  if (text.size() < 2) return out;
  for (const auto& item : split_list(text.substr(1, text.size() - 2), ',')) out.push_back(std::stof(item));
  return out;
}

int64_t now_seconds() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

constexpr const char* kDocumentColumns =
    "key, doc_id, name, source, content_hash, format, size_bytes, page_count, chunk_count, warnings, "
    "pages_needing_ocr, created_at, updated_at";

DocumentRecord read_document(const PgResult& rows, int r) {
  DocumentRecord d;
  d.key = rows.int64(r, 0);
  d.doc_id = rows.text(r, 1);
  d.name = rows.text(r, 2);
  d.source = rows.text(r, 3);
  d.content_hash = rows.text(r, 4);
  d.format = rows.text(r, 5);
  d.size_bytes = rows.int64(r, 6);
  d.page_count = static_cast<int>(rows.int64(r, 7));
  d.chunk_count = static_cast<int>(rows.int64(r, 8));
  d.warnings = split_list(rows.view(r, 9));
  d.pages_needing_ocr = split_ints(rows.view(r, 10));
  d.created_at = rows.int64(r, 11);
  d.updated_at = rows.int64(r, 12);
  return d;
}

constexpr const char* kChunkColumns =
    "c.id, c.document_key, c.ordinal, c.text, c.page_start, c.page_end, c.heading_path, c.char_begin, c.char_end, "
    "c.token_estimate, c.term_count";

ChunkRecord read_chunk(const PgResult& rows, int r, bool with_terms) {
  ChunkRecord c;
  c.id = rows.int64(r, 0);
  c.document_key = rows.int64(r, 1);
  c.ordinal = static_cast<int>(rows.int64(r, 2));
  c.text = rows.text(r, 3);
  c.page_start = static_cast<int>(rows.int64(r, 4));
  c.page_end = static_cast<int>(rows.int64(r, 5));
  c.heading_path = split_list(rows.view(r, 6));
  c.char_begin = rows.int64(r, 7);
  c.char_end = rows.int64(r, 8);
  c.token_estimate = static_cast<int>(rows.int64(r, 9));
  c.term_count = static_cast<uint32_t>(rows.int64(r, 10));
  if (with_terms) c.terms = rows.bytes(r, 11);
  return c;
}

}  // namespace

template <typename Body>
auto PgCollectionStore::with_connection(Body&& body) const -> decltype(body(std::declval<PgConnection&>())) {
  if (pinned_) return body(**pinned_);
  auto lease = pool_->acquire();
  if (!lease) return lease.status();
  return body(**lease);
}

Result<uint64_t> PgCollectionStore::begin_consistent_read() {
  auto lease = pool_->acquire();
  if (!lease) return lease.status();
  auto begun = (*lease)->exec("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY");
  if (!begun) return begun.status();
  auto version = (*lease)->exec("SELECT COALESCE(MAX(version), 0) FROM kr_changes WHERE collection_id = " +
                                std::to_string(collection_id_));
  if (!version) {
    (void)(*lease)->exec("ROLLBACK");
    return version.status();
  }
  pinned_.emplace(std::move(lease.value()));
  generation_ = static_cast<uint64_t>(version->int64(0, 0));
  return generation_.load();
}

void PgCollectionStore::end_consistent_read() {
  if (!pinned_) return;
  if (!(*pinned_)->exec("COMMIT")) (*pinned_)->mark_broken();
  pinned_.reset();
}

Result<std::optional<DocumentRecord>> PgCollectionStore::find_document(PgConnection& conn, const std::string& column,
                                                                       const std::string& value) const {
  auto rows = conn.exec(std::string("SELECT ") + kDocumentColumns + " FROM kr_documents WHERE collection_id = $1 AND " +
                            column + " = $2 ORDER BY key LIMIT 1",
                        PgParams().add(collection_id_).add(value));
  if (!rows) return rows.status();
  if (rows->rows() == 0) return std::optional<DocumentRecord>{};
  std::vector<DocumentRecord> found{read_document(*rows, 0)};
  KR_RETURN_IF_ERROR(load_metadata(conn, found));
  return std::optional<DocumentRecord>(std::move(found.front()));
}

Status PgCollectionStore::load_metadata(PgConnection& conn, std::vector<DocumentRecord>& documents) const {
  if (documents.empty()) return Status::ok();
  std::vector<int64_t> keys;
  for (const auto& d : documents) keys.push_back(d.key);
  auto rows = conn.exec("SELECT document_key, key, value FROM kr_document_metadata WHERE document_key = ANY($1::bigint[])",
                        PgParams().add(int_array(keys)));
  if (!rows) return rows.status();
  std::unordered_map<int64_t, DocumentRecord*> by_key;
  for (auto& d : documents) by_key[d.key] = &d;
  for (int r = 0; r < rows->rows(); ++r) {
    if (auto it = by_key.find(rows->int64(r, 0)); it != by_key.end()) it->second->metadata[rows->text(r, 1)] = rows->text(r, 2);
  }
  return Status::ok();
}

Result<std::optional<DocumentRecord>> PgCollectionStore::find_by_doc_id(const std::string& doc_id) const {
  return with_connection([&](PgConnection& c) { return find_document(c, "doc_id", doc_id); });
}
Result<std::optional<DocumentRecord>> PgCollectionStore::find_by_source(const std::string& source) const {
  return with_connection([&](PgConnection& c) { return find_document(c, "source", source); });
}
Result<std::optional<DocumentRecord>> PgCollectionStore::find_by_hash(const std::string& content_hash) const {
  return with_connection([&](PgConnection& c) { return find_document(c, "content_hash", content_hash); });
}
Result<std::optional<DocumentRecord>> PgCollectionStore::find_by_key(int64_t key) const {
  return with_connection([&](PgConnection& c) { return find_document(c, "key", std::to_string(key)); });
}

Status PgCollectionStore::lock_and_log(PgConnection& conn, std::vector<ChangeRecord>& changes) {
  auto last = conn.exec("SELECT COALESCE(MAX(version), 0) FROM kr_changes WHERE collection_id = $1",
                        PgParams().add(collection_id_));
  if (!last) return last.status();
  uint64_t version = static_cast<uint64_t>(last->int64(0, 0));
  for (auto& change : changes) {
    change.version = ++version;
    auto logged = conn.exec(
        "INSERT INTO kr_changes(collection_id, version, doc_id, document_key, removed, added, removed_text_bytes, "
        "added_text_bytes) VALUES($1, $2, $3, $4, $5::bigint[], $6::bigint[], $7, $8)",
        PgParams()
            .add(collection_id_)
            .add(static_cast<int64_t>(change.version))
            .add(change.doc_id)
            .add(change.document_key)
            .add(int_array(change.removed_chunks))
            .add(int_array(change.added_chunks))
            .add(change.removed_text_bytes)
            .add(change.added_text_bytes));
    if (!logged) return logged.status();
  }
  // Delivered at commit, only if the transaction commits.
  auto notified = conn.exec(std::string("NOTIFY ") + kPgChangeChannel + ", '" + std::to_string(collection_id_) + "'");
  return notified ? Status::ok() : notified.status();
}

Result<PutOutcome> PgCollectionStore::put_one(PgConnection& conn, PutRequest request,
                                              std::vector<ChangeRecord>& changes) {
  DocumentRecord& document = request.document;
  std::vector<ChunkRecord>& chunks = request.chunks;
  PutOutcome outcome;
  if (request.refuse_duplicate_content) {
    auto same = find_document(conn, "content_hash", document.content_hash);
    if (!same) return same.status();
    if (same->has_value() && (*same)->doc_id != document.doc_id) {
      outcome.duplicate_of = (*same)->doc_id;
      outcome.document = std::move(document);
      return outcome;
    }
  }
  const int64_t now = now_seconds();
  int64_t created_at = now;
  auto previous = find_document(conn, "doc_id", document.doc_id);
  if (!previous) return previous.status();
  if (previous->has_value()) {
    created_at = (*previous)->created_at;
    outcome.replaced = true;
    auto old = conn.exec("DELETE FROM kr_chunks WHERE document_key = $1 RETURNING id, octet_length(text)",
                         PgParams().add((*previous)->key));
    if (!old) return old.status();
    for (int r = 0; r < old->rows(); ++r) {
      outcome.removed_chunks.push_back(old->int64(r, 0));
      outcome.removed_text_bytes += old->int64(r, 1);
    }
    auto removed = conn.exec("DELETE FROM kr_documents WHERE key = $1", PgParams().add((*previous)->key));
    if (!removed) return removed.status();
  }
  document.created_at = created_at;
  document.updated_at = now;
  document.chunk_count = static_cast<int>(chunks.size());
  auto inserted = conn.exec(
      "INSERT INTO kr_documents(collection_id, doc_id, name, source, content_hash, format, size_bytes, page_count, "
      "chunk_count, warnings, pages_needing_ocr, created_at, updated_at) "
      "VALUES($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13) RETURNING key",
      PgParams()
          .add(collection_id_)
          .add(document.doc_id)
          .add(document.name)
          .add(document.source)
          .add(document.content_hash)
          .add(document.format)
          .add(document.size_bytes)
          .add(int64_t{document.page_count})
          .add(int64_t{document.chunk_count})
          .add(join_list(document.warnings))
          .add(join_ints(document.pages_needing_ocr))
          .add(document.created_at)
          .add(document.updated_at));
  if (!inserted) return inserted.status();
  document.key = inserted->int64(0, 0);
  for (const auto& [key, value] : document.metadata) {
    auto meta = conn.exec("INSERT INTO kr_document_metadata(document_key, key, value) VALUES($1,$2,$3)",
                          PgParams().add(document.key).add(key).add(value));
    if (!meta) return meta.status();
  }
  ChangeRecord change;
  change.doc_id = document.doc_id;
  change.document_key = document.key;
  change.removed_chunks = outcome.removed_chunks;
  change.removed_text_bytes = outcome.removed_text_bytes;
  for (auto& chunk : chunks) {
    chunk.document_key = document.key;
    PgParams params;
    params.add(collection_id_).add(document.key).add(int64_t{chunk.ordinal}).add(chunk.text);
    params.add(int64_t{chunk.page_start}).add(int64_t{chunk.page_end}).add(join_list(chunk.heading_path));
    params.add(chunk.char_begin).add(chunk.char_end).add(int64_t{chunk.token_estimate});
    params.add_bytes(chunk.terms).add(int64_t{chunk.term_count});
    if (chunk.vector.empty()) {
      params.add_null();
    } else {
      params.add(vector_literal(chunk.vector));
    }
    auto row = conn.exec(
        "INSERT INTO kr_chunks(collection_id, document_key, ordinal, text, page_start, page_end, heading_path, "
        "char_begin, char_end, token_estimate, terms, term_count, embedding) "
        "VALUES($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13::vector) RETURNING id",
        params);
    if (!row) return row.status();
    chunk.id = row->int64(0, 0);
    change.added_chunks.push_back(chunk.id);
    change.added_text_bytes += static_cast<int64_t>(chunk.text.size());
  }
  changes.push_back(std::move(change));
  outcome.document = std::move(document);
  outcome.added_chunks = std::move(chunks);
  return outcome;
}

// The job turns 'done' with its documents, and only under the lease its worker holds: a worker
// whose lease expired and was taken over rolls back rather than store the document twice.
Status PgCollectionStore::finish_job(PgConnection& conn, int64_t job, const std::string& lease) {
  // The job's bytes become the document's original (PgOriginalStore's 1 MiB parts), in the same
  // transaction, so "Open original" works on every replica for queued uploads too.
  auto kept = conn.exec(
      "INSERT INTO kr_originals(collection_id, content_hash, part, bytes) "
      "SELECT j.collection_id, encode(sha256(j.bytes), 'hex'), p, substring(j.bytes FROM p * 1048576 + 1 FOR 1048576) "
      "FROM kr_ingest_jobs j, generate_series(0, GREATEST(0, (octet_length(j.bytes) - 1) / 1048576)) p "
      "WHERE j.id = $1 AND j.lease_token = $2 AND j.state = 'queued' ON CONFLICT DO NOTHING",
      PgParams().add(job).add(lease));
  if (!kept) return kept.status();
  auto done = conn.exec(
      "UPDATE kr_ingest_jobs SET state = 'done', bytes = '', finished_at = now(), lease_token = NULL, "
      "lease_until = NULL WHERE id = $1 AND lease_token = $2 AND state = 'queued' AND collection_id = $3",
      PgParams().add(job).add(lease).add(collection_id_));
  if (!done) return done.status();
  if (done->affected_rows() != 1) {
    return error(ErrorCode::kFailedPrecondition, "ingest job " + std::to_string(job) +
                                          " is no longer leased by this replica (its lease expired and another "
                                          "replica took it over); nothing was stored for it here");
  }
  return Status::ok();
}

Result<std::vector<PutOutcome>> PgCollectionStore::put_documents(std::vector<PutRequest> requests) {
  auto outcomes = pg_transaction(*pool_, [&](PgConnection& conn) -> Result<std::vector<PutOutcome>> {
    auto locked = conn.exec("SELECT pg_advisory_xact_lock(" + std::to_string(kWriteLockClass) + ", " +
                            std::to_string(static_cast<int32_t>(collection_id_)) + ")");
    if (!locked) return locked.status();
    std::vector<PutOutcome> out;
    std::vector<ChangeRecord> changes;
    for (auto& request : requests) {
      if (request.queue_job != 0) KR_RETURN_IF_ERROR(finish_job(conn, request.queue_job, request.queue_lease));
      auto outcome = put_one(conn, std::move(request), changes);
      if (!outcome) return outcome.status();
      out.push_back(std::move(outcome.value()));
    }
    if (!changes.empty()) {
      KR_RETURN_IF_ERROR(lock_and_log(conn, changes));
    }
    return out;
  });
  if (outcomes) write_transactions_++;
  return outcomes;
}

Result<std::vector<int64_t>> PgCollectionStore::delete_document(const std::string& doc_id,
                                                                int64_t* removed_text_bytes) {
  int64_t text_bytes = 0;
  auto removed = pg_transaction(*pool_, [&](PgConnection& conn) -> Result<std::vector<int64_t>> {
    auto locked = conn.exec("SELECT pg_advisory_xact_lock(" + std::to_string(kWriteLockClass) + ", " +
                            std::to_string(static_cast<int32_t>(collection_id_)) + ")");
    if (!locked) return locked.status();
    auto existing = find_document(conn, "doc_id", doc_id);
    if (!existing) return existing.status();
    if (!existing->has_value()) return error(ErrorCode::kNotFound, "document '" + doc_id + "' does not exist");
    auto old = conn.exec("DELETE FROM kr_chunks WHERE document_key = $1 RETURNING id, octet_length(text)",
                         PgParams().add((*existing)->key));
    if (!old) return old.status();
    std::vector<int64_t> ids;
    for (int r = 0; r < old->rows(); ++r) {
      ids.push_back(old->int64(r, 0));
      text_bytes += old->int64(r, 1);
    }
    auto gone = conn.exec("DELETE FROM kr_documents WHERE key = $1", PgParams().add((*existing)->key));
    if (!gone) return gone.status();
    std::vector<ChangeRecord> changes(1);
    changes[0].doc_id = doc_id;
    changes[0].document_key = (*existing)->key;
    changes[0].removed_chunks = ids;
    changes[0].removed_text_bytes = text_bytes;
    KR_RETURN_IF_ERROR(lock_and_log(conn, changes));
    return ids;
  });
  if (removed) {
    write_transactions_++;
    if (removed_text_bytes) *removed_text_bytes = text_bytes;
  }
  return removed;
}

Result<DocumentPage> PgCollectionStore::list_documents(int64_t offset, int64_t limit,
                                                       const MetadataFilter& filter) const {
  PgParams params;
  params.add(collection_id_);
  std::string where = " WHERE collection_id = $1";
  for (const auto& [key, values] : filter.any_of) {
    const int k = params.size() + 1;
    params.add(key).add(text_array(values));
    where += " AND key IN (SELECT document_key FROM kr_document_metadata WHERE key = $" + std::to_string(k) +
             " AND value = ANY($" + std::to_string(k + 1) + "::text[]))";
  }
  return with_connection([&](PgConnection& conn) -> Result<DocumentPage> {
    DocumentPage page;
    // One statement: the total and the page describe the same state.
    PgParams paged = params;
    const int n = paged.size();
    paged.add(limit).add(offset);
    auto rows = conn.exec(std::string("SELECT ") + kDocumentColumns + ", COUNT(*) OVER () FROM kr_documents" + where +
                              " ORDER BY key LIMIT $" + std::to_string(n + 1) + " OFFSET $" + std::to_string(n + 2),
                          paged);
    if (!rows) return rows.status();
    for (int r = 0; r < rows->rows(); ++r) page.documents.push_back(read_document(*rows, r));
    if (rows->rows() > 0) {
      page.total = rows->int64(0, 13);
    } else {
      auto count = conn.exec("SELECT COUNT(*) FROM kr_documents" + where, params);
      if (!count) return count.status();
      page.total = count->int64(0, 0);
    }
    KR_RETURN_IF_ERROR(load_metadata(conn, page.documents));
    return page;
  });
}

Result<std::vector<ChunkRecord>> PgCollectionStore::read_chunks(const std::string& where, const PgParams& params,
                                                                bool with_terms, const std::string& order) const {
  return with_connection([&](PgConnection& conn) -> Result<std::vector<ChunkRecord>> {
    auto rows = conn.exec(std::string("SELECT ") + kChunkColumns + (with_terms ? ", c.terms" : "") + " " + where +
                              " " + order,
                          params);
    if (!rows) return rows.status();
    std::vector<ChunkRecord> out;
    out.reserve(static_cast<size_t>(rows->rows()));
    for (int r = 0; r < rows->rows(); ++r) out.push_back(read_chunk(*rows, r, with_terms));
    return out;
  });
}

Result<std::vector<ChunkRecord>> PgCollectionStore::get_chunks(const std::vector<int64_t>& ids) const {
  if (ids.empty()) return std::vector<ChunkRecord>{};
  return read_chunks("FROM unnest($1::bigint[]) WITH ORDINALITY AS q(id, n) JOIN kr_chunks c ON c.id = q.id "
                     "WHERE c.collection_id = $2",
                     PgParams().add(int_array(ids)).add(collection_id_), false, "ORDER BY q.n");
}

Result<std::vector<ChunkRecord>> PgCollectionStore::get_chunks_with_terms(const std::vector<int64_t>& ids) const {
  if (ids.empty()) return std::vector<ChunkRecord>{};
  return read_chunks("FROM unnest($1::bigint[]) WITH ORDINALITY AS q(id, n) JOIN kr_chunks c ON c.id = q.id "
                     "WHERE c.collection_id = $2",
                     PgParams().add(int_array(ids)).add(collection_id_), true, "ORDER BY q.n");
}

Result<std::vector<ChunkRecord>> PgCollectionStore::document_chunks(int64_t document_key) const {
  return read_chunks("FROM kr_chunks c WHERE c.document_key = $1 AND c.collection_id = $2",
                     PgParams().add(document_key).add(collection_id_), false, "ORDER BY c.ordinal");
}

Status PgCollectionStore::for_each_chunk_terms(
    const std::function<void(int64_t, int64_t, std::string_view, uint32_t)>& visit) const {
  // Pages by id, so a large collection never sits in one result in memory.
  int64_t after = 0;
  while (true) {
    auto page = read_chunks("FROM kr_chunks c WHERE c.collection_id = $1 AND c.id > $2",
                            PgParams().add(collection_id_).add(after), true, "ORDER BY c.id LIMIT 5000");
    if (!page) return page.status();
    for (const auto& c : *page) visit(c.id, c.document_key, c.terms, c.term_count);
    if (page->size() < 5000) return Status::ok();
    after = page->back().id;
  }
}

Status PgCollectionStore::for_each_chunk_vector(
    const std::function<void(int64_t, int64_t, std::span<const float>)>& visit) const {
  int64_t after = 0;
  while (true) {
    auto rows = with_connection([&](PgConnection& conn) {
      return conn.exec(
          "SELECT id, document_key, embedding::text FROM kr_chunks WHERE collection_id = $1 AND id > $2 "
          "AND embedding IS NOT NULL ORDER BY id LIMIT 5000",
          PgParams().add(collection_id_).add(after));
    });
    if (!rows) return rows.status();
    for (int r = 0; r < rows->rows(); ++r) {
      const auto vector = parse_vector(rows->view(r, 2));
      visit(rows->int64(r, 0), rows->int64(r, 1), vector);
      after = rows->int64(r, 0);
    }
    if (rows->rows() < 5000) return Status::ok();
  }
}

Status PgCollectionStore::stage_vectors(const std::vector<std::pair<int64_t, std::vector<float>>>&, bool) {
  return error(ErrorCode::kFailedPrecondition,
               "re-embedding a collection on the PostgreSQL store is not supported yet; re-ingest its documents "
               "into a new collection");
}

Status PgCollectionStore::commit_staged_vectors(const std::vector<std::pair<std::string, std::string>>&) {
  return stage_vectors({}, true);
}

Status PgCollectionStore::for_each_document(const std::function<void(const DocumentRecord&)>& visit) const {
  int64_t after = 0;
  while (true) {
    auto page = with_connection([&](PgConnection& conn) -> Result<std::vector<DocumentRecord>> {
      auto rows = conn.exec(std::string("SELECT ") + kDocumentColumns +
                                " FROM kr_documents WHERE collection_id = $1 AND key > $2 ORDER BY key LIMIT 5000",
                            PgParams().add(collection_id_).add(after));
      if (!rows) return rows.status();
      std::vector<DocumentRecord> documents;
      for (int r = 0; r < rows->rows(); ++r) documents.push_back(read_document(*rows, r));
      KR_RETURN_IF_ERROR(load_metadata(conn, documents));
      return documents;
    });
    if (!page) return page.status();
    for (const auto& d : *page) visit(d);
    if (page->size() < 5000) return Status::ok();
    after = page->back().key;
  }
}

Result<std::optional<std::string>> PgCollectionStore::get_setting(const std::string& key) const {
  return with_connection([&](PgConnection& conn) -> Result<std::optional<std::string>> {
    auto rows = conn.exec("SELECT value FROM kr_settings WHERE collection_id = $1 AND key = $2",
                          PgParams().add(collection_id_).add(key));
    if (!rows) return rows.status();
    if (rows->rows() == 0) return std::optional<std::string>{};
    return std::optional<std::string>(rows->text(0, 0));
  });
}

Result<std::vector<std::pair<std::string, std::string>>> PgCollectionStore::all_settings() const {
  return with_connection([&](PgConnection& conn) -> Result<std::vector<std::pair<std::string, std::string>>> {
    auto rows = conn.exec("SELECT key, value FROM kr_settings WHERE collection_id = $1 ORDER BY key COLLATE \"C\"",
                          PgParams().add(collection_id_));
    if (!rows) return rows.status();
    std::vector<std::pair<std::string, std::string>> out;
    for (int r = 0; r < rows->rows(); ++r) out.emplace_back(rows->text(r, 0), rows->text(r, 1));
    return out;
  });
}

Status PgCollectionStore::set_setting(const std::string& key, const std::string& value) {
  return with_connection([&](PgConnection& conn) -> Status {
    auto done = conn.exec(
        "INSERT INTO kr_settings(collection_id, key, value) VALUES($1,$2,$3) "
        "ON CONFLICT (collection_id, key) DO UPDATE SET value = EXCLUDED.value",
        PgParams().add(collection_id_).add(key).add(value));
    return done ? Status::ok() : done.status();
  });
}

Result<CollectionStats> PgCollectionStore::stats() const {
  return with_connection([&](PgConnection& conn) -> Result<CollectionStats> {
    auto rows = conn.exec(
        "SELECT (SELECT COUNT(*) FROM kr_documents WHERE collection_id = $1), COUNT(*), "
        "COALESCE(SUM(octet_length(text)), 0), COUNT(embedding) FROM kr_chunks WHERE collection_id = $1",
        PgParams().add(collection_id_));
    if (!rows) return rows.status();
    CollectionStats stats;
    stats.documents = rows->int64(0, 0);
    stats.chunks = rows->int64(0, 1);
    stats.text_bytes = rows->int64(0, 2);
    stats.vectors = rows->int64(0, 3);
    return stats;
  });
}

Status PgCollectionStore::check_integrity() const {
  return with_connection([&](PgConnection& conn) -> Status {
    auto rows = conn.exec(
        "SELECT COUNT(*) FROM kr_documents d WHERE d.collection_id = $1 AND chunk_count != "
        "(SELECT COUNT(*) FROM kr_chunks c WHERE c.document_key = d.key)",
        PgParams().add(collection_id_));
    if (!rows) return rows.status();
    if (rows->int64(0, 0) > 0) {
      return error(ErrorCode::kDataCorruption,
                   "documents whose chunk count disagrees with their chunks: " + rows->text(0, 0));
    }
    return Status::ok();
  });
}

Status PgCollectionStore::prepare_vectors(int dimension) {
  if (dimension < 1 || dimension > 2000) {
    return error(ErrorCode::kInvalidArgument, "pgvector's HNSW index takes 1-2000 dimensions, not " +
                                                  std::to_string(dimension));
  }
  const std::string id = std::to_string(collection_id_);
  return with_connection([&](PgConnection& conn) -> Status {
    // One partial HNSW index per collection, over its rows cast to its dimension.
    auto made = conn.exec("CREATE INDEX IF NOT EXISTS kr_chunks_hnsw_" + id +
                          " ON kr_chunks USING hnsw ((embedding::vector(" + std::to_string(dimension) +
                          ")) vector_cosine_ops) WHERE collection_id = " + id);
    return made ? Status::ok() : made.status();
  });
}

Result<std::vector<VectorMatch>> PgCollectionStore::search_vectors(std::span<const float> query, int count,
                                                                   int ef_search,
                                                                   const std::vector<int64_t>* allowed) const {
  const std::string dim = std::to_string(query.size());
  const int ef = std::max({ef_search > 0 ? ef_search : default_ef_search_, count, 1});
  const std::string cast = "embedding::vector(" + dim + ")";
  // collection_id is inlined so the planner matches the partial index's predicate.
  std::string sql = "SELECT id, 1 - (" + cast + " <=> $1::vector(" + dim + ")) FROM kr_chunks WHERE collection_id = " +
                    std::to_string(collection_id_) + " AND embedding IS NOT NULL";
  PgParams params;
  params.add(vector_literal(query));
  if (allowed) {
    sql += " AND document_key = ANY($2::bigint[])";
    params.add(int_array(*allowed));
  }
  sql += " ORDER BY " + cast + " <=> $1::vector(" + dim + ") LIMIT " + std::to_string(count);
  return pg_transaction(*pool_, [&](PgConnection& conn) -> Result<std::vector<VectorMatch>> {
    std::string settings = "SET LOCAL hnsw.ef_search = " + std::to_string(std::min(ef, 1000));
    // With a filter, keep scanning the graph until enough rows pass it (pgvector >= 0.8).
    if (allowed) settings += "; SET LOCAL hnsw.iterative_scan = relaxed_order";
    if (auto set = conn.exec(settings); !set) return set.status();
    auto rows = conn.exec(sql, params);
    if (!rows) return rows.status();
    std::vector<VectorMatch> out;
    for (int r = 0; r < rows->rows(); ++r) out.push_back({rows->int64(r, 0), rows->real(r, 1)});
    // relaxed_order may return neighbours slightly out of order.
    std::stable_sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.score > b.score; });
    return out;
  });
}

Result<std::vector<ChangeRecord>> PgCollectionStore::changes_since(uint64_t version, int limit) const {
  auto rows = with_connection([&](PgConnection& conn) {
    return conn.exec(
        "SELECT version, doc_id, document_key, removed::text, added::text, removed_text_bytes, added_text_bytes FROM kr_changes "
        "WHERE collection_id = $1 AND version > $2 ORDER BY version LIMIT $3",
        PgParams().add(collection_id_).add(static_cast<int64_t>(version)).add(int64_t{limit}));
  });
  if (!rows) return rows.status();
  std::vector<ChangeRecord> out;
  for (int r = 0; r < rows->rows(); ++r) {
    ChangeRecord c;
    c.version = static_cast<uint64_t>(rows->int64(r, 0));
    c.doc_id = rows->text(r, 1);
    c.document_key = rows->int64(r, 2);
    c.removed_chunks = parse_int_array(rows->view(r, 3));
    c.added_chunks = parse_int_array(rows->view(r, 4));
    c.removed_text_bytes = rows->int64(r, 5);
    c.added_text_bytes = rows->int64(r, 6);
    out.push_back(std::move(c));
  }
  if (!out.empty()) generation_ = std::max<uint64_t>(generation_.load(), out.back().version);
  return out;
}

}  // namespace kr::store
