// XLSB (Excel binary workbook): a committed fixture written by SheetJS
// (scripts/make_xlsb_fixture.mjs) and the real Excel-written file in
// ../shared/corpus; damaged record streams fail cleanly.
#include <gtest/gtest.h>

#include <filesystem>

#include "parse/parser.h"
#include "parse_test_util.h"

namespace kr::parse {
namespace {

namespace fs = std::filesystem;

std::vector<std::string> blocks_on_page(const ParsedDocument& doc, int page) {
  std::vector<std::string> out;
  for (const auto& b : doc.blocks) {
    if (b.page == page) out.push_back(b.text);
  }
  return out;
}

TEST(Xlsb, RowsCarryTheirHeadersAndValues) {
  const auto doc = parse_document(testing::fixture("sample.xlsb"), "sample.xlsb");
  ASSERT_TRUE(doc.is_ok()) << doc.status().to_string();
  EXPECT_EQ(doc->format, Format::kXlsb);
  EXPECT_EQ(format_name(doc->format), "xlsb");
  EXPECT_EQ(doc->page_count, 2);
  const auto revenue = blocks_on_page(*doc, 1);
  ASSERT_EQ(revenue.size(), 3u) << full_text(*doc);
  EXPECT_EQ(revenue[0], "Region: North; Quarter: Q1; Revenue: 1250; Share: 0.25; Audited: TRUE; Total: 1250.25");
  EXPECT_EQ(revenue[1], "Region: Süd; Quarter: Q2; Revenue: 98765.4321; Share: 0.125; Audited: FALSE");
  EXPECT_EQ(revenue[2], "Region: East; Quarter: Q3; Revenue: -42; Share: 1e-07; Audited: TRUE");
  for (const auto& b : doc->blocks) {
    ASSERT_FALSE(b.heading_path.empty());
    EXPECT_EQ(b.heading_path[0], b.page == 1 ? "Revenue 2024" : "Notes");
    EXPECT_EQ(b.kind, BlockKind::kTableRow);
  }
  const auto notes = blocks_on_page(*doc, 2);
  EXPECT_EQ(notes, (std::vector<std::string>{"Notes", "Kaito reads binary workbooks.", "Zürich office opened in March."}));
}

TEST(Xlsb, DamagedRecordStreamFailsCleanly) {
  // An intact zip whose first sheet ends inside a record (scripts/make_parse_fixtures.py).
  const auto doc = parse_document(testing::fixture("damaged.xlsb"), "damaged.xlsb");
  ASSERT_FALSE(doc.is_ok());
  EXPECT_EQ(doc.status().code(), ErrorCode::kCorruptInput) << doc.status().to_string();
  EXPECT_NE(doc.status().message().find("xl/worksheets/sheet1.bin"), std::string::npos) << doc.status().to_string();
}

TEST(Xlsb, ExcelWrittenWorkbookFromCorpus) {
  const char* env = std::getenv("KR_CORPUS_DIR");
  const fs::path path = (env != nullptr ? fs::path(env) : fs::path(KR_SOURCE_DIR) / ".." / "shared" / "corpus") /
                        "office" / "tika" / "testEXCEL.xlsb";
  if (!fs::exists(path)) GTEST_SKIP() << path.string() << " (…/shared/corpus) not present";
  const auto doc = parse_document(testing::read_file(path.string()), "testEXCEL.xlsb");
  ASSERT_TRUE(doc.is_ok()) << doc.status().to_string();
  EXPECT_EQ(doc->format, Format::kXlsb);
  const std::string text = full_text(*doc);
  EXPECT_EQ(doc->page_count, 3);
  EXPECT_NE(text.find("This is an example spreadsheet created"), std::string::npos) << text;
}

}  // namespace
}  // namespace kr::parse
