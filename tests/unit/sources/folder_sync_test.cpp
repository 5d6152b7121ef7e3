// SourceManager over a real Engine and a watched folder: every change in the folder is
// reflected by the next sync, a re-sync is idempotent, state survives a restart.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>

#include "core/log.h"
#include "service/engine.h"
#include "sources/source_manager.h"

namespace kr::sources {
namespace {
namespace fs = std::filesystem;

class FolderSyncTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { log::configure("error", false); }
  static void TearDownTestSuite() { log::configure("info", false); }

  void SetUp() override {
    static std::atomic<int> counter{0};
    root_ = fs::path(::testing::TempDir()) / ("kr_sources_" + std::to_string(::getpid()) + "_" +
                                              std::to_string(counter++));
    fs::create_directories(root_ / "watched");
    config_.data_dir = (root_ / "data").string();
    config_.parse_isolation = "inline";
    config_.source_stable_seconds = 0;
    open();
  }
  void TearDown() override {
    manager_.reset();
    engine_.reset();
    std::error_code ec;
    fs::remove_all(root_, ec);
  }
  void open() {
    manager_.reset();
    engine_ = std::make_unique<service::Engine>(config_, "");
    ASSERT_TRUE(engine_->open().is_ok());
    manager_ = std::make_unique<SourceManager>(*engine_);
  }
  void write(const std::string& name, const std::string& text) {
    fs::create_directories((root_ / "watched" / name).parent_path());
    std::ofstream(root_ / "watched" / name, std::ios::binary) << text;
  }
  std::string add_folder() {
    if (!engine_->has_collection("docs")) {
      EXPECT_TRUE(engine_->create_collection("docs", engine_->default_settings()).is_ok());
    }
    SourceSpec spec;
    spec.kind = SourceKind::kFolder;
    spec.location = (root_ / "watched").string();
    auto added = manager_->add("docs", spec, /*from_api=*/false);
    EXPECT_TRUE(added.is_ok()) << added.status().to_string();
    return added.is_ok() ? added->spec.id : "";
  }
  SyncReport sync(const std::string& id) {
    auto report = manager_->sync("docs", id, "test");
    EXPECT_TRUE(report.is_ok()) << report.status().to_string();
    return report.is_ok() ? *report : SyncReport{};
  }
  std::vector<std::string> names() {
    int64_t total = 0;
    auto docs = engine_->list_documents("docs", 0, 1000, {}, &total);
    std::vector<std::string> out;
    for (const auto& d : *docs) out.push_back(d.name);
    std::sort(out.begin(), out.end());
    return out;
  }

