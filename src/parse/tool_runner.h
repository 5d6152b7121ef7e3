// Runs a Debian command-line converter (catdoc, xls2csv, catppt) on a file's
// bytes: the input goes to a private temporary file, the tool runs as a child
// process with its output captured, killed when it overruns its time or output
// budget. Used for legacy formats no maintained C++ library reads.
// Thread-safe: no shared state.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace kr::parse::internal {

struct ToolRun {
  std::vector<std::string> argv;  // argv[0] is looked up in PATH; "{input}" becomes the input file's path
  std::string debian_package;     // named in the error when the tool is not installed
  double seconds = 30;
  size_t max_output_bytes = 64u << 20;
};

// The tool's standard output. kUnsupported when the tool is missing,
// kDeadlineExceeded / kTooLarge when it overran, kCorruptInput when it failed.
Result<std::string> run_tool(const ToolRun& run, std::string_view input);

}  // namespace kr::parse::internal
