// OCR: images and scanned PDF pages rendered from known text (tests/fixtures/parse/ocr_expected.txt,
// see scripts/make_parse_fixtures.py) must come back with high character accuracy.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <vector>

#include "core/text.h"
#include "parse/parser.h"
#include "parse_test_util.h"

namespace kr::parse {
namespace {

using testing::fixture;

std::string normalized(std::string_view s) {
  std::string out;
  for (const char c : s) {
    const bool space = c == ' ' || c == '\n' || c == '\t' || c == '\r';
    if (space && (out.empty() || out.back() == ' ')) continue;
    out += space ? ' ' : c;
  }
  while (!out.empty() && out.back() == ' ') out.pop_back();
  return out;
}

size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diagonal = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      const size_t up = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = up;
    }
  }
  return row[b.size()];
}

// 1 - (edit distance / expected length), whitespace-normalized: the usual OCR character accuracy.
double char_accuracy(std::string_view expected, std::string_view actual) {
  const std::string e = normalized(expected), a = normalized(actual);
  return 1.0 - static_cast<double>(edit_distance(e, a)) / static_cast<double>(e.size());
}

std::string page_text(const ParsedDocument& doc, int page) {
  std::string out;
  for (const auto& b : doc.blocks) {
    if (b.page == page) out += b.text + "\n";
  }
  return out;
}

class OcrAccuracy : public ::testing::TestWithParam<std::pair<const char*, double>> {};

TEST_P(OcrAccuracy, RecognisesRenderedText) {
  const auto [name, min_accuracy] = GetParam();
  const auto doc = parse_document(fixture(name), name);
  ASSERT_TRUE(doc.is_ok()) << doc.status().to_string();
  const std::string text = page_text(*doc, 1);
  const double accuracy = char_accuracy(fixture("ocr_expected.txt"), text);
  std::printf("OCR character accuracy %-12s %.4f\n", name, accuracy);
  EXPECT_GE(accuracy, min_accuracy) << text;
  EXPECT_NE(text.find("1,250.40"), std::string::npos) << text;
  EXPECT_TRUE(doc->pages_needing_ocr.empty());
  ASSERT_FALSE(doc->warnings.empty());
  EXPECT_NE(doc->warnings[0].find("text from OCR (eng), mean confidence"), std::string::npos) << doc->warnings[0];
}

INSTANTIATE_TEST_SUITE_P(Fixtures, OcrAccuracy,
                         ::testing::Values(std::pair{"ocr.png", 0.98}, std::pair{"ocr.jpg", 0.98},
                                           std::pair{"ocr.tiff", 0.95}, std::pair{"scanned.pdf", 0.98}),
                         [](const auto& param) {
                           std::string n = param.param.first;
                           std::replace(n.begin(), n.end(), '.', '_');
                           return n;
                         });

TEST(Ocr, ScannedPdfIsDetectedAndKeepsPages) {
  const auto doc = parse_document(fixture("scanned.pdf"), "scan.pdf");
  ASSERT_TRUE(doc.is_ok()) << doc.status().to_string();
  EXPECT_EQ(doc->format, Format::kPdf);
  EXPECT_EQ(doc->page_count, 1);
  for (const auto& b : doc->blocks) EXPECT_EQ(b.page, 1);
}

TEST(Ocr, MultiPageTiffGivesOnePagePerImage) {
  const auto doc = parse_document(fixture("ocr.tiff"), "scan.tiff");
  ASSERT_TRUE(doc.is_ok()) << doc.status().to_string();
  EXPECT_EQ(doc->format, Format::kImage);
  EXPECT_EQ(doc->page_count, 2);
  EXPECT_NE(page_text(*doc, 2).find("42 apples"), std::string::npos) << page_text(*doc, 2);
}

TEST(Ocr, TextLayerPagesAreNotOcred) {
  const auto doc = parse_document(fixture("sample.pdf"), "sample.pdf");
  ASSERT_TRUE(doc.is_ok());
  for (const auto& w : doc->warnings) EXPECT_EQ(w.find("text from OCR"), std::string::npos) << w;
  EXPECT_EQ(doc->pages_needing_ocr, std::vector<int>{2});  // the blank page stays blank
}

TEST(Ocr, DisabledLeavesPagesForLater) {
  Limits limits;
  limits.ocr_enabled = false;
  const auto pdf = parse_document(fixture("scanned.pdf"), "scan.pdf", limits);
  ASSERT_TRUE(pdf.is_ok());
  EXPECT_TRUE(pdf->blocks.empty());
  EXPECT_EQ(pdf->pages_needing_ocr, std::vector<int>{1});
  const Status image = parse_document(fixture("ocr.png"), "x.png", limits).status();
  EXPECT_EQ(image.code(), ErrorCode::kUnsupported);
  EXPECT_NE(image.message().find("OCR is turned off"), std::string::npos) << image.message();
}

TEST(Ocr, MissingOrInvalidLanguageIsExplained) {
  Limits limits;
  limits.ocr_language = "xyz";
  const Status missing = parse_document(fixture("ocr.png"), "x.png", limits).status();
  EXPECT_EQ(missing.code(), ErrorCode::kUnsupported);
  EXPECT_NE(missing.message().find("tesseract-ocr-xyz"), std::string::npos) << missing.message();
  limits.ocr_language = "../../etc/passwd";
  const Status invalid = parse_document(fixture("ocr.png"), "x.png", limits).status();
  EXPECT_EQ(invalid.code(), ErrorCode::kInvalidArgument) << invalid.to_string();
  // A PDF still parses; the page is left for OCR with the reason.
  const auto pdf = parse_document(fixture("scanned.pdf"), "scan.pdf", limits);
  ASSERT_TRUE(pdf.is_ok());
  EXPECT_EQ(pdf->pages_needing_ocr, std::vector<int>{1});
  EXPECT_NE(pdf->warnings.at(0).find("OCR is unavailable"), std::string::npos) << pdf->warnings.at(0);
}

TEST(Ocr, HugeImageDimensionsAreRefusedBeforeDecoding) {
  // A PNG header claiming 100000 x 100000 pixels.
  // Signature, IHDR length and type, width, height, depth/colour/compression/filter/interlace:
  // 29 bytes of the literal (no more: ASan); the CRC and what follows are zeros.
  std::string png("\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\x01\x86\xa0\0\x01\x86\xa0\x08\0\0\0\0", 29);
  png += std::string(4 + 64, '\0');
  const Status s = parse_document(png, "bomb.png").status();
  EXPECT_EQ(s.code(), ErrorCode::kTooLarge) << s.to_string();
}

}  // namespace
}  // namespace kr::parse
