// Legacy binary Office files (catdoc, xls2csv, catppt as isolated child
// processes) on real files from ../shared/corpus: no generator can write these
// formats, so they are not committed fixtures. Runs whenever ../shared exists.
#include <gtest/gtest.h>

#include <filesystem>

#include "parse/parser.h"
#include "parse_test_util.h"

namespace kr::parse {
namespace {

namespace fs = std::filesystem;

fs::path tika() {
  const char* env = std::getenv("KR_CORPUS_DIR");
  return (env != nullptr ? fs::path(env) : fs::path(KR_SOURCE_DIR) / ".." / "shared" / "corpus") / "office" / "tika";
}

Result<ParsedDocument> parse_corpus(const std::string& name) {
  return parse_document(testing::read_file((tika() / name).string()), name);
}

class LegacyOffice : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!fs::is_directory(tika())) GTEST_SKIP() << tika().string() << " (…/shared/corpus) not present";
  }
};

TEST_F(LegacyOffice, WordDocument) {
  const auto doc = parse_corpus("testWORD.doc");
  ASSERT_TRUE(doc.is_ok()) << doc.status().to_string();
  EXPECT_EQ(doc->format, Format::kDoc);
  const std::string text = full_text(*doc);
  EXPECT_NE(text.find("Sample Word Document Title"), std::string::npos) << text;
  EXPECT_NE(text.find("This is a sample Microsoft Word Document."), std::string::npos) << text;
}

TEST_F(LegacyOffice, Word6Document) {
  const auto doc = parse_corpus("testWORD6.doc");
  ASSERT_TRUE(doc.is_ok()) << doc.status().to_string();
  EXPECT_NE(full_text(*doc).find("The quick brown fox jumps over the lazy dog"), std::string::npos);
}

TEST_F(LegacyOffice, ExcelRowsCarryHeaders) {
  const auto doc = parse_corpus("testEXCEL.xls");
  ASSERT_TRUE(doc.is_ok()) << doc.status().to_string();
  EXPECT_EQ(doc->format, Format::kXls);
  const std::string text = full_text(*doc);
  EXPECT_NE(text.find("Number: 3; Square: 9"), std::string::npos) << text;
}

TEST_F(LegacyOffice, PowerPoint) {
  const auto doc = parse_corpus("testPPT.ppt");
  ASSERT_TRUE(doc.is_ok()) << doc.status().to_string();
  EXPECT_EQ(doc->format, Format::kPpt);
  EXPECT_NE(full_text(*doc).find("Sample Powerpoint Slide"), std::string::npos);
}

TEST_F(LegacyOffice, EncryptedWordStaysEncrypted) {
  EXPECT_EQ(parse_corpus("testWORD_protected_passtika.doc").status().code(), ErrorCode::kEncrypted);
}

TEST_F(LegacyOffice, WordPerfectIsRefusedClearly) {
  const Status s = parse_corpus("testWordPerfect_42.doc").status();
  EXPECT_FALSE(s.is_ok());
  EXPECT_FALSE(s.message().empty());
}

}  // namespace
}  // namespace kr::parse
