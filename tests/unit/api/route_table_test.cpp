// RouteTable: what an unmatched request gets (405 with Allow, 307 on a toggled slash, else 404).
#include "api/route_table.h"

#include <gtest/gtest.h>

namespace kr::api {
namespace {

RouteTable sample_routes() {
  RouteTable table;
  table.add("GET", "/health");
  table.add("POST", "/index");
  table.add("GET", "/indexes");
  table.add("GET", R"(/indexes/([^/]+)/documents)");
  table.add("POST", R"(/indexes/([^/]+)/documents)");
  table.add("DELETE", R"(/indexes/([^/]+))");
  table.add("GET", "/");
  return table;
}

TEST(RouteTable, AllowedMethodsOfAKnownPath) {
  const RouteTable table = sample_routes();
  EXPECT_EQ(table.allowed_methods("/index"), (std::vector<std::string>{"POST"}));
  EXPECT_EQ(table.allowed_methods("/indexes/a/documents"), (std::vector<std::string>{"GET", "HEAD", "POST"}));
  EXPECT_EQ(table.allowed_methods("/indexes/a"), (std::vector<std::string>{"DELETE"}));
  EXPECT_EQ(allow_header(table.allowed_methods("/indexes/a/documents")), "GET, HEAD, POST");
}

TEST(RouteTable, UnknownPathsHaveNoMethods) {
  const RouteTable table = sample_routes();
  EXPECT_TRUE(table.allowed_methods("/nope").empty());
  EXPECT_TRUE(table.allowed_methods("/health/").empty());
  EXPECT_TRUE(table.allowed_methods("/indexes//documents").empty());  // an empty name is no name
  EXPECT_TRUE(table.allowed_methods("/indexes/a/b/documents").empty());
}

TEST(RouteTable, TrailingSlashRedirects) {
  const RouteTable table = sample_routes();
  EXPECT_EQ(table.slash_redirect("/health/"), "/health");
  EXPECT_EQ(table.slash_redirect("/indexes/"), "/indexes");
  EXPECT_EQ(table.slash_redirect("/indexes/a/documents/"), "/indexes/a/documents");
  EXPECT_EQ(table.slash_redirect("/index/"), "/index");  // any method's route counts, as in Starlette
  EXPECT_EQ(table.slash_redirect("/nope/"), "");
  EXPECT_EQ(table.slash_redirect("/"), "");
  EXPECT_EQ(table.slash_redirect(""), "");
}

TEST(RouteTable, MissingSlashRedirectsWhenOnlyTheSlashFormIsRouted) {
  RouteTable table;
  table.add("GET", "/docs/");
  EXPECT_EQ(table.slash_redirect("/docs"), "/docs/");
  EXPECT_EQ(table.slash_redirect("/doc"), "");
}

}  // namespace
}  // namespace kr::api
