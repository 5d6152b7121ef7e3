#include "store/collection_store.h"

#include <gtest/gtest.h>
#include <sqlite3.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

namespace kr::store {
namespace {

namespace fs = std::filesystem;

std::string unique_dir(const std::string& tag) {
  static std::atomic<int> counter{0};
  const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
  return (fs::path(::testing::TempDir()) / ("kr_store_" + tag + "_" + std::string(info ? info->name() : "x") + "_" +
                                             std::to_string(::getpid()) + "_" + std::to_string(counter++)))
      .string();
}

DocumentRecord make_document(const std::string& doc_id, Metadata metadata = {}) {
  DocumentRecord d;
  d.doc_id = doc_id;
  d.name = doc_id + ".md";
  d.source = "/src/" + doc_id + ".md";
  d.content_hash = "hash-" + doc_id;
  d.format = "markdown";
  d.size_bytes = 1234;
  d.page_count = 0;
  d.metadata = std::move(metadata);
  return d;
}

ChunkRecord make_chunk(int ordinal, std::string text, std::vector<std::string> headings = {}) {
  ChunkRecord c;
  c.ordinal = ordinal;
  c.text = std::move(text);
  c.page_start = ordinal + 1;
  c.page_end = ordinal + 2;
  c.heading_path = std::move(headings);
  c.char_begin = ordinal * 100;
  c.char_end = ordinal * 100 + static_cast<int64_t>(c.text.size());
  c.token_estimate = 10 + ordinal;
  c.terms = std::string("\x01\x00\x02term", 7) + std::to_string(ordinal);  // binary, with a NUL
  c.term_count = static_cast<uint32_t>(3 + ordinal);
  return c;
}

std::vector<ChunkRecord> make_chunks(int n, const std::string& prefix = "chunk") {
  std::vector<ChunkRecord> chunks;
  for (int i = 0; i < n; ++i) chunks.push_back(make_chunk(i, prefix + " text " + std::to_string(i), {"H1", "H2"}));
  return chunks;
}

std::vector<int64_t> ids_of(const std::vector<ChunkRecord>& chunks) {
  std::vector<int64_t> ids;
  for (const auto& c : chunks) ids.push_back(c.id);
  return ids;
}

// Runs SQL on the database file with a separate raw connection.
void raw_exec(const std::string& db_path, const std::string& sql) {
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(db_path.c_str(), &db), SQLITE_OK);
  sqlite3_busy_timeout(db, 5000);
  char* message = nullptr;
  const int rc = sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &message);
  EXPECT_EQ(rc, SQLITE_OK) << (message ? message : "") << " in " << sql;
  sqlite3_free(message);
  sqlite3_close(db);
}

class StoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = unique_dir("t");
    fs::create_directories(dir_);
    auto opened = CollectionStore::open(dir_, /*create=*/true);
    ASSERT_TRUE(opened.is_ok()) << opened.status().to_string();
    store_ = std::move(opened.value());
  }
  void TearDown() override {
    store_.reset();
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
  std::string db_path() const { return dir_ + "/collection.db"; }

  PutOutcome put(DocumentRecord document, std::vector<ChunkRecord> chunks) {
    auto outcome = store_->put_document(std::move(document), std::move(chunks));
    EXPECT_TRUE(outcome.is_ok()) << outcome.status().to_string();
    return outcome.is_ok() ? std::move(outcome.value()) : PutOutcome{};
  }

  void reopen() {
    store_.reset();
    auto opened = CollectionStore::open(dir_, /*create=*/false);
    ASSERT_TRUE(opened.is_ok()) << opened.status().to_string();
    store_ = std::move(opened.value());
  }

  std::string dir_;
  std::unique_ptr<CollectionStore> store_;
};

TEST(StoreOpen, MissingDatabaseWithoutCreateIsNotFound) {
  const std::string dir = unique_dir("missing");
  fs::create_directories(dir);
  auto opened = CollectionStore::open(dir, /*create=*/false);
  ASSERT_FALSE(opened.is_ok());
  EXPECT_EQ(opened.status().code(), ErrorCode::kNotFound);
  EXPECT_FALSE(fs::exists(dir + "/collection.db"));
  fs::remove_all(dir);
}

TEST(StoreOpen, CreateMakesTheDatabaseAndReopenWorks) {
  const std::string dir = unique_dir("create");
  fs::create_directories(dir);
  {
    auto opened = CollectionStore::open(dir, /*create=*/true);
    ASSERT_TRUE(opened.is_ok()) << opened.status().to_string();
    EXPECT_TRUE((*opened)->check_integrity().is_ok());
    auto stats = (*opened)->stats();
    ASSERT_TRUE(stats.is_ok());
    EXPECT_EQ(stats->documents, 0);
    EXPECT_EQ(stats->chunks, 0);
    EXPECT_EQ(stats->text_bytes, 0);
  }
  EXPECT_TRUE(fs::exists(dir + "/collection.db"));
  auto again = CollectionStore::open(dir, /*create=*/false);
  ASSERT_TRUE(again.is_ok()) << again.status().to_string();
  auto again_create = CollectionStore::open(dir, /*create=*/true);  // idempotent on an existing store
  EXPECT_TRUE(again_create.is_ok()) << again_create.status().to_string();
  again->reset();
  again_create->reset();
  fs::remove_all(dir);
}

TEST(StoreOpen, UnwritableLocationFails) {
  auto opened = CollectionStore::open("/nonexistent-dir-for-kr-tests/a/b", /*create=*/true);
  ASSERT_FALSE(opened.is_ok());
  EXPECT_NE(opened.status().code(), ErrorCode::kOk);
}

