// The collection registry: a corrupt collection at start-up answers kUnavailable while the
// others are served; O(1) statistics; the vector snapshot written at shutdown is loaded at the
// next open only while the store is unchanged; an atomic replacement (the /load swap).
#include "service/collection_registry.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "../embed/fake_embedder.h"
#include "core/log.h"
#include "service/ingest_pipeline.h"

namespace kr::service {
namespace {

namespace fs = std::filesystem;

class CollectionRegistryTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { log::configure("error", false); }
  void SetUp() override {
    dir_ = (fs::path(::testing::TempDir()) / ("kr_registry_" + std::string(::testing::UnitTest::GetInstance()
                                                                                 ->current_test_info()
                                                                                 ->name()) +
                                               "_" + std::to_string(::getpid())))
               .string();
    fs::remove_all(dir_);
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }

  // Opens the directory and its collections; `exact_threshold` 0 makes every vector index a graph.
  struct Opened {
    Opened(const std::string& dir, uint64_t exact_threshold = 20000)
        : data_dir(dir), registry(data_dir, index::VectorIndexOptions{.exact_threshold = exact_threshold}) {
      status = data_dir.open(store::DataDirectory::Access::kReadWrite);
      if (status) status = registry.open_all();
    }
    Status ingest(const std::string& collection, int first, int count) {
      auto embedder = std::make_shared<testing::FakeEmbedder>();
      ParseRunner parser{ParseRunnerOptions{}};
      EngineCounters counters;
      IngestPipeline pipeline(registry, parser, embedder, counters, {});
      std::vector<IngestInput> inputs;
      for (int i = first; i < first + count; ++i) {
        IngestInput in;
        in.name = "d" + std::to_string(i) + ".txt";
        in.bytes = "Passage " + std::to_string(i) + " about item " + std::to_string(i * 13) + ".";
        inputs.push_back(std::move(in));
      }
      auto results = pipeline.ingest(collection, std::move(inputs));
      if (!results) return results.status();
      for (const auto& r : *results) {
        if (!r) return r.status();
        if (r->outcome != IngestOutcome::kAdded) return error(ErrorCode::kInternal, "not added");
      }
      return Status::ok();
    }
    store::DataDirectory data_dir;
    CollectionRegistry registry;
    Status status;
  };

