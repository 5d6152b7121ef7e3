#include "cli/parse_worker_faults.h"

#include <chrono>
#include <cstdlib>
#include <memory>
#include <thread>
#include <vector>

namespace kr::cli {

void apply_test_parse_fault([[maybe_unused]] const std::string& file_name) {
#ifdef KR_TEST_HOOKS
  const char* value = std::getenv("KAITO_RAG_TEST_PARSE_WORKER_FAULT");
  if (value == nullptr) return;
  const std::string spec = value;
  const size_t colon = spec.find(':');
  if (colon == std::string::npos || spec.substr(colon + 1) != file_name) return;
  const std::string fault = spec.substr(0, colon);
  if (fault == "hang") {
    for (;;) std::this_thread::sleep_for(std::chrono::seconds(1));
  } else if (fault == "spin") {
    volatile unsigned long counter = 0;
    for (;;) counter = counter + 1;
  } else if (fault == "alloc") {
    // Reserve without touching: RLIMIT_AS counts address space, so the limit is reached without
    // using the machine's memory. Each block is written once so it cannot be optimized away.
    std::vector<std::unique_ptr<char[]>> blocks;
    for (;;) {
      blocks.emplace_back(new char[64 << 20]);
      blocks.back()[0] = 1;
    }
  }
#endif
}

}  // namespace kr::cli