TEST_F(StoreTest, PutInsertsDocumentChunksAndMetadata) {
  DocumentRecord doc = make_document("doc-1", {{"dept", "\"hr\""}, {"year", "2024"}});
  doc.warnings = {"first warning", "second, with comma"};
  doc.pages_needing_ocr = {2, 5};
  doc.page_count = 7;
  doc.chunk_count = 99;  // ignored: the store counts the chunks it is given
  std::vector<ChunkRecord> chunks = {make_chunk(0, "alpha", {"Intro"}), make_chunk(1, "beta caf\xC3\xA9", {}),
                                     make_chunk(2, "gamma", {"Intro", "Details", "Deep"})};
  const PutOutcome outcome = put(doc, chunks);

  EXPECT_GT(outcome.document.key, 0);
  EXPECT_EQ(outcome.document.doc_id, "doc-1");
  EXPECT_EQ(outcome.document.chunk_count, 3);
  EXPECT_GT(outcome.document.created_at, 1600000000);
  EXPECT_EQ(outcome.document.created_at, outcome.document.updated_at);
  EXPECT_TRUE(outcome.removed_chunks.empty());
  ASSERT_EQ(outcome.added_chunks.size(), 3u);
  std::set<int64_t> distinct;
  for (size_t i = 0; i < 3; ++i) {
    EXPECT_GT(outcome.added_chunks[i].id, 0);
    EXPECT_EQ(outcome.added_chunks[i].document_key, outcome.document.key);
    EXPECT_EQ(outcome.added_chunks[i].text, chunks[i].text);
    EXPECT_EQ(outcome.added_chunks[i].terms, chunks[i].terms);
    distinct.insert(outcome.added_chunks[i].id);
  }
  EXPECT_EQ(distinct.size(), 3u);

  auto found = store_->find_by_doc_id("doc-1");
  ASSERT_TRUE(found.is_ok()) << found.status().to_string();
  ASSERT_TRUE(found->has_value());
  const DocumentRecord& stored = **found;
  EXPECT_EQ(stored.key, outcome.document.key);
  EXPECT_EQ(stored.name, "doc-1.md");
  EXPECT_EQ(stored.source, "/src/doc-1.md");
  EXPECT_EQ(stored.content_hash, "hash-doc-1");
  EXPECT_EQ(stored.format, "markdown");
  EXPECT_EQ(stored.size_bytes, 1234);
  EXPECT_EQ(stored.page_count, 7);
  EXPECT_EQ(stored.chunk_count, 3);
  EXPECT_EQ(stored.metadata, (Metadata{{"dept", "\"hr\""}, {"year", "2024"}}));
  EXPECT_EQ(stored.warnings, doc.warnings);
  EXPECT_EQ(stored.pages_needing_ocr, (std::vector<int>{2, 5}));
  EXPECT_EQ(stored.created_at, outcome.document.created_at);
  EXPECT_EQ(stored.updated_at, outcome.document.updated_at);

  auto stored_chunks = store_->document_chunks(stored.key);
  ASSERT_TRUE(stored_chunks.is_ok());
  ASSERT_EQ(stored_chunks->size(), 3u);
  for (size_t i = 0; i < 3; ++i) {
    const ChunkRecord& c = (*stored_chunks)[i];
    EXPECT_EQ(c.id, outcome.added_chunks[i].id);
    EXPECT_EQ(c.document_key, stored.key);
    EXPECT_EQ(c.ordinal, chunks[i].ordinal);
    EXPECT_EQ(c.text, chunks[i].text);
    EXPECT_EQ(c.page_start, chunks[i].page_start);
    EXPECT_EQ(c.page_end, chunks[i].page_end);
    EXPECT_EQ(c.heading_path, chunks[i].heading_path);
    EXPECT_EQ(c.char_begin, chunks[i].char_begin);
    EXPECT_EQ(c.char_end, chunks[i].char_end);
    EXPECT_EQ(c.token_estimate, chunks[i].token_estimate);
    EXPECT_EQ(c.terms, chunks[i].terms) << "binary term bytes (with NUL) must round-trip";
    EXPECT_EQ(c.term_count, chunks[i].term_count);
  }
  EXPECT_TRUE(store_->check_integrity().is_ok());
}

TEST_F(StoreTest, DocumentWithoutChunks) {
  const PutOutcome outcome = put(make_document("empty"), {});
  EXPECT_EQ(outcome.document.chunk_count, 0);
  EXPECT_TRUE(outcome.added_chunks.empty());
  auto found = store_->find_by_doc_id("empty");
  ASSERT_TRUE(found.is_ok());
  ASSERT_TRUE(found->has_value());
  EXPECT_TRUE((**found).warnings.empty());
  EXPECT_TRUE((**found).pages_needing_ocr.empty());
  EXPECT_TRUE(store_->check_integrity().is_ok());
}

TEST_F(StoreTest, ChunksOrderedByOrdinalNotInsertion) {
  std::vector<ChunkRecord> chunks = {make_chunk(2, "two"), make_chunk(0, "zero"), make_chunk(1, "one")};
  const PutOutcome outcome = put(make_document("d"), chunks);
  auto stored = store_->document_chunks(outcome.document.key);
  ASSERT_TRUE(stored.is_ok());
  ASSERT_EQ(stored->size(), 3u);
  EXPECT_EQ((*stored)[0].text, "zero");
  EXPECT_EQ((*stored)[1].text, "one");
  EXPECT_EQ((*stored)[2].text, "two");
}