  std::string dir_;
};

TEST_F(CollectionRegistryTest, CorruptCollectionAtStartUpIsUnavailableOthersServe) {
  {
    Opened first(dir_);
    ASSERT_TRUE(first.status.is_ok());
    ASSERT_TRUE(first.ingest("good", 0, 3).is_ok());
    ASSERT_TRUE(first.ingest("bad", 0, 3).is_ok());
  }
  {
    std::ofstream damage(dir_ + "/collections/bad/collection.db", std::ios::binary | std::ios::trunc);
    damage << std::string(8192, 'x');  // not a database any more
  }
  fs::remove(dir_ + "/collections/bad/collection.db-wal");
  Opened second(dir_);
  ASSERT_TRUE(second.status.is_ok()) << "one bad collection must not stop the server: " << second.status.to_string();
  auto good = second.registry.find("good");
  ASSERT_TRUE(good.is_ok());
  EXPECT_EQ((*good)->info()->documents, 3);
  auto bad = second.registry.find("bad");
  ASSERT_FALSE(bad.is_ok());
  EXPECT_EQ(bad.status().code(), ErrorCode::kUnavailable);
  EXPECT_NE(bad.status().message().find("could not be opened"), std::string::npos) << bad.status().message();
  EXPECT_FALSE(second.registry.has_collection("bad"));
  auto listed = second.registry.list();
  ASSERT_TRUE(listed.is_ok());
  ASSERT_EQ(listed->size(), 1u);
  EXPECT_EQ(listed->front().name, "good");
  // The name is taken until the broken collection is deleted; deleting it works.
  EXPECT_EQ(second.registry.create("bad", {}).status().code(), ErrorCode::kAlreadyExists);
  ASSERT_TRUE(second.registry.remove("bad").is_ok());
  EXPECT_EQ(second.registry.find("bad").status().code(), ErrorCode::kNotFound);
  EXPECT_TRUE(second.registry.create("bad", {}).is_ok());
}

TEST_F(CollectionRegistryTest, StatisticsAreKeptInMemory) {
  Opened opened(dir_);
  ASSERT_TRUE(opened.ingest("docs", 0, 5).is_ok());
  auto c = *opened.registry.find("docs");
  auto before = c->info();
  ASSERT_TRUE(before.is_ok());
  auto stored = c->store().stats();
  EXPECT_EQ(before->documents, stored->documents);
  EXPECT_EQ(before->chunks, stored->chunks);
  EXPECT_EQ(before->text_bytes, stored->text_bytes);
  EXPECT_EQ(before->vectors, stored->vectors);
  {
    std::lock_guard lock(c->write_mutex());
    auto doc = c->store().list_documents(0, 1, {});
    ASSERT_TRUE(c->remove(doc->documents.front().doc_id).is_ok());
    EXPECT_TRUE(c->check().is_ok()) << c->check().to_string();  // includes the in-memory text bytes
  }
  EXPECT_EQ(c->info()->documents, 4);
  EXPECT_EQ(c->info()->text_bytes, c->store().stats()->text_bytes);
}

// A folder that appeared after start-up under a collection's name (not a collection):
// creating that collection is a clean 409, not a retryable 503 that never succeeds.
TEST_F(CollectionRegistryTest, CreateOverAStrayFolderIsAlreadyExists) {
  Opened opened(dir_);
  ASSERT_TRUE(opened.status.is_ok());
  fs::create_directories(dir_ + "/collections/stray/originals");
  auto created = opened.registry.create("stray", CollectionSettings{});
  ASSERT_FALSE(created.is_ok());
  EXPECT_EQ(created.status().code(), ErrorCode::kAlreadyExists);
  EXPECT_NE(created.status().message().find("not a collection"), std::string::npos) << created.status().message();
  EXPECT_TRUE(fs::exists(dir_ + "/collections/stray/originals"));  // nothing of it was touched
  ASSERT_TRUE(opened.registry.create("fresh", CollectionSettings{}).is_ok());
}

TEST_F(CollectionRegistryTest, VectorSnapshotIsLoadedOnlyWhileTheStoreIsUnchanged) {
  const std::string snapshot = dir_ + "/collections/docs/vectors.snapshot";
  {
    Opened first(dir_, /*exact_threshold=*/0);  // a graph: the expensive case
    ASSERT_TRUE(first.ingest("docs", 0, 40).is_ok());
    first.registry.save_snapshots();
  }
  ASSERT_TRUE(fs::exists(snapshot));
  const auto saved_at = fs::last_write_time(snapshot);
  {
    Opened second(dir_, 0);
    auto c = *second.registry.find("docs");
    EXPECT_EQ(c->info()->vectors, 40);
    EXPECT_EQ(c->info()->vector_index, "hnsw");
    std::lock_guard lock(c->write_mutex());
    EXPECT_TRUE(c->check().is_ok()) << c->check().to_string();
    ASSERT_TRUE(c->save_snapshot().is_ok());  // unchanged since loaded: not rewritten
    EXPECT_EQ(fs::last_write_time(snapshot), saved_at);
  }
  {
    Opened third(dir_, 0);
    ASSERT_TRUE(third.ingest("docs", 100, 2).is_ok());  // the store moves on; no snapshot saved
  }
  {
    // The snapshot is one generation behind: rebuilt from the store, never trusted.
    Opened fourth(dir_, 0);
    auto c = *fourth.registry.find("docs");
    EXPECT_EQ(c->info()->vectors, 42);
    std::lock_guard lock(c->write_mutex());
    EXPECT_TRUE(c->check().is_ok()) << c->check().to_string();
  }
  {
    std::fstream damage(snapshot, std::ios::in | std::ios::out | std::ios::binary);
    damage.seekp(200);
    damage << "garbage";
  }
  Opened fifth(dir_, 0);
  ASSERT_TRUE(fifth.status.is_ok());
  EXPECT_EQ((*fifth.registry.find("docs"))->info()->vectors, 42);
}

TEST_F(CollectionRegistryTest, InstallReplacesAtomically) {
  Opened opened(dir_);
  ASSERT_TRUE(opened.ingest("docs", 0, 2).is_ok());
  ASSERT_TRUE(opened.ingest("other", 10, 5).is_ok());
  auto old = *opened.registry.find("docs");
  // Stage a copy of "other" and install it over "docs".
  const std::string staging = opened.data_dir.staging_dir("docs");
  fs::create_directories(staging);
  fs::copy_file(dir_ + "/collections/other/collection.db", staging + "/collection.db");
  EXPECT_EQ(opened.registry.install("docs", staging, /*overwrite=*/false).code(), ErrorCode::kAlreadyExists);
  EXPECT_FALSE(fs::exists(staging));  // a refused install leaves nothing behind
  fs::create_directories(staging);
  // The live database's committed pages are partly still in its WAL: copy both.
  fs::copy_file(dir_ + "/collections/other/collection.db", staging + "/collection.db");
  fs::copy_file(dir_ + "/collections/other/collection.db-wal", staging + "/collection.db-wal");
  ASSERT_TRUE(opened.registry.install("docs", staging, /*overwrite=*/true).is_ok());
  EXPECT_EQ((*opened.registry.find("docs"))->info()->documents, 5);
  EXPECT_TRUE(old->retired());  // writes to the replaced collection store nothing
  EXPECT_EQ(old->put({}, {}).status().code(), ErrorCode::kNotFound);
  for (const auto& entry : fs::directory_iterator(dir_ + "/collections")) {
    EXPECT_EQ(entry.path().filename().string().rfind(".tmp-", 0), std::string::npos) << entry.path();
  }
  // A staging folder that does not hold a database: refused, the current collection stays.
  const std::string junk = opened.data_dir.staging_dir("docs");
  fs::create_directories(junk);
  { std::ofstream(junk + "/collection.db") << "not sqlite"; }
  EXPECT_EQ(opened.registry.install("docs", junk, true).code(), ErrorCode::kCorruptInput);
  EXPECT_EQ((*opened.registry.find("docs"))->info()->documents, 5);
}

}  // namespace
}  // namespace kr::service
