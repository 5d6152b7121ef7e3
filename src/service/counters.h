// Counters for /metrics. Plain atomics: read without locks.
#pragma once

#include <atomic>
#include <cstdint>

namespace kr::service {

struct EngineCounters {
  std::atomic<uint64_t> files_added{0};
  std::atomic<uint64_t> files_updated{0};
  std::atomic<uint64_t> files_unchanged{0};
  std::atomic<uint64_t> files_duplicate{0};
  std::atomic<uint64_t> files_failed{0};
  std::atomic<uint64_t> chunks_added{0};
  std::atomic<uint64_t> bytes_ingested{0};
  std::atomic<uint64_t> answers{0};
  std::atomic<uint64_t> answer_failures{0};
  std::atomic<uint64_t> ingest_batches{0};  // group commits: one embedding call + one transaction each
};

}  // namespace kr::service
