#include "embed/kernels.h"

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>

// One definition per ISA level; the dynamic loader resolves the best one at start (ifunc).
// Not under ThreadSanitizer: the loader runs the resolvers before TSan's runtime is set up, and
// their instrumented function entry crashes every program linking kr_embed (SIGSEGV in
// add_layer_norm's resolver). The baseline kernels carry the same thread-safety.
#if defined(__SANITIZE_THREAD__)
#define KR_MULTIVERSION
#else
#define KR_MULTIVERSION __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#endif

namespace kr::embed::kernels {
namespace {

// exp(x) for x <= 88: range reduction x = k·ln2 + r, |r| <= ln2/2, then a degree-7 Taylor
// polynomial (relative error < 1e-7, below float's own rounding). Branch-free so it vectorizes.
inline float exp_inline(float x) {
  x = std::max(x, -87.0f);
  x = std::min(x, 88.0f);
  constexpr float kLog2e = 1.44269504088896341f;
  constexpr float kLn2Hi = 0.693145751953125f;
  constexpr float kLn2Lo = 1.42860682030941723212e-6f;
  constexpr float kRound = 12582912.0f;  // 1.5·2^23: adding and subtracting rounds to an integer
  const float k = (x * kLog2e + kRound) - kRound;
  const float r = (x - k * kLn2Hi) - k * kLn2Lo;
  float p = 1.0f / 5040.0f;
  p = p * r + 1.0f / 720.0f;
  p = p * r + 1.0f / 120.0f;
  p = p * r + 1.0f / 24.0f;
  p = p * r + 1.0f / 6.0f;
  p = p * r + 0.5f;
  p = p * r + 1.0f;
  p = p * r + 1.0f;
  const auto scale = std::bit_cast<float>(static_cast<uint32_t>(static_cast<int32_t>(k) + 127) << 23);
  return p * scale;
}

// erf(x) by Abramowitz & Stegun 7.1.26 (absolute error 1.5e-7, < 5e-7 with float rounding:
// far below what moves a GELU output or an embedding's cosine).
inline float erf_inline(float x) {
  const float a = std::fabs(x);
  const float t = 1.0f / (1.0f + 0.3275911f * a);
  float p = 1.061405429f;
  p = p * t - 1.453152027f;
  p = p * t + 1.421413741f;
  p = p * t - 0.284496736f;
  p = p * t + 0.254829592f;
  const float y = 1.0f - p * t * exp_inline(-a * a);
  return std::copysign(y, x);
}

}  // namespace

float exp_approx(float x) { return exp_inline(x); }
float erf_approx(float x) { return erf_inline(x); }

KR_MULTIVERSION void add_bias(float* y, const float* bias, size_t rows, size_t cols) {
  for (size_t r = 0; r < rows; ++r) {
    float* row = y + r * cols;
    for (size_t c = 0; c < cols; ++c) row[c] += bias[c];
  }
}

KR_MULTIVERSION void add_layer_norm(float* x, const float* residual, const float* gamma, const float* beta,
                                    size_t rows, size_t cols, float eps) {
  for (size_t r = 0; r < rows; ++r) {
    float* row = x + r * cols;
    if (residual != nullptr) {
      const float* res = residual + r * cols;
      for (size_t c = 0; c < cols; ++c) row[c] += res[c];
    }
    // Two passes in double: mean first, then the variance around it (as PyTorch, no E[x²]-E[x]²).
    double sum = 0;
    for (size_t c = 0; c < cols; ++c) sum += row[c];
    const float mean = static_cast<float>(sum / static_cast<double>(cols));
    double squares = 0;
    for (size_t c = 0; c < cols; ++c) {
      const float d = row[c] - mean;
      squares += static_cast<double>(d) * d;
    }
    const float inv_std = static_cast<float>(1.0 / std::sqrt(squares / static_cast<double>(cols) + eps));
    for (size_t c = 0; c < cols; ++c) row[c] = (row[c] - mean) * inv_std * gamma[c] + beta[c];
  }
}

KR_MULTIVERSION void softmax_rows(float* x, size_t rows, size_t cols, float scale) {
  for (size_t r = 0; r < rows; ++r) {
    float* row = x + r * cols;
    float max_value = -INFINITY;
    for (size_t c = 0; c < cols; ++c) max_value = std::max(max_value, row[c]);
    // Separate loops: the exp loop vectorizes, a float sum in it would not (no reassociation).
    for (size_t c = 0; c < cols; ++c) row[c] = exp_inline((row[c] - max_value) * scale);
    float sum = 0;
    for (size_t c = 0; c < cols; ++c) sum += row[c];
    const float inv = 1.0f / sum;
    for (size_t c = 0; c < cols; ++c) row[c] *= inv;
  }
}

KR_MULTIVERSION void gelu_erf(float* x, size_t n) {
  constexpr float kInvSqrt2 = 0.70710678118654752f;
  for (size_t i = 0; i < n; ++i) x[i] = 0.5f * x[i] * (1.0f + erf_inline(x[i] * kInvSqrt2));
}

KR_MULTIVERSION void gelu_tanh(float* x, size_t n) {
  constexpr float kSqrt2OverPi = 0.79788456080286536f;
  for (size_t i = 0; i < n; ++i) {
    const float v = x[i];
    const float u = kSqrt2OverPi * (v + 0.044715f * v * v * v);
    // tanh(u) = 1 - 2 / (exp(2u) + 1), saturating correctly at both ends.
    const float t = 1.0f - 2.0f / (exp_inline(2.0f * u) + 1.0f);
    x[i] = 0.5f * v * (1.0f + t);
  }
}

KR_MULTIVERSION void relu(float* x, size_t n) {
  for (size_t i = 0; i < n; ++i) x[i] = std::max(x[i], 0.0f);
}

KR_MULTIVERSION void quantize_rows_u8(const float* x, size_t rows, size_t cols, const float* multipliers,
                                      uint8_t* q, float* scales) {
  constexpr float kRound = 12582912.0f;  // as in exp_inline: rounds to nearest, vectorizes
  for (size_t r = 0; r < rows; ++r) {
    const float* row = x + r * cols;
    float largest = 0;
    for (size_t c = 0; c < cols; ++c) largest = std::max(largest, std::fabs(row[c] * multipliers[c]));
    const float scale = largest > 0 ? largest / 127.0f : 1.0f;
    const float inv = 1.0f / scale;
    uint8_t* out = q + r * cols;
    for (size_t c = 0; c < cols; ++c) {
      const float v = std::min(std::max((row[c] * multipliers[c] * inv + kRound) - kRound, -127.0f), 127.0f);
      out[c] = static_cast<uint8_t>(static_cast<int32_t>(v) + 128);
    }
    scales[r] = scale;
  }
}

KR_MULTIVERSION void dequantize_rows(const int32_t* sums, size_t rows, size_t cols, const float* row_scales,
                                     const float* column_scales, const int32_t* column_offsets, const float* bias,
                                     float* y) {
  for (size_t r = 0; r < rows; ++r) {
    const int32_t* in = sums + r * cols;
    float* out = y + r * cols;
    const float row_scale = row_scales[r];
    for (size_t c = 0; c < cols; ++c) {
      out[c] = static_cast<float>(in[c] - column_offsets[c]) * (row_scale * column_scales[c]) + bias[c];
    }
  }
}

KR_MULTIVERSION void to_bf16(const float* x, size_t n, uint16_t* out) {
  for (size_t i = 0; i < n; ++i) {
    const uint32_t bits = std::bit_cast<uint32_t>(x[i]);
    const uint32_t rounded = bits + 0x7FFFu + ((bits >> 16) & 1u);
    const bool nan = (bits & 0x7FFFFFFFu) > 0x7F800000u;
    out[i] = static_cast<uint16_t>(nan ? (bits >> 16) | 0x40u : rounded >> 16);
  }
}

}  // namespace kr::embed::kernels
