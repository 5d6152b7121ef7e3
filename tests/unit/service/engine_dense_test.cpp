// Dense and hybrid retrieval through the Engine with the real local encoder (all-MiniLM-L6-v2,
// fetched by scripts/fetch_models.sh): paraphrase search, filters, restart, model changes.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>

#include "../embed/model_paths.h"
#include "core/log.h"
#include "service/engine.h"

namespace kr::service {
namespace {

namespace fs = std::filesystem;
using retrieve::SearchMode;

IngestInput text(std::string name, std::string body, Metadata metadata = {}) {
  IngestInput in;
  in.name = name + ".txt";
  in.bytes = std::move(body);
  in.metadata = std::move(metadata);
  return in;
}

class EngineDenseTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { log::configure("error", false); }
  static void TearDownTestSuite() { log::configure("info", false); }

  void SetUp() override {
    if (!fs::exists(embed::testing::minilm_dir() / "model.safetensors")) {
      GTEST_SKIP() << "all-MiniLM-L6-v2 not in " << embed::testing::model_cache() << "; run scripts/fetch_models.sh";
    }
    dir_ = (fs::path(::testing::TempDir()) /
            ("kr_dense_" + std::string(::testing::UnitTest::GetInstance()->current_test_info()->name()) + "_" +
             std::to_string(::getpid())))
               .string();
    config_.data_dir = dir_;
    config_.parse_isolation = "inline";
    config_.embedding_model = embed::testing::minilm_dir().string();
    config_.embedding_threads = 2;
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
    Status status = engine_->open();
    ASSERT_TRUE(status.is_ok()) << status.to_string();
  }
  void ingest_handbook() {
    for (auto [name, body, team] : {std::tuple{"vacation", "Employees receive 25 days of paid vacation per year.", "hr"},
                                    {"parking", "Spaces are assigned by seniority. Badges open the gate at 6am.", "ops"},
                                    {"expenses", "Submit expense reports within 30 days via the finance portal.", "fin"},
                                    {"leave", "Parental leave lasts sixteen weeks at full pay.", "ops"}}) {
      auto result = engine_->ingest("docs", text(name, body, {{"team", std::string("\"") + team + "\""}}));
      ASSERT_TRUE(result.is_ok()) << result.status().to_string();
      ASSERT_EQ(result->outcome, IngestOutcome::kAdded) << result->error.to_string();
    }
  }
  Result<SearchResponse> search(const std::string& query, std::optional<SearchMode> mode, MetadataFilter filter = {}) {
    SearchRequest request{query, 3, std::move(filter)};
    request.mode = mode;
    return engine_->search("docs", request);
  }

