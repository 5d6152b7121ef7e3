// The bf16/int8 linear layer and its quantization kernels against fp32 arithmetic.
#include "embed/low_precision_linear.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "embed/kernels.h"

namespace kr::embed {
namespace {

TEST(Quantization, RowsMapToU8AroundZeroPointAndBack) {
  const std::vector<float> x = {-2.0f, 0.0f, 1.0f, 2.0f, /* all-zero row */ 0.0f, 0.0f, 0.0f, 0.0f};
  std::vector<uint8_t> q(8);
  std::vector<float> scales(2);
  const std::vector<float> ones(4, 1.0f);
  kernels::quantize_rows_u8(x.data(), 2, 4, ones.data(), q.data(), scales.data());
  EXPECT_FLOAT_EQ(scales[0], 2.0f / 127.0f);
  EXPECT_EQ(q[0], 1);    // -127 + 128
  EXPECT_EQ(q[1], 128);  // 0
  EXPECT_EQ(q[2], 192);  // round(63.5) = 64 (ties to even) + 128
  EXPECT_EQ(q[3], 255);  // 127 + 128
  EXPECT_FLOAT_EQ(scales[1], 1.0f);
  for (size_t c = 4; c < 8; ++c) EXPECT_EQ(q[c], 128);

  // Sums of (q - 128)·w: 10 with offset 128·Σw removed, scaled by row and column scale.
  const std::vector<int32_t> sums = {10 + 128 * 3, 128 * 3};
  const std::vector<float> row_scales = {0.5f, 2.0f}, column_scales = {0.25f}, bias = {1.0f};
  const std::vector<int32_t> offsets = {128 * 3};
  std::vector<float> y(2);
  kernels::dequantize_rows(sums.data(), 2, 1, row_scales.data(), column_scales.data(), offsets.data(), bias.data(),
                           y.data());
  EXPECT_FLOAT_EQ(y[0], 10 * 0.5f * 0.25f + 1.0f);
  EXPECT_FLOAT_EQ(y[1], 1.0f);
}

TEST(Quantization, Bf16RoundsToNearestEven) {
  const std::vector<float> x = {1.0f, std::bit_cast<float>(0x3F808000u), std::bit_cast<float>(0x3F818000u),
                                std::bit_cast<float>(0x3F808001u), -0.0f, NAN};
  std::vector<uint16_t> out(x.size());
  kernels::to_bf16(x.data(), x.size(), out.data());
  EXPECT_EQ(out[0], 0x3F80);
  EXPECT_EQ(out[1], 0x3F80);  // tie: stays even
  EXPECT_EQ(out[2], 0x3F82);  // tie: rounds up to even
  EXPECT_EQ(out[3], 0x3F81);  // above the tie
  EXPECT_EQ(out[4], 0x8000);
  EXPECT_EQ(out[5] & 0x7F80, 0x7F80);
  EXPECT_NE(out[5] & 0x7F, 0);  // still a NaN, not infinity
}

// y = x·Wᵀ + b for a layer shaped like MiniLM's FFN input (384 → 1536), against double sums,
// row by row: row 0 has an outlier (coarser steps for that row only, hence `outlier_bound`).
void expect_close_to_fp32(EncoderPrecision precision, double relative_bound, double outlier_bound) {
  if (Status tested = self_test(precision); !tested) GTEST_SKIP() << tested.to_string();
  const size_t in = 384, out = 1536;
  std::mt19937 random(7);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::vector<float> weight(out * in), bias(out);
  for (float& v : weight) v = 0.05f * normal(random);
  for (float& v : bias) v = normal(random);
  auto layer = LowPrecisionLinear::create(precision, weight, bias, in);
  ASSERT_TRUE(layer) << layer.status().to_string();
  LowPrecisionLinear::Scratch scratch;
  for (size_t rows : {1u, 7u, 130u}) {  // row counts vary per call: one primitive serves all
    std::vector<float> x(rows * in), y(rows * out);
    for (float& v : x) v = normal(random);
    x[3] = 25.0f;  // an outlier: per-row scales keep it from flattening the other rows
    ASSERT_TRUE(layer->forward(x.data(), rows, y.data(), scratch));
    for (size_t r = 0; r < rows; ++r) {
      double error = 0, norm = 0;
      for (size_t c = 0; c < out; ++c) {
        double expected = bias[c];
        for (size_t k = 0; k < in; ++k) expected += static_cast<double>(x[r * in + k]) * weight[c * in + k];
        error += (y[r * out + c] - expected) * (y[r * out + c] - expected);
        norm += expected * expected;
      }
      EXPECT_LT(std::sqrt(error / norm), r == 0 ? outlier_bound : relative_bound)
          << precision_name(precision) << ", row " << r << " of " << rows;
    }
  }
  std::vector<float> none;
  EXPECT_TRUE(layer->forward(none.data(), 0, none.data(), scratch));
}

TEST(LowPrecisionLinear, Int8IsCloseToFp32) { expect_close_to_fp32(EncoderPrecision::kInt8, 0.02, 0.05); }
TEST(LowPrecisionLinear, Bf16IsCloseToFp32) { expect_close_to_fp32(EncoderPrecision::kBf16, 0.005, 0.005); }

// With the input ranges given, a channel 40x larger than the rest no longer coarsens every row.
TEST(LowPrecisionLinear, Int8SmoothingKeepsAnOutlierChannelFromCostingPrecision) {
  if (Status tested = self_test(EncoderPrecision::kInt8); !tested) GTEST_SKIP() << tested.to_string();
  const size_t in = 256, out = 64, rows = 50;
  std::mt19937 random(11);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::vector<float> weight(out * in), bias(out, 0.0f), x(rows * in), y(rows * out), range(in, 0.0f);
  for (float& v : weight) v = 0.05f * normal(random);
  for (size_t r = 0; r < rows; ++r) {
    for (size_t k = 0; k < in; ++k) x[r * in + k] = normal(random) * (k == 5 ? 40.0f : 1.0f);
  }
  for (size_t r = 0; r < rows; ++r) {
    for (size_t k = 0; k < in; ++k) range[k] = std::max(range[k], std::fabs(x[r * in + k]));
  }
  auto relative_error = [&](const std::vector<float>* input_range) {
    auto layer = LowPrecisionLinear::create(EncoderPrecision::kInt8, weight, bias, in, input_range);
    EXPECT_TRUE(layer) << layer.status().to_string();
    LowPrecisionLinear::Scratch scratch;
    EXPECT_TRUE(layer->forward(x.data(), rows, y.data(), scratch));
    double error = 0, norm = 0;
    for (size_t r = 0; r < rows; ++r) {
      for (size_t c = 0; c < out; ++c) {
        double expected = 0;
        for (size_t k = 0; k < in; ++k) expected += static_cast<double>(x[r * in + k]) * weight[c * in + k];
        error += (y[r * out + c] - expected) * (y[r * out + c] - expected);
        norm += expected * expected;
      }
    }
    return std::sqrt(error / norm);
  };
  const double plain = relative_error(nullptr), smoothed = relative_error(&range);
  EXPECT_LT(smoothed, 0.02);
  EXPECT_LT(smoothed, plain / 2) << "plain " << plain << ", smoothed " << smoothed;
  const std::vector<float> wrong_size(in - 1, 1.0f);
  EXPECT_FALSE(LowPrecisionLinear::create(EncoderPrecision::kInt8, weight, bias, in, &wrong_size));
}

TEST(LowPrecisionLinear, RejectsMismatchedShapesAndFp32) {
  EXPECT_FALSE(LowPrecisionLinear::create(EncoderPrecision::kInt8, std::vector<float>(10), {1, 2, 3}, 4));
  EXPECT_FALSE(LowPrecisionLinear::create(EncoderPrecision::kFp32, std::vector<float>(12), {1, 2, 3}, 4));
}

TEST(EncoderPrecision, ParsesTheFourNamesOnly) {
  for (const char* name : {"auto", "fp32", "bf16", "int8"}) {
    auto parsed = parse_encoder_precision(name);
    ASSERT_TRUE(parsed) << name;
    EXPECT_STREQ(precision_name(*parsed), name);
  }
  auto bad = parse_encoder_precision("fp16");
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.status().code(), ErrorCode::kInvalidArgument);
  EXPECT_NE(bad.status().message().find("auto, fp32, bf16, int8"), std::string::npos);
}

TEST(EncoderPrecision, Fp32NeedsNoSelfTestAndResultsAreCached) {
  EXPECT_TRUE(self_test(EncoderPrecision::kFp32));
  EXPECT_FALSE(self_test(EncoderPrecision::kAuto));
  const Status first = self_test(EncoderPrecision::kInt8);
  EXPECT_EQ(self_test(EncoderPrecision::kInt8).is_ok(), first.is_ok());
}

}  // namespace
}  // namespace kr::embed
