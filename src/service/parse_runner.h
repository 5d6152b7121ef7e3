// Runs a parser on one file, inline or isolated in a child process.
//
// Isolation is the default for the server and the CLI: parsers for PDF and
// Office formats sit on large third-party code (poppler, zip, XML) fed with
// hostile input. In a child process a crash, a hang or runaway memory costs one
// file's error message, never the server or the batch.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "core/status.h"
#include "parse/parser.h"

namespace kr::service {

struct ParseRunnerOptions {
  parse::Limits limits;
  // Path of the kaito-rag binary to run as "kaito-rag __parse-worker IN OUT";
  // empty = parse inline in this process.
  std::string worker_executable;
  std::string scratch_dir;            // each runner makes its own private directory below it
  bool text_formats_in_process = false;  // parses_in_process() formats skip the worker
  int64_t worker_memory_bytes = 0;    // RLIMIT_AS of a worker (not under sanitizers); 0: see parse_budget()
  int max_workers = 0;                // worker processes at once; 0: see parse_budget()
};

// Formats parsed in this process even with isolation: plain text, Markdown and CSV go through
// our own small line-based parsers (no third-party code, linear time, no recursion), so a
// child process per file (~3 ms) would only cost time. PDF, Office and HTML stay isolated.
bool parses_in_process(parse::Format format);

// How many parse workers may run at once and how much address space each gets:
// explicit values win; otherwise a worker gets half the container's memory limit
// (at most 4 GiB) and as many run as fit in the other half (at least 1, at most `cores`).
struct ParseBudget {
  int max_workers;
  int64_t worker_memory_bytes;
};
ParseBudget parse_budget(std::optional<int64_t> cgroup_memory_limit, int cores, int configured_workers,
                         int64_t configured_memory_bytes);
// The cgroup v2 memory limit ("max" or absent: none).
std::optional<int64_t> read_cgroup_memory_limit(const std::string& path = "/sys/fs/cgroup/memory.max");

// Thread-safe: parse() may be called from many threads; at most max_workers
// children run at once, the others wait.
// What one document's parse may set beside the runner's options.
struct ParseRequest {
  std::string password;      // opens an encrypted PDF/Office file; never stored, logged or in argv
  std::string ocr_language;  // Tesseract languages ("eng+deu", "off"); "" = the runner's limits
};

class ParseRunner {
 public:
  explicit ParseRunner(ParseRunnerOptions options);
  ~ParseRunner();
  ParseRunner(const ParseRunner&) = delete;
  ParseRunner& operator=(const ParseRunner&) = delete;

  // `request.password` reaches the worker through a pipe, never its command line.
  Result<parse::ParsedDocument> parse(const std::string& bytes, const std::string& file_name,
                                      const ParseRequest& request = {}) const;
  // The same for a file on disk of `size` bytes, never read whole into this process unless it
  // is parsed here: the worker gets the path; text-like formats (decided from the first
  // kDetectHeadBytes) are read in one bounded read and parsed in-process.
  Result<parse::ParsedDocument> parse_file(const std::string& path, int64_t size, const std::string& file_name,
                                           const ParseRequest& request = {}) const;
  const ParseRunnerOptions& options() const { return options_; }
  const ParseBudget& budget() const { return budget_; }

 private:
  // Runs a worker on `input_path` (a file the worker may read; it is not removed).
  Result<parse::ParsedDocument> parse_in_child(const std::string& input_path, const std::string& file_name,
                                               const ParseRequest& request) const;
  // The runner's limits with the request's OCR languages.
  parse::Limits limits_for(const ParseRequest& request) const;
  Result<std::string> private_scratch_dir() const;

  ParseRunnerOptions options_;
  ParseBudget budget_;
  mutable std::mutex mutex_;
  mutable std::condition_variable worker_freed_;
  mutable int running_ = 0;
  mutable std::string private_dir_;  // made on first use, removed by the destructor
};

// Exit code of a worker that ran out of memory (RLIMIT_AS): the parent names the limit.
inline constexpr int kParseWorkerOutOfMemory = 4;

// The child's side: parse INPUT (file name hint NAME) and write the result to OUTPUT.
// Returns the process exit code. First it arranges to be killed when the server
// dies (PR_SET_PDEATHSIG), so no worker outlives a kill -9 of its parent.
int run_parse_worker(const std::string& input_path, const std::string& output_path, const std::string& file_name,
                     const parse::Limits& limits, const std::string& password = {});
// The worker's password: all of its standard input (empty: /dev/null), at most 4 KiB.
std::string read_worker_password();

// Limits travel to the worker as command-line arguments, kLimitArgs of them.
inline constexpr size_t kLimitArgs = 9;
std::vector<std::string> limits_to_args(const parse::Limits& limits);
parse::Limits limits_from_args(const std::vector<std::string>& args);

}  // namespace kr::service
