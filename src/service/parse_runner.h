// Runs a parser on one file, inline or isolated in a child process.
//
// Isolation is the default for the server and the CLI: parsers for PDF and
// Office formats sit on large third-party code (poppler, zip, XML) fed with
// hostile input. In a child process a crash, a hang or runaway memory costs one
// file's error message, never the server or the batch.
#pragma once

#include <string>

#include "core/status.h"
#include "parse/parser.h"

namespace kr::service {

struct ParseRunnerOptions {
  parse::Limits limits;
  // Path of the kaito-rag binary to run as "kaito-rag __parse-worker IN OUT";
  // empty = parse inline in this process.
  std::string worker_executable;
  std::string scratch_dir;            // where input/output files for the worker go
  bool text_formats_in_process = false;  // parses_in_process() formats skip the worker
  int64_t worker_memory_bytes = 4ll << 30;  // RLIMIT_AS of the worker (not under sanitizers)
};

// Formats parsed in this process even with isolation: plain text, Markdown and CSV go through
// our own small line-based parsers (no third-party code, linear time, no recursion), so a
// child process per file (~3 ms) would only cost time. PDF, Office and HTML stay isolated.
bool parses_in_process(parse::Format format);

class ParseRunner {
 public:
  explicit ParseRunner(ParseRunnerOptions options) : options_(std::move(options)) {}
  Result<parse::ParsedDocument> parse(const std::string& bytes, const std::string& file_name) const;
  const ParseRunnerOptions& options() const { return options_; }

 private:
  Result<parse::ParsedDocument> parse_in_child(const std::string& bytes, const std::string& file_name) const;
  ParseRunnerOptions options_;
};

// The child's side: parse INPUT (file name hint NAME) and write the result to OUTPUT.
// Returns the process exit code.
int run_parse_worker(const std::string& input_path, const std::string& output_path, const std::string& file_name,
                     const parse::Limits& limits);

// Limits travel to the worker as command-line arguments.
std::vector<std::string> limits_to_args(const parse::Limits& limits);
parse::Limits limits_from_args(const std::vector<std::string>& args);

}  // namespace kr::service
