// Password-protected OOXML: Agile encryption (fixtures written by msoffcrypto-tool,
// scripts/make_encrypted_fixtures.py) and Standard encryption (Office 2007 files
// in ../shared/corpus, password "tika"); missing and wrong passwords are told apart.
#include <gtest/gtest.h>

#include <filesystem>

#include "parse/parser.h"
#include "parse_test_util.h"

namespace kr::parse {
namespace {

namespace fs = std::filesystem;

constexpr const char* kFixturePassword = "Kaito-Pa55 \xC3\xBC\xF0\x9F\x94\x91";  // "Kaito-Pa55 ü🔑"

fs::path tika() {
  const char* env = std::getenv("KR_CORPUS_DIR");
  return (env != nullptr ? fs::path(env) : fs::path(KR_SOURCE_DIR) / ".." / "shared" / "corpus") / "office" / "tika";
}

TEST(OfficePassword, AgileDocxDecryptsToTheSameDocument) {
  for (const char* name : {"docx", "xlsx"}) {
    const auto plain = parse_document(testing::fixture(std::string("sample.") + name), "plain");
    const auto doc = parse_document(testing::fixture(std::string("encrypted_agile.") + name), "x", {}, kFixturePassword);
    ASSERT_TRUE(plain.is_ok() && doc.is_ok()) << name << ": " << doc.status().to_string();
    EXPECT_EQ(format_name(doc->format), name);
    EXPECT_FALSE(doc->blocks.empty()) << name;
    EXPECT_EQ(full_text(*doc), full_text(*plain)) << name;
  }
}

TEST(OfficePassword, MissingPasswordAsksForIt) {
  const Status s = parse_document(testing::fixture("encrypted_agile.docx"), "x.docx").status();
  EXPECT_EQ(s.code(), ErrorCode::kEncrypted);
  EXPECT_EQ(s.message(), "Office document is password-protected; upload it again with its password (form field "
                         "'password'; CLI: ingest --password-file) or remove the password in Office (File > Info > Protect > Encrypt with Password)");
}

TEST(OfficePassword, WrongPasswordIsSaid) {
  for (const char* wrong : {"kaito-pa55 \xC3\xBC\xF0\x9F\x94\x91", "Kaito-Pa55 \xC3\xBC", "x"}) {
    const Status s = parse_document(testing::fixture("encrypted_agile.docx"), "x.docx", {}, wrong).status();
    EXPECT_EQ(s.code(), ErrorCode::kEncrypted) << wrong;
    EXPECT_EQ(s.message(), "the password given does not open this Office document; check it and upload again");
  }
}

TEST(OfficePassword, KeyDerivationStopsAtTheFileDeadline) {
  Limits limits;
  limits.max_seconds_per_file = 0.001;  // far less than 100,000 SHA-512 rounds take
  const Status s = parse_document(testing::fixture("encrypted_agile.docx"), "x.docx", limits, kFixturePassword).status();
  EXPECT_EQ(s.code(), ErrorCode::kDeadlineExceeded) << s.to_string();
}

TEST(OfficePassword, DamagedContainerFailsCleanly) {
  std::string bytes = testing::fixture("encrypted_agile.docx");
  for (const size_t keep : {bytes.size() / 2, size_t{1024}, size_t{600}}) {
    const Status s = parse_document(bytes.substr(0, keep), "x.docx", {}, kFixturePassword).status();
    EXPECT_FALSE(s.is_ok()) << keep;
    EXPECT_NE(s.code(), ErrorCode::kInternal) << keep << ": " << s.to_string();
  }
}

class OfficePasswordCorpus : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!fs::is_directory(tika())) GTEST_SKIP() << tika().string() << " (…/shared/corpus) not present";
  }
  static Result<ParsedDocument> parse(const std::string& name, const std::string& password) {
    return parse_document(testing::read_file((tika() / name).string()), name, {}, password);
  }
};

TEST_F(OfficePasswordCorpus, StandardEncryptionWithPassword) {
  struct Case { const char* file; Format format; const char* text; };
  for (const Case& c : {Case{"testWORD_protected_passtika.docx", Format::kDocx, "This is an encrypted Word 2007 File"},
                        Case{"testEXCEL_protected_passtika.xlsx", Format::kXlsx, "This is an Encrypted Excel spreadsheet."},
                        Case{"testPPT_protected_passtika.pptx", Format::kPptx, "This is an encrypted PowerPoint 2007 slide."}}) {
    EXPECT_EQ(parse(c.file, "").status().code(), ErrorCode::kEncrypted) << c.file;
    EXPECT_EQ(parse(c.file, "wrong").status().code(), ErrorCode::kEncrypted) << c.file;
    const auto doc = parse(c.file, "tika");
    ASSERT_TRUE(doc.is_ok()) << c.file << ": " << doc.status().to_string();
    EXPECT_EQ(doc->format, c.format) << c.file;
    EXPECT_NE(full_text(*doc).find(c.text), std::string::npos) << c.file << ": " << full_text(*doc);
  }
}

TEST_F(OfficePasswordCorpus, ExcelDefaultPasswordOpensWithoutAsking) {
  const auto doc = parse("protectedFile.xlsx", "");
  ASSERT_TRUE(doc.is_ok()) << doc.status().to_string();
  EXPECT_EQ(doc->format, Format::kXlsx);
  EXPECT_NE(full_text(*doc).find("Office"), std::string::npos) << full_text(*doc);
}

}  // namespace
}  // namespace kr::parse
