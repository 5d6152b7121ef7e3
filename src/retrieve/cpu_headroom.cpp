#include "retrieve/cpu_headroom.h"

#include <cstdlib>

namespace kr::retrieve {

double system_load_average() {
  double load[1] = {0};
  return ::getloadavg(load, 1) == 1 ? load[0] : -1;
}

CpuHeadroom::CpuHeadroom(int cores, std::function<double()> load, std::chrono::milliseconds refresh)
    : cores_(cores), load_(std::move(load)), refresh_(refresh) {}

bool CpuHeadroom::available() {
  const int64_t now = std::chrono::steady_clock::now().time_since_epoch().count();
  int64_t due = next_read_.load(std::memory_order_relaxed);
  // One caller per period re-reads the load; the others use the last answer.
  if (now >= due && next_read_.compare_exchange_strong(due, now + refresh_.count())) {
    const double load = load_();
    available_.store(load >= 0 && load < static_cast<double>(cores_), std::memory_order_relaxed);
  }
  return available_.load(std::memory_order_relaxed);
}

}  // namespace kr::retrieve
