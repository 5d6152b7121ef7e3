// The kaito-rag command line: serve, ingest, search, ask, collections, documents, check.
#pragma once

namespace kr::cli {

// Exit codes: 0 success (an ingest whose files were all stored or cleanly
// rejected counts as success), 1 a fatal error, 2 a usage error.
int run(int argc, char** argv);

}  // namespace kr::cli
