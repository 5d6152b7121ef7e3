// Outlook .msg: a fixture built with an independent compound-file writer and
// checked with msgconvert (scripts/make_msg_fixture.mjs): headers, body,
// attachments as sections, an attached message one level down.
#include <gtest/gtest.h>

#include "parse/parser.h"
#include "parse_test_util.h"

namespace kr::parse {
namespace {

TEST(Msg, HeadersBodyAndAttachments) {
  const std::string bytes = testing::fixture("sample.msg");
  EXPECT_EQ(detect_format(bytes, "mail.bin"), Format::kMsg);
  const auto doc = parse_document(bytes, "sample.msg");
  ASSERT_TRUE(doc.is_ok()) << doc.status().to_string();
  EXPECT_EQ(doc->format, Format::kMsg);
  EXPECT_EQ(format_name(doc->format), "msg");
  EXPECT_EQ(doc->title, "Quarterly résumé");
  ASSERT_GE(doc->blocks.size(), 5u) << full_text(*doc);
  EXPECT_EQ(doc->blocks[0].text,
            "From: Ada Lovelace <ada@example.com>\nTo: Team Kaito\nCc: Grace Hopper\nDate: 2024-01-02 10:30:00 UTC\n"
            "Subject: Quarterly résumé");
  EXPECT_TRUE(doc->blocks[0].heading_path.empty());
  const std::string text = full_text(*doc);
  EXPECT_NE(text.find("Café numbers are up."), std::string::npos) << text;
  EXPECT_NE(text.find("The Zürich office reports a record quarter."), std::string::npos) << text;

  bool csv_row = false, inner_header = false, inner_body = false;
  for (const auto& b : doc->blocks) {
    const std::vector<std::string> csv_path = {"Attachment: stock.csv"};
    const std::vector<std::string> inner_path = {"Attachment: Supplier note"};
    if (b.text == "sku: B7; qty: 12") csv_row = b.heading_path == csv_path;
    if (b.text == "From: Lin Wu\nDate: 2023-12-29 08:00:00 UTC\nSubject: Supplier note") inner_header = b.heading_path == inner_path;
    if (b.text == "The supplier ships the spare parts on Friday.") inner_body = b.heading_path == inner_path;
  }
  EXPECT_TRUE(csv_row) << text;
  EXPECT_TRUE(inner_header) << text;
  EXPECT_TRUE(inner_body) << text;
  ASSERT_EQ(doc->warnings.size(), 1u);
  EXPECT_EQ(doc->warnings[0], "attachment 'blob.bin' was not indexed: binary file of unknown type");
}

TEST(Msg, DamagedMessageFailsCleanly) {
  const std::string bytes = testing::fixture("sample.msg");
  for (const size_t keep : {bytes.size() - 512, bytes.size() / 2, size_t{700}}) {
    const auto doc = parse_document(bytes.substr(0, keep), "cut.msg");
    if (doc.is_ok()) continue;  // a cut that only loses unread sectors still parses
    EXPECT_NE(doc.status().code(), ErrorCode::kInternal) << keep << ": " << doc.status().to_string();
    EXPECT_FALSE(doc.status().message().empty());
  }
}

}  // namespace
}  // namespace kr::parse
