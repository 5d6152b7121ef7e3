// Statements kept per connection (Connection::cached, CachedStatement).
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>

#include "store/sqlite.h"

namespace kr::store {
namespace {

namespace fs = std::filesystem;

class CachedStatementTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::path(::testing::TempDir()) / ("kr_cached_stmt_" + std::to_string(::getpid()));
    fs::create_directories(dir_);
    path_ = (dir_ / "t.db").string();
    auto writer = Connection::open(path_, /*create=*/true, /*read_only=*/false);
    ASSERT_TRUE(writer.is_ok()) << writer.status().to_string();
    writer_ = std::move(writer.value());
    ASSERT_TRUE(writer_.exec("PRAGMA journal_mode=WAL").is_ok());
    ASSERT_TRUE(writer_.exec("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)").is_ok());
    ASSERT_TRUE(writer_.exec("INSERT INTO t VALUES (1, 'one'), (2, 'two')").is_ok());
  }
  void TearDown() override {
    writer_ = Connection();
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
  Connection reader() {
    auto opened = Connection::open(path_, false, /*read_only=*/true);
    EXPECT_TRUE(opened.is_ok());
    return std::move(opened.value());
  }
  std::string read(const Connection& connection, int64_t id) {
    CachedStatement select(connection, "SELECT v FROM t WHERE id = ?");
    EXPECT_TRUE(select.status().is_ok()) << select.status().to_string();
    select->bind(1, id);
    return select->step() ? select->column_text(0) : "";
  }

  fs::path dir_;
  std::string path_;
  Connection writer_;
};

TEST_F(CachedStatementTest, PreparedOncePerConnectionAndReusable) {
  Connection connection = reader();
  auto first = connection.cached("SELECT v FROM t WHERE id = ?");
  ASSERT_TRUE(first.is_ok());
  EXPECT_EQ(read(connection, 1), "one");
  EXPECT_EQ(read(connection, 2), "two");
  EXPECT_EQ(read(connection, 3), "");
  auto again = connection.cached("SELECT v FROM t WHERE id = ?");
  ASSERT_TRUE(again.is_ok());
  EXPECT_EQ(*first, *again);
  EXPECT_EQ(connection.cached_statements(), 1u);
  // The cache moves with the connection (the store's pool moves connections in and out).
  Connection moved = std::move(connection);
  EXPECT_EQ(moved.cached_statements(), 1u);
  EXPECT_EQ(read(moved, 2), "two");
}

TEST_F(CachedStatementTest, AFailedPrepareIsReportedAndNotKept) {
  Connection connection = reader();
  CachedStatement bad(connection, "SELECT nope FROM missing");
  EXPECT_FALSE(bad.status().is_ok());
  EXPECT_NE(bad.status().message().find("missing"), std::string::npos) << bad.status().to_string();
  EXPECT_EQ(connection.cached_statements(), 0u);
}

TEST_F(CachedStatementTest, AKeptStatementHoldsNoReadSnapshotBetweenUses) {
  Connection connection = reader();
  // A read that stopped on a row: without the reset at the end of the use, the reader would
  // keep its snapshot and block the checkpoint below, and would not see the new row.
  EXPECT_EQ(read(connection, 1), "one");
  ASSERT_TRUE(writer_.exec("INSERT INTO t VALUES (3, 'three')").is_ok());
  Statement checkpoint(writer_, "PRAGMA wal_checkpoint(TRUNCATE)");
  ASSERT_TRUE(checkpoint.step());
  EXPECT_EQ(checkpoint.column_int(0), 0) << "checkpoint blocked by a reader";
  EXPECT_EQ(read(connection, 3), "three");
}

TEST_F(CachedStatementTest, SchemaChangesArePickedUp) {
  Connection connection = reader();
  EXPECT_EQ(read(connection, 1), "one");
  ASSERT_TRUE(writer_.exec("ALTER TABLE t ADD COLUMN extra INTEGER").is_ok());
  ASSERT_TRUE(writer_.exec("UPDATE t SET v = 'uno' WHERE id = 1").is_ok());
  EXPECT_EQ(read(connection, 1), "uno");
}

}  // namespace
}  // namespace kr::store
