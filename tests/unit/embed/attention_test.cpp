// Self-attention over packed sequences: the fused AVX-512 kernel and the SGEMM reference against a
// plain double-precision computation, at lengths around the kernel's 8-row tiles and 32-key blocks.
#include "embed/attention.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

namespace kr::embed {
namespace {

// context = softmax(q·kᵀ/√d)·v per sequence and head, in double.
std::vector<float> naive_attention(const std::vector<float>& qkv, const std::vector<int>& lengths, size_t hidden,
                                   size_t heads) {
  const size_t d = hidden / heads, ld = 3 * hidden;
  size_t total = 0;
  for (int n : lengths) total += static_cast<size_t>(n);
  std::vector<float> out(total * hidden);
  size_t offset = 0;
  for (int length : lengths) {
    const size_t n = static_cast<size_t>(length);
    for (size_t h = 0; h < heads; ++h) {
      for (size_t i = 0; i < n; ++i) {
        const float* q = &qkv[(offset + i) * ld + h * d];
        std::vector<double> weights(n);
        double largest = -1e300;
        for (size_t j = 0; j < n; ++j) {
          const float* k = &qkv[(offset + j) * ld + hidden + h * d];
          double dot = 0;
          for (size_t c = 0; c < d; ++c) dot += static_cast<double>(q[c]) * k[c];
          weights[j] = dot / std::sqrt(static_cast<double>(d));
          largest = std::max(largest, weights[j]);
        }
        double sum = 0;
        for (double& w : weights) sum += (w = std::exp(w - largest));
        for (size_t c = 0; c < d; ++c) {
          double value = 0;
          for (size_t j = 0; j < n; ++j) value += weights[j] * qkv[(offset + j) * ld + 2 * hidden + h * d + c];
          out[(offset + i) * hidden + h * d + c] = static_cast<float>(value / sum);
        }
      }
    }
    offset += n;
  }
  return out;
}

struct Case {
  std::vector<int> lengths;
  size_t hidden, heads;
  std::vector<float> qkv;
};

Case random_case(std::vector<int> lengths, size_t hidden, size_t heads, float spread, unsigned seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal(0.0f, spread);
  size_t total = 0;
  for (int n : lengths) total += static_cast<size_t>(n);
  Case c{std::move(lengths), hidden, heads, std::vector<float>(total * 3 * hidden)};
  for (float& x : c.qkv) x = normal(rng);
  return c;
}

// Largest |got - expected| relative to the largest |expected| of the output.
double max_error(const std::vector<float>& got, const std::vector<float>& expected) {
  double error = 0, scale = 1e-30;
  for (size_t i = 0; i < got.size(); ++i) {
    error = std::max(error, std::fabs(static_cast<double>(got[i]) - expected[i]));
    scale = std::max(scale, std::fabs(static_cast<double>(expected[i])));
  }
  return error / scale;
}

void expect_kernel_matches_naive(AttentionKernel kernel, size_t head_dim, float spread) {
  const size_t heads = 3;
  // Around the 8-row tile and the 32-key block, single tokens, one long sequence.
  Case c = random_case({1, 2, 7, 8, 9, 15, 16, 17, 31, 32, 33, 64, 65, 130, 300}, head_dim * heads, heads, spread,
                       static_cast<unsigned>(head_dim));
  std::vector<float> out(c.qkv.size() / 3, -1.0f);
  AttentionScratch scratch;
  self_attention(c.qkv.data(), c.lengths, c.hidden, c.heads, out.data(), scratch, kernel);
  // fp32 scores carry a relative error of ~1e-7 · √d, so their absolute error (and the output's)
  // grows with their size: ±200 at spread 6.
  const double bound = spread > 2 ? 2e-5 : 2e-6;
  EXPECT_LT(max_error(out, naive_attention(c.qkv, c.lengths, c.hidden, c.heads)), bound)
      << attention_kernel_name(kernel) << " head_dim " << head_dim << " spread " << spread;
  // The same scratch reused for a shorter batch gives the same answer as a fresh one.
  Case small = random_case({5, 40}, head_dim * heads, heads, spread, 99);
  std::vector<float> reused(small.qkv.size() / 3), fresh(small.qkv.size() / 3);
  AttentionScratch new_scratch;
  self_attention(small.qkv.data(), small.lengths, small.hidden, small.heads, reused.data(), scratch, kernel);
  self_attention(small.qkv.data(), small.lengths, small.hidden, small.heads, fresh.data(), new_scratch, kernel);
  EXPECT_EQ(reused, fresh);
}

TEST(Attention, ReferenceMatchesNaive) {
  for (size_t head_dim : {16u, 24u, 32u, 64u}) {
    for (float spread : {1.0f, 6.0f}) expect_kernel_matches_naive(AttentionKernel::kReference, head_dim, spread);
  }
}

TEST(Attention, FusedMatchesNaiveForEverySupportedHeadSize) {
  std::string why_not;
  if (!fused_attention_available(32, &why_not)) GTEST_SKIP() << why_not;
  for (size_t head_dim : {16u, 32u, 48u, 64u}) {
    ASSERT_TRUE(fused_attention_available(head_dim));
    // spread 1: soft attention; 6: scores in the hundreds, nearly one-hot rows (exp range, max shift)
    for (float spread : {1.0f, 6.0f}) expect_kernel_matches_naive(AttentionKernel::kFused, head_dim, spread);
  }
}

TEST(Attention, AutoFallsBackToReferenceForOtherHeadSizes) {
  std::string why_not;
  EXPECT_FALSE(fused_attention_available(24, &why_not));
  EXPECT_NE(why_not.find("multiple of 16"), std::string::npos) << why_not;
  EXPECT_FALSE(fused_attention_available(80));
  expect_kernel_matches_naive(AttentionKernel::kAuto, 24, 1.0f);
}

}  // namespace
}  // namespace kr::embed
