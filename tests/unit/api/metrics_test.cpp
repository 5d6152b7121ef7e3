#include "api/metrics.h"

#include <gtest/gtest.h>

#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace kr::api {
namespace {

bool has_line(const std::string& text, const std::string& line) {
  std::istringstream in(text);
  std::string current;
  while (std::getline(in, current)) {
    if (current == line) return true;
  }
  return false;
}

TEST(LabelValue, Escaping) {
  EXPECT_EQ(label_value("plain"), "plain");
  EXPECT_EQ(label_value("a\"b"), "a\\\"b");
  EXPECT_EQ(label_value("a\\b"), "a\\\\b");
  EXPECT_EQ(label_value("a\nb"), "a\\nb");
  EXPECT_EQ(label_value("\"\\\n"), "\\\"\\\\\\n");
  EXPECT_EQ(label_value(""), "");
  EXPECT_EQ(label_value("caf\xC3\xA9"), "caf\xC3\xA9");
}

TEST(RequestMetrics, EmptyRenderHasHelpAndType) {
  RequestMetrics metrics;
  const std::string text = metrics.render();
  EXPECT_TRUE(has_line(text, "# TYPE kaito_rag_http_requests_total counter")) << text;
  EXPECT_TRUE(has_line(text, "# TYPE kaito_rag_http_request_duration_seconds histogram")) << text;
  EXPECT_NE(text.find("# HELP kaito_rag_http_requests_total "), std::string::npos);
  EXPECT_EQ(text.find("kaito_rag_http_requests_total{"), std::string::npos);
}

TEST(RequestMetrics, CountersAndHistogram) {
  RequestMetrics metrics;
  metrics.observe("/v1/collections/{name}", "GET", 200, 0.003);
  metrics.observe("/v1/collections/{name}", "GET", 200, 0.02);
  metrics.observe("/v1/collections/{name}", "GET", 404, 0.3);
  metrics.observe("/v1/collections/{name}", "DELETE", 200, 100.0);
  metrics.observe("/healthz", "GET", 200, 0.0005);
  const std::string text = metrics.render();

  EXPECT_TRUE(has_line(text, "kaito_rag_http_requests_total{route=\"/v1/collections/{name}\",method=\"GET\",status=\"200\"} 2"))
      << text;
  EXPECT_TRUE(has_line(text, "kaito_rag_http_requests_total{route=\"/v1/collections/{name}\",method=\"GET\",status=\"404\"} 1"));
  EXPECT_TRUE(has_line(text, "kaito_rag_http_requests_total{route=\"/v1/collections/{name}\",method=\"DELETE\",status=\"200\"} 1"));
  EXPECT_TRUE(has_line(text, "kaito_rag_http_requests_total{route=\"/healthz\",method=\"GET\",status=\"200\"} 1"));

  // Cumulative buckets by route (all methods): 0.003, 0.02, 0.3, 100.
  const std::string route = "kaito_rag_http_request_duration_seconds_bucket{route=\"/v1/collections/{name}\",le=";
  EXPECT_TRUE(has_line(text, route + "\"0.001\"} 0")) << text;
  EXPECT_TRUE(has_line(text, route + "\"0.005\"} 1"));
  EXPECT_TRUE(has_line(text, route + "\"0.01\"} 1"));
  EXPECT_TRUE(has_line(text, route + "\"0.025\"} 2"));
  EXPECT_TRUE(has_line(text, route + "\"0.25\"} 2"));
  EXPECT_TRUE(has_line(text, route + "\"0.5\"} 3"));
  EXPECT_TRUE(has_line(text, route + "\"60\"} 3"));
  EXPECT_TRUE(has_line(text, route + "\"+Inf\"} 4"));
  EXPECT_TRUE(has_line(text, "kaito_rag_http_request_duration_seconds_count{route=\"/v1/collections/{name}\"} 4"));
  EXPECT_NE(text.find("kaito_rag_http_request_duration_seconds_sum{route=\"/v1/collections/{name}\"} 100.3"),
            std::string::npos)
      << text;
  EXPECT_TRUE(has_line(text, "kaito_rag_http_request_duration_seconds_bucket{route=\"/healthz\",le=\"0.001\"} 1"));

  // Buckets never decrease.
  for (const std::string& r : {std::string("/v1/collections/{name}"), std::string("/healthz")}) {
    std::istringstream in(text);
    std::string line;
    long previous = -1;
    const std::string prefix = "kaito_rag_http_request_duration_seconds_bucket{route=\"" + r + "\"";
    while (std::getline(in, line)) {
      if (line.rfind(prefix, 0) != 0) continue;
      const long value = std::stol(line.substr(line.rfind(' ') + 1));
      EXPECT_GE(value, previous) << line;
      previous = value;
    }
    EXPECT_GE(previous, 1);
  }
}

TEST(RequestMetrics, LabelsAreEscaped) {
  RequestMetrics metrics;
  metrics.observe("/odd\"route\\with\nnewline", "GET", 500, 0.1);
  const std::string text = metrics.render();
  EXPECT_TRUE(has_line(text, "kaito_rag_http_requests_total{route=\"/odd\\\"route\\\\with\\nnewline\",method=\"GET\","
                             "status=\"500\"} 1"))
      << text;
  // No raw newline leaked inside a sample line.
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    EXPECT_EQ(line.rfind("kaito_rag_http_", 0), 0u) << "broken line: " << line;
  }
}

TEST(RequestMetrics, ConcurrentObservations) {
  RequestMetrics metrics;
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 1000; ++i) metrics.observe("/r", "POST", 200, 0.002);
    });
  }
  for (auto& thread : threads) thread.join();
  const std::string text = metrics.render();
  EXPECT_TRUE(has_line(text, "kaito_rag_http_requests_total{route=\"/r\",method=\"POST\",status=\"200\"} 4000")) << text;
  EXPECT_TRUE(has_line(text, "kaito_rag_http_request_duration_seconds_count{route=\"/r\"} 4000"));
}

}  // namespace
}  // namespace kr::api
