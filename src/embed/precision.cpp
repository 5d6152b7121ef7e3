#include "embed/precision.h"

#include <cpuid.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmath>
#include <csignal>
#include <cstring>
#include <dnnl.hpp>
#include <map>
#include <mutex>
#include <vector>

#include "embed/low_precision_linear.h"

namespace kr::embed {
namespace {

struct CpuFeatures {
  bool avx512 = false;  // AVX-512 F/BW/VL with the OS saving its registers
  bool avx512_vnni = false, avx_vnni = false, avx512_bf16 = false;
  bool amx_tile = false, amx_int8 = false, amx_bf16 = false;  // with the OS saving tile state
};

uint64_t read_xcr0() {
  uint32_t eax = 0, edx = 0;
  __asm__ volatile("xgetbv" : "=a"(eax), "=d"(edx) : "c"(0));
  return (static_cast<uint64_t>(edx) << 32) | eax;
}

CpuFeatures detect() {
  CpuFeatures f;
  unsigned eax = 0, ebx = 0, ecx = 0, edx = 0;
  if (!__get_cpuid(1, &eax, &ebx, &ecx, &edx) || (ecx & (1u << 27)) == 0) return f;  // no OSXSAVE
  const uint64_t xcr0 = read_xcr0();
  const bool os_avx512 = (xcr0 & 0xE6) == 0xE6;          // SSE, AVX, opmask, ZMM state
  const bool os_amx = (xcr0 & (3ull << 17)) == (3ull << 17);  // XTILECFG, XTILEDATA
  if (!__get_cpuid_count(7, 0, &eax, &ebx, &ecx, &edx)) return f;
  const bool avx2 = (ebx & (1u << 5)) != 0 && (xcr0 & 0x6) == 0x6;
  f.avx512 = os_avx512 && (ebx & (1u << 16)) && (ebx & (1u << 30)) && (ebx & (1u << 31));
  f.avx512_vnni = f.avx512 && (ecx & (1u << 11));
  f.amx_bf16 = os_amx && (edx & (1u << 22));
  f.amx_tile = os_amx && (edx & (1u << 24));
  f.amx_int8 = os_amx && (edx & (1u << 25));
  if (__get_cpuid_count(7, 1, &eax, &ebx, &ecx, &edx)) {
    f.avx_vnni = avx2 && (eax & (1u << 4));
    f.avx512_bf16 = f.avx512 && (eax & (1u << 5));
  }
  return f;
}

// Linux hands out AMX tile state only to processes that ask (ARCH_REQ_XCOMP_PERM for
// XFEATURE_XTILEDATA); without it the first tile instruction is a SIGILL.
bool request_amx_permission() {
  constexpr long kArchReqXcompPerm = 0x1023;
  constexpr long kXfeatureXtiledata = 18;
  return syscall(SYS_arch_prctl, kArchReqXcompPerm, kXfeatureXtiledata) == 0;
}

// The child's check: a 37×96 by 96×80 product against fp32 (relative Frobenius error).
int run_tiny_product(EncoderPrecision precision) {
  const size_t rows = 37, in = 96, out = 80;
  std::vector<float> weight(out * in), bias(out), x(rows * in), y(rows * out);
  uint32_t state = 12345;
  auto next = [&] {
    state = state * 1664525u + 1013904223u;
    return static_cast<float>(state >> 8) / static_cast<float>(1u << 24) - 0.5f;
  };
  for (float& v : weight) v = next();
  for (float& v : bias) v = next();
  for (float& v : x) v = 4 * next();
  auto layer = LowPrecisionLinear::create(precision, weight, bias, in);
  if (!layer) return 2;
  LowPrecisionLinear::Scratch scratch;
  if (!layer->forward(x.data(), rows, y.data(), scratch)) return 2;
  double error = 0, norm = 0;
  for (size_t r = 0; r < rows; ++r) {
    for (size_t c = 0; c < out; ++c) {
      double expected = bias[c];
      for (size_t k = 0; k < in; ++k) expected += static_cast<double>(x[r * in + k]) * weight[c * in + k];
      error += (y[r * out + c] - expected) * (y[r * out + c] - expected);
      norm += expected * expected;
    }
  }
  const double limit = precision == EncoderPrecision::kInt8 ? 0.02 : 0.01;
  return std::isfinite(error) && std::sqrt(error / norm) < limit ? 0 : 3;
}

// Forks, runs the product in the child (optionally with oneDNN capped below AMX), and says how it ended.
Status test_in_child(EncoderPrecision precision, bool below_amx) {
  const pid_t pid = fork();
  if (pid < 0) return error(ErrorCode::kInternal, std::string("fork failed: ") + std::strerror(errno));
  if (pid == 0) {
    alarm(60);  // a hung kernel must not hang start-up
    try {
      if (below_amx) dnnl::set_max_cpu_isa(dnnl::cpu_isa::avx512_core_bf16);
      _exit(run_tiny_product(precision));
    } catch (...) {
      _exit(2);
    }
  }
  int status = 0;
  while (waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) return error(ErrorCode::kInternal, std::string("waitpid failed: ") + std::strerror(errno));
  }
  const std::string what = std::string(precision_name(precision)) + " self-test";
  if (WIFSIGNALED(status)) {
    const int signal = WTERMSIG(status);
    return error(ErrorCode::kUnsupported, what + " was killed by signal " + std::to_string(signal) + " (" +
                                              strsignal(signal) + "): this CPU or VM does not run the instructions "
                                              "it advertises");
  }
  const int code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  if (code == 2) return error(ErrorCode::kUnsupported, what + ": oneDNN has no " + precision_name(precision) +
                                                           " matrix product for this CPU");
  if (code != 0) return error(ErrorCode::kUnsupported, what + " computed wrong results");
  return Status::ok();
}

}  // namespace

