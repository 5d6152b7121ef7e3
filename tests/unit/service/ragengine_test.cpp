// The KAITO RAGEngine layer of the Engine (engine_ragengine.cpp): text documents
// identified by SHA-256, chunk listing, update/delete by id, creation order,
// persist/load. Parsing runs inline.
#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "core/log.h"
#include "core/text.h"
#include "service/engine.h"

namespace kr::service {
namespace {

namespace fs = std::filesystem;

std::string unique_dir() {
  static std::atomic<int> counter{0};
  const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
  return (fs::path(::testing::TempDir()) / ("kr_ragengine_" + std::string(info ? info->name() : "x") + "_" +
                                             std::to_string(::getpid()) + "_" + std::to_string(counter++)))
      .string();
}

TextDocument text(std::string body, Metadata metadata = {}, std::string doc_id = "") {
  return {std::move(doc_id), std::move(body), std::move(metadata)};
}

const std::string kKaito = "KAITO is the Kubernetes AI Toolchain Operator for model deployment.";
const std::string kRag = "The RAG engine retrieves passages that answer a question.";
const std::string kLeave = "Parental leave lasts twenty weeks.";

class RagEngineTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { log::configure("error", false); }
  static void TearDownTestSuite() { log::configure("info", false); }
  void SetUp() override {
    dir_ = unique_dir();
    config_.data_dir = dir_ + "/data";
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
    engine_ = std::make_unique<Engine>(config_, "");
    ASSERT_TRUE(engine_->open().is_ok());
  }
  std::vector<std::string> ids(const std::string& index, const std::vector<TextDocument>& docs) {
    auto out = engine_->index_texts(index, docs);
    EXPECT_TRUE(out) << out.status().to_string();
    std::vector<std::string> result;
    if (out) {
      for (const auto& o : *out) result.push_back(o.doc_id);
    }
    return result;
  }
  int64_t total(const std::string& index, const MetadataFilter& filter = {}) {
    auto page = engine_->list_text_chunks(index, 0, 100, filter);
    EXPECT_TRUE(page) << page.status().to_string();
    return page ? page->total : -1;
  }

