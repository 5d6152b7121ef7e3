#include "api/http_util.h"

#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

namespace kr::api {
namespace {

TEST(HttpStatus, EveryErrorCode) {
  const std::vector<std::pair<ErrorCode, int>> expected = {
      {ErrorCode::kOk, 200},
      {ErrorCode::kInvalidArgument, 400},
      {ErrorCode::kNotFound, 404},
      {ErrorCode::kAlreadyExists, 409},
      {ErrorCode::kFailedPrecondition, 409},
      {ErrorCode::kUnsupported, 415},
      {ErrorCode::kEncrypted, 422},
      {ErrorCode::kCorruptInput, 422},
      {ErrorCode::kTooLarge, 413},
      {ErrorCode::kResourceExhausted, 413},
      {ErrorCode::kDeadlineExceeded, 504},
      {ErrorCode::kUnauthenticated, 401},
      {ErrorCode::kPermissionDenied, 403},
      {ErrorCode::kUnavailable, 503},
      {ErrorCode::kCancelled, 499},
      {ErrorCode::kDataCorruption, 500},
      {ErrorCode::kInternal, 500},
      {ErrorCode::kInsufficientStorage, 507},
  };
  ASSERT_EQ(expected.size(), 18u);  // every enumerator of ErrorCode
  for (const auto& [code, status] : expected) {
    EXPECT_EQ(http_status(code), status) << error_code_name(code);
  }
  EXPECT_EQ(http_status(static_cast<ErrorCode>(1000)), 500);
}

TEST(SendJson, SetsStatusAndContentType) {
  httplib::Response res;
  send_json(res, 201, json{{"name", "docs"}, {"text", "caf\xC3\xA9"}});
  EXPECT_EQ(res.status, 201);
  EXPECT_NE(res.get_header_value("Content-Type").find("application/json"), std::string::npos);
  const json body = json::parse(res.body);
  EXPECT_EQ(body.at("name"), "docs");
  EXPECT_EQ(body.at("text"), "caf\xC3\xA9");
}

TEST(SendJson, InvalidUtf8DoesNotThrow) {
  httplib::Response res;
  EXPECT_NO_THROW(send_json(res, 200, json{{"text", "bad \xFF"}}));
  const json body = json::parse(res.body, nullptr, false);
  ASSERT_FALSE(body.is_discarded());
  EXPECT_EQ(body.at("text"), "bad \xEF\xBF\xBD");
}

TEST(SendError, BodyAndStatus) {
  httplib::Response res;
  send_error(res, error(ErrorCode::kNotFound, "collection 'x' does not exist"));
  EXPECT_EQ(res.status, 404);
  const json body = json::parse(res.body);
  EXPECT_EQ(body, json({{"error", {{"code", "not_found"}, {"message", "collection 'x' does not exist"}}}}));
  EXPECT_FALSE(res.has_header("WWW-Authenticate"));
}

TEST(SendError, UnauthenticatedAsksForBearer) {
  httplib::Response res;
  send_error(res, error(ErrorCode::kUnauthenticated, "missing API key"));
  EXPECT_EQ(res.status, 401);
  EXPECT_EQ(res.get_header_value("WWW-Authenticate"), "Bearer");
  EXPECT_EQ(json::parse(res.body).at("error").at("code"), "unauthenticated");
}

TEST(SseEvent, Framing) {
  EXPECT_EQ(sse_event("delta", json{{"text", "Hi"}}), "event: delta\ndata: {\"text\":\"Hi\"}\n\n");
  EXPECT_EQ(sse_event("", json{{"a", 1}}), "data: {\"a\":1}\n\n");
  // Newlines inside the data stay escaped: one data line per event.
  const std::string event = sse_event("delta", json{{"text", "line1\nline2\r\n\n"}});
  EXPECT_EQ(event, "event: delta\ndata: {\"text\":\"line1\\nline2\\r\\n\\n\"}\n\n");
  size_t newlines = 0;
  for (char c : event) newlines += c == '\n';
  EXPECT_EQ(newlines, 3u);
  // Invalid UTF-8 is replaced rather than throwing.
  std::string replaced;
  EXPECT_NO_THROW(replaced = sse_event("delta", json{{"text", "x\xFF"}}));
  EXPECT_NE(replaced.find("x\xEF\xBF\xBD"), std::string::npos);
}

httplib::Request json_request(std::string body, const std::string& content_type = "application/json") {
  httplib::Request req;
  req.body = std::move(body);
  if (!content_type.empty()) req.headers.emplace("Content-Type", content_type);
  return req;
}

TEST(ParseJsonBody, AcceptsObjects) {
  auto body = parse_json_body(json_request(R"({"question":"why?","top_k":3})"), 1024);
  ASSERT_TRUE(body.is_ok()) << body.status().to_string();
  EXPECT_EQ(body->at("question"), "why?");
  EXPECT_EQ(body->at("top_k"), 3);
}

TEST(ParseJsonBody, ContentTypeVariants) {
  for (const std::string type :
       {"application/json", "application/json; charset=utf-8", "application/merge-patch+json", ""}) {
    auto body = parse_json_body(json_request("{}", type), 1024);
    EXPECT_TRUE(body.is_ok()) << "'" << type << "': " << body.status().to_string();
  }
}

TEST(ParseJsonBody, ContentTypeIsCaseInsensitive) {
  // Media types are case-insensitive (RFC 9110, section 8.3.1).
  auto body = parse_json_body(json_request("{}", "Application/JSON"), 1024);
  EXPECT_TRUE(body.is_ok());
}

TEST(ParseJsonBody, BadJsonIs400WithTheParserMessage) {
  auto body = parse_json_body(json_request(R"({"question": )"), 1024);
  ASSERT_FALSE(body.is_ok());
  EXPECT_EQ(body.status().code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(http_status(body.status().code()), 400);
  const std::string message = body.status().message();
  EXPECT_EQ(message.rfind("request body is not valid JSON: ", 0), 0u) << message;
  EXPECT_NE(message.find("parse error"), std::string::npos) << message;
  EXPECT_NE(message.find("line 1"), std::string::npos) << message;

  auto trailing = parse_json_body(json_request("{} {}"), 1024);
  ASSERT_FALSE(trailing.is_ok());
  EXPECT_EQ(trailing.status().code(), ErrorCode::kInvalidArgument);

  auto empty = parse_json_body(json_request(""), 1024);
  ASSERT_FALSE(empty.is_ok());
  EXPECT_EQ(empty.status().code(), ErrorCode::kInvalidArgument);

  auto bad_utf8 = parse_json_body(json_request("{\"q\":\"\xFF\"}"), 1024);
  ASSERT_FALSE(bad_utf8.is_ok());
  EXPECT_EQ(bad_utf8.status().code(), ErrorCode::kInvalidArgument);
}

TEST(ParseJsonBody, NonObjectIs400) {
  for (const char* text : {"[1,2]", "\"text\"", "42", "null", "true"}) {
    auto body = parse_json_body(json_request(text), 1024);
    ASSERT_FALSE(body.is_ok()) << text;
    EXPECT_EQ(body.status().code(), ErrorCode::kInvalidArgument);
    EXPECT_EQ(body.status().message(), "request body must be a JSON object");
  }
}

TEST(ParseJsonBody, WrongContentTypeIsUnsupported) {
  for (const char* type : {"text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x"}) {
    auto body = parse_json_body(json_request("{}", type), 1024);
    ASSERT_FALSE(body.is_ok()) << type;
    EXPECT_EQ(body.status().code(), ErrorCode::kUnsupported);
    EXPECT_EQ(http_status(body.status().code()), 415);
    EXPECT_NE(body.status().message().find(type), std::string::npos);
  }
}

TEST(ParseJsonBody, TooLarge) {
  const std::string big = "{\"text\":\"" + std::string(2000, 'a') + "\"}";
  auto body = parse_json_body(json_request(big), 1024);
  ASSERT_FALSE(body.is_ok());
  EXPECT_EQ(body.status().code(), ErrorCode::kTooLarge);
  EXPECT_EQ(http_status(body.status().code()), 413);
  EXPECT_NE(body.status().message().find("1024"), std::string::npos);
  EXPECT_NE(body.status().message().find(std::to_string(big.size())), std::string::npos);
  // Exactly at the limit is fine.
  std::string exact = "{\"t\":\"" + std::string(1024 - 8, 'a') + "\"}";
  ASSERT_EQ(exact.size(), 1024u);
  EXPECT_TRUE(parse_json_body(json_request(exact), 1024).is_ok());
}

TEST(QueryInt, FallbackValueAndErrors) {
  httplib::Request req;
  req.params.emplace("limit", "25");
  req.params.emplace("offset", "abc");
  req.params.emplace("partial", "12x");
  req.params.emplace("big", "5000");
  req.params.emplace("empty", "");
  req.params.emplace("neg", "-1");

  auto limit = query_int(req, "limit", 100, 1, 1000);
  ASSERT_TRUE(limit.is_ok());
  EXPECT_EQ(*limit, 25);
  auto absent = query_int(req, "absent", 100, 1, 1000);
  ASSERT_TRUE(absent.is_ok());
  EXPECT_EQ(*absent, 100);

  for (const char* name : {"offset", "partial", "empty"}) {
    auto bad = query_int(req, name, 0, 0, 1000);
    ASSERT_FALSE(bad.is_ok()) << name;
    EXPECT_EQ(bad.status().code(), ErrorCode::kInvalidArgument);
    EXPECT_EQ(bad.status().message(), std::string("query parameter '") + name + "' must be an integer");
  }
  for (const char* name : {"big", "neg"}) {
    auto out = query_int(req, name, 0, 0, 1000);
    ASSERT_FALSE(out.is_ok()) << name;
    EXPECT_EQ(out.status().message(), std::string("query parameter '") + name + "' must be between 0 and 1000");
  }
}

std::string nested_arrays(size_t depth) { return std::string(depth, '[') + std::string(depth, ']'); }

TEST(ParseClientJson, AcceptsNestingUpToTheLimit) {
  auto value = parse_client_json(nested_arrays(kMaxJsonDepth), "request body");
  ASSERT_TRUE(value) << value.status().to_string();
  EXPECT_TRUE(value->is_array());
  auto object = parse_client_json(R"({"a":{"b":[1,{"c":"d"}]}})", "request body");
  ASSERT_TRUE(object);
  EXPECT_EQ((*object)["a"]["b"][1]["c"], "d");
}

TEST(ParseClientJson, RejectsOneLevelDeeper) {
  auto value = parse_client_json(nested_arrays(kMaxJsonDepth + 1), "form field 'metadata'");
  ASSERT_FALSE(value);
  EXPECT_EQ(value.status().code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(value.status().message(), "form field 'metadata' nests arrays/objects deeper than 64 levels; flatten it");
}

TEST(ParseClientJson, MillionLevelsRejectedWithoutRecursion) {
  // Unbalanced on purpose, as an attacker would send it: the scan stops at level 65.
  const std::string body = std::string(1'000'000, '[');
  auto value = parse_client_json(body, "request body");
  ASSERT_FALSE(value);
  EXPECT_EQ(value.status().code(), ErrorCode::kInvalidArgument);
  EXPECT_NE(value.status().message().find("deeper than 64"), std::string::npos);
  auto objects = parse_client_json(std::string(500'000, '{') + "\"a\":1", "request body");
  ASSERT_FALSE(objects);
  EXPECT_NE(objects.status().message().find("deeper than 64"), std::string::npos);
}

TEST(ParseClientJson, BracketsInsideStringsDoNotCount) {
  const std::string text = "{\"q\":\"" + std::string(500, '[') + "\\\"" + std::string(500, '{') + "\"}";
  auto value = parse_client_json(text, "request body");
  ASSERT_TRUE(value) << value.status().to_string();
  EXPECT_EQ((*value)["q"].get<std::string>().size(), 1001u);
}

TEST(ParseClientJson, InvalidJsonNamesTheInput) {
  auto value = parse_client_json("{\"a\":", "query parameter 'filter'");
  ASSERT_FALSE(value);
  EXPECT_EQ(value.status().code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(value.status().message().rfind("query parameter 'filter' is not valid JSON: ", 0), 0u);
}

TEST(ParseJsonBody, TooDeepBodyIs400) {
  auto body = parse_json_body(json_request("{\"a\":" + nested_arrays(100) + "}"), 1 << 20);
  ASSERT_FALSE(body);
  EXPECT_EQ(body.status().code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(http_status(body.status().code()), 400);
}

}  // namespace
}  // namespace kr::api
