#include "embed/bert_model.h"

#include <cblas.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>

#include "embed/kernels.h"
#include "embed/safetensors.h"

namespace kr::embed {
namespace {

// y[rows × out] = x[rows × in] · weightᵀ + bias, weight stored [out × in] as in PyTorch.
void linear(const float* x, size_t rows, size_t in, const std::vector<float>& weight, const std::vector<float>& bias,
            float* y) {
  const size_t out = bias.size();
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, static_cast<int>(rows), static_cast<int>(out),
              static_cast<int>(in), 1.0f, x, static_cast<int>(in), weight.data(), static_cast<int>(in), 0.0f, y,
              static_cast<int>(out));
  kernels::add_bias(y, bias.data(), rows, out);
}

Result<int> positive_int(const nlohmann::json& config, const char* key, const std::string& where) {
  const auto it = config.find(key);
  if (it == config.end() || !it->is_number_integer() || it->get<int64_t>() <= 0 || it->get<int64_t>() > 1 << 20) {
    return error(ErrorCode::kInvalidArgument, where + ": '" + key + "' must be a positive integer");
  }
  return it->get<int>();
}

}  // namespace

Result<BertConfig> BertConfig::from_file(const std::filesystem::path& config_json) {
  const std::string where = config_json.string();
  std::ifstream in(config_json);
  if (!in) return error(ErrorCode::kNotFound, "cannot read " + where);
  nlohmann::json json;
  try {
    json = nlohmann::json::parse(in);
  } catch (const std::exception& e) {
    return error(ErrorCode::kInvalidArgument, where + " is not valid JSON: " + e.what());
  }
  if (!json.is_object()) return error(ErrorCode::kInvalidArgument, where + " is not a JSON object");
  const std::string model_type = json.value("model_type", "");
  if (model_type != "bert") {
    return error(ErrorCode::kUnsupported,
                 where + ": model_type '" + model_type +
                     "' is not supported; the local encoder runs BERT-family models (all-MiniLM, bge, e5, ...)");
  }
  if (json.value("position_embedding_type", "absolute") != "absolute") {
    return error(ErrorCode::kUnsupported, where + ": only absolute position embeddings are supported");
  }
  BertConfig config;
  struct Field {
    const char* key;
    int* target;
  };
  for (const Field& field : {Field{"vocab_size", &config.vocab_size}, Field{"hidden_size", &config.hidden_size},
                             Field{"num_hidden_layers", &config.num_layers},
                             Field{"num_attention_heads", &config.num_heads},
                             Field{"intermediate_size", &config.intermediate_size},
                             Field{"max_position_embeddings", &config.max_position_embeddings}}) {
    auto value = positive_int(json, field.key, where);
    if (!value) return value.status();
    *field.target = *value;
  }
  config.type_vocab_size = json.value("type_vocab_size", 2);
  if (config.type_vocab_size < 1) return error(ErrorCode::kInvalidArgument, where + ": type_vocab_size must be >= 1");
  if (config.hidden_size % config.num_heads != 0) {
    return error(ErrorCode::kInvalidArgument, where + ": hidden_size is not a multiple of num_attention_heads");
  }
  config.layer_norm_eps = json.value("layer_norm_eps", 1e-12f);
  const std::string act = json.value("hidden_act", "gelu");
  if (act == "gelu") {
    config.activation = Activation::kGeluErf;
  } else if (act == "gelu_new" || act == "gelu_pytorch_tanh" || act == "gelu_fast") {
    config.activation = Activation::kGeluTanh;
  } else if (act == "relu") {
    config.activation = Activation::kRelu;
  } else {
    return error(ErrorCode::kUnsupported, where + ": hidden_act '" + act + "' is not supported");
  }
  return config;
}

