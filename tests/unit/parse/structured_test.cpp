// XML and JSON as structured text: paths instead of tags, bounded nesting, no entity expansion.
#include <gtest/gtest.h>

#include "parse/parser.h"
#include "parse_test_util.h"

namespace kr::parse {
namespace {

using testing::fixture;

TEST(ParseStructured, DetectedFromContentAndName) {
  EXPECT_EQ(detect_format(fixture("sample.xml"), "catalog.txt"), Format::kXml);
  EXPECT_EQ(detect_format(fixture("utf16.xml"), "data"), Format::kXml);
  EXPECT_EQ(detect_format(fixture("sample.json"), "inventory"), Format::kJson);
  EXPECT_EQ(detect_format(fixture("sample.ndjson"), "x.ndjson"), Format::kJson);
  EXPECT_EQ(detect_format("[link](http://x) is markdown-ish prose", "notes.txt"), Format::kText);
  EXPECT_EQ(detect_format("<html><body><p>x</p></body></html>", "page.xml"), Format::kHtml);
}

TEST(ParseStructured, XmlLinesCarryElementPaths) {
  const auto doc = parse_document(fixture("sample.xml"), "sample.xml");
  ASSERT_TRUE(doc.is_ok()) << doc.status().to_string();
  const std::string text = full_text(*doc);
  EXPECT_NE(text.find("catalog > book > title: XML Developer's Guide"), std::string::npos) << text;
  EXPECT_NE(text.find("catalog > book > @id: bk101"), std::string::npos) << text;
  EXPECT_EQ(text.find("<title>"), std::string::npos) << text;
  EXPECT_EQ(text.find("xmlns"), std::string::npos) << text;
}

TEST(ParseStructured, EntityExpansionDoesNotHappen) {
  const auto doc = parse_document(fixture("billion_laughs.xml"), "lol.xml");
  ASSERT_TRUE(doc.is_ok()) << doc.status().to_string();
  const std::string text = full_text(*doc);
  EXPECT_LT(text.size(), 200u) << "entities were expanded";
  EXPECT_NE(text.find("lolz > b: kept"), std::string::npos) << text;
}

TEST(ParseStructured, DeepNestingIsRefused) {
  std::string json(100000, '[');
  json += std::string(100000, ']');
  Status s = parse_document(json, "deep.json").status();
  EXPECT_EQ(s.code(), ErrorCode::kResourceExhausted) << s.to_string();
  EXPECT_NE(s.message().find("nested deeper than 256"), std::string::npos) << s.message();
  std::string xml;
  for (int i = 0; i < 100000; ++i) xml += "<a>";
  for (int i = 0; i < 100000; ++i) xml += "</a>";
  s = parse_document(xml, "deep.xml").status();
  EXPECT_EQ(s.code(), ErrorCode::kResourceExhausted) << s.to_string();
}

TEST(ParseStructured, MalformedInputFallsBackToTextWithWarning) {
  const auto doc = parse_document(fixture("not_json.json"), "not_json.json");
  ASSERT_TRUE(doc.is_ok()) << doc.status().to_string();
  EXPECT_EQ(full_text(*doc), "{this is not json, just text in braces}");
  ASSERT_EQ(doc->warnings.size(), 1u);
  EXPECT_NE(doc->warnings[0].find("not valid JSON"), std::string::npos);
  const auto xml = parse_document("<?xml version=\"1.0\"?><a><b>unclosed</a>", "broken.xml");
  ASSERT_TRUE(xml.is_ok()) << xml.status().to_string();
  EXPECT_NE(full_text(*xml).find("unclosed"), std::string::npos);
  EXPECT_FALSE(xml->warnings.empty());
}

}  // namespace
}  // namespace kr::parse
