#include "api/metrics.h"

#include <array>
#include <sstream>

namespace kr::api {
namespace {
constexpr std::array<double, 12> kBuckets = {0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10, 60};
}

std::string label_value(const std::string& value) {
  std::string out;
  for (char c : value) {
    if (c == '\\' || c == '"') out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
  }
  return out;
}

void RequestMetrics::observe(const std::string& route, const std::string& method, int status, double seconds) {
  std::lock_guard lock(mutex_);
  requests_[{route, method, status}]++;
  Histogram& h = latency_[route];
  if (h.buckets.empty()) h.buckets.assign(kBuckets.size(), 0);
  for (size_t i = 0; i < kBuckets.size(); ++i) {
    if (seconds <= kBuckets[i]) h.buckets[i]++;
  }
  h.count++;
  h.sum += seconds;
}

void RequestMetrics::declare_operation(const std::string& name) {
  std::lock_guard lock(mutex_);
  for (const char* status : {"success", "failure"}) {
    Histogram& h = operations_[{name, status}];
    if (h.buckets.empty()) h.buckets.assign(kBuckets.size(), 0);
  }
}

void RequestMetrics::observe_operation(const std::string& name, bool success, double seconds) {
  std::lock_guard lock(mutex_);
  Histogram& h = operations_[{name, success ? "success" : "failure"}];
  if (h.buckets.empty()) h.buckets.assign(kBuckets.size(), 0);
  for (size_t i = 0; i < kBuckets.size(); ++i) {
    if (seconds <= kBuckets[i]) h.buckets[i]++;
  }
  h.count++;
  h.sum += seconds;
}

std::string RequestMetrics::render() const {
  std::lock_guard lock(mutex_);
  std::ostringstream out;
  out << "# HELP kaito_rag_http_requests_total HTTP requests by route, method and status.\n"
      << "# TYPE kaito_rag_http_requests_total counter\n";
  for (const auto& [key, count] : requests_) {
    const auto& [route, method, status] = key;
    out << "kaito_rag_http_requests_total{route=\"" << label_value(route) << "\",method=\"" << method
        << "\",status=\"" << status << "\"} " << count << "\n";
  }
  out << "# HELP kaito_rag_http_request_duration_seconds HTTP request latency by route.\n"
      << "# TYPE kaito_rag_http_request_duration_seconds histogram\n";
  for (const auto& [route, h] : latency_) {
    const std::string label = label_value(route);
    for (size_t i = 0; i < kBuckets.size(); ++i) {
      out << "kaito_rag_http_request_duration_seconds_bucket{route=\"" << label << "\",le=\"" << kBuckets[i]
          << "\"} " << h.buckets[i] << "\n";
    }
    out << "kaito_rag_http_request_duration_seconds_bucket{route=\"" << label << "\",le=\"+Inf\"} " << h.count << "\n"
        << "kaito_rag_http_request_duration_seconds_sum{route=\"" << label << "\"} " << h.sum << "\n"
        << "kaito_rag_http_request_duration_seconds_count{route=\"" << label << "\"} " << h.count << "\n";
  }
  std::string previous;
  for (const auto& [key, h] : operations_) {  // sorted by name, so each name's series are together
    const auto& [name, status] = key;
    if (name != previous) {
      out << "# HELP " << name << "_requests_total Requests of " << name << " by status.\n"
          << "# TYPE " << name << "_requests_total counter\n";
      for (const char* s : {"failure", "success"}) {
        auto it = operations_.find({name, s});
        if (it != operations_.end()) {
          out << name << "_requests_total{status=\"" << s << "\"} " << it->second.count << "\n";
        }
      }
      out << "# HELP " << name << "_latency_seconds Latency of " << name << " by status.\n"
          << "# TYPE " << name << "_latency_seconds histogram\n";
      previous = name;
    }
    for (size_t i = 0; i < kBuckets.size(); ++i) {
      out << name << "_latency_seconds_bucket{status=\"" << status << "\",le=\"" << kBuckets[i] << "\"} "
          << h.buckets[i] << "\n";
    }
    out << name << "_latency_seconds_bucket{status=\"" << status << "\",le=\"+Inf\"} " << h.count << "\n"
        << name << "_latency_seconds_sum{status=\"" << status << "\"} " << h.sum << "\n"
        << name << "_latency_seconds_count{status=\"" << status << "\"} " << h.count << "\n";
  }
  return out.str();
}

}  // namespace kr::api
