// Test-only faults of `kaito-rag __parse-worker`, to prove the parent's limits (wall clock,
// RLIMIT_CPU, RLIMIT_AS) stop a parser that hangs, spins or allocates without bound.
// KAITO_RAG_TEST_PARSE_WORKER_FAULT=<hang|spin|alloc>:<file name> makes the worker for that
// file misbehave. Compiled in only with KR_TEST_HOOKS (CMake option); otherwise a no-op.
#pragma once

#include <string>

namespace kr::cli {

// Called by the worker where the parser would run; returns only when no fault applies.
// "alloc" throws std::bad_alloc once the memory limit is reached, as a parser would.
void apply_test_parse_fault(const std::string& file_name);

}  // namespace kr::cli