TEST_F(StoreTest, ReplaceByDocIdRemovesOldChunks) {
  const PutOutcome first = put(make_document("doc", {{"v", "1"}, {"old_only", "true"}}), make_chunks(3, "old"));
  auto other = put(make_document("other"), make_chunks(2, "other"));

  DocumentRecord replacement = make_document("doc", {{"v", "2"}});
  replacement.content_hash = "hash-v2";
  const PutOutcome second = put(replacement, make_chunks(2, "new"));

  std::vector<int64_t> removed = second.removed_chunks;
  std::sort(removed.begin(), removed.end());
  std::vector<int64_t> old_ids = ids_of(first.added_chunks);
  std::sort(old_ids.begin(), old_ids.end());
  EXPECT_EQ(removed, old_ids);
  EXPECT_EQ(second.document.created_at, first.document.created_at);  // creation time survives a replace
  EXPECT_GE(second.document.updated_at, first.document.updated_at);
  for (int64_t id : ids_of(second.added_chunks)) {
    EXPECT_EQ(std::count(old_ids.begin(), old_ids.end(), id), 0) << "chunk id reused: " << id;
  }

  auto old_chunks = store_->get_chunks(old_ids);
  ASSERT_TRUE(old_chunks.is_ok());
  EXPECT_TRUE(old_chunks->empty());

  auto found = store_->find_by_doc_id("doc");
  ASSERT_TRUE(found.is_ok());
  ASSERT_TRUE(found->has_value());
  EXPECT_EQ((**found).content_hash, "hash-v2");
  EXPECT_EQ((**found).chunk_count, 2);
  EXPECT_EQ((**found).metadata, (Metadata{{"v", "2"}}));  // old metadata keys are gone
  auto chunks = store_->document_chunks((**found).key);
  ASSERT_TRUE(chunks.is_ok());
  ASSERT_EQ(chunks->size(), 2u);
  EXPECT_EQ((*chunks)[0].text, "new text 0");

  // The other document is untouched.
  auto other_chunks = store_->get_chunks(ids_of(other.added_chunks));
  ASSERT_TRUE(other_chunks.is_ok());
  EXPECT_EQ(other_chunks->size(), 2u);

  auto stats = store_->stats();
  ASSERT_TRUE(stats.is_ok());
  EXPECT_EQ(stats->documents, 2);
  EXPECT_EQ(stats->chunks, 4);
  MetadataFilter old_filter;
  old_filter.any_of["old_only"] = {"true"};
  auto listed = store_->list_documents(0, 10, old_filter);
  ASSERT_TRUE(listed.is_ok());
  EXPECT_EQ(listed->total, 0);
  EXPECT_TRUE(store_->check_integrity().is_ok());
}

TEST_F(StoreTest, FailedReplaceLeavesTheOldVersionIntact) {
  const PutOutcome first = put(make_document("doc", {{"v", "1"}}), make_chunks(3, "old"));
  // Make the third chunk insert of the replacement fail inside the transaction.
  raw_exec(db_path(),
           "CREATE TRIGGER fail_boom BEFORE INSERT ON chunks WHEN NEW.text = 'boom' "
           "BEGIN SELECT RAISE(ABORT, 'boom is not allowed'); END;");
  std::vector<ChunkRecord> chunks = make_chunks(2, "new");
  chunks.push_back(make_chunk(2, "boom"));
  DocumentRecord replacement = make_document("doc", {{"v", "2"}});
  replacement.content_hash = "hash-v2";
  auto outcome = store_->put_document(replacement, chunks);
  ASSERT_FALSE(outcome.is_ok());
  EXPECT_NE(outcome.status().message().find("boom"), std::string::npos) << outcome.status().to_string();

  auto found = store_->find_by_doc_id("doc");
  ASSERT_TRUE(found.is_ok());
  ASSERT_TRUE(found->has_value()) << "the old document vanished after a failed replace";
  EXPECT_EQ((**found).key, first.document.key);
  EXPECT_EQ((**found).content_hash, "hash-doc");
  EXPECT_EQ((**found).metadata, (Metadata{{"v", "1"}}));
  auto kept = store_->get_chunks(ids_of(first.added_chunks));
  ASSERT_TRUE(kept.is_ok());
  EXPECT_EQ(kept->size(), 3u);
  auto stats = store_->stats();
  ASSERT_TRUE(stats.is_ok());
  EXPECT_EQ(stats->documents, 1);
  EXPECT_EQ(stats->chunks, 3);
  EXPECT_TRUE(store_->check_integrity().is_ok());

  // The writer is usable again afterwards (the transaction was rolled back, not left open).
  raw_exec(db_path(), "DROP TRIGGER fail_boom");
  auto retried = store_->put_document(replacement, make_chunks(2, "new"));
  ASSERT_TRUE(retried.is_ok()) << retried.status().to_string();
  EXPECT_EQ(retried->removed_chunks.size(), 3u);
}

TEST_F(StoreTest, DeleteDocumentReturnsRemovedChunks) {
  const PutOutcome a = put(make_document("a", {{"k", "1"}}), make_chunks(3));
  const PutOutcome b = put(make_document("b"), make_chunks(1));
  auto removed = store_->delete_document("a");
  ASSERT_TRUE(removed.is_ok()) << removed.status().to_string();
  std::vector<int64_t> got = *removed;
  std::sort(got.begin(), got.end());
  std::vector<int64_t> expected = ids_of(a.added_chunks);
  std::sort(expected.begin(), expected.end());
  EXPECT_EQ(got, expected);

  auto found = store_->find_by_doc_id("a");
  ASSERT_TRUE(found.is_ok());
  EXPECT_FALSE(found->has_value());
  auto gone = store_->get_chunks(expected);
  ASSERT_TRUE(gone.is_ok());
  EXPECT_TRUE(gone->empty());
  auto chunks_of_key = store_->document_chunks(a.document.key);
  ASSERT_TRUE(chunks_of_key.is_ok());
  EXPECT_TRUE(chunks_of_key->empty());
  MetadataFilter filter;
  filter.any_of["k"] = {"1"};
  auto listed = store_->list_documents(0, 10, filter);
  ASSERT_TRUE(listed.is_ok());
  EXPECT_EQ(listed->total, 0);  // metadata rows went with the document

  auto again = store_->delete_document("a");
  ASSERT_FALSE(again.is_ok());
  EXPECT_EQ(again.status().code(), ErrorCode::kNotFound);
  auto unknown = store_->delete_document("never-existed");
  ASSERT_FALSE(unknown.is_ok());
  EXPECT_EQ(unknown.status().code(), ErrorCode::kNotFound);
  EXPECT_NE(unknown.status().message().find("never-existed"), std::string::npos);

  auto b_chunks = store_->get_chunks(ids_of(b.added_chunks));
  ASSERT_TRUE(b_chunks.is_ok());
  EXPECT_EQ(b_chunks->size(), 1u);
  auto stats = store_->stats();
  ASSERT_TRUE(stats.is_ok());
  EXPECT_EQ(stats->documents, 1);
  EXPECT_EQ(stats->chunks, 1);
  EXPECT_TRUE(store_->check_integrity().is_ok());
}

