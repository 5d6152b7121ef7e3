// Golden tests: each fixture's parse, serialized, must match
// tests/golden/parse/<fixture>.txt exactly. KR_UPDATE_GOLDEN=1 rewrites them.
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>

#include "core/text.h"
#include "parse/parser.h"
#include "parse_test_util.h"

namespace kr::parse {
namespace {

std::string_view kind_name(BlockKind kind) {
  switch (kind) {
    case BlockKind::kParagraph: return "paragraph";
    case BlockKind::kHeading: return "heading";
    case BlockKind::kListItem: return "list_item";
    case BlockKind::kTableRow: return "table_row";
    case BlockKind::kCode: return "code";
    case BlockKind::kNote: return "note";
  }
  return "?";
}

std::string escape(std::string_view s) {
  std::string out;
  for (char c : s) {
    if (c == '\n') out += "\\n";
    else if (c == '\t') out += "\\t";
    else if (c == '\\') out += "\\\\";
    else out += c;
  }
  return out;
}

// One header line per document field, then "page|kind|heading > path|text" per block.
std::string serialize(const ParsedDocument& doc) {
  std::string out = "format: " + std::string(format_name(doc.format)) + "\n";
  out += "title: " + escape(doc.title) + "\n";
  out += "page_count: " + std::to_string(doc.page_count) + "\n";
  out += "pages_needing_ocr:";
  for (int p : doc.pages_needing_ocr) out += " " + std::to_string(p);
  out += "\n";
  for (const auto& w : doc.warnings) out += "warning: " + escape(w) + "\n";
  out += "---\n";
  for (const auto& b : doc.blocks) {
    std::string path;
    for (const auto& h : b.heading_path) path += (path.empty() ? "" : " > ") + h;
    out += std::to_string(b.page) + "|" + std::string(kind_name(b.kind)) + "|" + escape(path) + "|" + escape(b.text) + "\n";
  }
  return out;
}

// Invariants every parsed document must hold, whatever the format.
void expect_well_formed(const ParsedDocument& doc) {
  const std::string text = full_text(doc);
  for (const auto& b : doc.blocks) {
    EXPECT_FALSE(b.text.empty());
    EXPECT_TRUE(is_valid_utf8(b.text));
    EXPECT_EQ(b.text.find('\0'), std::string::npos);
    EXPECT_EQ(trim(b.text), b.text);
    ASSERT_LE(b.char_end, text.size());
    EXPECT_EQ(text.substr(b.char_begin, b.char_end - b.char_begin), b.text);
  }
}

class GoldenTest : public ::testing::TestWithParam<const char*> {};

TEST_P(GoldenTest, MatchesGolden) {
  const std::string name = GetParam();
  const auto result = parse_document(testing::fixture(name), name);
  ASSERT_TRUE(result.is_ok()) << result.status().to_string();
  expect_well_formed(*result);
  const std::string actual = serialize(*result);
  const std::string golden_path = std::string(KR_GOLDEN_DIR) + "/parse/" + name + ".txt";
  const char* update = std::getenv("KR_UPDATE_GOLDEN");
  if (update != nullptr && std::string(update) == "1") {
    std::ofstream(golden_path, std::ios::binary) << actual;
    GTEST_SKIP() << "rewrote " << golden_path;
  }
  EXPECT_EQ(actual, testing::read_file(golden_path)) << "golden: " << golden_path
                                                     << " (KR_UPDATE_GOLDEN=1 to rewrite)";
}

INSTANTIATE_TEST_SUITE_P(Fixtures, GoldenTest,
                         ::testing::Values("sample.txt", "utf16_bom.txt", "utf16be_nobom.txt", "latin1.txt",
                                           "sample.md", "sample.csv", "semicolon.csv", "sample.html", "cp1252.html",
                                           "sample.pdf", "blank.pdf", "sample.docx", "docx_named.pdf", "sample.pptx",
                                           "sample.xlsx", "sample.xml", "utf16.xml", "billion_laughs.xml",
                                           "sample.json", "sample.ndjson", "not_json.json", "tables.html",
                                           "tables.docx", "sample.rtf", "doc.rtf", "sample.odt",
                                           "sample.ods", "sample.odp", "sample.epub", "sample.eml"),
                         [](const ::testing::TestParamInfo<const char*>& param) {
                           std::string n = param.param;
                           for (char& c : n) {
                             if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
                           }
                           return n;
                         });

}  // namespace
}  // namespace kr::parse
