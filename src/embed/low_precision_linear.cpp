#include "embed/low_precision_linear.h"

#include <omp.h>

#include <algorithm>
#include <cmath>
#include <dnnl.hpp>

#include "embed/kernels.h"

namespace kr::embed {
namespace {

using dnnl::memory;

dnnl::engine& cpu_engine() {
  static dnnl::engine engine(dnnl::engine::kind::cpu, 0);
  return engine;
}

// One stream per thread, and oneDNN's OpenMP kept to that thread: the encoder's own workers
// already fill the cores, so nested OpenMP threads would only oversubscribe them.
dnnl::stream& thread_stream() {
  thread_local bool single_threaded = [] {
    omp_set_num_threads(1);
    return true;
  }();
  (void)single_threaded;
  thread_local dnnl::stream stream(cpu_engine());
  return stream;
}

}  // namespace

struct LowPrecisionLinear::Kernel {
  dnnl::matmul primitive;
  memory weights;  // in the layout the primitive prefers
  memory::data_type input_type, output_type;
};

LowPrecisionLinear::LowPrecisionLinear(LowPrecisionLinear&&) noexcept = default;
LowPrecisionLinear& LowPrecisionLinear::operator=(LowPrecisionLinear&&) noexcept = default;
LowPrecisionLinear::~LowPrecisionLinear() = default;

Result<LowPrecisionLinear> LowPrecisionLinear::create(EncoderPrecision precision, const std::vector<float>& weight,
                                                      const std::vector<float>& bias, size_t in,
                                                      const std::vector<float>* input_range) {
  if (precision != EncoderPrecision::kInt8 && precision != EncoderPrecision::kBf16) {
    return error(ErrorCode::kInvalidArgument, "a low-precision linear layer runs in bf16 or int8");
  }
  const size_t out = bias.size();
  if (in == 0 || out == 0 || weight.size() != out * in) {
    return error(ErrorCode::kInvalidArgument, "linear layer weight is not [out × in]");
  }
  if (input_range != nullptr && input_range->size() != in) {
    return error(ErrorCode::kInvalidArgument, "linear layer input range does not have one value per input");
  }
  LowPrecisionLinear layer;
  layer.precision_ = precision;
  layer.in_ = in;
  layer.out_ = out;
  layer.bias_ = bias;
  const bool int8 = precision == EncoderPrecision::kInt8;

  // Weights in PyTorch's [out × in] order, converted to the product's type.
  std::vector<int8_t> quantized;
  std::vector<uint16_t> halves;
  if (int8) {
    layer.input_multipliers_.assign(in, 1.0f);
    std::vector<float> smoothed;
    if (input_range != nullptr) {
      std::vector<float> weight_range(in, 0.0f);
      for (size_t c = 0; c < out; ++c) {
        for (size_t k = 0; k < in; ++k) weight_range[k] = std::max(weight_range[k], std::fabs(weight[c * in + k]));
      }
      smoothed = weight;
      for (size_t k = 0; k < in; ++k) {
        const float s = std::sqrt(std::max((*input_range)[k], 1e-5f) / std::max(weight_range[k], 1e-5f));
        layer.input_multipliers_[k] = 1.0f / s;
        for (size_t c = 0; c < out; ++c) smoothed[c * in + k] *= s;
      }
    }
    const std::vector<float>& source = input_range != nullptr ? smoothed : weight;
    quantized.resize(out * in);
    layer.column_scales_.resize(out);
    layer.column_offsets_.resize(out);
    for (size_t c = 0; c < out; ++c) {
      const float* row = source.data() + c * in;
      float largest = 0;
      for (size_t k = 0; k < in; ++k) largest = std::max(largest, std::fabs(row[k]));
      const float scale = largest > 0 ? largest / 127.0f : 1.0f;
      int32_t sum = 0;
      for (size_t k = 0; k < in; ++k) {
        const auto q = static_cast<int8_t>(std::clamp(std::nearbyint(row[k] / scale), -127.0f, 127.0f));
        quantized[c * in + k] = q;
        sum += q;
      }
      layer.column_scales_[c] = scale;
      layer.column_offsets_[c] = 128 * sum;
    }
  } else {
    halves.resize(out * in);
    kernels::to_bf16(weight.data(), weight.size(), halves.data());
  }

  const auto k_dim = static_cast<memory::dim>(in), n_dim = static_cast<memory::dim>(out);
  auto kernel = std::make_unique<Kernel>();
  kernel->input_type = int8 ? memory::data_type::u8 : memory::data_type::bf16;
  kernel->output_type = int8 ? memory::data_type::s32 : memory::data_type::f32;
  const auto weight_type = int8 ? memory::data_type::s8 : memory::data_type::bf16;
  try {
    // M (tokens) varies per call: a runtime dimension, so one primitive serves every batch.
    const memory::desc src({DNNL_RUNTIME_DIM_VAL, k_dim}, kernel->input_type, memory::format_tag::ab);
    const memory::desc packed({k_dim, n_dim}, weight_type, memory::format_tag::any);
    const memory::desc dst({DNNL_RUNTIME_DIM_VAL, n_dim}, kernel->output_type, memory::format_tag::ab);
    const dnnl::matmul::primitive_desc pd(dnnl::matmul::desc(src, packed, dst), cpu_engine());
    kernel->primitive = dnnl::matmul(pd);
    // K × N with tag "ba" is exactly the [N × K] = [out × in] buffer we have.
    void* plain_data = int8 ? static_cast<void*>(quantized.data()) : static_cast<void*>(halves.data());
    memory plain({{k_dim, n_dim}, weight_type, memory::format_tag::ba}, cpu_engine(), plain_data);
    kernel->weights = memory(pd.weights_desc(), cpu_engine());
    dnnl::reorder(plain, kernel->weights).execute(thread_stream(), plain, kernel->weights);
    thread_stream().wait();
  } catch (const dnnl::error& e) {
    return error(ErrorCode::kUnsupported, std::string("oneDNN cannot build a ") + precision_name(precision) +
                                              " matrix product here: " + e.what());
  }
  layer.kernel_ = std::move(kernel);
  return layer;
}

Status LowPrecisionLinear::forward(const float* x, size_t rows, float* y, Scratch& scratch) const {
  if (rows == 0) return Status::ok();
  const bool int8 = precision_ == EncoderPrecision::kInt8;
  const size_t element = int8 ? 1 : 2;
  if (scratch.input.size() < rows * in_ * element) scratch.input.resize(rows * in_ * element);
  if (int8) {
    if (scratch.row_scales.size() < rows) scratch.row_scales.resize(rows);
    if (scratch.sums.size() < rows * out_) scratch.sums.resize(rows * out_);
    kernels::quantize_rows_u8(x, rows, in_, input_multipliers_.data(), scratch.input.data(),
                              scratch.row_scales.data());
  } else {
    kernels::to_bf16(x, rows * in_, reinterpret_cast<uint16_t*>(scratch.input.data()));
  }
  const auto m = static_cast<memory::dim>(rows);
  void* result = int8 ? static_cast<void*>(scratch.sums.data()) : static_cast<void*>(y);
  try {
    memory src({{m, static_cast<memory::dim>(in_)}, kernel_->input_type, memory::format_tag::ab}, cpu_engine(),
               scratch.input.data());
    memory dst({{m, static_cast<memory::dim>(out_)}, kernel_->output_type, memory::format_tag::ab}, cpu_engine(),
               result);
    dnnl::stream& stream = thread_stream();
    kernel_->primitive.execute(stream,
                               {{DNNL_ARG_SRC, src}, {DNNL_ARG_WEIGHTS, kernel_->weights}, {DNNL_ARG_DST, dst}});
    stream.wait();
  } catch (const dnnl::error& e) {
    return error(ErrorCode::kInternal, std::string("oneDNN matrix product failed: ") + e.what());
  }
  if (int8) {
    kernels::dequantize_rows(scratch.sums.data(), rows, out_, scratch.row_scales.data(), column_scales_.data(),
                             column_offsets_.data(), bias_.data(), y);
  } else {
    kernels::add_bias(y, bias_.data(), rows, out_);
  }
  return Status::ok();
}

}  // namespace kr::embed
