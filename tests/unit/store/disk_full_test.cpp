// Disk full is its own error: SQLITE_FULL becomes kInsufficientStorage (HTTP 507)
// with a message naming the data directory; directory fsyncs report failures.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <string>

#include "core/log.h"
#include "store/directory_sync.h"
#include "store/sqlite.h"

namespace kr::store {
namespace {

namespace fs = std::filesystem;

std::string temp_dir(const std::string& name) {
  const fs::path dir = fs::path(::testing::TempDir()) / (name + "_" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir.string();
}

TEST(DiskFull, SqliteFullIsInsufficientStorage) {
  log::configure("error", false);
  const std::string dir = temp_dir("kr_disk_full");
  auto db = Connection::open(dir + "/full.db", /*create=*/true, /*read_only=*/false);
  ASSERT_TRUE(db.is_ok()) << db.status().to_string();
  ASSERT_TRUE(db->exec("CREATE TABLE t(x BLOB)").is_ok());
  // A page budget the inserts exceed: SQLite answers SQLITE_FULL as on a full disk.
  ASSERT_TRUE(db->exec("PRAGMA max_page_count = 8").is_ok());
  Status status;
  for (int i = 0; i < 100 && status.is_ok(); ++i) status = db->exec("INSERT INTO t VALUES (zeroblob(4000))");
  ASSERT_FALSE(status.is_ok());
  EXPECT_EQ(status.code(), ErrorCode::kInsufficientStorage) << status.to_string();
  EXPECT_EQ(status.message().rfind("disk full on the data directory: ", 0), 0u) << status.message();
  log::configure("info", false);
  fs::remove_all(dir);
}

TEST(DirectorySync, ExistingAndMissingDirectories) {
  log::configure("error", false);
  const std::string dir = temp_dir("kr_dir_sync");
  EXPECT_TRUE(sync_directory(dir).is_ok());
  const Status missing = sync_directory(dir + "/absent");
  EXPECT_EQ(missing.code(), ErrorCode::kUnavailable);
  EXPECT_NE(missing.message().find("cannot fsync directory"), std::string::npos) << missing.message();
  log::configure("info", false);
  fs::remove_all(dir);
}

}  // namespace
}  // namespace kr::store