TEST_F(StoreTest, FindBySourceHashAndKey) {
  const PutOutcome a = put(make_document("a"), make_chunks(1));
  const PutOutcome b = put(make_document("b"), make_chunks(1));

  auto by_source = store_->find_by_source("/src/b.md");
  ASSERT_TRUE(by_source.is_ok());
  ASSERT_TRUE(by_source->has_value());
  EXPECT_EQ((**by_source).doc_id, "b");

  auto by_hash = store_->find_by_hash("hash-a");
  ASSERT_TRUE(by_hash.is_ok());
  ASSERT_TRUE(by_hash->has_value());
  EXPECT_EQ((**by_hash).doc_id, "a");

  auto by_key = store_->find_by_key(b.document.key);
  ASSERT_TRUE(by_key.is_ok());
  ASSERT_TRUE(by_key->has_value());
  EXPECT_EQ((**by_key).doc_id, "b");
  EXPECT_EQ((**by_key).key, b.document.key);

  for (auto result : {store_->find_by_source("/nope"), store_->find_by_hash("nope"), store_->find_by_key(999999),
                      store_->find_by_doc_id("nope"), store_->find_by_source("")}) {
    ASSERT_TRUE(result.is_ok()) << result.status().to_string();
    EXPECT_FALSE(result->has_value());
  }
  // Quotes and SQL metacharacters are bound, not interpolated.
  auto tricky = store_->find_by_doc_id("a' OR '1'='1");
  ASSERT_TRUE(tricky.is_ok());
  EXPECT_FALSE(tricky->has_value());
  (void)a;
}

TEST_F(StoreTest, FindByHashWithTwoDocumentsReturnsTheFirst) {
  DocumentRecord first = make_document("first");
  DocumentRecord second = make_document("second");
  second.content_hash = first.content_hash;
  put(first, make_chunks(1));
  put(second, make_chunks(1));
  auto found = store_->find_by_hash(first.content_hash);
  ASSERT_TRUE(found.is_ok());
  ASSERT_TRUE(found->has_value());
  EXPECT_EQ((**found).doc_id, "first");
}

TEST_F(StoreTest, ListDocumentsPaging) {
  for (int i = 0; i < 25; ++i) {
    put(make_document("doc-" + std::to_string(i), {{"i", std::to_string(i)}}), make_chunks(1));
  }
  auto page = store_->list_documents(0, 10, {});
  ASSERT_TRUE(page.is_ok()) << page.status().to_string();
  EXPECT_EQ(page->total, 25);
  ASSERT_EQ(page->documents.size(), 10u);
  for (int i = 0; i < 10; ++i) {
    EXPECT_EQ(page->documents[i].doc_id, "doc-" + std::to_string(i));  // insertion order
    EXPECT_EQ(page->documents[i].metadata.at("i"), std::to_string(i));  // metadata is loaded
  }

  page = store_->list_documents(10, 10, {});
  ASSERT_TRUE(page.is_ok());
  ASSERT_EQ(page->documents.size(), 10u);
  EXPECT_EQ(page->documents.front().doc_id, "doc-10");
  EXPECT_EQ(page->documents.back().doc_id, "doc-19");

  page = store_->list_documents(20, 10, {});
  ASSERT_TRUE(page.is_ok());
  ASSERT_EQ(page->documents.size(), 5u);
  EXPECT_EQ(page->documents.back().doc_id, "doc-24");
  EXPECT_EQ(page->total, 25);

  page = store_->list_documents(30, 10, {});
  ASSERT_TRUE(page.is_ok());
  EXPECT_TRUE(page->documents.empty());
  EXPECT_EQ(page->total, 25);

  page = store_->list_documents(24, 1, {});
  ASSERT_TRUE(page.is_ok());
  ASSERT_EQ(page->documents.size(), 1u);
  EXPECT_EQ(page->documents[0].doc_id, "doc-24");
}

class StoreFilterTest : public StoreTest {
 protected:
  void SetUp() override {
    StoreTest::SetUp();
    // doc-i: dept cycles hr/it/ops, year 2023 for even i, 2024 for odd; doc-9 has no dept.
    const char* depts[] = {"\"hr\"", "\"it\"", "\"ops\""};
    for (int i = 0; i < 10; ++i) {
      Metadata m{{"year", i % 2 == 0 ? "2023" : "2024"}};
      if (i != 9) m["dept"] = depts[i % 3];
      put(make_document("doc-" + std::to_string(i), m), make_chunks(1));
    }
  }

  std::vector<std::string> ids(const MetadataFilter& filter, int64_t offset = 0, int64_t limit = 100,
                               int64_t* total = nullptr) {
    auto page = store_->list_documents(offset, limit, filter);
    EXPECT_TRUE(page.is_ok()) << page.status().to_string();
    std::vector<std::string> out;
    if (!page.is_ok()) return out;
    if (total) *total = page->total;
    for (const auto& d : page->documents) {
      EXPECT_TRUE(filter.accepts(d.metadata)) << d.doc_id;  // SQL agrees with MetadataFilter::accepts
      out.push_back(d.doc_id);
    }
    return out;
  }
};

TEST_F(StoreFilterTest, SingleKeySingleValue) {
  MetadataFilter f;
  f.any_of["dept"] = {"\"hr\""};
  int64_t total = 0;
  EXPECT_EQ(ids(f, 0, 100, &total), (std::vector<std::string>{"doc-0", "doc-3", "doc-6"}));
  EXPECT_EQ(total, 3);
}

TEST_F(StoreFilterTest, ValuesOfOneKeyAreOred) {
  MetadataFilter f;
  f.any_of["dept"] = {"\"hr\"", "\"ops\""};
  EXPECT_EQ(ids(f), (std::vector<std::string>{"doc-0", "doc-2", "doc-3", "doc-5", "doc-6", "doc-8"}));
}

TEST_F(StoreFilterTest, KeysAreAnded) {
  MetadataFilter f;
  f.any_of["dept"] = {"\"hr\"", "\"it\""};
  f.any_of["year"] = {"2024"};
  EXPECT_EQ(ids(f), (std::vector<std::string>{"doc-1", "doc-3", "doc-7"}));
}

TEST_F(StoreFilterTest, ValuesAreExactCanonicalJson) {
  MetadataFilter f;
  f.any_of["dept"] = {"hr"};  // not the canonical JSON text "\"hr\""
  EXPECT_TRUE(ids(f).empty());
  f.any_of["dept"] = {"\"HR\""};
  EXPECT_TRUE(ids(f).empty());
  f.any_of.clear();
  f.any_of["year"] = {"\"2023\""};  // a string is not the number
  EXPECT_TRUE(ids(f).empty());
}

