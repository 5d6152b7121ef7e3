#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "generate/llm_client.h"

namespace kr::generate {
namespace {

std::vector<std::string> feed_all(const std::vector<std::string>& pieces) {
  SseParser parser;
  std::vector<std::string> events;
  for (const std::string& piece : pieces) {
    for (std::string& e : parser.feed(piece)) events.push_back(std::move(e));
  }
  return events;
}

const std::string kStream =
    "data: {\"a\":1}\n\n"
    ": keep-alive comment\n\n"
    "event: message\nid: 7\ndata: first line\ndata:second line\n\n"
    "data:  two spaces, one stripped\r\n\r\n"
    "data: trailing space kept \n\n"
    "retry: 1000\n\n"
    "data: [DONE]\n\n";

const std::vector<std::string> kExpected = {"{\"a\":1}", "first line\nsecond line", " two spaces, one stripped",
                                            "trailing space kept ", "[DONE]"};

TEST(SseParser, ParsesEventsInOneFeed) { EXPECT_EQ(feed_all({kStream}), kExpected); }

TEST(SseParser, SplitAtEveryBytePosition) {
  for (size_t cut = 0; cut <= kStream.size(); ++cut) {
    EXPECT_EQ(feed_all({kStream.substr(0, cut), kStream.substr(cut)}), kExpected) << "cut at " << cut;
  }
}

TEST(SseParser, ByteAtATime) {
  std::vector<std::string> bytes;
  for (char c : kStream) bytes.emplace_back(1, c);
  EXPECT_EQ(feed_all(bytes), kExpected);
}

TEST(SseParser, CrLfSeparatorsSplitEverywhere) {
  const std::string crlf = "data: one\r\n\r\ndata: two\r\ndata: three\r\n\r\n";
  const std::vector<std::string> expected = {"one", "two\nthree"};
  for (size_t a = 0; a <= crlf.size(); ++a) {
    for (size_t b = a; b <= crlf.size(); ++b) {
      EXPECT_EQ(feed_all({crlf.substr(0, a), crlf.substr(a, b - a), crlf.substr(b)}), expected)
          << "cuts at " << a << "," << b;
    }
  }
}

TEST(SseParser, BareCarriageReturnsEndLines) {
  EXPECT_EQ(feed_all({"data: x\r\rdata: y\r", "\r"}), (std::vector<std::string>{"x", "y"}));
}

TEST(SseParser, IncompleteEventIsHeldBack) {
  SseParser parser;
  EXPECT_TRUE(parser.feed("data: partial").empty());
  EXPECT_TRUE(parser.feed("\n").empty());
  EXPECT_EQ(parser.feed("\n"), std::vector<std::string>{"partial"});
}

TEST(SseParser, CommentsAndBlankLinesAloneProduceNothing) {
  EXPECT_TRUE(feed_all({":ping\n\n\n\n: another\n\n"}).empty());
}

TEST(SseParser, EmptyDataLineIsAnEvent) {
  EXPECT_EQ(feed_all({"data\n\ndata:\n\n"}), (std::vector<std::string>{"", ""}));
}

TEST(SseParser, ColonInsideValueIsKept) {
  EXPECT_EQ(feed_all({"data: {\"k\": \"a:b\"}\n\n"}), std::vector<std::string>{"{\"k\": \"a:b\"}"});
}

}  // namespace
}  // namespace kr::generate
