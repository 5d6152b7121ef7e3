// Engine without a language model: collections, ingest outcomes, search, documents,
// extractive answers and restart. Parsing runs inline (no kaito-rag binary here).
#include "service/engine.h"

#include <gtest/gtest.h>
#include <sqlite3.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <fstream>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "core/log.h"
#include "core/text.h"

namespace kr::service {
namespace {

namespace fs = std::filesystem;

std::string unique_dir(const std::string& tag) {
  static std::atomic<int> counter{0};
  const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
  return (fs::path(::testing::TempDir()) / ("kr_engine_" + tag + "_" + std::string(info ? info->name() : "x") + "_" +
                                             std::to_string(::getpid()) + "_" + std::to_string(counter++)))
      .string();
}

const char* kHandbook =
    "# Employee Handbook\n\n"
    "## Vacation policy\n\n"
    "Employees receive 25 days of paid vacation per year. Unused vacation days expire at the end of March.\n\n"
    "## Parking\n\n"
    "Spaces are assigned by seniority. Badges open the gate between 6am and 10pm.\n\n"
    "## Expense reports\n\n"
    "Submit expense reports within 30 days using the finance portal. Receipts are required for every claim.\n";

const char* kHtml =
    "<!DOCTYPE html><html><head><title>Security notes</title></head><body>"
    "<h1>Security notes</h1><p>Rotate the database credentials every ninety days.</p>"
    "<h2>Backups</h2><p>Backups are encrypted with a customer managed key.</p></body></html>";

const char* kText = "Kettles must be descaled weekly.\n\nThe office kitchen closes at 8pm on Fridays.\n";

std::string garbage_bytes() {
  std::mt19937 random(42);
  std::string bytes(4096, '\0');
  for (char& c : bytes) c = static_cast<char>(random() & 0xFF);
  return bytes;
}

IngestInput input(std::string name, std::string bytes, Metadata metadata = {}) {
  IngestInput in;
  in.name = std::move(name);
  in.bytes = std::move(bytes);
  in.metadata = std::move(metadata);
  return in;
}

class EngineTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { log::configure("error", false); }
  static void TearDownTestSuite() { log::configure("info", false); }

  void SetUp() override {
    dir_ = unique_dir("d");
    config_.data_dir = dir_;
    config_.parse_isolation = "inline";
    open_engine();
  }
  void TearDown() override {
    engine_.reset();
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }

  void open_engine() {
    engine_.reset();
    engine_ = std::make_unique<Engine>(config_, "/nonexistent/kaito-rag");
    Status status = engine_->open();
    ASSERT_TRUE(status.is_ok()) << status.to_string();
    ASSERT_TRUE(engine_->ready());
  }

  IngestResult ingest(const std::string& collection, IngestInput in) {
    auto result = engine_->ingest(collection, std::move(in));
    EXPECT_TRUE(result.is_ok()) << result.status().to_string();
    return result.is_ok() ? result.value() : IngestResult{};
  }

  SearchResponse search(const std::string& collection, const std::string& query, int top_k = 8,
                        MetadataFilter filter = {}) {
    SearchRequest request;
    request.query = query;
    request.top_k = top_k;
    request.filter = std::move(filter);
    auto response = engine_->search(collection, request);
    EXPECT_TRUE(response.is_ok()) << response.status().to_string();
    return response.is_ok() ? response.value() : SearchResponse{};
  }

