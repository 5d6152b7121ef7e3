// kaito-rag: one binary for the server and every command. Wiring only.
#include "cli/cli.h"

int main(int argc, char** argv) { return kr::cli::run(argc, argv); }
