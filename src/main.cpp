// kaito-rag: one binary for the server and every command. Wiring only.
#include "cli/cli.h"
#include "embed/blas_kernels.h"

int main(int argc, char** argv) {
  kr::embed::use_best_blas_kernels(argv);  // may re-execute with OpenBLAS' fast kernels selected
  return kr::cli::run(argc, argv);
}