Result<BertModel> BertModel::load(const std::filesystem::path& safetensors, const BertConfig& config) {
  auto file = SafeTensorsFile::open(safetensors);
  if (!file) return file.status();
  // Checkpoints saved from BertForMaskedLM & co. prefix the encoder's names with "bert.".
  std::string prefix;
  for (const char* candidate : {"", "bert.", "model."}) {
    if (file->contains(std::string(candidate) + "embeddings.word_embeddings.weight")) {
      prefix = candidate;
      break;
    }
  }
  const int64_t h = config.hidden_size, inner = config.intermediate_size;
  Status failure;
  auto read = [&](const std::string& name, std::vector<int64_t> shape) {
    if (!failure.is_ok()) return std::vector<float>{};
    auto tensor = file->read_float(prefix + name, shape);
    if (!tensor) {
      failure = tensor.status();
      return std::vector<float>{};
    }
    return std::move(tensor).value();
  };

  BertModel model;
  model.config_ = config;
  model.word_embeddings_ = read("embeddings.word_embeddings.weight", {config.vocab_size, h});
  model.position_embeddings_ = read("embeddings.position_embeddings.weight", {config.max_position_embeddings, h});
  model.token_type_embeddings_ = read("embeddings.token_type_embeddings.weight", {config.type_vocab_size, h});
  model.embedding_norm_gamma_ = read("embeddings.LayerNorm.weight", {h});
  model.embedding_norm_beta_ = read("embeddings.LayerNorm.bias", {h});
  for (int i = 0; i < config.num_layers && failure.is_ok(); ++i) {
    const std::string base = "encoder.layer." + std::to_string(i) + ".";
    Layer layer;
    for (const char* part : {"query", "key", "value"}) {
      auto weight = read(base + "attention.self." + part + ".weight", {h, h});
      auto bias = read(base + "attention.self." + part + ".bias", {h});
      layer.qkv_weight.insert(layer.qkv_weight.end(), weight.begin(), weight.end());
      layer.qkv_bias.insert(layer.qkv_bias.end(), bias.begin(), bias.end());
    }
    layer.attention_out_weight = read(base + "attention.output.dense.weight", {h, h});
    layer.attention_out_bias = read(base + "attention.output.dense.bias", {h});
    layer.attention_norm_gamma = read(base + "attention.output.LayerNorm.weight", {h});
    layer.attention_norm_beta = read(base + "attention.output.LayerNorm.bias", {h});
    layer.ffn_in_weight = read(base + "intermediate.dense.weight", {inner, h});
    layer.ffn_in_bias = read(base + "intermediate.dense.bias", {inner});
    layer.ffn_out_weight = read(base + "output.dense.weight", {h, inner});
    layer.ffn_out_bias = read(base + "output.dense.bias", {h});
    layer.ffn_norm_gamma = read(base + "output.LayerNorm.weight", {h});
    layer.ffn_norm_beta = read(base + "output.LayerNorm.bias", {h});
    model.layers_.push_back(std::move(layer));
  }
  if (!failure.is_ok()) return failure;
  KR_RETURN_IF_ERROR(model.use_attention(AttentionKernel::kAuto));
  return model;
}

void BertModel::embed_tokens(std::span<const int32_t> tokens, std::span<const int> lengths, float* hidden) const {
  const size_t h = static_cast<size_t>(config_.hidden_size);
  size_t t = 0;
  for (int length : lengths) {
    for (int position = 0; position < length; ++position, ++t) {
      const float* word = word_embeddings_.data() + static_cast<size_t>(tokens[t]) * h;
      const float* pos = position_embeddings_.data() + static_cast<size_t>(position) * h;
      const float* type = token_type_embeddings_.data();  // single-segment input: token type 0
      float* out = hidden + t * h;
      for (size_t c = 0; c < h; ++c) out[c] = word[c] + pos[c] + type[c];
    }
  }
  kernels::add_layer_norm(hidden, nullptr, embedding_norm_gamma_.data(), embedding_norm_beta_.data(), tokens.size(),
                          h, config_.layer_norm_eps);
}

