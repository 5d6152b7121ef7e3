// KAITO RAGEngine routes (routes_ragengine.cpp) called in-process through a
// recording router: JSON shapes, FastAPI-style errors, and the rag_* metrics.
#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <map>
#include <memory>
#include <regex>
#include <set>
#include <sstream>
#include <string>

#include "api/authorization.h"
#include "api/http_util.h"
#include "core/log.h"
#include "core/text.h"

namespace kr::api {
namespace {

namespace fs = std::filesystem;

class CapturingRouter : public Router {
 public:
  struct Route {
    std::string pattern;
    Handler handler;
  };
  void add(const std::string& method, const std::string& pattern, const std::string&, Handler handler) override {
    routes.push_back({method, {pattern, std::move(handler)}});
  }
  std::vector<std::pair<std::string, Route>> routes;
};

class RagEngineRoutesTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { log::configure("error", false); }
  static void TearDownTestSuite() { log::configure("info", false); }
  void SetUp() override {
    static std::atomic<int> counter{0};
    config_.data_dir = (fs::path(::testing::TempDir()) /
                        ("kr_ragroutes_" + std::to_string(::getpid()) + "_" + std::to_string(counter++)))
                           .string();
    config_.parse_isolation = "inline";
    engine_ = std::make_unique<service::Engine>(config_, "");
    ASSERT_TRUE(engine_->open().is_ok());
    authorization_ = std::make_unique<Authorization>(engine_->config());
    sources_ = std::make_unique<sources::SourceManager>(*engine_);
    context_ = std::make_unique<ApiContext>(
        ApiContext{*engine_, metrics_, stopping_, model_slots_, *authorization_, *sources_});
    add_ragengine_routes(router_, *context_);
    // No credential source is configured: the pre-routing check admits this thread's requests.
    httplib::Request probe;
    probe.method = "GET";
    probe.path = "/indexes";
    httplib::Response ignored;
    ASSERT_FALSE(authorization_->reject(probe, ignored));
  }
  void TearDown() override {
    context_.reset();
    sources_.reset();
    engine_.reset();
    std::error_code ec;
    fs::remove_all(config_.data_dir, ec);
  }

  // Runs the handler whose pattern matches; the response body parsed as JSON.
  std::pair<int, json> call(const std::string& method, const std::string& path, const std::string& body = "",
                            const std::multimap<std::string, std::string>& params = {}) {
    auto req = std::make_unique<httplib::Request>();
    req->method = method;
    req->path = path;
    req->body = body;
    for (const auto& p : params) req->params.insert(p);
    for (auto& [m, route] : router_.routes) {
      if (m != method) continue;
      if (!std::regex_match(req->path, req->matches, std::regex(route.pattern))) continue;
      httplib::Response res;
      route.handler(*req, res);
      requests_.push_back(std::move(req));  // matches refer to the request's path
      return {res.status, json::parse(res.body, nullptr, false)};
    }
    ADD_FAILURE() << "no route for " << method << " " << path;
    return {0, json()};
  }

  Config config_;
  std::unique_ptr<service::Engine> engine_;
  RequestMetrics metrics_;
  std::atomic<bool> stopping_{false};
  ModelSlots model_slots_{1, 0, std::chrono::milliseconds(0)};
  std::unique_ptr<Authorization> authorization_;
  std::unique_ptr<sources::SourceManager> sources_;
  std::unique_ptr<ApiContext> context_;
  CapturingRouter router_;
  std::vector<std::unique_ptr<httplib::Request>> requests_;
};

TEST_F(RagEngineRoutesTest, Health) {
  auto [status, body] = call("GET", "/health");
  EXPECT_EQ(status, 200);
  EXPECT_EQ(body, json::parse(R"({"status": "Healthy", "detail": null})"));
}

TEST_F(RagEngineRoutesTest, IndexListRetrieveDelete) {
  auto [status, body] = call("POST", "/index",
                             R"({"index_name": "i", "documents": [{"text": "KAITO operator", "metadata": {"a": 1}},
                                                                  {"text": "something else"}]})");
  ASSERT_EQ(status, 200) << body;
  ASSERT_TRUE(body.is_array());
  ASSERT_EQ(body.size(), 2u);
  EXPECT_EQ(body[0]["doc_id"], sha256_hex("KAITO operator"));
  EXPECT_EQ(body[0]["metadata"], json({{"a", 1}}));
  EXPECT_TRUE(body[0]["hash_value"].is_null());
  EXPECT_EQ(body[1]["metadata"], json::object());

  EXPECT_EQ(call("GET", "/indexes").second, json::array({"i"}));

  auto listed = call("GET", "/indexes/i/documents", "", {{"limit", "1"}});
  EXPECT_EQ(listed.first, 200);
  EXPECT_EQ(listed.second["count"], 1);
  EXPECT_EQ(listed.second["total_items"], 2);

  auto found = call("POST", "/retrieve", R"({"index_name": "i", "query": "operator"})");
  ASSERT_EQ(found.first, 200) << found.second;
  EXPECT_EQ(found.second["count"], 1);
  EXPECT_EQ(found.second["results"][0]["node_id"], sha256_hex("KAITO operator") + ":0");
  // BM25-only server: the BM25 score is reported as sparse_score (as KAITO's Qdrant backend does).
  EXPECT_TRUE(found.second["results"][0]["sparse_score"].is_number());
  EXPECT_TRUE(found.second["results"][0]["dense_score"].is_null());

  auto deleted = call("DELETE", "/indexes/i");
  EXPECT_EQ(deleted.second, json({{"message", "Successfully deleted index i."}}));
  EXPECT_EQ(call("DELETE", "/indexes/i").second, json({{"detail", "No such index: 'i' exists."}}));
}