  std::string dir_;
  Config config_;
  std::unique_ptr<Engine> engine_;
};

TEST(TextDocuments, IdsAndHashes) {
  EXPECT_EQ(text_doc_id("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(text_node_id("d", 3), "d:3");
  EXPECT_NE(text_chunk_hash("t", {}), text_chunk_hash("t", {{"k", "1"}}));
  EXPECT_NE(text_chunk_hash("t", {}), text_chunk_hash("u", {}));
  EXPECT_EQ(text_chunk_hash("t", {{"k", "1"}}), text_chunk_hash("t", {{"k", "1"}}));
}

TEST_F(RagEngineTest, IndexCreatesTheCollectionAndSkipsExistingIds) {
  auto first = engine_->index_texts("idx", {text(kKaito, {{"author", "\"kaito\""}}), text(kRag)});
  ASSERT_TRUE(first);
  ASSERT_EQ(first->size(), 2u);
  EXPECT_EQ((*first)[0].doc_id, sha256_hex(kKaito));
  EXPECT_TRUE((*first)[0].added);
  auto second = engine_->index_texts("idx", {text(kKaito, {}, "ignored"), text(kLeave)});
  ASSERT_TRUE(second);
  EXPECT_EQ((*second)[0].doc_id, sha256_hex(kKaito));
  EXPECT_FALSE((*second)[0].added);
  EXPECT_TRUE((*second)[1].added);
  EXPECT_EQ(total("idx"), 3);
  auto docs = engine_->list_documents("idx", 0, 10, {}, nullptr);
  ASSERT_TRUE(docs);
  EXPECT_EQ((*docs)[0].doc_id, sha256_hex(kKaito));
  EXPECT_EQ((*docs)[0].format, "text");
  EXPECT_EQ((*docs)[0].metadata.at("author"), "\"kaito\"");
}

TEST_F(RagEngineTest, EmptyRequestCreatesNothing) {
  auto out = engine_->index_texts("none", {});
  ASSERT_TRUE(out);
  EXPECT_TRUE(out->empty());
  EXPECT_EQ(engine_->get_collection("none").status().code(), ErrorCode::kNotFound);
}

TEST_F(RagEngineTest, FailedFirstIngestCreatesNoIndex) {
  auto out = engine_->index_texts("bad", {text("")});
  EXPECT_FALSE(out);
  EXPECT_EQ(engine_->get_collection("bad").status().code(), ErrorCode::kNotFound);
}

TEST_F(RagEngineTest, InvalidIndexName) {
  EXPECT_EQ(engine_->index_texts("bad name", {text(kKaito)}).status().code(), ErrorCode::kInvalidArgument);
}

TEST_F(RagEngineTest, CreationOrderSurvivesRestart) {
  for (const char* name : {"zeta", "alpha", "mid"}) ids(name, {text(kKaito)});
  auto names = engine_->list_indexes_by_creation();
  ASSERT_TRUE(names);
  EXPECT_EQ(*names, (std::vector<std::string>{"zeta", "alpha", "mid"}));
  open_engine();
  EXPECT_EQ(*engine_->list_indexes_by_creation(), (std::vector<std::string>{"zeta", "alpha", "mid"}));
}

TEST_F(RagEngineTest, ChunkListingPagesAcrossDocuments) {
  std::string long_text;
  for (int i = 0; i < 300; ++i) long_text += "Sentence " + std::to_string(i) + " is about subject " + std::to_string(i % 5) + ". ";
  const auto doc_ids = ids("c", {text(kKaito), text(long_text, {{"k", "\"v\""}}), text(kLeave)});
  auto all = engine_->list_text_chunks("c", 0, 1000, {});
  ASSERT_TRUE(all);
  ASSERT_GT(all->total, 3);
  ASSERT_EQ(static_cast<int64_t>(all->chunks.size()), all->total);
  EXPECT_EQ(all->chunks.front().doc_id, doc_ids[0]);
  EXPECT_EQ(all->chunks.back().doc_id, doc_ids[2]);
  EXPECT_EQ(all->chunks[1].node_id, doc_ids[1] + ":0");
  EXPECT_EQ(all->chunks[2].node_id, doc_ids[1] + ":1");
  // Every window equals the slice of the full listing.
  for (int64_t offset : std::vector<int64_t>{0, 1, 2, 3, all->total - 1, all->total, all->total + 5}) {
    auto page = engine_->list_text_chunks("c", offset, 2, {});
    ASSERT_TRUE(page);
    EXPECT_EQ(page->total, all->total);
    for (size_t i = 0; i < page->chunks.size(); ++i) {
      EXPECT_EQ(page->chunks[i].node_id, all->chunks[offset + static_cast<int64_t>(i)].node_id);
    }
    EXPECT_EQ(static_cast<int64_t>(page->chunks.size()), std::max<int64_t>(0, std::min<int64_t>(2, all->total - offset)));
  }
  MetadataFilter filter;
  filter.any_of["k"] = {"\"v\""};
  EXPECT_EQ(total("c", filter), all->total - 2);
  EXPECT_EQ(engine_->list_text_chunks("missing", 0, 10, {}).status().code(), ErrorCode::kNotFound);
}

TEST_F(RagEngineTest, UpdateKeepsTheIdAndReportsOutcomes) {
  const auto doc_ids = ids("u", {text(kKaito), text(kRag)});
  auto out = engine_->update_texts(
      "u", {text("KAITO also runs retrieval engines.", {}, doc_ids[0]), text(kRag, {}, doc_ids[1]), text("x", {}, "nope"),
            text("y")});
  ASSERT_TRUE(out) << out.status().to_string();
  EXPECT_EQ(*out, (std::vector<TextUpdateOutcome>{TextUpdateOutcome::kUpdated, TextUpdateOutcome::kUnchanged,
                                                  TextUpdateOutcome::kNotFound, TextUpdateOutcome::kNotFound}));
  auto hits = engine_->search("u", {"retrieval engines", 5, {}});
  ASSERT_TRUE(hits);
  ASSERT_FALSE(hits->hits.empty());
  EXPECT_EQ(hits->hits[0].doc_id, doc_ids[0]);
  // Metadata alone is a change; the text of another document is allowed under this id.
  EXPECT_EQ((*engine_->update_texts("u", {text(kRag, {{"a", "1"}}, doc_ids[1])}))[0], TextUpdateOutcome::kUpdated);
  EXPECT_EQ((*engine_->update_texts("u", {text(kRag, {}, doc_ids[0])}))[0], TextUpdateOutcome::kUpdated);
  EXPECT_EQ(total("u"), 2);
  EXPECT_EQ(engine_->update_texts("missing", {}).status().code(), ErrorCode::kNotFound);
}

TEST_F(RagEngineTest, DeleteDecidesMembershipFirst) {
  const auto doc_ids = ids("d", {text(kKaito), text(kRag)});
  auto out = engine_->delete_texts("d", {doc_ids[0], "unknown", doc_ids[0]});
  ASSERT_TRUE(out);
  EXPECT_EQ(*out, (std::vector<bool>{true, false, true}));
  EXPECT_EQ(total("d"), 1);
  EXPECT_EQ(engine_->delete_texts("missing", {}).status().code(), ErrorCode::kNotFound);
  ASSERT_TRUE(engine_->check().is_ok());
}

TEST_F(RagEngineTest, PersistAndLoadRoundTrip) {
  const auto doc_ids = ids("src", {text(kKaito, {{"k", "1"}}), text(kRag)});
  const std::string path = dir_ + "/snap/src";
  auto persisted = engine_->persist_index("src", path);
  ASSERT_TRUE(persisted) << persisted.status().to_string();
  EXPECT_EQ(*persisted, path);
  EXPECT_TRUE(fs::is_regular_file(path + "/collection.db"));
  EXPECT_TRUE(fs::is_regular_file(path + "/manifest.json"));
  EXPECT_FALSE(fs::exists(path + "/collection.db-wal"));

  ASSERT_TRUE(engine_->load_index("copy", path, false).is_ok());
  EXPECT_EQ(total("copy"), 2);
  auto hits = engine_->search("copy", {"Kubernetes operator", 3, {}});
  ASSERT_TRUE(hits);
  ASSERT_FALSE(hits->hits.empty());
  EXPECT_EQ(hits->hits[0].doc_id, doc_ids[0]);
  EXPECT_EQ(*engine_->list_indexes_by_creation(), (std::vector<std::string>{"src", "copy"}));

  EXPECT_EQ(engine_->load_index("src", path, false).code(), ErrorCode::kAlreadyExists);
  ids("other", {text(kLeave)});
  ASSERT_TRUE(engine_->load_index("other", path, true).is_ok());
  EXPECT_EQ(total("other"), 2);
  ASSERT_TRUE(engine_->check().is_ok());
  open_engine();
  EXPECT_EQ(total("other"), 2);
  EXPECT_EQ(total("copy"), 2);
}

TEST_F(RagEngineTest, LoadErrors) {
  EXPECT_EQ(engine_->load_index("x", dir_ + "/missing", false).code(), ErrorCode::kNotFound);
  fs::create_directories(dir_ + "/empty");
  EXPECT_EQ(engine_->load_index("x", dir_ + "/empty", false).code(), ErrorCode::kCorruptInput);
  fs::create_directories(dir_ + "/junk");
  std::ofstream(dir_ + "/junk/collection.db") << std::string(4096, 'x');
  EXPECT_FALSE(engine_->load_index("x", dir_ + "/junk", false).is_ok());
  EXPECT_EQ(engine_->get_collection("x").status().code(), ErrorCode::kNotFound);
  EXPECT_EQ(engine_->load_index("bad name", dir_ + "/junk", false).code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(engine_->persist_index("missing", dir_ + "/p").status().code(), ErrorCode::kNotFound);
  // No temporary directories are left behind.
  for (const auto& entry : fs::directory_iterator(config_.data_dir + "/collections")) {
    EXPECT_NE(entry.path().filename().string().rfind(".tmp-", 0), 0u) << entry.path();
  }
}

TEST_F(RagEngineTest, PersistBaseDirectory) {
  ::unsetenv("DEFAULT_VECTOR_DB_PERSIST_DIR");
  EXPECT_EQ(engine_->persist_base_dir(), config_.data_dir + "/storage");
  ::setenv("DEFAULT_VECTOR_DB_PERSIST_DIR", "/abs/dir", 1);
  EXPECT_EQ(engine_->persist_base_dir(), "/abs/dir");
  ::setenv("DEFAULT_VECTOR_DB_PERSIST_DIR", "rel", 1);
  EXPECT_EQ(engine_->persist_base_dir(), config_.data_dir + "/rel");
  ::unsetenv("DEFAULT_VECTOR_DB_PERSIST_DIR");
}

}  // namespace
}  // namespace kr::service
