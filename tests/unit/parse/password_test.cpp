// Password-protected PDFs from ../shared/corpus (its README lists the passwords):
// opened with the right password, refused with a clear message otherwise.
// Runs whenever ../shared exists.
#include <gtest/gtest.h>

#include <filesystem>

#include "parse/parser.h"
#include "parse_test_util.h"

namespace kr::parse {
namespace {

namespace fs = std::filesystem;

fs::path corpus() {
  const char* env = std::getenv("KR_CORPUS_DIR");
  return env != nullptr ? fs::path(env) : fs::path(KR_SOURCE_DIR) / ".." / "shared" / "corpus";
}

class PasswordPdf : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!fs::is_directory(corpus())) GTEST_SKIP() << corpus().string() << " (…/shared/corpus) not present";
  }
  static std::string bytes(const std::string& rel) { return testing::read_file((corpus() / rel).string()); }
};

TEST_F(PasswordPdf, OpensWithUserOwnerAndNonAsciiPasswords) {
  struct Case { const char* file; const char* password; };
  for (const Case& c : {Case{"pdf/py-pdf-sample-files/005-libreoffice-writer-password__libreoffice-writer-password.pdf", "openpassword"},
                        Case{"pdf/py-pdf-sample-files/005-libreoffice-writer-password__libreoffice-writer-password.pdf", "permissionpassword"},
                        Case{"pdf/pdfjs-hard/issue6010_1.pdf", "abc"},
                        Case{"pdf/pdfjs-hard/issue3371.pdf", "ELXRTQWS"}}) {
    const std::string pdf = bytes(c.file);
    EXPECT_EQ(parse_document(pdf, "x.pdf").status().code(), ErrorCode::kEncrypted) << c.file;
    const auto doc = parse_document(pdf, "x.pdf", {}, c.password);
    ASSERT_TRUE(doc.is_ok()) << c.file << ": " << doc.status().to_string();
    EXPECT_GT(doc->page_count, 0) << c.file;
  }
}

TEST_F(PasswordPdf, LibreOfficeFileTextReadable) {
  const auto doc = parse_document(
      bytes("pdf/py-pdf-sample-files/005-libreoffice-writer-password__libreoffice-writer-password.pdf"), "x.pdf", {},
      "openpassword");
  ASSERT_TRUE(doc.is_ok()) << doc.status().to_string();
  EXPECT_FALSE(doc->blocks.empty());
}

TEST_F(PasswordPdf, NonAsciiPasswordAes256) {
  const auto doc = parse_document(bytes("pdf/pdfjs-hard/issue21579.pdf"), "x.pdf", {}, "p\xC3\xA4ssw\xC3\xB6rt");
  ASSERT_TRUE(doc.is_ok()) << doc.status().to_string();
  EXPECT_NE(full_text(*doc).find("If you can read this, decryption succeeded."), std::string::npos) << full_text(*doc);
}

TEST_F(PasswordPdf, WrongPasswordIsSaid) {
  const Status s = parse_document(bytes("pdf/pdfjs-hard/issue6010_1.pdf"), "x.pdf", {}, "wrong").status();
  EXPECT_EQ(s.code(), ErrorCode::kEncrypted);
  EXPECT_EQ(s.message(), "the password given does not open this PDF; check it and upload again");
}

TEST_F(PasswordPdf, LegacyEncryptedWordSaysItCannotBeOpenedYet) {
  const Status s = parse_document(bytes("office/tika/testWORD_protected_passtika.doc"), "x.doc", {}, "tika").status();
  EXPECT_EQ(s.code(), ErrorCode::kEncrypted);
  EXPECT_NE(s.message().find("cannot open legacy encrypted Office files"), std::string::npos) << s.message();
}

}  // namespace
}  // namespace kr::parse