Status BertModel::use_precision(EncoderPrecision precision, const InputRanges* ranges) {
  if (precision == EncoderPrecision::kAuto) {
    return error(ErrorCode::kInvalidArgument, "the model runs a concrete precision (fp32, bf16 or int8)");
  }
  std::vector<LowPrecisionLayer> converted;
  if (precision != EncoderPrecision::kFp32) {
    const size_t h = static_cast<size_t>(config_.hidden_size);
    const size_t inner = static_cast<size_t>(config_.intermediate_size);
    if (ranges != nullptr && ranges->size() != layers_.size()) {
      return error(ErrorCode::kInvalidArgument, "calibration ranges do not match the model's layers");
    }
    for (size_t i = 0; i < layers_.size(); ++i) {
      const Layer& layer = layers_[i];
      auto range = [&](size_t which) { return ranges != nullptr ? &(*ranges)[i][which] : nullptr; };
      auto qkv = LowPrecisionLinear::create(precision, layer.qkv_weight, layer.qkv_bias, h, range(0));
      if (!qkv) return qkv.status();
      auto attention_out = LowPrecisionLinear::create(precision, layer.attention_out_weight,
                                                      layer.attention_out_bias, h, range(1));
      if (!attention_out) return attention_out.status();
      auto ffn_in = LowPrecisionLinear::create(precision, layer.ffn_in_weight, layer.ffn_in_bias, h, range(2));
      if (!ffn_in) return ffn_in.status();
      auto ffn_out = LowPrecisionLinear::create(precision, layer.ffn_out_weight, layer.ffn_out_bias, inner,
                                                range(3));
      if (!ffn_out) return ffn_out.status();
      converted.push_back({std::move(qkv).value(), std::move(attention_out).value(), std::move(ffn_in).value(),
                           std::move(ffn_out).value()});
    }
  }
  low_precision_layers_ = std::move(converted);
  precision_ = precision;
  return Status::ok();
}

Status BertModel::use_attention(AttentionKernel kernel) {
  const size_t head_dim = static_cast<size_t>(config_.hidden_size / config_.num_heads);
  std::string why_not;
  const bool fused = fused_attention_available(head_dim, &why_not);
  if (kernel == AttentionKernel::kFused && !fused) {
    return error(ErrorCode::kUnsupported, "fused attention: " + why_not);
  }
  attention_ = kernel == AttentionKernel::kAuto ? (fused ? AttentionKernel::kFused : AttentionKernel::kReference)
                                                : kernel;
  return Status::ok();
}

Status BertModel::calibrate(std::span<const int32_t> tokens, std::span<const int> lengths,
                            InputRanges& ranges) const {
  ranges.resize(layers_.size());
  Scratch scratch;
  scratch.record_ranges = &ranges;
  std::vector<float> pooled(lengths.size() * static_cast<size_t>(config_.hidden_size));
  return encode(tokens, lengths, Pooling::kCls, pooled.data(), scratch);
}

