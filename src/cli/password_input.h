// The password for `kaito-rag ingest` of password-protected files: read from a file, standard
// input ("-") or the terminal without echo, never from the command line (argv shows in `ps` and
// shell history). It is handed to the parser as an upload's password is, and never stored or logged.
#pragma once

#include <string>

#include "core/status.h"

namespace kr::cli {

// `path`: a file whose first line is the password, or "-" for the first line of standard input.
Result<std::string> read_password_file(const std::string& path);
// Asks on /dev/tty with echo off.
Result<std::string> prompt_password(const std::string& prompt);

}  // namespace kr::cli
