// Element-wise kernels of the transformer (the matrix products go to BLAS). Each is compiled
// for AVX-512, AVX2+FMA and baseline x86-64, and the loader picks one at run time by CPU.
#pragma once

#include <cstddef>
#include <cstdint>

namespace kr::embed::kernels {

// y[r][c] += bias[c] for each of `rows` rows of `cols` floats.
void add_bias(float* y, const float* bias, size_t rows, size_t cols);
// x = LayerNorm(x + residual) row by row (gamma, beta per column); `residual` may be null.
void add_layer_norm(float* x, const float* residual, const float* gamma, const float* beta, size_t rows,
                    size_t cols, float eps);
// In-place row softmax of `rows` rows of `cols` floats, each scaled by `scale` first.
void softmax_rows(float* x, size_t rows, size_t cols, float scale);
// Activations, in place.
void gelu_erf(float* x, size_t n);   // 0.5·x·(1 + erf(x/√2)), BERT's "gelu"
void gelu_tanh(float* x, size_t n);  // tanh approximation ("gelu_new", "gelu_pytorch_tanh")
void relu(float* x, size_t n);

// Reduced precision (see low_precision_linear.h). Each row of x[rows × cols], times the column's
// multiplier, becomes u8 = round(v / scale) + 128 with scale = max|v| / 127 (1 for an all-zero row).
void quantize_rows_u8(const float* x, size_t rows, size_t cols, const float* multipliers, uint8_t* q,
                      float* scales);
// y[r][c] = (sums[r][c] - column_offsets[c]) · row_scales[r] · column_scales[c] + bias[c].
void dequantize_rows(const int32_t* sums, size_t rows, size_t cols, const float* row_scales,
                     const float* column_scales, const int32_t* column_offsets, const float* bias, float* y);
// fp32 → bf16, rounded to nearest even (NaN stays NaN).
void to_bf16(const float* x, size_t n, uint16_t* out);

// Scalar references used by the tests: exp and erf as the kernels compute them.
float exp_approx(float x);
float erf_approx(float x);

}  // namespace kr::embed::kernels
