// Which arithmetic the local encoder's linear layers run in, and whether this CPU can run it.
//
// A CPU's CPUID bits are not enough: some VMs advertise AMX or AVX-512 extensions that trap
// when executed (llama.cpp's native build died with SIGILL on one). So a reduced-precision path
// is used only after a tiny matrix product ran in a forked child without dying and matched fp32.
#pragma once

#include <string>
#include <string_view>

#include "core/status.h"

namespace kr::embed {

enum class EncoderPrecision {
  kAuto,  // the fastest path whose self-test and accuracy check pass, else fp32
  kFp32,
  kBf16,  // bf16 weights and activations, fp32 accumulation (AMX or AVX-512-BF16)
  kInt8,  // int8 weights (per output channel) and activations (per token), int32 accumulation (VNNI/AMX)
};

Result<EncoderPrecision> parse_encoder_precision(std::string_view name);
const char* precision_name(EncoderPrecision precision);

// What CPUID (and XCR0, i.e. the OS) says this CPU runs natively for `precision`, e.g.
// "avx512_vnni" or "amx_int8"; empty when it has no native instructions for it.
std::string native_instructions(EncoderPrecision precision);

// Runs a small product through oneDNN in a forked child (so an illegal instruction kills only
// the child) and compares it with fp32. On failure, retries with oneDNN capped below AMX; when
// that passes, the cap is kept for this process. Ok = the path is safe to use here. Call it
// before any encoder thread exists; the result for each precision is cached.
Status self_test(EncoderPrecision precision);

}  // namespace kr::embed