Status BertModel::run_layer(size_t index, std::span<const int> lengths, size_t total_tokens,
                            Scratch& scratch) const {
  const Layer& layer = layers_[index];
  const LowPrecisionLayer* low = low_precision_layers_.empty() ? nullptr : &low_precision_layers_[index];
  // One linear layer (`which` of the four): the low-precision one when the model has it and is
  // not calibrating, else fp32 through BLAS.
  auto apply = [&](const std::vector<float>& weight, const std::vector<float>& bias,
                   const LowPrecisionLinear* reduced, const float* x, size_t in, float* y) {
    if (scratch.record_ranges != nullptr) {
      const size_t which = &weight == &layer.qkv_weight            ? 0
                           : &weight == &layer.attention_out_weight ? 1
                           : &weight == &layer.ffn_in_weight        ? 2
                                                                    : 3;
      std::vector<float>& range = (*scratch.record_ranges)[index][which];
      range.resize(in, 0.0f);
      for (size_t t = 0; t < total_tokens; ++t) {
        for (size_t k = 0; k < in; ++k) range[k] = std::max(range[k], std::fabs(x[t * in + k]));
      }
      reduced = nullptr;
    }
    if (reduced != nullptr) return reduced->forward(x, total_tokens, y, scratch.low_precision);
    linear(x, total_tokens, in, weight, bias, y);
    return Status::ok();
  };
  const size_t h = static_cast<size_t>(config_.hidden_size);
  const size_t heads = static_cast<size_t>(config_.num_heads);
  const size_t inner = static_cast<size_t>(config_.intermediate_size);
  float* hidden = scratch.hidden.data();

  // Self-attention: one fused projection to [T × 3H] (query | key | value per token).
  KR_RETURN_IF_ERROR(apply(layer.qkv_weight, layer.qkv_bias, low ? &low->qkv : nullptr, hidden, h,
                           scratch.qkv.data()));
  self_attention(scratch.qkv.data(), lengths, h, heads, scratch.context.data(), scratch.attention, attention_);
  KR_RETURN_IF_ERROR(apply(layer.attention_out_weight, layer.attention_out_bias, low ? &low->attention_out : nullptr,
                           scratch.context.data(), h, scratch.projected.data()));
  kernels::add_layer_norm(scratch.projected.data(), hidden, layer.attention_norm_gamma.data(),
                          layer.attention_norm_beta.data(), total_tokens, h, config_.layer_norm_eps);
  std::swap(scratch.hidden, scratch.projected);  // hidden = attention block output
  hidden = scratch.hidden.data();

  // Feed-forward block.
  KR_RETURN_IF_ERROR(apply(layer.ffn_in_weight, layer.ffn_in_bias, low ? &low->ffn_in : nullptr, hidden, h,
                           scratch.intermediate.data()));
  const size_t activations = total_tokens * inner;
  switch (config_.activation) {
    case Activation::kGeluErf: kernels::gelu_erf(scratch.intermediate.data(), activations); break;
    case Activation::kGeluTanh: kernels::gelu_tanh(scratch.intermediate.data(), activations); break;
    case Activation::kRelu: kernels::relu(scratch.intermediate.data(), activations); break;
  }
  KR_RETURN_IF_ERROR(apply(layer.ffn_out_weight, layer.ffn_out_bias, low ? &low->ffn_out : nullptr,
                           scratch.intermediate.data(), inner, scratch.projected.data()));
  kernels::add_layer_norm(scratch.projected.data(), hidden, layer.ffn_norm_gamma.data(), layer.ffn_norm_beta.data(),
                          total_tokens, h, config_.layer_norm_eps);
  std::swap(scratch.hidden, scratch.projected);
  return Status::ok();
}

Status BertModel::encode(std::span<const int32_t> tokens, std::span<const int> lengths, Pooling pooling, float* out,
                       Scratch& scratch) const {
  const size_t h = static_cast<size_t>(config_.hidden_size);
  const size_t total = tokens.size();
  auto ensure = [](std::vector<float>& buffer, size_t size) {
    if (buffer.size() < size) buffer.resize(size);
  };
  ensure(scratch.hidden, total * h);
  ensure(scratch.projected, total * h);
  ensure(scratch.context, total * h);
  ensure(scratch.qkv, total * 3 * h);
  ensure(scratch.intermediate, total * static_cast<size_t>(config_.intermediate_size));

  embed_tokens(tokens, lengths, scratch.hidden.data());
  for (size_t i = 0; i < layers_.size(); ++i) KR_RETURN_IF_ERROR(run_layer(i, lengths, total, scratch));

  const float* hidden = scratch.hidden.data();
  size_t offset = 0;
  for (size_t s = 0; s < lengths.size(); ++s) {
    const size_t n = static_cast<size_t>(lengths[s]);
    const float* first = hidden + offset * h;
    float* target = out + s * h;
    switch (pooling) {
      case Pooling::kCls: std::copy(first, first + h, target); break;
      case Pooling::kMax:
        std::copy(first, first + h, target);
        for (size_t t = 1; t < n; ++t) {
          for (size_t c = 0; c < h; ++c) target[c] = std::max(target[c], first[t * h + c]);
        }
        break;
      case Pooling::kMean:
      case Pooling::kMeanSqrtLen: {
        std::vector<double> sum(h, 0.0);
        for (size_t t = 0; t < n; ++t) {
          for (size_t c = 0; c < h; ++c) sum[c] += first[t * h + c];
        }
        const double divisor = pooling == Pooling::kMean ? static_cast<double>(n) : std::sqrt(static_cast<double>(n));
        for (size_t c = 0; c < h; ++c) target[c] = static_cast<float>(sum[c] / divisor);
        break;
      }
    }
    offset += n;
  }
  return Status::ok();
}

}  // namespace kr::embed
