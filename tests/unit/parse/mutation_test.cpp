// The binary readers added for issue 13 (BIFF12 in .xlsb, the OLE2 container
// and MAPI streams of .msg) on deterministic byte flips and truncations of
// their fixtures: every input parses or fails with a per-file error, never a
// crash or an internal error. (libFuzzer targets cover this more deeply in the
// fuzz suite; this runs with every unit test run.)
#include <gtest/gtest.h>

#include <random>

#include "parse/parser.h"
#include "parse_test_util.h"

namespace kr::parse {
namespace {

void mutate_and_parse(const std::string& fixture, int rounds) {
  const std::string original = testing::fixture(fixture);
  std::mt19937 random(20261201);
  int parsed = 0;
  for (int round = 0; round < rounds; ++round) {
    std::string bytes = original;
    const int flips = 1 + static_cast<int>(random() % 8);
    for (int k = 0; k < flips; ++k) bytes[random() % bytes.size()] = static_cast<char>(random() & 0xFF);
    if (round % 4 == 0) bytes.resize(random() % bytes.size() + 1);
    const auto doc = parse_document(bytes, fixture);
    if (doc.is_ok()) {
      ++parsed;
      continue;
    }
    ASSERT_NE(doc.status().code(), ErrorCode::kInternal) << fixture << " round " << round << ": " << doc.status().to_string();
    ASSERT_FALSE(doc.status().message().empty()) << fixture << " round " << round;
  }
  // Most single-byte flips land in data, not structure: the reader keeps going.
  EXPECT_GT(parsed, 0) << fixture;
}

TEST(BinaryReaders, MutatedXlsbFailsCleanly) { mutate_and_parse("sample.xlsb", 3000); }
TEST(BinaryReaders, MutatedMsgFailsCleanly) { mutate_and_parse("sample.msg", 3000); }

}  // namespace
}  // namespace kr::parse