TEST_F(StoreFilterTest, MissingKeyAndEmptyValueListMatchNothing) {
  MetadataFilter f;
  f.any_of["color"] = {"\"red\""};
  EXPECT_TRUE(ids(f).empty());
  f.any_of.clear();
  f.any_of["dept"] = {};
  int64_t total = -1;
  EXPECT_TRUE(ids(f, 0, 100, &total).empty());
  EXPECT_EQ(total, 0);
}

TEST_F(StoreFilterTest, PagingAppliesAfterFiltering) {
  // year 2023: doc-0, doc-2, doc-4, doc-6, doc-8. If the filter ran after paging,
  // offset 2 / limit 2 would not give the third and fourth matching documents.
  MetadataFilter f;
  f.any_of["year"] = {"2023"};
  int64_t total = 0;
  EXPECT_EQ(ids(f, 2, 2, &total), (std::vector<std::string>{"doc-4", "doc-6"}));
  EXPECT_EQ(total, 5);
  EXPECT_EQ(ids(f, 4, 2, &total), (std::vector<std::string>{"doc-8"}));
  EXPECT_EQ(total, 5);
}

TEST_F(StoreFilterTest, InjectionInKeysAndValuesIsHarmless) {
  MetadataFilter f;
  f.any_of["dept') OR 1=1 --"] = {"x' OR '1'='1"};
  EXPECT_TRUE(ids(f).empty());
  auto stats = store_->stats();
  ASSERT_TRUE(stats.is_ok());
  EXPECT_EQ(stats->documents, 10);
}

TEST_F(StoreTest, GetChunksSkipsMissingIdsAndKeepsOrder) {
  const PutOutcome a = put(make_document("a"), make_chunks(3, "a"));
  const PutOutcome b = put(make_document("b"), make_chunks(2, "b"));
  const int64_t a0 = a.added_chunks[0].id, a2 = a.added_chunks[2].id, b1 = b.added_chunks[1].id;
  auto chunks = store_->get_chunks({b1, 987654, a2, -1, a0});
  ASSERT_TRUE(chunks.is_ok());
  ASSERT_EQ(chunks->size(), 3u);
  EXPECT_EQ((*chunks)[0].id, b1);
  EXPECT_EQ((*chunks)[0].text, "b text 1");
  EXPECT_EQ((*chunks)[1].id, a2);
  EXPECT_EQ((*chunks)[2].id, a0);
  EXPECT_EQ((*chunks)[2].document_key, a.document.key);

  auto none = store_->get_chunks({});
  ASSERT_TRUE(none.is_ok());
  EXPECT_TRUE(none->empty());
  auto twice = store_->get_chunks({a0, a0});
  ASSERT_TRUE(twice.is_ok());
  EXPECT_EQ(twice->size(), 2u);
}

TEST_F(StoreTest, ForEachSeesCommittedData) {
  const PutOutcome a = put(make_document("a", {{"tag", "\"x\""}}), make_chunks(2, "a"));
  const PutOutcome b = put(make_document("b"), make_chunks(3, "b"));
  ASSERT_TRUE(store_->delete_document("a").is_ok());
  const PutOutcome c = put(make_document("c", {{"tag", "\"y\""}}), make_chunks(1, "c"));

  std::vector<int64_t> seen_ids;
  std::map<int64_t, int> per_document;
  Status status = store_->for_each_chunk_terms(
      [&](int64_t chunk_id, int64_t document_key, std::string_view terms, uint32_t term_count) {
        seen_ids.push_back(chunk_id);
        per_document[document_key]++;
        EXPECT_EQ(terms.substr(0, 7), std::string_view("\x01\x00\x02term", 7));
        EXPECT_GE(term_count, 3u);
      });
  ASSERT_TRUE(status.is_ok()) << status.to_string();
  std::vector<int64_t> expected = ids_of(b.added_chunks);
  for (int64_t id : ids_of(c.added_chunks)) expected.push_back(id);
  std::sort(expected.begin(), expected.end());
  EXPECT_EQ(seen_ids, expected);  // ascending ids, deleted document's chunks absent
  EXPECT_EQ(per_document[b.document.key], 3);
  EXPECT_EQ(per_document[c.document.key], 1);
  EXPECT_EQ(per_document.count(a.document.key), 0u);

  std::vector<std::string> docs;
  status = store_->for_each_document([&](const DocumentRecord& d) {
    docs.push_back(d.doc_id);
    if (d.doc_id == "c") {
      EXPECT_EQ(d.metadata, (Metadata{{"tag", "\"y\""}}));
      EXPECT_EQ(d.key, c.document.key);
    }
  });
  ASSERT_TRUE(status.is_ok()) << status.to_string();
  EXPECT_EQ(docs, (std::vector<std::string>{"b", "c"}));
}

TEST_F(StoreTest, Settings) {
  auto missing = store_->get_setting("language");
  ASSERT_TRUE(missing.is_ok());
  EXPECT_FALSE(missing->has_value());

  ASSERT_TRUE(store_->set_setting("language", "english").is_ok());
  ASSERT_TRUE(store_->set_setting("description", "").is_ok());
  auto value = store_->get_setting("language");
  ASSERT_TRUE(value.is_ok());
  ASSERT_TRUE(value->has_value());
  EXPECT_EQ(**value, "english");
  auto empty = store_->get_setting("description");
  ASSERT_TRUE(empty.is_ok());
  ASSERT_TRUE(empty->has_value());
  EXPECT_EQ(**empty, "");

  ASSERT_TRUE(store_->set_setting("language", "german").is_ok());  // overwrite
  value = store_->get_setting("language");
  ASSERT_TRUE(value.is_ok());
  EXPECT_EQ(**value, "german");

  const std::string unicode = "Beschreibung \xE2\x80\x94 caf\xC3\xA9";
  ASSERT_TRUE(store_->set_setting("unicode", unicode).is_ok());
  value = store_->get_setting("unicode");
  ASSERT_TRUE(value.is_ok());
  EXPECT_EQ(**value, unicode);
}

