#include "api/json_mapping.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace kr::api {
namespace {

TEST(ToJson, Metadata) {
  const Metadata metadata = {{"dept", "\"hr\""}, {"year", "2024"}, {"ok", "true"}, {"tags", "[\"a\",\"b\"]"},
                             {"nested", "{\"x\":1}"}, {"raw", "not json"}};
  const json j = to_json(metadata);
  ASSERT_TRUE(j.is_object());
  EXPECT_EQ(j.at("dept"), "hr");
  EXPECT_EQ(j.at("year"), 2024);
  EXPECT_EQ(j.at("ok"), true);
  EXPECT_EQ(j.at("tags"), json::array({"a", "b"}));
  EXPECT_EQ(j.at("nested"), json({{"x", 1}}));
  EXPECT_EQ(j.at("raw"), "not json");  // a value that is not JSON text stays a string
  EXPECT_EQ(to_json(Metadata{}), json::object());
}

TEST(ToJson, CollectionInfo) {
  service::CollectionInfo info;
  info.name = "hr";
  info.created_at = 1700000000;
  info.documents = 3;
  info.chunks = 12;
  info.text_bytes = 4567;
  info.index_terms = 89;
  info.index_postings = 120;
  info.settings.language = "german";
  info.settings.bm25_k1 = 1.5;
  info.settings.bm25_b = 0.5;
  info.settings.chunk_max_tokens = 200;
  info.settings.chunk_overlap_tokens = 20;
  info.settings.description = "desc";
  const json j = to_json(info);
  EXPECT_EQ(j.at("name"), "hr");
  EXPECT_EQ(j.at("created_at"), 1700000000);
  EXPECT_EQ(j.at("documents"), 3);
  EXPECT_EQ(j.at("chunks"), 12);
  EXPECT_EQ(j.at("text_bytes"), 4567);
  EXPECT_EQ(j.at("index"), json({{"terms", 89}, {"postings", 120}}));
  const json& s = j.at("settings");
  EXPECT_EQ(s.at("language"), "german");
  EXPECT_DOUBLE_EQ(s.at("bm25_k1").get<double>(), 1.5);
  EXPECT_DOUBLE_EQ(s.at("bm25_b").get<double>(), 0.5);
  EXPECT_EQ(s.at("chunk_max_tokens"), 200);
  EXPECT_EQ(s.at("chunk_overlap_tokens"), 20);
  EXPECT_EQ(s.at("description"), "desc");
  EXPECT_TRUE(s.at("search_mode").is_null());  // unset: the server's default
  EXPECT_TRUE(s.at("hybrid_alpha").is_null());
  EXPECT_TRUE(j.at("embeddings").at("model").is_null());
  EXPECT_EQ(j.size(), 8u);
}

TEST(ToJson, CollectionInfoWithEmbeddings) {
  service::CollectionInfo info;
  info.embedding_model = "all-MiniLM-L6-v2";
  info.embedding_dimension = 384;
  info.vectors = 12;
  info.vector_index = "exact";
  info.settings.search_mode = "dense";
  info.settings.fusion = "normalized";
  info.settings.hybrid_alpha = 0.7;
  const json j = to_json(info);
  EXPECT_EQ(j.at("embeddings"), json({{"model", "all-MiniLM-L6-v2"}, {"dimension", 384}, {"vectors", 12},
                                      {"index", "exact"}}));
  EXPECT_EQ(j.at("settings").at("search_mode"), "dense");
  EXPECT_EQ(j.at("settings").at("fusion"), "normalized");
  EXPECT_DOUBLE_EQ(j.at("settings").at("hybrid_alpha").get<double>(), 0.7);
}

TEST(ToJson, DocumentInfo) {
  service::DocumentInfo d;
  d.doc_id = "abc";
  d.name = "report.pdf";
  d.source = "/uploads/report.pdf";
  d.content_hash = "ff00";
  d.format = "pdf";
  d.size_bytes = 2048;
  d.page_count = 4;
  d.chunk_count = 9;
  d.metadata = {{"team", "\"hr\""}};
  d.warnings = {"page 3 has no text"};
  d.pages_needing_ocr = {3};
  d.created_at = 10;
  d.updated_at = 20;
  const json j = to_json(d);
  EXPECT_EQ(j.at("doc_id"), "abc");
  EXPECT_EQ(j.at("name"), "report.pdf");
  EXPECT_EQ(j.at("source"), "/uploads/report.pdf");
  EXPECT_EQ(j.at("content_hash"), "ff00");
  EXPECT_EQ(j.at("format"), "pdf");
  EXPECT_EQ(j.at("size_bytes"), 2048);
  EXPECT_EQ(j.at("page_count"), 4);
  EXPECT_EQ(j.at("chunk_count"), 9);
  EXPECT_EQ(j.at("metadata"), json({{"team", "hr"}}));
  EXPECT_EQ(j.at("warnings"), json::array({"page 3 has no text"}));
  EXPECT_EQ(j.at("pages_needing_ocr"), json::array({3}));
  EXPECT_EQ(j.at("created_at"), 10);
  EXPECT_EQ(j.at("updated_at"), 20);
}

TEST(ToJson, IngestResultAdded) {
  service::IngestResult r;
  r.name = "a.md";
  r.outcome = service::IngestOutcome::kAdded;
  r.doc_id = "d1";
  r.format = "markdown";
  r.chunks = 3;
  r.pages = 0;
  r.warnings = {"w"};
  const json j = to_json(r);
  EXPECT_EQ(j.at("name"), "a.md");
  EXPECT_EQ(j.at("status"), "added");
  EXPECT_EQ(j.at("doc_id"), "d1");
  EXPECT_EQ(j.at("format"), "markdown");
  EXPECT_EQ(j.at("chunks"), 3);
  EXPECT_EQ(j.at("pages"), 0);
  EXPECT_EQ(j.at("warnings"), json::array({"w"}));
  EXPECT_FALSE(j.contains("duplicate_of"));
  EXPECT_FALSE(j.contains("error"));
}

TEST(ToJson, IngestResultStatusNames) {
  const std::pair<service::IngestOutcome, const char*> outcomes[] = {
      {service::IngestOutcome::kAdded, "added"},
      {service::IngestOutcome::kUpdated, "updated"},
      {service::IngestOutcome::kUnchanged, "unchanged"},
      {service::IngestOutcome::kDuplicate, "duplicate"},
      {service::IngestOutcome::kFailed, "failed"}};
  for (const auto& [outcome, name] : outcomes) {
    service::IngestResult r;
    r.outcome = outcome;
    r.error = outcome == service::IngestOutcome::kFailed ? error(ErrorCode::kInternal, "x") : Status::ok();
    EXPECT_EQ(to_json(r).at("status"), name);
    EXPECT_EQ(service::ingest_outcome_name(outcome), name);
  }
}

TEST(ToJson, IngestResultDuplicate) {
  service::IngestResult r;
  r.name = "copy.md";
  r.outcome = service::IngestOutcome::kDuplicate;
  r.doc_id = "orig";
  r.duplicate_of = "orig";
  const json j = to_json(r);
  EXPECT_EQ(j.at("status"), "duplicate");
  EXPECT_EQ(j.at("duplicate_of"), "orig");
}

TEST(ToJson, IngestResultFailed) {
  service::IngestResult r;
  r.name = "blob.bin";
  r.outcome = service::IngestOutcome::kFailed;
  r.error = error(ErrorCode::kUnsupported, "binary file of unknown type");
  const json j = to_json(r);
  EXPECT_EQ(j.at("name"), "blob.bin");
  EXPECT_EQ(j.at("status"), "failed");
  EXPECT_EQ(j.at("error"), json({{"code", "unsupported"}, {"message", "binary file of unknown type"}}));
  EXPECT_FALSE(j.contains("doc_id"));
  EXPECT_FALSE(j.contains("chunks"));
}

service::SearchHit sample_hit() {
  service::SearchHit h;
  h.chunk_id = "d1:2";
  h.doc_id = "d1";
  h.document_name = "guide.md";
  h.ordinal = 2;
  h.score = 3.25;
  h.text = "full text";
  h.snippet = "text";
  h.page_start = 1;
  h.page_end = 2;
  h.heading_path = {"Guide", "Install"};
  h.char_begin = 10;
  h.char_end = 19;
  h.metadata = {{"team", "\"hr\""}};
  return h;
}

TEST(ToJson, SearchHit) {
  const json j = to_json(sample_hit());
  EXPECT_EQ(j.at("chunk_id"), "d1:2");
  EXPECT_EQ(j.at("doc_id"), "d1");
  EXPECT_EQ(j.at("document_name"), "guide.md");
  EXPECT_DOUBLE_EQ(j.at("score").get<double>(), 3.25);
  EXPECT_EQ(j.at("text"), "full text");
  EXPECT_EQ(j.at("snippet"), "text");
  const json& c = j.at("citation");
  EXPECT_EQ(c.at("document"), "guide.md");
  EXPECT_EQ(c.at("page_start"), 1);
  EXPECT_EQ(c.at("page_end"), 2);
  EXPECT_EQ(c.at("heading_path"), json::array({"Guide", "Install"}));
  EXPECT_EQ(c.at("char_begin"), 10);
  EXPECT_EQ(c.at("char_end"), 19);
  EXPECT_EQ(j.at("metadata"), json({{"team", "hr"}}));
}

TEST(ToJson, ExtractiveAnswer) {
  service::Answer a;
  a.text = "Sentence [1]";
  a.extractive = true;
  a.finish_reason = "stop";
  a.citations = {1};
  service::AnswerSource source;
  source.number = 1;
  source.cited = true;
  source.hit = sample_hit();
  a.sources.push_back(source);
  const json j = to_json(a);
  EXPECT_EQ(j.at("answer"), "Sentence [1]");
  EXPECT_EQ(j.at("mode"), "extractive");
  EXPECT_EQ(j.at("citations"), json::array({1}));
  EXPECT_EQ(j.at("finish_reason"), "stop");
  EXPECT_TRUE(j.at("note").is_string());
  EXPECT_FALSE(j.contains("model"));
  EXPECT_FALSE(j.contains("usage"));
  ASSERT_EQ(j.at("sources").size(), 1u);
  const json& s = j.at("sources")[0];
  EXPECT_EQ(s.at("number"), 1);
  EXPECT_EQ(s.at("cited"), true);
  EXPECT_EQ(s.at("chunk_id"), "d1:2");
  EXPECT_TRUE(s.contains("citation"));
}

TEST(ToJson, GenerativeAnswer) {
  service::Answer a;
  a.text = "Answer [2]";
  a.model = "phi-3";
  a.prompt_tokens = 100;
  a.completion_tokens = 20;
  a.context_window = 4096;
  a.finish_reason = "length";
  a.citations = {2};
  for (int n = 1; n <= 2; ++n) {
    service::AnswerSource source;
    source.number = n;
    source.cited = n == 2;
    source.hit = sample_hit();
    a.sources.push_back(source);
  }
  const json j = to_json(a);
  EXPECT_EQ(j.at("mode"), "generative");
  EXPECT_EQ(j.at("model"), "phi-3");
  EXPECT_EQ(j.at("usage"), json({{"prompt_tokens", 100}, {"completion_tokens", 20}, {"context_window", 4096}}));
  EXPECT_EQ(j.at("finish_reason"), "length");
  EXPECT_FALSE(j.contains("note"));
  ASSERT_EQ(j.at("sources").size(), 2u);
  EXPECT_EQ(j["sources"][0].at("cited"), false);
  EXPECT_EQ(j["sources"][1].at("cited"), true);
  EXPECT_EQ(j["sources"][1].at("number"), 2);
}

TEST(ToJson, ErrorJson) {
  EXPECT_EQ(error_json(error(ErrorCode::kNotFound, "no such collection")),
            json({{"error", {{"code", "not_found"}, {"message", "no such collection"}}}}));
  EXPECT_EQ(error_json(error(ErrorCode::kTooLarge, "")).at("error").at("code"), "too_large");
}

TEST(ToJson, InvalidUtf8IsReplacedWhenDumping) {
  service::SearchHit h = sample_hit();
  h.text = "bad \xFF byte";
  const json j = to_json(h);
  const std::string text = j.dump(-1, ' ', false, json::error_handler_t::replace);
  EXPECT_NE(text.find("bad \xEF\xBF\xBD byte"), std::string::npos);
}

// --- metadata_from_json / filter_from_json ---------------------------------------

TEST(MetadataFromJson, CanonicalJsonPerValue) {
  const json input = json::parse(R"({"a":"x","b":1,"c":true,"d":[1,2],"e":{"z":1,"y":2},"f":null,"g":1.5})");
  auto metadata = metadata_from_json(input);
  ASSERT_TRUE(metadata.is_ok()) << metadata.status().to_string();
  EXPECT_EQ(*metadata, (Metadata{{"a", "\"x\""},
                                 {"b", "1"},
                                 {"c", "true"},
                                 {"d", "[1,2]"},
                                 {"e", "{\"y\":2,\"z\":1}"},
                                 {"f", "null"},
                                 {"g", "1.5"}}));
  // Round trip through to_json.
  EXPECT_EQ(to_json(*metadata), input);
}

TEST(MetadataFromJson, NullIsEmpty) {
  auto metadata = metadata_from_json(json());
  ASSERT_TRUE(metadata.is_ok());
  EXPECT_TRUE(metadata->empty());
  auto empty = metadata_from_json(json::object());
  ASSERT_TRUE(empty.is_ok());
  EXPECT_TRUE(empty->empty());
}

TEST(MetadataFromJson, NonObjectsAreRejected) {
  for (const json& value : {json::array({1}), json("text"), json(42), json(true)}) {
    auto metadata = metadata_from_json(value);
    ASSERT_FALSE(metadata.is_ok()) << value.dump();
    EXPECT_EQ(metadata.status().code(), ErrorCode::kInvalidArgument);
    EXPECT_EQ(metadata.status().message(), "metadata must be a JSON object");
  }
}

TEST(MetadataFromJson, KeyLength) {
  auto empty_key = metadata_from_json(json({{"", 1}}));
  ASSERT_FALSE(empty_key.is_ok());
  EXPECT_NE(empty_key.status().message().find("1-256"), std::string::npos);
  auto long_key = metadata_from_json(json({{std::string(257, 'k'), 1}}));
  ASSERT_FALSE(long_key.is_ok());
  EXPECT_EQ(long_key.status().code(), ErrorCode::kInvalidArgument);
  auto max_key = metadata_from_json(json({{std::string(256, 'k'), 1}}));
  EXPECT_TRUE(max_key.is_ok());
}

TEST(FilterFromJson, ScalarsAndLists) {
  auto filter = filter_from_json(json::parse(R"({"dept":"hr","year":[2023,2024],"flag":true})"));
  ASSERT_TRUE(filter.is_ok()) << filter.status().to_string();
  EXPECT_EQ(filter->any_of.at("dept"), (std::vector<std::string>{"\"hr\""}));
  EXPECT_EQ(filter->any_of.at("year"), (std::vector<std::string>{"2023", "2024"}));
  EXPECT_EQ(filter->any_of.at("flag"), (std::vector<std::string>{"true"}));
}

TEST(FilterFromJson, NullIsEmptyAndNonObjectsAreRejected) {
  auto none = filter_from_json(json());
  ASSERT_TRUE(none.is_ok());
  EXPECT_TRUE(none->empty());
  for (const json& value : {json::array({"hr"}), json("hr"), json(1)}) {
    auto filter = filter_from_json(value);
    ASSERT_FALSE(filter.is_ok()) << value.dump();
    EXPECT_EQ(filter.status().code(), ErrorCode::kInvalidArgument);
    EXPECT_NE(filter.status().message().find("filter must be a JSON object"), std::string::npos);
    EXPECT_NE(filter.status().message().find("{\"department\": \"hr\"}"), std::string::npos);
  }
}

TEST(FilterFromJson, MatchesMetadataFromTheSameJson) {
  auto metadata = metadata_from_json(json::parse(R"({"dept":"hr","year":2024,"public":false,"tags":{"k":"v"}})"));
  ASSERT_TRUE(metadata.is_ok());
  const auto accepts = [&](const char* filter_text) {
    auto filter = filter_from_json(json::parse(filter_text));
    EXPECT_TRUE(filter.is_ok()) << filter_text;
    return filter.is_ok() && filter->accepts(*metadata);
  };
  EXPECT_TRUE(accepts(R"({"dept":"hr"})"));
  EXPECT_TRUE(accepts(R"({"dept":["it","hr"]})"));
  EXPECT_TRUE(accepts(R"({"dept":"hr","year":2024})"));
  EXPECT_TRUE(accepts(R"({"public":false})"));
  EXPECT_TRUE(accepts(R"({"tags":{"k":"v"}})"));
  EXPECT_TRUE(accepts(R"({})"));
  EXPECT_FALSE(accepts(R"({"dept":"it"})"));
  EXPECT_FALSE(accepts(R"({"dept":"hr","year":2023})"));
  EXPECT_FALSE(accepts(R"({"year":"2024"})"));  // the string is not the number
  EXPECT_FALSE(accepts(R"({"missing":"x"})"));
  EXPECT_FALSE(accepts(R"({"dept":[]})"));
}

// --- typed field access -------------------------------------------------------------

TEST(RequiredString, Errors) {
  const json body = json::parse(R"({"name":"docs","n":1,"nul":null,"arr":[]})");
  auto ok = required_string(body, "name");
  ASSERT_TRUE(ok.is_ok());
  EXPECT_EQ(*ok, "docs");

  auto missing = required_string(body, "question");
  ASSERT_FALSE(missing.is_ok());
  EXPECT_EQ(missing.status().code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(missing.status().message(), "missing required field 'question'");

  auto null = required_string(body, "nul");
  ASSERT_FALSE(null.is_ok());
  EXPECT_EQ(null.status().message(), "missing required field 'nul'");

  auto number = required_string(body, "n");
  ASSERT_FALSE(number.is_ok());
  EXPECT_EQ(number.status().message(), "field 'n' must be a string");
  auto array = required_string(body, "arr");
  ASSERT_FALSE(array.is_ok());
  EXPECT_EQ(array.status().message(), "field 'arr' must be a string");

  auto empty = required_string(json::parse(R"({"s":""})"), "s");
  ASSERT_TRUE(empty.is_ok());
  EXPECT_EQ(*empty, "");
}

TEST(OptionalInt, FallbackRangeAndType) {
  const json body = json::parse(R"({"k":5,"big":99999999999,"neg":-3,"f":1.5,"s":"3","b":true,"nul":null})");
  auto value = optional_int(body, "k", 8, 1, 10);
  ASSERT_TRUE(value.is_ok());
  EXPECT_EQ(*value, 5);
  auto fallback = optional_int(body, "absent", 8, 1, 10);
  ASSERT_TRUE(fallback.is_ok());
  EXPECT_EQ(*fallback, 8);
  auto null = optional_int(body, "nul", 8, 1, 10);
  ASSERT_TRUE(null.is_ok());
  EXPECT_EQ(*null, 8);

  for (const char* field : {"f", "s", "b"}) {
    auto wrong = optional_int(body, field, 8, 1, 10);
    ASSERT_FALSE(wrong.is_ok()) << field;
    EXPECT_EQ(wrong.status().code(), ErrorCode::kInvalidArgument);
    EXPECT_EQ(wrong.status().message(), std::string("field '") + field + "' must be an integer");
  }
  for (const char* field : {"big", "neg"}) {
    auto out = optional_int(body, field, 8, 1, 10);
    ASSERT_FALSE(out.is_ok()) << field;
    EXPECT_EQ(out.status().message(), std::string("field '") + field + "' must be between 1 and 10");
  }
  auto boundary = optional_int(json::parse(R"({"k":10})"), "k", 8, 1, 10);
  ASSERT_TRUE(boundary.is_ok());
  EXPECT_EQ(*boundary, 10);
  // An unsigned value beyond int64 does not wrap into range.
  auto huge = optional_int(json::parse(R"({"k":18446744073709551615})"), "k", 8, 1, 10);
  EXPECT_FALSE(huge.is_ok());
}

TEST(OptionalDouble, FallbackRangeAndType) {
  const json body = json::parse(R"({"t":0.5,"i":1,"s":"0.5","big":3.5})");
  auto value = optional_double(body, "t", 0.1, 0, 2);
  ASSERT_TRUE(value.is_ok());
  EXPECT_DOUBLE_EQ(*value, 0.5);
  auto integer = optional_double(body, "i", 0.1, 0, 2);
  ASSERT_TRUE(integer.is_ok());
  EXPECT_DOUBLE_EQ(*integer, 1.0);
  auto fallback = optional_double(body, "absent", 0.1, 0, 2);
  ASSERT_TRUE(fallback.is_ok());
  EXPECT_DOUBLE_EQ(*fallback, 0.1);
  auto string = optional_double(body, "s", 0.1, 0, 2);
  ASSERT_FALSE(string.is_ok());
  EXPECT_EQ(string.status().message(), "field 's' must be a number");
  auto out = optional_double(body, "big", 0.1, 0, 2);
  ASSERT_FALSE(out.is_ok());
  EXPECT_EQ(out.status().code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(out.status().message(), "field 'big' is out of range");
}

TEST(OptionalBool, FallbackAndType) {
  const json body = json::parse(R"({"yes":true,"no":false,"s":"true","n":1})");
  auto yes = optional_bool(body, "yes", false);
  ASSERT_TRUE(yes.is_ok());
  EXPECT_TRUE(*yes);
  auto no = optional_bool(body, "no", true);
  ASSERT_TRUE(no.is_ok());
  EXPECT_FALSE(*no);
  auto fallback = optional_bool(body, "absent", true);
  ASSERT_TRUE(fallback.is_ok());
  EXPECT_TRUE(*fallback);
  for (const char* field : {"s", "n"}) {
    auto wrong = optional_bool(body, field, false);
    ASSERT_FALSE(wrong.is_ok()) << field;
    EXPECT_EQ(wrong.status().message(), std::string("field '") + field + "' must be true or false");
  }
}

}  // namespace
}  // namespace kr::api
