// Whether the machine has a core to spare for the second side of a hybrid search. Handing work
// to a helper thread pays off only when a core is idle: on an oversubscribed machine both
// threads wait for a core, and the hand-off adds wake-up delays (BENCHMARKS.md "Search path":
// at load ≈ 30 on 2 cores, hybrid p50 8.2 ms with a helper vs 2.7 ms on one thread).
#pragma once

#include <atomic>
#include <chrono>
#include <functional>

namespace kr::retrieve {

// The 1-minute load average (getloadavg); -1 when unavailable.
double system_load_average();

// Thread-safety: available() may be called concurrently.
class CpuHeadroom {
 public:
  // Spare when load < cores; the load is re-read at most every `refresh` (cheap per search).
  explicit CpuHeadroom(int cores, std::function<double()> load = system_load_average,
                       std::chrono::milliseconds refresh = std::chrono::milliseconds(250));
  bool available();

 private:
  const int cores_;
  const std::function<double()> load_;
  const std::chrono::steady_clock::duration refresh_;
  std::atomic<int64_t> next_read_{0};  // steady_clock ticks
  std::atomic<bool> available_{true};
};

}  // namespace kr::retrieve