  fs::path root_;
  Config config_;
  std::unique_ptr<service::Engine> engine_;
  std::unique_ptr<SourceManager> manager_;
};

TEST_F(FolderSyncTest, AddChangeDeleteAreEachReflected) {
  write("a.md", "# Vacation\nEmployees get 25 days of paid vacation.");
  write("sub/b.txt", "Parental leave is sixteen weeks.");
  const std::string id = add_folder();

  SyncReport first = sync(id);
  EXPECT_EQ(first.listed, 2);
  EXPECT_EQ(first.added, 2);
  EXPECT_EQ(first.failed, 0);
  EXPECT_EQ(names(), (std::vector<std::string>{"a.md", "sub/b.txt"}));

  SyncReport again = sync(id);  // nothing changed: nothing is read or ingested
  EXPECT_EQ(again.added + again.updated + again.deleted + again.failed, 0);
  EXPECT_EQ(again.unchanged, 2);

  write("a.md", "# Vacation\nEmployees get 30 days of paid vacation.");
  fs::last_write_time(root_ / "watched" / "a.md", fs::file_time_type::clock::now() - std::chrono::hours(1));
  fs::remove(root_ / "watched" / "sub" / "b.txt");
  write("c.md", "Remote work needs a manager's approval.");
  SyncReport changed = sync(id);
  EXPECT_EQ(changed.added, 1);
  EXPECT_EQ(changed.updated, 1);
  EXPECT_EQ(changed.deleted, 1);
  EXPECT_EQ(names(), (std::vector<std::string>{"a.md", "c.md"}));
  service::SearchRequest query;
  query.query = "paid vacation days";
  query.mode = retrieve::SearchMode::kBm25;
  auto hits = engine_->search("docs", query);
  ASSERT_TRUE(hits.is_ok());
  ASSERT_FALSE(hits->hits.empty());
  EXPECT_NE(hits->hits[0].text.find("30 days"), std::string::npos);
  EXPECT_EQ(hits->hits[0].metadata.at("source_id"), "\"" + id + "\"");
}

TEST_F(FolderSyncTest, FilesStillBeingWrittenWaitForTheNextSync) {
  config_.source_stable_seconds = 3600;  // every file counts as just written
  open();
  write("a.md", "half of a document");
  const std::string id = add_folder();
  SyncReport report = sync(id);
  EXPECT_EQ(report.pending, 1);
  EXPECT_EQ(report.added, 0);
  EXPECT_TRUE(names().empty());

  config_.source_stable_seconds = 0;  // later: the file has settled
  open();
  EXPECT_EQ(sync(id).added, 1);
}

TEST_F(FolderSyncTest, StateAndFailuresSurviveARestart) {
  write("good.md", "Fine text about expenses.");
  write("bad.bin", std::string("\x00\x01\x02\xff\xfe binary junk \x00\x00", 20));
  const std::string id = add_folder();
  SyncReport first = sync(id);
  EXPECT_EQ(first.added, 1);
  EXPECT_EQ(first.failed, 1);

  open();  // a new process on the same data directory
  auto view = manager_->get("docs", id);
  ASSERT_TRUE(view.is_ok());
  ASSERT_TRUE(view->last_run.has_value());
  EXPECT_EQ(view->last_run->added, 1);
  ASSERT_EQ(view->failures.size(), 1u);
  EXPECT_EQ(view->failures[0].first, "bad.bin");
  EXPECT_FALSE(view->failures[0].second.empty());
  // The failed file is not retried until it changes; the good one is unchanged.
  SyncReport again = sync(id);
  EXPECT_EQ(again.unchanged, 2);
  EXPECT_EQ(again.failed, 0);
}

TEST_F(FolderSyncTest, SymbolicLinksAreNotFollowed) {
  std::ofstream(root_ / "outside.md") << "Secret text outside the watched folder.";
  fs::create_symlink(root_ / "outside.md", root_ / "watched" / "link.md");
  write("inside.md", "Text inside.");
  const std::string id = add_folder();
  SyncReport report = sync(id);
  EXPECT_EQ(report.listed, 1);
  EXPECT_EQ(names(), (std::vector<std::string>{"inside.md"}));
}

TEST_F(FolderSyncTest, RemovingTheSourceRemovesItsDocuments) {
  write("a.md", "Some text.");
  const std::string id = add_folder();
  sync(id);
  ASSERT_EQ(names().size(), 1u);
  ASSERT_TRUE(manager_->remove("docs", id, /*delete_documents=*/true).is_ok());
  EXPECT_TRUE(names().empty());
  EXPECT_EQ(manager_->get("docs", id).status().code(), ErrorCode::kNotFound);
}

TEST_F(FolderSyncTest, AMissingFolderFailsTheRunAndDeletesNothing) {
  write("a.md", "Some text.");
  const std::string id = add_folder();
  sync(id);
  fs::rename(root_ / "watched", root_ / "moved");
  auto report = manager_->sync("docs", id, "test");
  EXPECT_EQ(report.status().code(), ErrorCode::kNotFound);
  EXPECT_EQ(names().size(), 1u);  // an unreachable source is not an empty one
  auto view = manager_->get("docs", id);
  ASSERT_TRUE(view.is_ok());
  EXPECT_NE(view->last_run->error.find("does not exist"), std::string::npos);
}

TEST_F(FolderSyncTest, ApiFoldersMustBeUnderTheConfiguredRoots) {
  ASSERT_TRUE(engine_->create_collection("docs", engine_->default_settings()).is_ok());
  SourceSpec spec;
  spec.kind = SourceKind::kFolder;
  spec.location = (root_ / "watched").string();
  EXPECT_EQ(manager_->add("docs", spec, /*from_api=*/true).status().code(), ErrorCode::kPermissionDenied);
  config_.source_folder_roots = {root_.string()};
  open();
  EXPECT_TRUE(manager_->add("docs", spec, /*from_api=*/true).is_ok());
  spec.location = (root_ / "watched" / ".." / ".." ).string();  // escapes the root
  EXPECT_EQ(manager_->add("docs", spec, /*from_api=*/true).status().code(), ErrorCode::kPermissionDenied);
}

}  // namespace
}  // namespace kr::sources
