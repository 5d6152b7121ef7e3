#include "sources/robots.h"

#include <gtest/gtest.h>

namespace kr::sources {
namespace {

TEST(Robots, OurGroupWinsOverTheWildcardGroup) {
  const auto rules = RobotsRules::parse(
      "User-agent: *\nDisallow: /\n\n"
      "User-agent: Kaito-RAG\nDisallow: /private/\nAllow: /private/open.html\n");
  EXPECT_TRUE(rules.allows("/guide.html"));
  EXPECT_FALSE(rules.allows("/private/notes.html"));
  EXPECT_TRUE(rules.allows("/private/open.html"));  // the longer match decides
}

TEST(Robots, WildcardGroupAppliesWhenNoneNamesUs) {
  const auto rules = RobotsRules::parse(
      "# comment\nUser-agent: googlebot\nDisallow: /\n\nUser-agent: other\nUser-agent: *\n"
      "Disallow: /tmp # trailing comment\nDisallow:\n");
  EXPECT_FALSE(rules.allows("/tmp"));
  EXPECT_FALSE(rules.allows("/tmp/x"));
  EXPECT_FALSE(rules.allows("/tmpfile"));  // prefix match, as RFC 9309 says
  EXPECT_TRUE(rules.allows("/docs/tmp"));
  EXPECT_TRUE(rules.allows("/"));
}

TEST(Robots, StarAndEndAnchor) {
  const auto rules = RobotsRules::parse("User-agent: *\nDisallow: /*.pdf$\nDisallow: /search*q=\nAllow: /a$\n");
  EXPECT_FALSE(rules.allows("/files/report.pdf"));
  EXPECT_TRUE(rules.allows("/files/report.pdf?download=1"));  // $ anchors the end
  EXPECT_FALSE(rules.allows("/search?lang=en&q=x"));
  EXPECT_TRUE(rules.allows("/search"));
}

TEST(Robots, TieGoesToAllowAndEmptyFileAllowsAll) {
  const auto tie = RobotsRules::parse("User-agent: *\nDisallow: /page\nAllow: /page\n");
  EXPECT_TRUE(tie.allows("/page"));
  EXPECT_TRUE(RobotsRules::parse("").allows("/anything"));
  EXPECT_TRUE(RobotsRules().allows("/anything"));
  EXPECT_TRUE(RobotsRules::parse("User-agent: *\r\nDisallow: /x\r\n").allows("/y"));
  EXPECT_FALSE(RobotsRules::parse("User-agent: *\r\nDisallow: /x\r\n").allows("/x"));
}

}  // namespace
}  // namespace kr::sources
