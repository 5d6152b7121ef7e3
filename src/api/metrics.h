// Request metrics in Prometheus text format: counts by route/method/status and
// latency histograms by route. Service-level gauges are rendered by the server.
#pragma once

#include <map>
#include <mutex>
#include <string>
#include <tuple>
#include <vector>

namespace kr::api {

// Thread-safe.
class RequestMetrics {
 public:
  void observe(const std::string& route, const std::string& method, int status, double seconds);
  std::string render() const;
  // Named operations in the style of KAITO RAGEngine's metrics: <name>_requests_total{status}
  // and the histogram <name>_latency_seconds{status}, status "success" or "failure".
  // declare_operation() makes both series appear (at 0) before the first request.
  void declare_operation(const std::string& name);
  void observe_operation(const std::string& name, bool success, double seconds);

 private:
  struct Histogram {
    std::vector<uint64_t> buckets;  // cumulative at render time
    uint64_t count = 0;
    double sum = 0;
  };
  mutable std::mutex mutex_;
  std::map<std::tuple<std::string, std::string, int>, uint64_t> requests_;
  std::map<std::string, Histogram> latency_;
  std::map<std::pair<std::string, std::string>, Histogram> operations_;  // (name, status)
};

// Escapes a Prometheus label value.
std::string label_value(const std::string& value);

}  // namespace kr::api