TEST_F(RagEngineRoutesTest, ValidationErrorsArePydanticStyle) {
  auto [status, body] = call("POST", "/index", R"({"documents": [{"metadata": 3}]})");
  EXPECT_EQ(status, 422);
  ASSERT_TRUE(body["detail"].is_array());
  std::set<json> locs;
  for (const auto& e : body["detail"]) {
    EXPECT_TRUE(e.contains("type") && e.contains("msg") && e.contains("input")) << e;
    locs.insert(e["loc"]);
  }
  EXPECT_TRUE(locs.count(json::array({"body", "index_name"})));
  EXPECT_TRUE(locs.count(json::array({"body", "documents", 0, "text"})));
  EXPECT_TRUE(locs.count(json::array({"body", "documents", 0, "metadata"})));

  auto bad_json = call("POST", "/retrieve", "{nope");
  EXPECT_EQ(bad_json.first, 422);
  EXPECT_EQ(bad_json.second["detail"][0]["type"], "json_invalid");

  auto range = call("POST", "/retrieve", R"({"index_name": "i", "query": "q", "max_node_count": 301})");
  EXPECT_EQ(range.first, 422);
  EXPECT_EQ(range.second["detail"][0]["type"], "less_than_equal");

  // pydantic's lax mode: true is 1, false is 0 (below the minimum); huge floats are out of range, not UB.
  call("POST", "/index", R"({"index_name": "i", "documents": [{"text": "one"}, {"text": "two"}]})");
  auto as_bool = call("POST", "/retrieve", R"({"index_name": "i", "query": "one two", "max_node_count": true})");
  EXPECT_EQ(as_bool.first, 200) << as_bool.second;
  EXPECT_EQ(as_bool.second["count"], 1);
  auto as_false = call("POST", "/retrieve", R"({"index_name": "i", "query": "q", "max_node_count": false})");
  EXPECT_EQ(as_false.first, 422);
  EXPECT_EQ(as_false.second["detail"][0]["type"], "greater_than_equal");
  EXPECT_EQ(as_false.second["detail"][0]["input"], false);
  auto huge = call("POST", "/retrieve", R"({"index_name": "i", "query": "q", "max_node_count": 1e300})");
  EXPECT_EQ(huge.first, 422);
  auto fraction = call("POST", "/retrieve", R"({"index_name": "i", "query": "q", "max_node_count": 3.5})");
  EXPECT_EQ(fraction.second["detail"][0]["type"], "int_from_float");
  auto no_body = call("POST", "/retrieve", "");
  EXPECT_EQ(no_body.first, 422);
  EXPECT_EQ(no_body.second["detail"][0], json::parse(R"({"type": "missing", "loc": ["body"], "msg": "Field required", "input": null})"));

  auto limit = call("GET", "/indexes/i/documents", "", {{"limit", "abc"}});
  EXPECT_EQ(limit.first, 422);
  EXPECT_EQ(limit.second["detail"][0]["loc"], json::array({"query", "limit"}));
  EXPECT_EQ(limit.second["detail"][0]["type"], "int_parsing");
}

TEST_F(RagEngineRoutesTest, IndexAnswersNewDocumentsNotTheRequestsHashOrTruncation) {
  auto [status, body] = call("POST", "/index", R"({"index_name": "h", "documents": [
      {"text": "with fields", "hash_value": "abc", "is_truncated": true}]})");
  ASSERT_EQ(status, 200) << body;
  EXPECT_TRUE(body[0]["hash_value"].is_null()) << body;
  EXPECT_EQ(body[0]["is_truncated"], false);
  auto wrong_type = call("POST", "/index", R"({"index_name": "h", "documents": [{"text": "t", "is_truncated": [1]}]})");
  EXPECT_EQ(wrong_type.first, 422);  // still validated as KAITO's Document model does
}

