#include "embed/blas_kernels.h"

#include <cblas.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>

namespace kr::embed {

const char* blas_kernels() { return openblas_get_corename(); }

void use_best_blas_kernels(char** argv) {
  if (std::getenv("OPENBLAS_CORETYPE") != nullptr) return;
  if (const char* opt = std::getenv("KAITO_RAG_BLAS_REEXEC"); opt != nullptr && std::strcmp(opt, "0") == 0) return;
  const char* core = openblas_get_corename();
  if (core == nullptr || strcasecmp(core, "prescott") != 0) return;  // OpenBLAS knows this CPU
  __builtin_cpu_init();
  const char* target = nullptr;
  if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
      __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl")) {
    target = "SkylakeX";
  } else if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) {
    target = "Haswell";
  }
  if (target == nullptr) return;
  setenv("OPENBLAS_CORETYPE", target, 1);
  execv("/proc/self/exe", argv);
  unsetenv("OPENBLAS_CORETYPE");  // exec failed: carry on with the generic kernels
}

}  // namespace kr::embed
