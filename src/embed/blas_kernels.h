// OpenBLAS picks its kernels once, when the library loads, from the CPU model it knows. Debian 12's
// OpenBLAS 0.3.21 does not know newer CPUs (e.g. Sapphire Rapids) and falls back to its generic
// "Prescott" SSE3 kernels, 3-5x slower than its AVX-512 ones on the same machine. The choice can
// only be changed through OPENBLAS_CORETYPE before the library loads, so a program that runs the
// encoder calls this first thing in main().
#pragma once

namespace kr::embed {

// When OpenBLAS fell back to its generic kernels on a CPU with AVX-512 (or AVX2+FMA), sets
// OPENBLAS_CORETYPE to SkylakeX (or Haswell) and re-executes the program with the same arguments
// (same PID). Does nothing when OPENBLAS_CORETYPE is already set (a user's choice wins) or
// KAITO_RAG_BLAS_REEXEC=0; returns normally when the re-execution fails.
void use_best_blas_kernels(char** argv);

// The kernel set OpenBLAS is using, e.g. "SkylakeX" (for logs and benchmarks).
const char* blas_kernels();

}  // namespace kr::embed