Result<EncoderPrecision> parse_encoder_precision(std::string_view name) {
  if (name == "auto") return EncoderPrecision::kAuto;
  if (name == "fp32") return EncoderPrecision::kFp32;
  if (name == "bf16") return EncoderPrecision::kBf16;
  if (name == "int8") return EncoderPrecision::kInt8;
  return error(ErrorCode::kInvalidArgument,
               "encoder precision '" + std::string(name) + "' is not one of auto, fp32, bf16, int8");
}

const char* precision_name(EncoderPrecision precision) {
  switch (precision) {
    case EncoderPrecision::kAuto: return "auto";
    case EncoderPrecision::kFp32: return "fp32";
    case EncoderPrecision::kBf16: return "bf16";
    case EncoderPrecision::kInt8: return "int8";
  }
  return "?";
}

std::string native_instructions(EncoderPrecision precision) {
  static const CpuFeatures f = detect();
  switch (precision) {
    case EncoderPrecision::kInt8:
      if (f.amx_tile && f.amx_int8) return "amx_int8";
      if (f.avx512_vnni) return "avx512_vnni";
      if (f.avx_vnni) return "avx_vnni";
      return "";
    case EncoderPrecision::kBf16:
      if (f.amx_tile && f.amx_bf16) return "amx_bf16";
      if (f.avx512_bf16) return "avx512_bf16";
      return "";
    case EncoderPrecision::kFp32: return f.avx512 ? "avx512" : "";
    case EncoderPrecision::kAuto: return "";
  }
  return "";
}

Status self_test(EncoderPrecision precision) {
  if (precision == EncoderPrecision::kFp32) return Status::ok();
  if (precision == EncoderPrecision::kAuto) return error(ErrorCode::kInvalidArgument, "self-test of 'auto'");
  static std::mutex mutex;
  static std::map<EncoderPrecision, Status> results;
  std::lock_guard lock(mutex);
  if (auto it = results.find(precision); it != results.end()) return it->second;
  static const bool has_amx = detect().amx_tile;
  if (has_amx) request_amx_permission();  // before forking: the child inherits it
  Status status = test_in_child(precision, false);
  if (!status.is_ok() && has_amx && test_in_child(precision, true).is_ok()) {
    // AMX is what failed: keep this process's oneDNN below it (allowed once, before any primitive).
    try {
      dnnl::set_max_cpu_isa(dnnl::cpu_isa::avx512_core_bf16);
      status = Status::ok();
    } catch (const dnnl::error&) {
    }
  }
  results.emplace(precision, status);
  return status;
}

}  // namespace kr::embed
