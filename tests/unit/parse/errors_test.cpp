// Bad input: every failure is a per-file error with an actionable reason.
#include <gtest/gtest.h>

#include <random>

#include "parse/parser.h"
#include "parse_test_util.h"

namespace kr::parse {
namespace {

using testing::fixture;

Status parse_error(const std::string& name, const Limits& limits = {}) {
  return parse_document(fixture(name), name, limits).status();
}

TEST(ParseErrors, EmptyFile) {
  const Status s = parse_error("empty.txt");
  EXPECT_EQ(s.code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(s.message(), "file is empty");
}

TEST(ParseErrors, TruncatedPdf) {
  EXPECT_EQ(detect_format(fixture("truncated.pdf"), "truncated.pdf"), Format::kPdf);
  EXPECT_EQ(parse_error("truncated.pdf").code(), ErrorCode::kCorruptInput);
}

TEST(ParseErrors, TruncatedDocx) {
  EXPECT_EQ(detect_format(fixture("truncated.docx"), "truncated.docx"), Format::kDocx);
  const Status s = parse_error("truncated.docx");
  EXPECT_EQ(s.code(), ErrorCode::kCorruptInput);
  EXPECT_NE(s.message().find("truncated"), std::string::npos) << s.message();
}

TEST(ParseErrors, MalformedXml) {
  const Status s = parse_error("malformed_xml.docx");
  EXPECT_EQ(s.code(), ErrorCode::kCorruptInput);
  EXPECT_NE(s.message().find("word/document.xml"), std::string::npos) << s.message();
}

TEST(ParseErrors, GarbageBytes) {
  const Status s = parse_error("garbage.bin");
  EXPECT_EQ(s.code(), ErrorCode::kUnsupported);
  EXPECT_EQ(s.message(), "binary file of unknown type");
}

TEST(ParseErrors, ZipBombRejectedByRatio) {
  const Status s = parse_error("zip_bomb.docx");
  EXPECT_EQ(s.code(), ErrorCode::kResourceExhausted) << s.to_string();
  EXPECT_NE(s.message().find("zip bomb"), std::string::npos) << s.message();
}

TEST(ParseErrors, ZipBombRejectedByTotalSize) {
  Limits limits;
  limits.max_zip_ratio = 1e12;
  limits.max_zip_total_bytes = 8 << 20;
  EXPECT_EQ(parse_error("zip_bomb.docx", limits).code(), ErrorCode::kTooLarge);
}

TEST(ParseErrors, DeeplyNestedXml) {
  const Status s = parse_error("deep_xml.docx");
  EXPECT_EQ(s.code(), ErrorCode::kResourceExhausted);
  EXPECT_NE(s.message().find("nested deeper"), std::string::npos) << s.message();
}

TEST(ParseErrors, DeeplyNestedHtml) {
  std::string html = "<html><body>";
  for (int i = 0; i < 50000; ++i) html += "<div>";
  html += "x";
  EXPECT_EQ(parse_document(html, "deep.html").status().code(), ErrorCode::kResourceExhausted);
  std::string shallow = "<html><body>";
  for (int i = 0; i < 300; ++i) shallow += "<span>";
  EXPECT_EQ(parse_document(shallow + "x", "deep.html").status().code(), ErrorCode::kResourceExhausted);
}

TEST(ParseErrors, ManyUnclosedParagraphsAreNotDeep) {
  std::string html = "<html><body>";
  for (int i = 0; i < 20000; ++i) html += "<p>para " + std::to_string(i);
  const auto result = parse_document(html, "flat.html");
  ASSERT_TRUE(result.is_ok()) << result.status().to_string();
  EXPECT_EQ(result->blocks.size(), 20000u);
}

TEST(ParseErrors, ZipThatIsNotOffice) {
  const Status s = parse_error("plain.zip");
  EXPECT_EQ(s.code(), ErrorCode::kUnsupported);
  EXPECT_EQ(s.message(), "zip archive that is not a Word, PowerPoint, Excel, OpenDocument or EPUB document");
}

TEST(ParseErrors, EncryptedOle2) {
  const Status s = parse_error("encrypted_ole2.docx");
  EXPECT_EQ(s.code(), ErrorCode::kEncrypted);
  EXPECT_NE(s.message().find("password-protected Office document"), std::string::npos);
}

TEST(ParseErrors, LegacyOffice) {
  // An OLE2 header naming a WordDocument stream, with no document behind it.
  EXPECT_EQ(detect_format(fixture("legacy.doc"), "legacy.doc"), Format::kDoc);
  const Status s = parse_error("legacy.doc");
  EXPECT_EQ(s.code(), ErrorCode::kCorruptInput) << s.to_string();
  EXPECT_NE(s.message().find("catdoc could not read the file"), std::string::npos) << s.message();
}

TEST(ParseErrors, ImageAndRtf) {
  const Status image = parse_error("image.png");  // a PNG signature and nothing else
  EXPECT_EQ(image.code(), ErrorCode::kCorruptInput) << image.to_string();
  EXPECT_EQ(image.message(), "image is damaged or in a format the OCR cannot read");
}

TEST(ParseErrors, MaxPages) {
  Limits limits;
  limits.max_pages = 2;
  EXPECT_EQ(parse_error("sample.pdf", limits).code(), ErrorCode::kTooLarge);
  limits.max_pages = 1;
  EXPECT_EQ(parse_error("sample.pptx", limits).code(), ErrorCode::kTooLarge);
  EXPECT_EQ(parse_error("sample.xlsx", limits).code(), ErrorCode::kTooLarge);
  limits.max_pages = 3;
  EXPECT_TRUE(parse_document(fixture("sample.pdf"), "sample.pdf", limits).is_ok());
}

TEST(ParseErrors, MaxFileBytes) {
  Limits limits;
  limits.max_file_bytes = 100;
  EXPECT_EQ(parse_error("sample.pdf", limits).code(), ErrorCode::kTooLarge);
}

TEST(ParseErrors, Deadline) {
  Limits limits;
  limits.max_seconds_per_file = -1;  // already past
  EXPECT_EQ(parse_error("sample.pdf", limits).code(), ErrorCode::kDeadlineExceeded);
  EXPECT_EQ(parse_error("sample.docx", limits).code(), ErrorCode::kDeadlineExceeded);
}

TEST(ParseDetect, ByContentNotName) {
  EXPECT_EQ(detect_format(fixture("docx_named.pdf"), "report.pdf"), Format::kDocx);
  EXPECT_EQ(detect_format(fixture("sample.pdf"), "report.docx"), Format::kPdf);
  EXPECT_EQ(detect_format(fixture("sample.pptx"), "x.bin"), Format::kPptx);
  EXPECT_EQ(detect_format(fixture("sample.xlsx"), "x.csv"), Format::kXlsx);
  EXPECT_EQ(detect_format(std::string(100, ' ') + "%PDF-1.7\n", "x"), Format::kPdf);
}

TEST(ParseDetect, TextLikeFormats) {
  EXPECT_EQ(detect_format("# Title\n\ntext", "a.md"), Format::kMarkdown);
  EXPECT_EQ(detect_format("# Title\n\ntext", "a.txt"), Format::kText);
  EXPECT_EQ(detect_format("a,b\n1,2\n", "a.csv"), Format::kCsv);
  EXPECT_EQ(detect_format("a\tb\n1\t2\n", "a.TSV"), Format::kCsv);
  EXPECT_EQ(detect_format("  <!DOCTYPE HTML><p>x", "a.txt"), Format::kHtml);
  EXPECT_EQ(detect_format("<div>hello</div>", "page"), Format::kHtml);
  EXPECT_EQ(detect_format("no markup here", "a.html"), Format::kText);
  EXPECT_EQ(detect_format("x < y and <p> later", "a.txt"), Format::kText);
}

TEST(ParseText, EncodingsDecoded) {
  auto utf16 = parse_document(fixture("utf16_bom.txt"), "utf16_bom.txt");
  ASSERT_TRUE(utf16.is_ok());
  EXPECT_EQ(utf16->blocks.at(0).text, "UTF-16 text \xC3\xBC" "ber alles");
  auto latin1 = parse_document(fixture("latin1.txt"), "latin1.txt");
  ASSERT_TRUE(latin1.is_ok());
  EXPECT_EQ(latin1->blocks.at(0).text, "Caf\xC3\xA9 cr\xC3\xA8me br\xC3\xBBl\xC3\xA9" "e \xE2\x80\x93 \xE2\x82\xAC" "5");
}

TEST(ParsePdf, AllPagesBlankSucceedsWithOcrWarning) {
  auto doc = parse_document(fixture("blank.pdf"), "blank.pdf");
  ASSERT_TRUE(doc.is_ok()) << doc.status().to_string();
  EXPECT_TRUE(doc->blocks.empty());
  EXPECT_EQ(doc->page_count, 2);
  EXPECT_EQ(doc->pages_needing_ocr, (std::vector<int>{1, 2}));
  ASSERT_EQ(doc->warnings.size(), 2u);
  EXPECT_NE(doc->warnings[0].find("needs OCR"), std::string::npos);
}

// Truncations and byte flips of every fixture: errors are fine, crashes and throws are not.
TEST(ParseRobustness, MutatedFixturesNeverCrash) {
  std::mt19937 rng(42);
  for (const char* name : {"sample.pdf", "sample.docx", "sample.pptx", "sample.xlsx", "sample.html", "sample.md",
                           "sample.csv", "utf16_bom.txt", "sample.rtf", "sample.eml", "sample.xml", "sample.json",
                           "sample.odt", "sample.ods", "sample.epub", "tables.docx"}) {
    const std::string original = fixture(name);
    for (int round = 0; round < 40; ++round) {
      std::string bytes = original;
      if (round % 2 == 0) {
        bytes.resize(rng() % bytes.size());
      } else {
        for (int k = 0; k < 8; ++k) bytes[rng() % bytes.size()] = static_cast<char>(rng());
      }
      const auto result = parse_document(bytes, name);
      if (!result.is_ok()) {
        EXPECT_FALSE(result.status().message().empty()) << name;
      }
    }
  }
}

}  // namespace
}  // namespace kr::parse