  std::string dir_;
  Config config_;
  std::unique_ptr<Engine> engine_;
};

// No word of the question occurs in the answer's document: BM25 cannot find it, dense can.
constexpr const char* kParaphrase = "how much time off do workers get annually";

TEST_F(EngineDenseTest, DenseAndHybridFindAParaphraseThatBm25Misses) {
  ingest_handbook();
  auto bm25 = search(kParaphrase, SearchMode::kBm25);
  ASSERT_TRUE(bm25.is_ok());
  for (const auto& hit : bm25->hits) EXPECT_NE(hit.document_name, "vacation.txt");
  auto dense = search(kParaphrase, SearchMode::kDense);
  ASSERT_TRUE(dense.is_ok()) << dense.status().to_string();
  ASSERT_FALSE(dense->hits.empty());
  EXPECT_EQ(dense->mode, "dense");
  EXPECT_EQ(dense->hits[0].document_name, "vacation.txt");
  ASSERT_TRUE(dense->hits[0].dense_score.has_value());
  EXPECT_GT(*dense->hits[0].dense_score, 0.3);
  EXPECT_GT(dense->embed_ms, 0);
  auto hybrid = search(kParaphrase, std::nullopt);  // the configured default: hybrid
  ASSERT_TRUE(hybrid.is_ok());
  EXPECT_EQ(hybrid->mode, "hybrid");
  EXPECT_TRUE(hybrid->warnings.empty());
  ASSERT_FALSE(hybrid->hits.empty());
  EXPECT_EQ(hybrid->hits[0].document_name, "vacation.txt");
  // A lexical match still wins in hybrid mode, and carries both raw scores.
  auto exact = search("expense reports finance portal", SearchMode::kHybrid);
  ASSERT_TRUE(exact.is_ok());
  EXPECT_EQ(exact->hits[0].document_name, "expenses.txt");
  EXPECT_TRUE(exact->hits[0].bm25_score.has_value());
  EXPECT_TRUE(exact->hits[0].dense_score.has_value());
}

TEST_F(EngineDenseTest, RepeatedQueriesReuseTheCachedVector) {
  ingest_handbook();
  const auto& cache = engine_->query_cache();
  const uint64_t hits = cache.hits(), misses = cache.misses();
  auto first = search(kParaphrase, SearchMode::kDense);
  ASSERT_TRUE(first.is_ok()) << first.status().to_string();
  EXPECT_EQ(cache.misses(), misses + 1);
  // Same text up to whitespace, other modes: the vector comes from the cache and ranks the same.
  auto again = search(std::string("  ") + kParaphrase + " ", SearchMode::kDense);
  auto hybrid = search(kParaphrase, SearchMode::kHybrid);
  ASSERT_TRUE(again.is_ok() && hybrid.is_ok());
  EXPECT_EQ(cache.hits(), hits + 2);
  EXPECT_EQ(cache.misses(), misses + 1);
  ASSERT_EQ(again->hits.size(), first->hits.size());
  for (size_t i = 0; i < first->hits.size(); ++i) {
    EXPECT_EQ(again->hits[i].chunk_id, first->hits[i].chunk_id);
    EXPECT_EQ(again->hits[i].dense_score, first->hits[i].dense_score);
  }
  EXPECT_EQ(hybrid->hits[0].document_name, "vacation.txt");
  // BM25 searches never embed, so they neither hit nor miss.
  ASSERT_TRUE(search(kParaphrase, SearchMode::kBm25).is_ok());
  EXPECT_EQ(cache.hits() + cache.misses(), hits + misses + 3);
}

TEST_F(EngineDenseTest, QueryCacheOfZeroEmbedsEveryTime) {
  config_.query_embedding_cache = 0;
  open_engine();
  ingest_handbook();
  for (int i = 0; i < 2; ++i) ASSERT_TRUE(search(kParaphrase, SearchMode::kDense).is_ok());
  EXPECT_EQ(engine_->query_cache().hits(), 0u);
  EXPECT_EQ(engine_->query_cache().misses(), 2u);
  EXPECT_EQ(engine_->query_cache().size(), 0u);
}

TEST_F(EngineDenseTest, MetadataFiltersApplyToTheDenseSide) {
  ingest_handbook();
  MetadataFilter ops;
  ops.any_of["team"] = {"\"ops\""};
  for (auto mode : {SearchMode::kDense, SearchMode::kHybrid}) {
    auto found = search(kParaphrase, mode, ops);
    ASSERT_TRUE(found.is_ok()) << found.status().to_string();
    ASSERT_FALSE(found->hits.empty());
    for (const auto& hit : found->hits) EXPECT_EQ(hit.metadata.at("team"), "\"ops\"");
    EXPECT_EQ(found->hits[0].document_name, "leave.txt");  // the ops document about time off
  }
}

TEST_F(EngineDenseTest, VectorsSurviveRestartAndDeletes) {
  ingest_handbook();
  auto info = engine_->get_collection("docs");
  ASSERT_TRUE(info.is_ok());
  EXPECT_EQ(info->embedding_model, "all-MiniLM-L6-v2");
  EXPECT_EQ(info->embedding_dimension, 384);
  EXPECT_EQ(info->vectors, info->chunks);
  open_engine();  // restart: vectors come back from the store
  ASSERT_TRUE(engine_->check().is_ok()) << engine_->check().to_string();
  auto dense = search(kParaphrase, SearchMode::kDense);
  ASSERT_TRUE(dense.is_ok());
  EXPECT_EQ(dense->hits[0].document_name, "vacation.txt");
  auto docs = engine_->list_documents("docs", 0, 10, {}, nullptr);
  ASSERT_TRUE(docs.is_ok());
  for (const auto& d : *docs) {
    if (d.name == "vacation.txt") {
      ASSERT_TRUE(engine_->delete_document("docs", d.doc_id).is_ok());
    }
  }
  dense = search(kParaphrase, SearchMode::kDense);
  ASSERT_TRUE(dense.is_ok());
  for (const auto& hit : dense->hits) EXPECT_NE(hit.document_name, "vacation.txt");
  EXPECT_TRUE(engine_->check().is_ok());
}

TEST_F(EngineDenseTest, ModelChangeIsRefusedUntilReembed) {
  ingest_handbook();
  config_.embedding_name = "minilm-renamed";  // the same weights under another id: a "different" model
  open_engine();
  auto refused = engine_->ingest("docs", text("new", "Bicycles may be parked in the courtyard."));
  ASSERT_TRUE(refused.is_ok());
  EXPECT_EQ(refused->outcome, IngestOutcome::kFailed);
  EXPECT_EQ(refused->error.code(), ErrorCode::kFailedPrecondition);
  EXPECT_NE(refused->error.message().find("reembed"), std::string::npos) << refused->error.message();
  // A default search falls back to BM25 and says why; an explicit dense search fails.
  auto fallback = search("vacation", std::nullopt);
  ASSERT_TRUE(fallback.is_ok());
  EXPECT_EQ(fallback->mode, "bm25");
  ASSERT_EQ(fallback->warnings.size(), 1u);
  EXPECT_EQ(search(kParaphrase, SearchMode::kDense).status().code(), ErrorCode::kFailedPrecondition);

  size_t last_done = 0;
  ASSERT_TRUE(engine_->reembed("docs", [&](size_t done, size_t) { last_done = done; }).is_ok());
  EXPECT_EQ(last_done, 4u);
  auto info = engine_->get_collection("docs");
  EXPECT_EQ(info->embedding_model, "minilm-renamed");
  EXPECT_EQ(info->vectors, 4);
  auto dense = search(kParaphrase, SearchMode::kDense);
  ASSERT_TRUE(dense.is_ok()) << dense.status().to_string();
  EXPECT_EQ(dense->hits[0].document_name, "vacation.txt");
  EXPECT_TRUE(engine_->check().is_ok());
  open_engine();
  EXPECT_EQ(engine_->get_collection("docs")->embedding_model, "minilm-renamed");
}

TEST_F(EngineDenseTest, ServerWithoutEmbeddingsKeepsBm25Collections) {
  config_.embedding_model.clear();
  open_engine();
  ASSERT_TRUE(engine_->ingest("docs", text("a", "Employees receive 25 days of paid vacation per year.")).is_ok());
  auto found = search("vacation", std::nullopt);
  ASSERT_TRUE(found.is_ok());
  EXPECT_EQ(found->mode, "bm25");
  EXPECT_TRUE(found->warnings.empty());
  EXPECT_EQ(search("vacation", SearchMode::kDense).status().code(), ErrorCode::kFailedPrecondition);
  // Turning the model on later: the lexical collection stays lexical until re-embedded.
  config_.embedding_model = embed::testing::minilm_dir().string();
  open_engine();
  ASSERT_TRUE(engine_->ingest("docs", text("b", "Parental leave lasts sixteen weeks.")).is_ok());
  EXPECT_EQ(engine_->get_collection("docs")->vectors, 0);
  ASSERT_TRUE(engine_->reembed("docs").is_ok());
  EXPECT_EQ(engine_->get_collection("docs")->vectors, 2);
  EXPECT_TRUE(engine_->check().is_ok());
}

}  // namespace
}  // namespace kr::service