TEST_F(StoreTest, StatsCountBytesOfChunkText) {
  put(make_document("a"), {make_chunk(0, "abc"), make_chunk(1, "caf\xC3\xA9")});  // 3 + 5 bytes
  put(make_document("b"), {make_chunk(0, "\xE6\x97\xA5\xE6\x9C\xAC")});           // 6 bytes
  auto stats = store_->stats();
  ASSERT_TRUE(stats.is_ok());
  EXPECT_EQ(stats->documents, 2);
  EXPECT_EQ(stats->chunks, 3);
  EXPECT_EQ(stats->text_bytes, 14);
}

TEST_F(StoreTest, CheckIntegrityDetectsOrphanChunksAndBadCounts) {
  const PutOutcome a = put(make_document("a"), make_chunks(2));
  ASSERT_TRUE(store_->check_integrity().is_ok());

  raw_exec(db_path(), "UPDATE documents SET chunk_count = 7 WHERE doc_id = 'a'");
  Status status = store_->check_integrity();
  ASSERT_FALSE(status.is_ok());
  EXPECT_EQ(status.code(), ErrorCode::kDataCorruption);
  EXPECT_NE(status.message().find("chunk count"), std::string::npos) << status.message();

  raw_exec(db_path(), "UPDATE documents SET chunk_count = 2 WHERE doc_id = 'a'");
  EXPECT_TRUE(store_->check_integrity().is_ok());

  // foreign_keys is off on a raw connection: an orphan can be written.
  raw_exec(db_path(),
           "INSERT INTO chunks(document_id, ordinal, text, page_start, page_end, heading_path, char_begin, char_end, "
           "token_estimate, terms, term_count) VALUES(424242, 0, 'orphan', 0, 0, '', 0, 6, 2, x'00', 1)");
  status = store_->check_integrity();
  ASSERT_FALSE(status.is_ok());
  EXPECT_EQ(status.code(), ErrorCode::kDataCorruption);
  EXPECT_NE(status.message().find("without a document"), std::string::npos) << status.message();
  (void)a;
}

TEST_F(StoreTest, ReopenSeesEverything) {
  std::vector<PutOutcome> outcomes;
  for (int i = 0; i < 5; ++i) {
    outcomes.push_back(put(make_document("doc-" + std::to_string(i), {{"i", std::to_string(i)}}),
                           make_chunks(i + 1, "d" + std::to_string(i))));
  }
  ASSERT_TRUE(store_->delete_document("doc-2").is_ok());
  ASSERT_TRUE(store_->set_setting("language", "french").is_ok());

  reopen();
  reopen();  // twice: the schema step is idempotent

  auto stats = store_->stats();
  ASSERT_TRUE(stats.is_ok());
  EXPECT_EQ(stats->documents, 4);
  EXPECT_EQ(stats->chunks, 1 + 2 + 4 + 5);
  for (int i : {0, 1, 3, 4}) {
    auto found = store_->find_by_doc_id("doc-" + std::to_string(i));
    ASSERT_TRUE(found.is_ok());
    ASSERT_TRUE(found->has_value()) << i;
    EXPECT_EQ((**found).key, outcomes[i].document.key);
    EXPECT_EQ((**found).metadata.at("i"), std::to_string(i));
    auto chunks = store_->get_chunks(ids_of(outcomes[i].added_chunks));
    ASSERT_TRUE(chunks.is_ok());
    ASSERT_EQ(chunks->size(), static_cast<size_t>(i + 1));
    EXPECT_EQ((*chunks)[0].terms, outcomes[i].added_chunks[0].terms);
  }
  auto deleted = store_->find_by_doc_id("doc-2");
  ASSERT_TRUE(deleted.is_ok());
  EXPECT_FALSE(deleted->has_value());
  auto setting = store_->get_setting("language");
  ASSERT_TRUE(setting.is_ok());
  ASSERT_TRUE(setting->has_value());
  EXPECT_EQ(**setting, "french");
  EXPECT_TRUE(store_->check_integrity().is_ok());

  // New chunk ids after reopening never collide with existing ones.
  const PutOutcome later = put(make_document("later"), make_chunks(2));
  std::set<int64_t> all;
  Status status = store_->for_each_chunk_terms(
      [&](int64_t id, int64_t, std::string_view, uint32_t) { EXPECT_TRUE(all.insert(id).second) << id; });
  ASSERT_TRUE(status.is_ok());
  EXPECT_EQ(all.size(), 12u + 2u);
  (void)later;
}

TEST_F(StoreTest, NewerSchemaVersionIsRefused) {
  put(make_document("a"), make_chunks(1));
  store_.reset();
  raw_exec(db_path(), "PRAGMA user_version = 99");
  auto opened = CollectionStore::open(dir_, /*create=*/false);
  ASSERT_FALSE(opened.is_ok());
  EXPECT_EQ(opened.status().code(), ErrorCode::kFailedPrecondition);
  EXPECT_NE(opened.status().message().find("99"), std::string::npos) << opened.status().message();
  // Refusing must not downgrade the file.
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(db_path().c_str(), &db), SQLITE_OK);
  sqlite3_stmt* stmt = nullptr;
  ASSERT_EQ(sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &stmt, nullptr), SQLITE_OK);
  ASSERT_EQ(sqlite3_step(stmt), SQLITE_ROW);
  EXPECT_EQ(sqlite3_column_int(stmt, 0), 99);
  sqlite3_finalize(stmt);
  sqlite3_close(db);
}

TEST_F(StoreTest, CurrentSchemaVersionIsTwo) {
  store_.reset();
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(db_path().c_str(), &db), SQLITE_OK);
  sqlite3_stmt* stmt = nullptr;
  ASSERT_EQ(sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &stmt, nullptr), SQLITE_OK);
  ASSERT_EQ(sqlite3_step(stmt), SQLITE_ROW);
  EXPECT_EQ(sqlite3_column_int(stmt, 0), 2);
  sqlite3_finalize(stmt);
  sqlite3_close(db);
}

