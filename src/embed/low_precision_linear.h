// A linear layer y = x·Wᵀ + b run by oneDNN in bf16 or int8, with fp32 input and output.
//
// int8: W is quantized once per output channel (symmetric, s8); each call quantizes x per row
// (token) to u8 = round(x / scale) + 128, the form VNNI multiplies, and removes the +128 again
// from the int32 sums with each column's weight sum. bf16: W and x rounded to bf16, fp32 sums.
//
// BERT's LayerNorm outputs have a few channels ~10-50x larger than the rest, which would take
// most of a token's 8 bits. Given each input channel's range seen on calibration text, int8
// moves that range into the weights as SmoothQuant does (Xiao et al. 2023, α = 0.5):
// x_k / s_k and W_ck · s_k with s_k = sqrt(max|x_k| / max|W_k|); the product is unchanged.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "core/status.h"
#include "embed/precision.h"

namespace kr::embed {

class LowPrecisionLinear {
 public:
  // Per-thread buffers of forward(); reuse them across calls from the same thread.
  struct Scratch {
    std::vector<uint8_t> input;  // quantized (u8) or bf16 rows
    std::vector<float> row_scales;
    std::vector<int32_t> sums;
  };

  // `weight` is [out × in] as in PyTorch, `bias` [out]. precision is kBf16 or kInt8.
  // `input_range` (int8 only, optional): max |x_k| of each of the `in` input channels.
  static Result<LowPrecisionLinear> create(EncoderPrecision precision, const std::vector<float>& weight,
                                           const std::vector<float>& bias, size_t in,
                                           const std::vector<float>* input_range = nullptr);
  LowPrecisionLinear(LowPrecisionLinear&&) noexcept;
  LowPrecisionLinear& operator=(LowPrecisionLinear&&) noexcept;
  ~LowPrecisionLinear();

  // y[rows × out] = x[rows × in]·Wᵀ + b. Thread-safe: any number of threads may call it at once.
  Status forward(const float* x, size_t rows, float* y, Scratch& scratch) const;

  size_t in() const { return in_; }
  size_t out() const { return out_; }

 private:
  struct Kernel;  // the oneDNN primitive and its packed weights
  LowPrecisionLinear() = default;

  EncoderPrecision precision_ = EncoderPrecision::kInt8;
  size_t in_ = 0, out_ = 0;
  std::vector<float> bias_;
  std::vector<float> input_multipliers_;  // int8: 1 / s_k of each input channel (1 without a range)
  std::vector<float> column_scales_;   // int8: the weight scale of each output column
  std::vector<int32_t> column_offsets_;  // int8: 128 · Σ_k W_q[c][k], subtracted from each sum
  std::unique_ptr<Kernel> kernel_;
};

}  // namespace kr::embed
