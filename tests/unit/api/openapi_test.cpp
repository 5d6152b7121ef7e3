#include "api/openapi_document.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <filesystem>
#include <functional>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <string>

#include "api/authorization.h"
#include "api/http_util.h"
#include "api/originals.h"

namespace kr::api {
namespace {

using nlohmann::json;

json document() {
  const json doc = json::parse(openapi_document(), nullptr, false);
  EXPECT_FALSE(doc.is_discarded()) << "openapi document is not JSON";
  return doc;
}

TEST(OpenApi, ParsesAsJsonAndIsOpenApi3) {
  const json doc = document();
  ASSERT_TRUE(doc.is_object());
  ASSERT_TRUE(doc.contains("openapi"));
  EXPECT_EQ(doc["openapi"].get<std::string>().rfind("3.", 0), 0u);
  ASSERT_TRUE(doc.contains("info"));
  EXPECT_TRUE(doc["info"].contains("title"));
  EXPECT_TRUE(doc["info"].contains("version"));
  ASSERT_TRUE(doc.contains("paths"));
  EXPECT_TRUE(doc["paths"].is_object());
}

TEST(OpenApi, HasTheApiPaths) {
  const json doc = document();
  const json& paths = doc.at("paths");
  const std::pair<const char*, const char*> expected[] = {
      {"/healthz", "get"},
      {"/readyz", "get"},
      {"/metrics", "get"},
      {"/openapi.json", "get"},
      {"/v1/collections", "get"},
      {"/v1/collections", "post"},
      {"/v1/collections/{name}", "get"},
      {"/v1/collections/{name}", "delete"},
      {"/v1/collections/{name}/documents", "post"},
      {"/v1/collections/{name}/documents", "get"},
      {"/v1/collections/{name}/documents/{doc_id}", "get"},
      {"/v1/collections/{name}/documents/{doc_id}", "delete"},
      {"/v1/collections/{name}/search", "post"},
      {"/v1/collections/{name}/ask", "post"},
      {"/v1/chat/completions", "post"},
      {"/v1/models", "get"},
      {"/v1/embeddings", "post"},
  };
  for (const auto& [path, method] : expected) {
    ASSERT_TRUE(paths.contains(path)) << path;
    EXPECT_TRUE(paths[path].contains(method)) << method << " " << path;
    EXPECT_TRUE(paths[path][method].contains("responses")) << method << " " << path;
  }
}

TEST(OpenApi, EmbeddedDocumentMatchesTheSourceFile) {
  std::ifstream in(std::string(KR_SOURCE_DIR) + "/src/api/openapi.json");
  ASSERT_TRUE(in.good());
  std::stringstream source;
  source << in.rdbuf();
  EXPECT_EQ(json::parse(source.str()), document());
}

TEST(OpenApi, LocalReferencesResolve) {
  const json doc = document();
  std::set<std::string> refs;
  std::function<void(const json&)> collect = [&](const json& node) {
    if (node.is_object()) {
      for (const auto& [key, value] : node.items()) {
        if (key == "$ref" && value.is_string()) refs.insert(value.get<std::string>());
        collect(value);
      }
    } else if (node.is_array()) {
      for (const auto& item : node) collect(item);
    }
  };
  collect(doc);
  for (const auto& ref : refs) {
    ASSERT_EQ(ref.rfind("#/", 0), 0u) << ref;
    const json::json_pointer pointer(ref.substr(1));
    EXPECT_TRUE(doc.contains(pointer)) << "dangling $ref " << ref;
  }
}

// Records the routes the api module registers.
class RecordingRouter : public Router {
 public:
  void add(const std::string& method, const std::string&, const std::string& label, Handler) override {
    std::string lower = method;
    std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return std::tolower(c); });
    routes.insert({label, lower});
  }
  std::set<std::pair<std::string, std::string>> routes;
};

TEST(OpenApi, DocumentsExactlyTheRegisteredRoutes) {
  static std::atomic<int> counter{0};
  Config config;
  config.data_dir = (std::filesystem::path(::testing::TempDir()) /
                     ("kr_openapi_" + std::to_string(::getpid()) + "_" + std::to_string(counter++)))
                        .string();
  config.parse_isolation = "inline";
  service::Engine engine(config, "");
  RequestMetrics metrics;
  std::atomic<bool> stopping{false};
  ModelSlots model_slots(1, 0, std::chrono::milliseconds(0));
  Authorization authorization(engine.config());
  sources::SourceManager sources(engine);
  ApiContext context{engine, metrics, stopping, model_slots, authorization, sources};
  RecordingRouter router;
  add_system_routes(router, context);
  add_collection_routes(router, context);
  add_document_routes(router, context);
  add_query_routes(router, context);
  add_openai_routes(router, context);
  add_ragengine_routes(router, context);
  add_original_routes(router, context);
  add_conversation_routes(router, context);
  add_ui_routes(router, context);
  add_auth_routes(router, context);
  add_source_routes(router, context);
  ASSERT_FALSE(router.routes.empty());

  std::set<std::pair<std::string, std::string>> documented;
  const json doc = document();
  for (const auto& [path, item] : doc.at("paths").items()) {
    for (const auto& [method, operation] : item.items()) {
      if (method == "parameters" || method == "summary" || method == "description") continue;
      documented.insert({path, method});
    }
  }
  for (const auto& route : router.routes) {
    EXPECT_TRUE(documented.count(route)) << "undocumented route: " << route.second << " " << route.first;
  }
  for (const auto& op : documented) {
    EXPECT_TRUE(router.routes.count(op)) << "documented but not served: " << op.second << " " << op.first;
  }
  // Every registered route has its own authorization rule (none falls back to the closed default).
  for (const auto& [label, method] : router.routes) {
    std::string upper = method;
    std::transform(upper.begin(), upper.end(), upper.begin(), [](unsigned char c) { return std::toupper(c); });
    EXPECT_TRUE(authorization.register_route(upper, label)) << "route without an authorization rule: " << upper << " "
                                                            << label;
  }
  std::error_code ec;
  std::filesystem::remove_all(config.data_dir, ec);
}

}  // namespace
}  // namespace kr::api