// A version-1 database (no vector tables) gains them when opened, keeping its documents.
TEST_F(StoreTest, VersionOneDatabaseIsMigrated) {
  put(make_document("doc"), make_chunks(2));
  store_.reset();
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(db_path().c_str(), &db), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(db, "DROP TABLE chunk_vectors; DROP TABLE chunk_vectors_next; PRAGMA user_version = 1;",
                         nullptr, nullptr, nullptr),
            SQLITE_OK);
  sqlite3_close(db);
  reopen();
  auto stats = store_->stats();
  ASSERT_TRUE(stats.is_ok()) << stats.status().to_string();
  EXPECT_EQ(stats->chunks, 2);
  EXPECT_EQ(stats->vectors, 0);
  auto chunks = make_chunks(1, "new");
  chunks[0].vector = {1.0f, 0.0f};
  put(make_document("new"), chunks);
  EXPECT_EQ(store_->stats()->vectors, 1);
}

TEST_F(StoreTest, VectorsAreStoredWithTheirChunksAndDeletedWithThem) {
  auto chunks = make_chunks(3);
  for (size_t i = 0; i < chunks.size(); ++i) chunks[i].vector = {static_cast<float>(i), 0.5f, -1.0f};
  const PutOutcome first = put(make_document("doc"), chunks);
  std::map<int64_t, std::vector<float>> seen;
  ASSERT_TRUE(store_->for_each_chunk_vector([&](int64_t id, int64_t doc_key, std::span<const float> v) {
    EXPECT_EQ(doc_key, first.document.key);
    seen[id] = {v.begin(), v.end()};
  }).is_ok());
  ASSERT_EQ(seen.size(), 3u);
  EXPECT_EQ(seen[first.added_chunks[2].id], (std::vector<float>{2.0f, 0.5f, -1.0f}));
  // Replacing the document replaces its vectors; deleting it removes them.
  put(make_document("doc"), make_chunks(1, "v2"));
  EXPECT_EQ(store_->stats()->vectors, 0);
  ASSERT_TRUE(store_->delete_document("doc").is_ok());
  EXPECT_EQ(store_->stats()->vectors, 0);
}

// Re-embedding: staged vectors replace the old ones only on commit, atomically with the settings.
TEST_F(StoreTest, StagedVectorsReplaceOldOnesOnlyOnCommit) {
  auto chunks = make_chunks(2);
  chunks[0].vector = {1.0f};
  chunks[1].vector = {2.0f};
  const PutOutcome doc = put(make_document("doc"), chunks);
  const int64_t a = doc.added_chunks[0].id, b = doc.added_chunks[1].id;
  ASSERT_TRUE(store_->stage_vectors({{a, {10.0f, 11.0f}}}, /*first_batch=*/true).is_ok());
  // Before the commit (e.g. a crash here): the old vectors are what a reader sees.
  std::map<int64_t, std::vector<float>> before;
  ASSERT_TRUE(store_->for_each_chunk_vector([&](int64_t id, int64_t, std::span<const float> v) {
    before[id] = {v.begin(), v.end()};
  }).is_ok());
  EXPECT_EQ(before[a], std::vector<float>{1.0f});
  ASSERT_TRUE(store_->stage_vectors({{b, {20.0f, 21.0f}}}, /*first_batch=*/false).is_ok());
  ASSERT_TRUE(store_->commit_staged_vectors({{"embedding_model", "m2"}, {"embedding_dimension", "2"}}).is_ok());
  std::map<int64_t, std::vector<float>> after;
  ASSERT_TRUE(store_->for_each_chunk_vector([&](int64_t id, int64_t, std::span<const float> v) {
    after[id] = {v.begin(), v.end()};
  }).is_ok());
  EXPECT_EQ(after[a], (std::vector<float>{10.0f, 11.0f}));
  EXPECT_EQ(after[b], (std::vector<float>{20.0f, 21.0f}));
  EXPECT_EQ(store_->get_setting("embedding_model")->value_or(""), "m2");
  // A new staging run starts clean.
  ASSERT_TRUE(store_->stage_vectors({{a, {5.0f, 5.0f}}}, /*first_batch=*/true).is_ok());
  ASSERT_TRUE(store_->commit_staged_vectors({}).is_ok());
  EXPECT_EQ(store_->stats()->vectors, 1);
}

// Opens the store and runs every read; returns the first error, or ok.
Status open_and_read_everything(const std::string& dir) {
  auto opened = CollectionStore::open(dir, /*create=*/false);
  if (!opened) return opened.status();
  CollectionStore& store = **opened;
  auto stats = store.stats();
  if (!stats) return stats.status();
  auto page = store.list_documents(0, 100, {});
  if (!page) return page.status();
  KR_RETURN_IF_ERROR(store.for_each_chunk_terms([](int64_t, int64_t, std::string_view, uint32_t) {}));
  KR_RETURN_IF_ERROR(store.for_each_document([](const DocumentRecord&) {}));
  return store.check_integrity();
}

void fill_store(const std::string& dir) {
  auto opened = CollectionStore::open(dir, /*create=*/true);
  ASSERT_TRUE(opened.is_ok());
  for (int i = 0; i < 40; ++i) {
    std::vector<ChunkRecord> chunks;
    for (int k = 0; k < 5; ++k) chunks.push_back(make_chunk(k, std::string(400, static_cast<char>('a' + k))));
    ASSERT_TRUE((*opened)->put_document(make_document("doc-" + std::to_string(i)), chunks).is_ok());
  }
}

TEST(StoreCorruption, GarbageOverTheWholeFileIsAnErrorNotACrash) {
  const std::string dir = unique_dir("garbage");
  fs::create_directories(dir);
  fill_store(dir);
  const std::string path = dir + "/collection.db";
  ASSERT_FALSE(fs::exists(path + "-wal") && fs::file_size(path + "-wal") > 0)
      << "WAL not checkpointed on close; the test would not corrupt the data";
  const auto size = fs::file_size(path);
  {
    std::mt19937 random(7);
    std::string garbage(size, '\0');
    for (char& c : garbage) c = static_cast<char>(random() & 0xFF);
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(garbage.data(), static_cast<std::streamsize>(garbage.size()));
  }
  Status status = open_and_read_everything(dir);
  ASSERT_FALSE(status.is_ok());
  EXPECT_EQ(status.code(), ErrorCode::kDataCorruption) << status.to_string();
  fs::remove_all(dir);
}