  std::string dir_;
  Config config_;
  std::unique_ptr<Engine> engine_;
};

// --- collections -------------------------------------------------------------

TEST(EngineLifecycle, NotReadyBeforeOpen) {
  Config config;
  config.data_dir = unique_dir("notready");
  config.parse_isolation = "inline";
  Engine engine(config, "");
  EXPECT_FALSE(engine.ready());
  EXPECT_FALSE(engine.has_llm());
  auto created = engine.create_collection("docs", engine.default_settings());
  ASSERT_FALSE(created.is_ok());
  EXPECT_EQ(created.status().code(), ErrorCode::kUnavailable);
  auto listed = engine.list_collections();
  ASSERT_FALSE(listed.is_ok());
  EXPECT_EQ(listed.status().code(), ErrorCode::kUnavailable);
  auto searched = engine.search("docs", SearchRequest{"x", 8, {}});
  ASSERT_FALSE(searched.is_ok());
  EXPECT_EQ(searched.status().code(), ErrorCode::kUnavailable);
  std::error_code ec;
  fs::remove_all(config.data_dir, ec);
}

TEST(EngineLifecycle, OpenFailsOnAnUnusableDataDirectory) {
  const std::string file = unique_dir("file");
  std::ofstream(file) << "not a directory";
  Config config;
  config.data_dir = file;  // a regular file: collections/ cannot be created under it
  config.parse_isolation = "inline";
  Engine engine(config, "");
  Status status = engine.open();
  EXPECT_FALSE(status.is_ok());
  EXPECT_FALSE(engine.ready());
  fs::remove(file);
}

TEST_F(EngineTest, DefaultSettingsComeFromTheConfig) {
  config_.language = "german";
  config_.bm25_k1 = 1.5;
  config_.bm25_b = 0.5;
  config_.chunk_max_tokens = 200;
  config_.chunk_overlap_tokens = 20;
  open_engine();
  const CollectionSettings s = engine_->default_settings();
  EXPECT_EQ(s.language, "german");
  EXPECT_DOUBLE_EQ(s.bm25_k1, 1.5);
  EXPECT_DOUBLE_EQ(s.bm25_b, 0.5);
  EXPECT_EQ(s.chunk_max_tokens, 200);
  EXPECT_EQ(s.chunk_overlap_tokens, 20);
}

TEST_F(EngineTest, CreateListGetDeleteCollections) {
  CollectionSettings settings = engine_->default_settings();
  settings.description = "HR documents";
  settings.chunk_max_tokens = 120;
  settings.chunk_overlap_tokens = 10;
  auto created = engine_->create_collection("hr", settings);
  ASSERT_TRUE(created.is_ok()) << created.status().to_string();
  EXPECT_EQ(created->name, "hr");
  EXPECT_EQ(created->settings.description, "HR documents");
  EXPECT_EQ(created->settings.chunk_max_tokens, 120);
  EXPECT_EQ(created->documents, 0);
  EXPECT_GT(created->created_at, 0);
  EXPECT_TRUE(fs::is_directory(dir_ + "/collections/hr"));

  ASSERT_TRUE(engine_->create_collection("it", engine_->default_settings()).is_ok());
  ASSERT_TRUE(engine_->create_collection("Alpha-1.x_y", engine_->default_settings()).is_ok());

  auto again = engine_->create_collection("hr", settings);
  ASSERT_FALSE(again.is_ok());
  EXPECT_EQ(again.status().code(), ErrorCode::kAlreadyExists);

  auto listed = engine_->list_collections();
  ASSERT_TRUE(listed.is_ok());
  std::vector<std::string> names;
  for (const auto& c : *listed) names.push_back(c.name);
  EXPECT_EQ(names, (std::vector<std::string>{"Alpha-1.x_y", "hr", "it"}));

  auto got = engine_->get_collection("hr");
  ASSERT_TRUE(got.is_ok());
  EXPECT_EQ(got->settings.description, "HR documents");
  EXPECT_EQ(got->settings.chunk_overlap_tokens, 10);

  auto missing = engine_->get_collection("nope");
  ASSERT_FALSE(missing.is_ok());
  EXPECT_EQ(missing.status().code(), ErrorCode::kNotFound);

  // No temporary directories are left behind by creation.
  for (const auto& entry : fs::directory_iterator(dir_ + "/collections")) {
    EXPECT_NE(entry.path().filename().string().rfind(".tmp-", 0), 0u) << entry.path();
  }

  ASSERT_TRUE(engine_->delete_collection("hr").is_ok());
  EXPECT_FALSE(fs::exists(dir_ + "/collections/hr"));
  for (const auto& entry : fs::directory_iterator(dir_ + "/collections")) {
    EXPECT_NE(entry.path().filename().string().rfind(".trash-", 0), 0u) << entry.path();
  }
  EXPECT_EQ(engine_->get_collection("hr").status().code(), ErrorCode::kNotFound);
  EXPECT_EQ(engine_->delete_collection("hr").code(), ErrorCode::kNotFound);
  EXPECT_EQ(engine_->delete_collection("never").code(), ErrorCode::kNotFound);
  auto after = engine_->list_collections();
  ASSERT_TRUE(after.is_ok());
  EXPECT_EQ(after->size(), 2u);
}

TEST_F(EngineTest, DeletedCollectionCanBeRecreatedEmpty) {
  ingest("docs", input("handbook.md", kHandbook));
  ASSERT_TRUE(engine_->delete_collection("docs").is_ok());
  auto created = engine_->create_collection("docs", engine_->default_settings());
  ASSERT_TRUE(created.is_ok());
  EXPECT_EQ(created->documents, 0);
  EXPECT_EQ(created->chunks, 0);
  EXPECT_TRUE(search("docs", "vacation").hits.empty());
}

TEST_F(EngineTest, CollectionNameValidation) {
  for (const std::string& name : std::vector<std::string>{"a", "Z", "0", "docs", "A-b_c.d", "x.y.z", std::string(64, 'n')}) {
    EXPECT_TRUE(valid_collection_name(name)) << name;
  }
  for (const std::string& name : std::vector<std::string>{"", "-x", ".x", "_x", ".", "..", "a/b", "a b", "a\\b", "a:b", "caf\xC3\xA9",
                                 std::string(65, 'n'), "name\n", ".tmp-x", ".trash-y"}) {
    EXPECT_FALSE(valid_collection_name(name)) << name;
    auto created = engine_->create_collection(name, engine_->default_settings());
    ASSERT_FALSE(created.is_ok()) << name;
    EXPECT_EQ(created.status().code(), ErrorCode::kInvalidArgument) << name;
  }
  // Nothing was created on disk for the rejected names.
  size_t entries = 0;
  for (const auto& entry : fs::directory_iterator(dir_ + "/collections")) {
    (void)entry;
    ++entries;
  }
  EXPECT_EQ(entries, 0u);
}

TEST_F(EngineTest, CollectionSettingsValidation) {
  auto bad = [&](auto mutate) {
    CollectionSettings s = engine_->default_settings();
    mutate(s);
    auto created = engine_->create_collection("c", s);
    EXPECT_FALSE(created.is_ok());
    return created.status().code();
  };
  EXPECT_EQ(bad([](CollectionSettings& s) { s.bm25_k1 = -1; }), ErrorCode::kInvalidArgument);
  EXPECT_EQ(bad([](CollectionSettings& s) { s.bm25_b = 1.5; }), ErrorCode::kInvalidArgument);
  EXPECT_EQ(bad([](CollectionSettings& s) { s.chunk_max_tokens = 8; }), ErrorCode::kInvalidArgument);
  EXPECT_EQ(bad([](CollectionSettings& s) { s.chunk_max_tokens = 9000; }), ErrorCode::kInvalidArgument);
  EXPECT_EQ(bad([](CollectionSettings& s) {
              s.chunk_max_tokens = 100;
              s.chunk_overlap_tokens = 50;
            }),
            ErrorCode::kInvalidArgument);
  EXPECT_NE(bad([](CollectionSettings& s) { s.language = "klingon"; }), ErrorCode::kOk);
  EXPECT_FALSE(fs::exists(dir_ + "/collections/c"));
}

// --- ingest --------------------------------------------------------------------

TEST_F(EngineTest, IngestOutcomes) {
  auto first = ingest("docs", input("handbook.md", kHandbook));
  EXPECT_EQ(first.outcome, IngestOutcome::kAdded) << first.error.to_string();
  EXPECT_EQ(first.name, "handbook.md");
  EXPECT_EQ(first.format, "markdown");
  EXPECT_GE(first.chunks, 3);
  EXPECT_EQ(first.doc_id.size(), 32u);
  EXPECT_TRUE(first.error.is_ok());

  auto unchanged = ingest("docs", input("handbook.md", kHandbook));
  EXPECT_EQ(unchanged.outcome, IngestOutcome::kUnchanged);
  EXPECT_EQ(unchanged.doc_id, first.doc_id);
  EXPECT_EQ(unchanged.chunks, first.chunks);
  EXPECT_EQ(unchanged.format, "markdown");

  // Same content under another source: a duplicate of the first.
  auto duplicate = ingest("docs", input("copy-of-handbook.md", kHandbook));
  EXPECT_EQ(duplicate.outcome, IngestOutcome::kDuplicate);
  EXPECT_EQ(duplicate.duplicate_of, first.doc_id);
  EXPECT_EQ(duplicate.doc_id, first.doc_id);

  // Same source, new content: updated in place (same doc_id).
  const std::string edited = std::string(kHandbook) + "\n## Parental leave\n\nParents receive sixteen weeks of leave.\n";
  auto updated = ingest("docs", input("handbook.md", edited));
  EXPECT_EQ(updated.outcome, IngestOutcome::kUpdated);
  EXPECT_EQ(updated.doc_id, first.doc_id);

  // Same content, different metadata: also an update.
  auto retagged = ingest("docs", input("handbook.md", edited, {{"dept", "\"hr\""}}));
  EXPECT_EQ(retagged.outcome, IngestOutcome::kUpdated);
  auto doc = engine_->get_document("docs", first.doc_id);
  ASSERT_TRUE(doc.is_ok());
  EXPECT_EQ(doc->metadata, (Metadata{{"dept", "\"hr\""}}));

  auto garbage = ingest("docs", input("blob.bin", garbage_bytes()));
  EXPECT_EQ(garbage.outcome, IngestOutcome::kFailed);
  EXPECT_EQ(garbage.error.code(), ErrorCode::kUnsupported) << garbage.error.to_string();
  EXPECT_TRUE(garbage.doc_id.empty());

  auto empty = ingest("docs", input("empty.txt", ""));
  EXPECT_EQ(empty.outcome, IngestOutcome::kFailed);
  EXPECT_FALSE(empty.error.is_ok());

  const EngineCounters& c = engine_->counters();
  EXPECT_EQ(c.files_added.load(), 1u);
  EXPECT_EQ(c.files_unchanged.load(), 1u);
  EXPECT_EQ(c.files_duplicate.load(), 1u);
  EXPECT_EQ(c.files_updated.load(), 2u);
  EXPECT_EQ(c.files_failed.load(), 2u);
  EXPECT_EQ(c.bytes_ingested.load(), std::string(kHandbook).size() + 2 * edited.size());
  EXPECT_EQ(c.chunks_added.load(), static_cast<uint64_t>(first.chunks + updated.chunks + retagged.chunks));

  auto info = engine_->get_collection("docs");
  ASSERT_TRUE(info.is_ok());
  EXPECT_EQ(info->documents, 1);
  EXPECT_EQ(info->chunks, updated.chunks);
  EXPECT_GT(info->index_terms, 0u);
  EXPECT_TRUE(engine_->check().is_ok());
}

TEST_F(EngineTest, IngestFormats) {
  auto html = ingest("docs", input("notes.html", kHtml));
  EXPECT_EQ(html.outcome, IngestOutcome::kAdded) << html.error.to_string();
  EXPECT_EQ(html.format, "html");
  auto text = ingest("docs", input("kitchen.txt", kText));
  EXPECT_EQ(text.outcome, IngestOutcome::kAdded) << text.error.to_string();
  EXPECT_EQ(text.format, "text");

  auto hits = search("docs", "credentials").hits;
  ASSERT_FALSE(hits.empty());
  EXPECT_EQ(hits[0].doc_id, html.doc_id);
  EXPECT_NE(hits[0].text.find("Rotate the database credentials"), std::string::npos);
  EXPECT_EQ(hits[0].text.find("<p>"), std::string::npos);

  hits = search("docs", "descaled kettles").hits;
  ASSERT_FALSE(hits.empty());
  EXPECT_EQ(hits[0].doc_id, text.doc_id);
  EXPECT_EQ(hits[0].document_name, "kitchen.txt");
}

TEST_F(EngineTest, IngestCreatesTheCollectionUnlessTold) {
  auto refused = engine_->ingest("fresh", input("a.txt", kText), /*create_collection=*/false);
  ASSERT_FALSE(refused.is_ok());
  EXPECT_EQ(refused.status().code(), ErrorCode::kNotFound);
  EXPECT_FALSE(fs::exists(dir_ + "/collections/fresh"));

  auto bad_name = engine_->ingest("bad name", input("a.txt", kText));
  ASSERT_FALSE(bad_name.is_ok());
  EXPECT_EQ(bad_name.status().code(), ErrorCode::kInvalidArgument);

  auto created = engine_->ingest("fresh", input("a.txt", kText));
  ASSERT_TRUE(created.is_ok()) << created.status().to_string();
  EXPECT_EQ(created->outcome, IngestOutcome::kAdded);
  EXPECT_TRUE(engine_->get_collection("fresh").is_ok());
}

TEST_F(EngineTest, IngestFromPath) {
  const std::string path = dir_ + "/upload/policy.md";
  fs::create_directories(dir_ + "/upload");
  std::ofstream(path, std::ios::binary) << kHandbook;
  IngestInput in;
  in.path = path;
  auto result = ingest("docs", in);
  EXPECT_EQ(result.outcome, IngestOutcome::kAdded) << result.error.to_string();
  EXPECT_EQ(result.name, "policy.md");
  auto doc = engine_->get_document("docs", result.doc_id);
  ASSERT_TRUE(doc.is_ok());
  EXPECT_EQ(doc->source, path);
  EXPECT_EQ(doc->name, "policy.md");
  EXPECT_EQ(doc->size_bytes, static_cast<int64_t>(std::string(kHandbook).size()));
  EXPECT_EQ(doc->content_hash, sha256_hex(kHandbook));

  IngestInput missing;
  missing.path = dir_ + "/upload/missing.md";
  auto failed = ingest("docs", missing);
  EXPECT_EQ(failed.outcome, IngestOutcome::kFailed);
  EXPECT_EQ(failed.error.code(), ErrorCode::kNotFound);
}

TEST_F(EngineTest, IngestRejectsFilesOverTheLimit) {
  config_.parse_max_file_bytes = 100;
  open_engine();
  auto result = ingest("docs", input("big.md", kHandbook));
  EXPECT_EQ(result.outcome, IngestOutcome::kFailed);
  EXPECT_EQ(result.error.code(), ErrorCode::kTooLarge);
  EXPECT_NE(result.error.message().find("100"), std::string::npos) << result.error.message();

  const std::string path = dir_ + "/big.md";
  std::ofstream(path) << kHandbook;
  IngestInput by_path;
  by_path.path = path;
  result = ingest("docs", by_path);
  EXPECT_EQ(result.outcome, IngestOutcome::kFailed);
  EXPECT_EQ(result.error.code(), ErrorCode::kTooLarge);
}

TEST_F(EngineTest, IngestSanitizesNamesAndDefaultsSource) {
  auto result = ingest("docs", input("bad\xFFname.txt", kText));
  ASSERT_EQ(result.outcome, IngestOutcome::kAdded) << result.error.to_string();
  EXPECT_TRUE(is_valid_utf8(result.name));
  auto doc = engine_->get_document("docs", result.doc_id);
  ASSERT_TRUE(doc.is_ok());
  EXPECT_TRUE(is_valid_utf8(doc->name));
  EXPECT_EQ(doc->source, doc->name);  // source defaults to the name

  IngestInput unnamed;
  unnamed.bytes = "Some untitled text about llamas.";
  auto untitled = ingest("docs", unnamed);
  EXPECT_EQ(untitled.name, "untitled");
}

TEST_F(EngineTest, DocumentWithoutTextGetsAWarning) {
  auto result = ingest("docs", input("blank.md", "# \n\n\n"));
  if (result.outcome == IngestOutcome::kFailed) {
    EXPECT_FALSE(result.error.is_ok());  // rejecting an empty document is acceptable too
    return;
  }
  EXPECT_EQ(result.chunks, 0);
  bool warned = false;
  for (const auto& w : result.warnings) warned = warned || w.find("no text") != std::string::npos;
  EXPECT_TRUE(warned);
}

// --- search ----------------------------------------------------------------------

TEST_F(EngineTest, SearchFindsTheRightChunk) {
  ingest("docs", input("handbook.md", kHandbook));
  auto response = search("docs", "How many vacation days do I get?");
  ASSERT_FALSE(response.hits.empty());
  const SearchHit& top = response.hits[0];
  EXPECT_NE(top.text.find("25 days of paid vacation"), std::string::npos) << top.text;
  ASSERT_FALSE(top.heading_path.empty());
  EXPECT_EQ(top.heading_path.back(), "Vacation policy");
  EXPECT_EQ(top.document_name, "handbook.md");
  EXPECT_EQ(top.chunk_id, top.doc_id + ":" + std::to_string(top.ordinal));
  EXPECT_GT(top.score, 0);
  EXPECT_FALSE(top.snippet.empty());
  EXPECT_GE(response.took_ms, 0);
  EXPECT_LE(top.char_begin, top.char_end);
}

TEST_F(EngineTest, HeadingPathIsIndexed) {
  // Small chunks: the later chunks of the long section do not contain its heading.
  CollectionSettings settings = engine_->default_settings();
  settings.chunk_max_tokens = 40;
  settings.chunk_overlap_tokens = 0;
  ASSERT_TRUE(engine_->create_collection("small", settings).is_ok());
  std::string doc = "# Manual\n\n## Zeppelin maintenance\n\n";
  for (int i = 0; i < 12; ++i) {
    doc += "Step " + std::to_string(i) + " requires checking the valves and the ropes carefully before flight.\n\n";
  }
  doc += "## Other\n\nUnrelated closing words about lunch.\n";
  auto result = ingest("small", input("manual.md", doc));
  ASSERT_EQ(result.outcome, IngestOutcome::kAdded) << result.error.to_string();
  ASSERT_GT(result.chunks, 3);

  auto response = search("small", "zeppelin", 50);
  int without_word = 0;
  for (const auto& hit : response.hits) {
    ASSERT_FALSE(hit.heading_path.empty());
    EXPECT_EQ(hit.heading_path.back(), "Zeppelin maintenance");
    if (hit.text.find("Zeppelin") == std::string::npos) ++without_word;
  }
  EXPECT_GT(without_word, 0) << "every hit contains the word itself; the heading path was not needed";
  EXPECT_GE(response.hits.size(), static_cast<size_t>(result.chunks - 1));
}

TEST_F(EngineTest, SearchWithMetadataFilter) {
  auto hr = ingest("docs", input("hr.txt", "The travel policy allows economy flights only.", {{"dept", "\"hr\""}}));
  auto it = ingest("docs", input("it.txt", "The travel policy for laptops requires a lock.", {{"dept", "\"it\""}}));
  auto none = ingest("docs", input("misc.txt", "A travel policy summary for everyone."));

  EXPECT_EQ(search("docs", "travel policy").hits.size(), 3u);

  MetadataFilter filter;
  filter.any_of["dept"] = {"\"hr\""};
  auto hits = search("docs", "travel policy", 8, filter).hits;
  ASSERT_EQ(hits.size(), 1u);
  EXPECT_EQ(hits[0].doc_id, hr.doc_id);
  EXPECT_EQ(hits[0].metadata, (Metadata{{"dept", "\"hr\""}}));

  filter.any_of["dept"] = {"\"hr\"", "\"it\""};
  hits = search("docs", "travel policy", 8, filter).hits;
  std::set<std::string> ids;
  for (const auto& h : hits) ids.insert(h.doc_id);
  EXPECT_EQ(ids, (std::set<std::string>{hr.doc_id, it.doc_id}));

  filter.any_of["dept"] = {"\"finance\""};
  EXPECT_TRUE(search("docs", "travel policy", 8, filter).hits.empty());
  (void)none;
}

TEST_F(EngineTest, SearchOrderIsByScoreAndStable) {
  ingest("docs", input("a.txt", "Printer toner is stored in room 12. Printer paper too."));
  ingest("docs", input("b.txt", "The printer on floor two is broken."));
  ingest("docs", input("c.txt", "Printer printer printer: all printers need toner and paper and care."));
  ingest("docs", input("d.txt", "Nothing relevant here at all."));
  auto first = search("docs", "printer toner paper");
  ASSERT_GE(first.hits.size(), 3u);
  for (size_t i = 1; i < first.hits.size(); ++i) {
    EXPECT_GE(first.hits[i - 1].score, first.hits[i].score) << "hits not in score order at " << i;
  }
  for (int round = 0; round < 5; ++round) {
    auto again = search("docs", "printer toner paper");
    ASSERT_EQ(again.hits.size(), first.hits.size());
    for (size_t i = 0; i < first.hits.size(); ++i) {
      EXPECT_EQ(again.hits[i].chunk_id, first.hits[i].chunk_id);
      EXPECT_DOUBLE_EQ(again.hits[i].score, first.hits[i].score);
    }
  }
  auto top1 = search("docs", "printer toner paper", 1);
  ASSERT_EQ(top1.hits.size(), 1u);
  EXPECT_EQ(top1.hits[0].chunk_id, first.hits[0].chunk_id);
}

TEST_F(EngineTest, SearchArgumentErrors) {
  ingest("docs", input("a.txt", kText));
  auto empty = engine_->search("docs", SearchRequest{"   ", 8, {}});
  ASSERT_FALSE(empty.is_ok());
  EXPECT_EQ(empty.status().code(), ErrorCode::kInvalidArgument);
  auto zero = engine_->search("docs", SearchRequest{"kettle", 0, {}});
  ASSERT_FALSE(zero.is_ok());
  EXPECT_EQ(zero.status().code(), ErrorCode::kInvalidArgument);
  auto huge = engine_->search("docs", SearchRequest{"kettle", 1001, {}});
  ASSERT_FALSE(huge.is_ok());
  EXPECT_EQ(huge.status().code(), ErrorCode::kInvalidArgument);
  auto missing = engine_->search("nope", SearchRequest{"kettle", 8, {}});
  ASSERT_FALSE(missing.is_ok());
  EXPECT_EQ(missing.status().code(), ErrorCode::kNotFound);
  // Only stop words: no hits, not an error.
  auto stop_words = engine_->search("docs", SearchRequest{"the and of", 8, {}});
  ASSERT_TRUE(stop_words.is_ok());
  EXPECT_TRUE(stop_words->hits.empty());
}

// --- documents -----------------------------------------------------------------------

TEST_F(EngineTest, DeleteDocumentRemovesItFromSearch) {
  auto handbook = ingest("docs", input("handbook.md", kHandbook));
  auto kitchen = ingest("docs", input("kitchen.txt", kText));
  ASSERT_FALSE(search("docs", "vacation").hits.empty());

  ASSERT_TRUE(engine_->delete_document("docs", handbook.doc_id).is_ok());
  EXPECT_TRUE(search("docs", "vacation").hits.empty());
  EXPECT_FALSE(search("docs", "kettles").hits.empty());
  auto gone = engine_->get_document("docs", handbook.doc_id);
  ASSERT_FALSE(gone.is_ok());
  EXPECT_EQ(gone.status().code(), ErrorCode::kNotFound);
  Status again = engine_->delete_document("docs", handbook.doc_id);
  EXPECT_EQ(again.code(), ErrorCode::kNotFound);
  EXPECT_NE(again.message().find("docs"), std::string::npos);
  EXPECT_EQ(engine_->delete_document("nope", kitchen.doc_id).code(), ErrorCode::kNotFound);

  auto info = engine_->get_collection("docs");
  ASSERT_TRUE(info.is_ok());
  EXPECT_EQ(info->documents, 1);

  // Re-ingesting the deleted file adds it again.
  auto back = ingest("docs", input("handbook.md", kHandbook));
  EXPECT_EQ(back.outcome, IngestOutcome::kAdded);
  EXPECT_FALSE(search("docs", "vacation").hits.empty());
  EXPECT_TRUE(engine_->check().is_ok());
}

TEST_F(EngineTest, UpdatedDocumentReplacesOldChunksInSearch) {
  ingest("docs", input("notice.txt", "The cafeteria serves pancakes on Mondays."));
  ASSERT_EQ(search("docs", "pancakes").hits.size(), 1u);
  auto updated = ingest("docs", input("notice.txt", "The cafeteria serves waffles on Mondays."));
  ASSERT_EQ(updated.outcome, IngestOutcome::kUpdated);
  EXPECT_TRUE(search("docs", "pancakes").hits.empty());
  auto hits = search("docs", "waffles").hits;
  ASSERT_EQ(hits.size(), 1u);
  EXPECT_EQ(hits[0].doc_id, updated.doc_id);
}

TEST_F(EngineTest, ListDocumentsPagingAndFilter) {
  for (int i = 0; i < 7; ++i) {
    ingest("docs", input("note-" + std::to_string(i) + ".txt", "Note number " + std::to_string(i) + " about things.",
                         {{"parity", i % 2 ? "\"odd\"" : "\"even\""}}));
  }
  int64_t total = 0;
  auto page = engine_->list_documents("docs", 0, 3, {}, &total);
  ASSERT_TRUE(page.is_ok()) << page.status().to_string();
  EXPECT_EQ(total, 7);
  ASSERT_EQ(page->size(), 3u);
  EXPECT_EQ((*page)[0].name, "note-0.txt");
  EXPECT_EQ((*page)[0].format, "text");
  EXPECT_EQ((*page)[0].chunk_count, 1);

  page = engine_->list_documents("docs", 6, 3, {}, &total);
  ASSERT_TRUE(page.is_ok());
  ASSERT_EQ(page->size(), 1u);
  EXPECT_EQ((*page)[0].name, "note-6.txt");

  MetadataFilter odd;
  odd.any_of["parity"] = {"\"odd\""};
  page = engine_->list_documents("docs", 0, 100, odd, &total);
  ASSERT_TRUE(page.is_ok());
  EXPECT_EQ(total, 3);
  ASSERT_EQ(page->size(), 3u);
  EXPECT_EQ((*page)[0].name, "note-1.txt");
  EXPECT_EQ((*page)[2].name, "note-5.txt");

  page = engine_->list_documents("docs", 0, 10, {}, nullptr);  // total is optional
  ASSERT_TRUE(page.is_ok());
  EXPECT_EQ(page->size(), 7u);

  EXPECT_EQ(engine_->list_documents("docs", -1, 10, {}, nullptr).status().code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(engine_->list_documents("docs", 0, 0, {}, nullptr).status().code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(engine_->list_documents("docs", 0, 1001, {}, nullptr).status().code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(engine_->list_documents("nope", 0, 10, {}, nullptr).status().code(), ErrorCode::kNotFound);
}

// --- extractive answers ----------------------------------------------------------------

TEST_F(EngineTest, WeakEvidenceIsDeclinedWithTheClosestSources) {
  ingest("docs", input("handbook.md", kHandbook));
  ingest("docs", input("kitchen.txt", kText));
  AskRequest request;
  request.question = "How many days of paid parental leave do interns receive in Brazil in 2019?";
  std::string streamed;
  auto answer = engine_->ask("docs", request, [&](const std::string& d) {
    streamed += d;
    return true;
  });
  ASSERT_TRUE(answer.is_ok()) << answer.status().to_string();
  ASSERT_TRUE(answer->answerability.has_value());
  EXPECT_FALSE(answer->answerability->answerable);
  EXPECT_LT(answer->answerability->score, answer->answerability->threshold);
  EXPECT_DOUBLE_EQ(answer->answerability->threshold, config_.answer_threshold);
  EXPECT_EQ(answer->text, generate::kDeclineAnswer);
  EXPECT_EQ(streamed, answer->text);
  EXPECT_TRUE(answer->citations.empty());
  ASSERT_FALSE(answer->sources.empty());
  for (const auto& source : answer->sources) EXPECT_FALSE(source.cited);

  // The same question is answered when the threshold allows it (0 = never decline).
  config_.answer_threshold = 0;
  open_engine();
  auto lenient = engine_->ask("docs", request);
  ASSERT_TRUE(lenient.is_ok());
  EXPECT_TRUE(lenient->answerability->answerable);
  EXPECT_NE(lenient->text, generate::kDeclineAnswer);
}

TEST_F(EngineTest, AskWithoutModelGivesAnExtractiveAnswer) {
  ingest("docs", input("handbook.md", kHandbook));
  ingest("docs", input("kitchen.txt", kText));
  std::vector<std::string> deltas;
  AskRequest request;
  request.question = "How many days of paid vacation do employees receive?";
  auto answer = engine_->ask("docs", request, [&](const std::string& d) {
    deltas.push_back(d);
    return true;
  });
  ASSERT_TRUE(answer.is_ok()) << answer.status().to_string();
  EXPECT_TRUE(answer->extractive);
  EXPECT_EQ(answer->finish_reason, "stop");
  EXPECT_TRUE(answer->model.empty());
  EXPECT_NE(answer->text.find("Employees receive 25 days of paid vacation per year."), std::string::npos)
      << answer->text;
  EXPECT_NE(answer->text.find("[1]"), std::string::npos) << answer->text;
  ASSERT_FALSE(answer->sources.empty());
  for (size_t i = 0; i < answer->sources.size(); ++i) {
    EXPECT_EQ(answer->sources[i].number, static_cast<int>(i + 1));
    EXPECT_TRUE(answer->sources[i].cited);
  }
  EXPECT_NE(answer->sources[0].hit.text.find("vacation"), std::string::npos);
  ASSERT_FALSE(answer->citations.empty());
  EXPECT_EQ(answer->citations[0], 1);
  // The sink gets the whole extractive answer as one piece.
  ASSERT_EQ(deltas.size(), 1u);
  EXPECT_EQ(deltas[0], answer->text);
  EXPECT_EQ(engine_->counters().answers.load(), 1u);
}

TEST_F(EngineTest, AskWithNothingRelevant) {
  ingest("docs", input("kitchen.txt", kText));
  AskRequest request;
  request.question = "quantum chromodynamics";
  auto answer = engine_->ask("docs", request);
  ASSERT_TRUE(answer.is_ok()) << answer.status().to_string();
  EXPECT_TRUE(answer->extractive);
  EXPECT_TRUE(answer->sources.empty());
  EXPECT_TRUE(answer->citations.empty());
  EXPECT_FALSE(answer->text.empty());
}

TEST_F(EngineTest, AskArgumentErrors) {
  ingest("docs", input("kitchen.txt", kText));
  AskRequest request;
  request.question = "  \n ";
  auto empty = engine_->ask("docs", request);
  ASSERT_FALSE(empty.is_ok());
  EXPECT_EQ(empty.status().code(), ErrorCode::kInvalidArgument);
  request.question = "kettles";
  auto missing = engine_->ask("nope", request);
  ASSERT_FALSE(missing.is_ok());
  EXPECT_EQ(missing.status().code(), ErrorCode::kNotFound);
}

// --- restart -------------------------------------------------------------------------------

TEST_F(EngineTest, ReopeningRebuildsTheIndex) {
  ingest("docs", input("handbook.md", kHandbook, {{"dept", "\"hr\""}}));
  ingest("docs", input("kitchen.txt", kText));
  ingest("docs", input("notes.html", kHtml));
  auto removed = ingest("docs", input("temp.txt", "Temporary vacation notice to be deleted."));
  ASSERT_TRUE(engine_->delete_document("docs", removed.doc_id).is_ok());
  CollectionSettings other = engine_->default_settings();
  other.description = "second";
  ASSERT_TRUE(engine_->create_collection("other", other).is_ok());

  const std::vector<std::string> queries = {"vacation days", "kettles kitchen", "credentials backups", "expense"};
  std::vector<SearchResponse> before;
  for (const auto& q : queries) before.push_back(search("docs", q));
  MetadataFilter hr;
  hr.any_of["dept"] = {"\"hr\""};
  const auto filtered_before = search("docs", "vacation", 8, hr);
  auto info_before = engine_->get_collection("docs");
  ASSERT_TRUE(info_before.is_ok());

  open_engine();  // a new Engine on the same data directory

  auto collections = engine_->list_collections();
  ASSERT_TRUE(collections.is_ok());
  ASSERT_EQ(collections->size(), 2u);
  EXPECT_EQ((*collections)[1].settings.description, "second");
  auto info_after = engine_->get_collection("docs");
  ASSERT_TRUE(info_after.is_ok());
  EXPECT_EQ(info_after->documents, info_before->documents);
  EXPECT_EQ(info_after->chunks, info_before->chunks);
  EXPECT_EQ(info_after->index_terms, info_before->index_terms);
  EXPECT_EQ(info_after->index_postings, info_before->index_postings);
  EXPECT_EQ(info_after->created_at, info_before->created_at);

  for (size_t q = 0; q < queries.size(); ++q) {
    const auto after = search("docs", queries[q]);
    ASSERT_EQ(after.hits.size(), before[q].hits.size()) << queries[q];
    ASSERT_FALSE(after.hits.empty()) << queries[q];
    for (size_t i = 0; i < after.hits.size(); ++i) {
      EXPECT_EQ(after.hits[i].chunk_id, before[q].hits[i].chunk_id) << queries[q];
      EXPECT_NEAR(after.hits[i].score, before[q].hits[i].score, 1e-9) << queries[q];
      EXPECT_EQ(after.hits[i].text, before[q].hits[i].text);
      EXPECT_EQ(after.hits[i].metadata, before[q].hits[i].metadata);
    }
  }
  const auto filtered_after = search("docs", "vacation", 8, hr);
  ASSERT_EQ(filtered_after.hits.size(), filtered_before.hits.size());
  EXPECT_TRUE(engine_->check().is_ok());

  // The deleted document stays deleted and ingest continues to work.
  for (const auto& hit : search("docs", "temporary notice").hits) EXPECT_NE(hit.doc_id, removed.doc_id);
  auto unchanged = ingest("docs", input("kitchen.txt", kText));
  EXPECT_EQ(unchanged.outcome, IngestOutcome::kUnchanged);
}

TEST_F(EngineTest, OpenCleansLeftoversOfInterruptedOperations) {
  ingest("docs", input("kitchen.txt", kText));
  engine_.reset();
  fs::create_directories(dir_ + "/collections/.tmp-half-made-123");
  fs::create_directories(dir_ + "/collections/.trash-old-456");
  std::ofstream(dir_ + "/tmp/parse-in-stale") << "x";
  open_engine();
  EXPECT_FALSE(fs::exists(dir_ + "/collections/.tmp-half-made-123"));
  EXPECT_FALSE(fs::exists(dir_ + "/collections/.trash-old-456"));
  EXPECT_FALSE(fs::exists(dir_ + "/tmp/parse-in-stale"));
  EXPECT_FALSE(search("docs", "kettles").hits.empty());
}

TEST_F(EngineTest, CheckReportsStoreDamage) {
  ingest("docs", input("handbook.md", kHandbook));
  ASSERT_TRUE(engine_->check().is_ok());
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open((dir_ + "/collections/docs/collection.db").c_str(), &db), SQLITE_OK);
  sqlite3_busy_timeout(db, 5000);
  ASSERT_EQ(sqlite3_exec(db, "UPDATE documents SET chunk_count = chunk_count + 1", nullptr, nullptr, nullptr),
            SQLITE_OK);
  sqlite3_close(db);
  Status status = engine_->check();
  ASSERT_FALSE(status.is_ok());
  EXPECT_EQ(status.code(), ErrorCode::kDataCorruption);
  EXPECT_NE(status.message().find("docs"), std::string::npos) << status.message();
}

TEST_F(EngineTest, CheckComparesTheIndexWithTheStore) {
  // engine.h promises "integrity of every collection's store plus index/store agreement".
  ingest("docs", input("handbook.md", kHandbook));
  ASSERT_TRUE(engine_->check().is_ok());
  // Remove the chunks behind the engine's back, keeping the store self-consistent.
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open((dir_ + "/collections/docs/collection.db").c_str(), &db), SQLITE_OK);
  sqlite3_busy_timeout(db, 5000);
  ASSERT_EQ(sqlite3_exec(db, "DELETE FROM chunks; UPDATE documents SET chunk_count = 0", nullptr, nullptr, nullptr),
            SQLITE_OK);
  sqlite3_close(db);
  Status status = engine_->check();
  EXPECT_EQ(status.code(), ErrorCode::kDataCorruption);
}

TEST_F(EngineTest, ConcurrentIngestAndSearch) {
  ingest("docs", input("handbook.md", kHandbook));
  std::atomic<bool> done{false};
  std::atomic<int> failures{0};
  std::thread writer([&] {
    for (int i = 0; i < 20; ++i) {
      auto r = engine_->ingest("docs", input("n" + std::to_string(i) + ".txt",
                                             "Vacation note " + std::to_string(i) + " with unique word w" +
                                                 std::to_string(i) + "x."));
      if (!r || r->outcome != IngestOutcome::kAdded) failures++;
    }
    done = true;
  });
  std::vector<std::thread> readers;
  for (int t = 0; t < 3; ++t) {
    readers.emplace_back([&] {
      while (!done.load()) {
        auto r = engine_->search("docs", SearchRequest{"vacation", 50, {}});
        if (!r || r->hits.empty()) failures++;
      }
    });
  }
  writer.join();
  for (auto& t : readers) t.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(search("docs", "vacation", 100).hits.size(), 21u);
  EXPECT_TRUE(engine_->check().is_ok());
}

}  // namespace
}  // namespace kr::service
