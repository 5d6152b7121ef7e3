#include "embed/kernels.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

namespace kr::embed::kernels {
namespace {

TEST(Kernels, ExpMatchesLibmWithinFloatRounding) {
  double worst = 0;
  for (float x = -80.0f; x <= 80.0f; x += 0.0137f) {
    const double exact = std::exp(static_cast<double>(x));
    worst = std::max(worst, std::fabs(exp_approx(x) - exact) / exact);
  }
  EXPECT_LT(worst, 3e-7);
  EXPECT_GT(exp_approx(-1000.0f), 0.0f);  // clamped, never NaN or negative
  EXPECT_LT(exp_approx(-1000.0f), 1e-37f);
}

TEST(Kernels, ErfMatchesLibm) {
  double worst = 0;
  for (float x = -6.0f; x <= 6.0f; x += 0.001f) {
    worst = std::max(worst, static_cast<double>(std::fabs(erf_approx(x) - std::erf(x))));
  }
  EXPECT_LT(worst, 1e-6);  // A&S 7.1.26's 1.5e-7 plus float rounding
}

TEST(Kernels, SoftmaxRowsSumToOneAndMatchReference) {
  std::mt19937 rng(7);
  std::normal_distribution<float> normal(0.0f, 4.0f);
  const size_t rows = 5, cols = 37;
  std::vector<float> x(rows * cols);
  for (float& v : x) v = normal(rng);
  std::vector<float> original = x;
  softmax_rows(x.data(), rows, cols, 0.5f);
  for (size_t r = 0; r < rows; ++r) {
    double max_value = -1e30, sum = 0;
    for (size_t c = 0; c < cols; ++c) max_value = std::max(max_value, 0.5 * original[r * cols + c]);
    for (size_t c = 0; c < cols; ++c) sum += std::exp(0.5 * original[r * cols + c] - max_value);
    double total = 0;
    for (size_t c = 0; c < cols; ++c) {
      const double expected = std::exp(0.5 * original[r * cols + c] - max_value) / sum;
      EXPECT_NEAR(x[r * cols + c], expected, 1e-6);
      total += x[r * cols + c];
    }
    EXPECT_NEAR(total, 1.0, 1e-5);
  }
}

TEST(Kernels, LayerNormWithResidual) {
  std::vector<float> x = {1, 2, 3, 4}, residual = {1, 1, 1, 1}, gamma = {1, 2, 1, 1}, beta = {0, 0, 1, 0};
  add_layer_norm(x.data(), residual.data(), gamma.data(), beta.data(), 1, 4, 1e-12f);
  // x + residual = 2,3,4,5: mean 3.5, variance 1.25
  const double inv = 1.0 / std::sqrt(1.25);
  EXPECT_NEAR(x[0], -1.5 * inv, 1e-6);
  EXPECT_NEAR(x[1], -0.5 * inv * 2, 1e-6);
  EXPECT_NEAR(x[2], 0.5 * inv + 1, 1e-6);
  EXPECT_NEAR(x[3], 1.5 * inv, 1e-6);
}

TEST(Kernels, GeluVariants) {
  std::vector<float> erf_values = {-3.0f, -1.0f, 0.0f, 0.5f, 2.0f, 10.0f};
  std::vector<float> tanh_values = erf_values;
  std::vector<float> relu_values = erf_values;
  gelu_erf(erf_values.data(), erf_values.size());
  gelu_tanh(tanh_values.data(), tanh_values.size());
  relu(relu_values.data(), relu_values.size());
  const float inputs[] = {-3.0f, -1.0f, 0.0f, 0.5f, 2.0f, 10.0f};
  for (size_t i = 0; i < 6; ++i) {
    const double x = inputs[i];
    EXPECT_NEAR(erf_values[i], 0.5 * x * (1 + std::erf(x / std::sqrt(2.0))), 2e-6) << x;
    EXPECT_NEAR(tanh_values[i], 0.5 * x * (1 + std::tanh(std::sqrt(2 / M_PI) * (x + 0.044715 * x * x * x))), 2e-6)
        << x;
    EXPECT_EQ(relu_values[i], std::max(0.0f, inputs[i]));
  }
}

}  // namespace
}  // namespace kr::embed::kernels