TEST_F(RagEngineRoutesTest, HandlerErrors) {
  EXPECT_EQ(call("POST", "/retrieve", R"({"index_name": "x", "query": " "})").second,
            json({{"detail", "No such index: 'x' exists."}}));
  call("POST", "/index", R"({"index_name": "x", "documents": [{"text": "t t t"}]})");
  auto empty = call("POST", "/retrieve", R"({"index_name": "x", "query": " "})");
  EXPECT_EQ(empty.first, 400);
  EXPECT_EQ(empty.second, json({{"detail", "Query string cannot be empty."}}));
  auto filter = call("GET", "/indexes/x/documents", "", {{"metadata_filter", "{"}});
  EXPECT_EQ(filter.first, 400);
  EXPECT_EQ(filter.second["detail"], "Invalid metadata filter format. Must be a valid JSON string.");
  const std::string snapshots = engine_->persist_base_dir();
  auto missing = call("POST", "/load/y", "", {{"path", snapshots + "/nowhere"}});
  EXPECT_EQ(missing.first, 404);
  EXPECT_EQ(missing.second["detail"], "Path does not exist: " + snapshots + "/nowhere");
}

TEST_F(RagEngineRoutesTest, SnapshotPathsStayInsideTheSnapshotDirectory) {
  call("POST", "/index", R"({"index_name": "x", "documents": [{"text": "t t t"}]})");
  const std::string snapshots = engine_->persist_base_dir();
  fs::create_directories(snapshots);
  fs::create_directory_symlink("/tmp", snapshots + "/link-out");
  for (const std::string& path : {std::string("../../../../tmp/x"), std::string("a/../../x"), config_.data_dir + "/x",
                                  std::string("/tmp/x"), snapshots, snapshots + "/../x", std::string("link-out/x")}) {
    for (const char* route : {"/persist/x", "/load/y"}) {
      auto r = call("POST", route, "", {{"path", path}});
      EXPECT_EQ(r.first, 403) << route << " " << path;
      EXPECT_NE(r.second["detail"].get<std::string>().find("outside the snapshot directory"), std::string::npos);
    }
  }
  EXPECT_FALSE(fs::exists(config_.data_dir + "/x"));
  auto inside = call("POST", "/persist/x", "", {{"path", "nested/x"}});
  EXPECT_EQ(inside.first, 200) << inside.second.dump();
  EXPECT_TRUE(fs::exists(snapshots + "/nested/x"));
  auto loaded = call("POST", "/load/copy", "", {{"path", snapshots + "/nested/x"}});
  EXPECT_EQ(loaded.first, 200) << loaded.second.dump();
}

TEST_F(RagEngineRoutesTest, MetricsCountSuccessAndFailure) {
  std::string text = metrics_.render();
  EXPECT_NE(text.find("rag_persist_requests_total{status=\"success\"} 0\n"), std::string::npos) << text;
  EXPECT_NE(text.find("# TYPE rag_load_latency_seconds histogram\n"), std::string::npos);
  call("GET", "/indexes");
  call("GET", "/indexes/none/documents");
  text = metrics_.render();
  EXPECT_NE(text.find("rag_indexes_requests_total{status=\"success\"} 1\n"), std::string::npos) << text;
  EXPECT_NE(text.find("rag_indexes_document_requests_total{status=\"failure\"} 1\n"), std::string::npos);
  EXPECT_NE(text.find("rag_indexes_latency_seconds_count{status=\"success\"} 1\n"), std::string::npos);
  EXPECT_NE(text.find("rag_indexes_latency_seconds_bucket{status=\"success\",le=\"+Inf\"} 1\n"), std::string::npos);
}

TEST(RequestMetricsOperations, RenderKaitoNames) {
  RequestMetrics metrics;
  metrics.declare_operation("rag_x");
  metrics.observe_operation("rag_x", true, 0.002);
  metrics.observe_operation("rag_x", false, 5);
  const std::string text = metrics.render();
  EXPECT_NE(text.find("# TYPE rag_x_requests_total counter\n"), std::string::npos);
  EXPECT_NE(text.find("rag_x_requests_total{status=\"success\"} 1\n"), std::string::npos);
  EXPECT_NE(text.find("rag_x_requests_total{status=\"failure\"} 1\n"), std::string::npos);
  EXPECT_NE(text.find("rag_x_latency_seconds_bucket{status=\"success\",le=\"0.005\"} 1\n"), std::string::npos);
  EXPECT_NE(text.find("rag_x_latency_seconds_bucket{status=\"failure\",le=\"2.5\"} 0\n"), std::string::npos);
  EXPECT_NE(text.find("rag_x_latency_seconds_sum{status=\"failure\"} 5\n"), std::string::npos);
}

}  // namespace
}  // namespace kr::api