TEST(StoreCorruption, DamagedPagesAfterTheHeaderAreReported) {
  const std::string dir = unique_dir("pages");
  fs::create_directories(dir);
  fill_store(dir);
  const std::string path = dir + "/collection.db";
  const auto size = fs::file_size(path);
  ASSERT_GT(size, 16384u);
  {
    // Keep page 1 (header + schema) and scribble over the middle of the file.
    std::fstream io(path, std::ios::binary | std::ios::in | std::ios::out);
    std::mt19937 random(11);
    std::string garbage(size - 8192, '\0');
    for (char& c : garbage) c = static_cast<char>(random() & 0xFF);
    io.seekp(4096);
    io.write(garbage.data(), static_cast<std::streamsize>(garbage.size()));
  }
  Status status = open_and_read_everything(dir);
  ASSERT_FALSE(status.is_ok()) << "damage went unnoticed";
  EXPECT_EQ(status.code(), ErrorCode::kDataCorruption) << status.to_string();
  fs::remove_all(dir);
}

TEST(StoreCorruption, TruncatedFileIsReported) {
  const std::string dir = unique_dir("trunc");
  fs::create_directories(dir);
  fill_store(dir);
  const std::string path = dir + "/collection.db";
  fs::resize_file(path, fs::file_size(path) / 3);
  Status status = open_and_read_everything(dir);
  ASSERT_FALSE(status.is_ok()) << "truncation went unnoticed";
  EXPECT_EQ(status.code(), ErrorCode::kDataCorruption) << status.to_string();
  fs::remove_all(dir);
}

TEST(StoreCorruption, EmptyFileIsTreatedAsANewDatabase) {
  // A zero-byte file is a valid empty SQLite database; opening it must not crash.
  const std::string dir = unique_dir("empty");
  fs::create_directories(dir);
  std::ofstream(dir + "/collection.db").close();
  auto opened = CollectionStore::open(dir, /*create=*/false);
  ASSERT_TRUE(opened.is_ok()) << opened.status().to_string();
  EXPECT_TRUE((*opened)->check_integrity().is_ok());
  opened->reset();
  fs::remove_all(dir);
}

TEST_F(StoreTest, ConcurrentReadersSeeWholeDocumentsOnly) {
  constexpr int kDocuments = 60;
  std::atomic<bool> writer_done{false};
  std::atomic<int> reader_failures{0};
  std::atomic<int> reader_rounds{0};
  std::atomic<int> torn_documents{0};

  std::thread writer([&] {
    std::mt19937 random(3);
    for (int i = 0; i < kDocuments; ++i) {
      const int n = 1 + static_cast<int>(random() % 20);
      auto outcome = store_->put_document(make_document("doc-" + std::to_string(i)), make_chunks(n));
      if (!outcome) ADD_FAILURE() << "writer: " << outcome.status().to_string();
      if (i % 10 == 0) (void)store_->set_setting("progress", std::to_string(i));
    }
    writer_done = true;
  });

  auto reader = [&] {
    while (!writer_done.load() || reader_rounds.load() < 8) {
      // 1) One snapshot of all chunks: every document present in it is complete.
      std::map<int64_t, int> chunks_per_document;
      Status status = store_->for_each_chunk_terms(
          [&](int64_t, int64_t document_key, std::string_view, uint32_t) { chunks_per_document[document_key]++; });
      if (!status) {
        reader_failures++;
        ADD_FAILURE() << "for_each_chunk_terms: " << status.to_string();
        continue;
      }
      for (const auto& [key, count] : chunks_per_document) {
        auto doc = store_->find_by_key(key);
        if (!doc || !doc->has_value()) {
          reader_failures++;
          ADD_FAILURE() << "chunks of a document that does not exist: " << key;
          continue;
        }
        if ((**doc).chunk_count != count) torn_documents++;
      }
      // 2) Listed documents: chunk rows as read equal chunk_count.
      auto page = store_->list_documents(0, 1000, {});
      if (!page) {
        reader_failures++;
        ADD_FAILURE() << "list_documents: " << page.status().to_string();
        continue;
      }
      for (const auto& d : page->documents) {
        auto chunks = store_->document_chunks(d.key);
        if (!chunks) {
          reader_failures++;
          ADD_FAILURE() << "document_chunks: " << chunks.status().to_string();
          continue;
        }
        if (static_cast<int>(chunks->size()) != d.chunk_count) torn_documents++;
      }
      auto stats = store_->stats();
      if (!stats) {
        reader_failures++;
        ADD_FAILURE() << "stats: " << stats.status().to_string();
      }
      reader_rounds++;
    }
  };
  std::vector<std::thread> readers;
  for (int r = 0; r < 4; ++r) readers.emplace_back(reader);
  writer.join();
  for (auto& t : readers) t.join();

  EXPECT_EQ(reader_failures.load(), 0);
  EXPECT_EQ(torn_documents.load(), 0);
  EXPECT_GE(reader_rounds.load(), 8);
  auto stats = store_->stats();
  ASSERT_TRUE(stats.is_ok());
  EXPECT_EQ(stats->documents, kDocuments);
  EXPECT_TRUE(store_->check_integrity().is_ok());
}

TEST_F(StoreTest, ConcurrentWritersAreSerialized) {
  std::vector<std::thread> writers;
  std::atomic<int> failures{0};
  for (int w = 0; w < 4; ++w) {
    writers.emplace_back([&, w] {
      for (int i = 0; i < 10; ++i) {
        // Half of the writes replace a shared document.
        const std::string id = i % 2 ? "shared" : "w" + std::to_string(w) + "-" + std::to_string(i);
        if (!store_->put_document(make_document(id), make_chunks(3))) failures++;
      }
    });
  }
  for (auto& t : writers) t.join();
  EXPECT_EQ(failures.load(), 0);
  auto stats = store_->stats();
  ASSERT_TRUE(stats.is_ok());
  EXPECT_EQ(stats->documents, 4 * 5 + 1);
  EXPECT_EQ(stats->chunks, (4 * 5 + 1) * 3);
  EXPECT_TRUE(store_->check_integrity().is_ok());
}

}  // namespace
}  // namespace kr::store
