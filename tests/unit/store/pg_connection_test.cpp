// The PostgreSQL store's helpers that need no server (the store itself is tested end to end
// against a real PostgreSQL in tests/e2e/test_pg_store.py).
#include "store/pg_connection.h"

#include <gtest/gtest.h>

namespace kr::store {
namespace {

TEST(RedactPgUrl, HidesThePasswordOfAUrl) {
  EXPECT_EQ(redact_pg_url("postgresql://kaito:s3cr%40t@db.example.com:5432/rag?sslmode=require"),
            "postgresql://kaito:***@db.example.com:5432/rag?sslmode=require");
  EXPECT_EQ(redact_pg_url("postgres://kaito:pw@host/db"), "postgres://kaito:***@host/db");
}

TEST(RedactPgUrl, HidesAKeywordPassword) {
  EXPECT_EQ(redact_pg_url("host=db user=kaito password=hunter2 dbname=rag"),
            "host=db user=kaito password=*** dbname=rag");
  EXPECT_EQ(redact_pg_url("host=db password = 'with space' dbname=rag"), "host=db password = *** dbname=rag");
}

TEST(RedactPgUrl, LeavesAUrlWithoutPasswordAlone) {
  EXPECT_EQ(redact_pg_url("postgresql://kaito@db/rag"), "postgresql://kaito@db/rag");
  EXPECT_EQ(redact_pg_url("postgresql://db/rag"), "postgresql://db/rag");
}

TEST(PgConnection, AnUnreachableServerIsUnavailableAndTheMessageHasNoPassword) {
  // Port 1 on loopback: refused at once.
  auto conn = PgConnection::connect("postgresql://kaito:topsecret@127.0.0.1:1/rag", std::chrono::seconds(2));
  ASSERT_FALSE(conn.is_ok());
  EXPECT_EQ(conn.status().code(), ErrorCode::kUnavailable);
  EXPECT_EQ(conn.status().message().find("topsecret"), std::string::npos) << conn.status().message();
  EXPECT_NE(conn.status().message().find("kaito:***@127.0.0.1:1"), std::string::npos) << conn.status().message();
}

TEST(PgPool, AcquireFailsUnavailableWithoutLeakingASlot) {
  PgOptions options;
  options.url = "postgresql://127.0.0.1:1/rag";
  options.max_connections = 1;
  options.connect_timeout = std::chrono::seconds(1);
  PgPool pool(options);
  for (int i = 0; i < 3; ++i) {  // a failed connect gives its slot back
    auto lease = pool.acquire();
    ASSERT_FALSE(lease.is_ok());
    EXPECT_EQ(lease.status().code(), ErrorCode::kUnavailable);
    EXPECT_NE(lease.status().message().find("cannot connect"), std::string::npos) << lease.status().message();
  }
}

}  // namespace
}  // namespace kr::store
