// The ingest queue's row encoding (the queue itself runs against a real PostgreSQL in
// tests/e2e/test_pg_queue.py).
#include "store/pg_ingest_queue.h"

#include <gtest/gtest.h>

namespace kr::store {
namespace {

TEST(QueuedMetadata, RoundTripsKeysAndValuesWithAnyBytes) {
  const Metadata metadata = {
      {"team", "\"hr\""}, {"", "0"}, {std::string("nul\0key", 7), "{\"a\":[1,2]}"}, {"\xff\x01", "true"}};
  auto decoded = decode_queued_metadata(encode_queued_metadata(metadata));
  ASSERT_TRUE(decoded.is_ok()) << decoded.status().to_string();
  EXPECT_EQ(*decoded, metadata);
  EXPECT_EQ(encode_queued_metadata({}), "");
  EXPECT_EQ(decode_queued_metadata("")->size(), 0u);
}

TEST(QueuedMetadata, ATruncatedRowIsDataCorruptionNotACrash) {
  const std::string bytes = encode_queued_metadata({{"team", "\"hr\""}});
  for (size_t cut = 1; cut < bytes.size(); ++cut) {
    auto decoded = decode_queued_metadata(std::string_view(bytes).substr(0, cut));
    ASSERT_FALSE(decoded.is_ok()) << cut;
    EXPECT_EQ(decoded.status().code(), ErrorCode::kDataCorruption);
  }
  // A length that claims more than the row holds.
  EXPECT_FALSE(decode_queued_metadata(std::string("\xff\xff\xff\x7f" "ab", 6)).is_ok());
}

}  // namespace
}  // namespace kr::store
