// OpenBLAS SGEMM throughput on this machine, the fp32 ceiling the encoder is compared with.
//   kr_sgemm_peak [--threads T] [--seconds S] [--json]
// Shapes: the encoder's FFN product (4096 tokens × 384 → 1536, i.e. 32 passages of 128 tokens)
// and a square 2048³. Each runs repeatedly for about S seconds after one warm-up call; prints
// GFLOP/s by wall time and per CPU-second. Kernels as kaito-rag picks them (use_best_blas_kernels).
#include <cblas.h>
#include <sys/resource.h>

#include <chrono>
#include <cstdlib>
#include <iostream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "embed/blas_kernels.h"

namespace {

double cpu_seconds() {
  struct rusage now {};
  getrusage(RUSAGE_SELF, &now);
  return static_cast<double>(now.ru_utime.tv_sec + now.ru_stime.tv_sec) +
         static_cast<double>(now.ru_utime.tv_usec + now.ru_stime.tv_usec) / 1e6;
}

// C[m × n] = A[m × k] · B[n × k]ᵀ (the encoder's layout: weights stored [out × in]).
nlohmann::json measure(const char* name, int m, int n, int k, double seconds) {
  std::vector<float> a(static_cast<size_t>(m) * k, 0.5f), b(static_cast<size_t>(n) * k, 0.25f);
  std::vector<float> c(static_cast<size_t>(m) * n);
  auto run = [&] {
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, m, n, k, 1.0f, a.data(), k, b.data(), k, 0.0f, c.data(), n);
  };
  run();
  int calls = 0;
  const double cpu_started = cpu_seconds();
  const auto started = std::chrono::steady_clock::now();
  double wall = 0;
  do {
    run();
    ++calls;
    wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  } while (wall < seconds);
  const double cpu = cpu_seconds() - cpu_started;
  const double flops = 2.0 * m * n * k * calls;
  return {{"shape", name}, {"m", m}, {"n", n}, {"k", k}, {"calls", calls}, {"seconds", wall},
          {"cpu_seconds", cpu}, {"gflops", flops / wall / 1e9}, {"gflops_per_cpu_s", flops / cpu / 1e9}};
}

}  // namespace

int main(int argc, char** argv) {
  kr::embed::use_best_blas_kernels(argv);
  int threads = 1;
  double seconds = 3;
  bool as_json = false;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--threads" && i + 1 < argc) threads = std::max(1, std::atoi(argv[++i]));
    else if (arg == "--seconds" && i + 1 < argc) seconds = std::atof(argv[++i]);
    else if (arg == "--json") as_json = true;
    else {
      std::cerr << "usage: kr_sgemm_peak [--threads T] [--seconds S] [--json]\n";
      return 2;
    }
  }
  openblas_set_num_threads(threads);
  nlohmann::json result = {{"blas_kernels", kr::embed::blas_kernels()}, {"threads", threads},
                           {"shapes", {measure("ffn_128", 4096, 1536, 384, seconds),
                                       measure("square_2048", 2048, 2048, 2048, seconds)}}};
  double best = 0;
  for (const auto& shape : result["shapes"]) best = std::max(best, shape["gflops"].get<double>());
  result["peak_gflops"] = best;
  if (as_json) {
    std::cout << result.dump() << "\n";
  } else {
    for (const auto& shape : result["shapes"]) {
      std::cout << shape["shape"].get<std::string>() << ": " << shape["gflops"].get<double>() << " GFLOP/s ("
                << shape["gflops_per_cpu_s"].get<double>() << " per CPU-s), " << threads << " thread(s), "
                << result["blas_kernels"].get<std::string>() << "\n";
    }
  }
  return 0;
}
