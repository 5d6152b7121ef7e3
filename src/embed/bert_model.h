// A BERT encoder (embeddings + N post-LayerNorm transformer layers) with pooling, in fp32.
// Sequences run packed back to back with no padding: the linear layers see every real token
// once, and attention runs per sequence on its true length (so no attention mask is needed).
#pragma once

#include <array>
#include <cstdint>
#include <filesystem>
#include <span>
#include <string>
#include <vector>

#include "core/status.h"
#include "embed/attention.h"
#include "embed/low_precision_linear.h"
#include "embed/precision.h"

namespace kr::embed {

enum class Activation { kGeluErf, kGeluTanh, kRelu };
enum class Pooling { kMean, kCls, kMax, kMeanSqrtLen };

struct BertConfig {
  int vocab_size = 0;
  int hidden_size = 0;
  int num_layers = 0;
  int num_heads = 0;
  int intermediate_size = 0;
  int max_position_embeddings = 0;
  int type_vocab_size = 0;
  float layer_norm_eps = 1e-12f;
  Activation activation = Activation::kGeluErf;

  // Reads a Hugging Face config.json; model types other than BERT's are kUnsupported.
  static Result<BertConfig> from_file(const std::filesystem::path& config_json);
};

class BertModel {
 public:
  // Per layer, the max |x| of each input channel of its four linear layers (qkv, attention
  // output, FFN in, FFN out), as seen on calibration text; int8 uses them (low_precision_linear.h).
  using InputRanges = std::vector<std::array<std::vector<float>, 4>>;

  // Working memory of one forward pass; reuse it across calls from the same thread.
  struct Scratch {
    std::vector<float> hidden, qkv, context, projected, intermediate;
    AttentionScratch attention;
    LowPrecisionLinear::Scratch low_precision;
    InputRanges* record_ranges = nullptr;  // set by calibrate(): run fp32 and record input ranges
  };

  // Loads the weights (names with or without a "bert." prefix; F32/F16/BF16) from a
  // model.safetensors file, checking every shape against the config.
  static Result<BertModel> load(const std::filesystem::path& safetensors, const BertConfig& config);

  const BertConfig& config() const { return config_; }

  // Runs the four linear layers of each transformer layer in `precision` (bf16 or int8 through
  // oneDNN; fp32 = OpenBLAS, the default). Attention, LayerNorm and activations stay fp32. The
  // fp32 weights are kept, so the model can switch back. Not thread-safe against encode().
  // int8 smooths each layer's inputs with `ranges` when given (from calibrate()).
  Status use_precision(EncoderPrecision precision, const InputRanges* ranges = nullptr);
  // Runs `tokens` (as encode()) in fp32 and widens `ranges` to the input ranges seen.
  Status calibrate(std::span<const int32_t> tokens, std::span<const int> lengths, InputRanges& ranges) const;
  EncoderPrecision precision() const { return precision_; }

  // Which self-attention kernel encode() runs (attention.h); kAuto resolves to fused where this CPU
  // and the head size allow it. kFused where it is not available is kUnsupported with the reason.
  Status use_attention(AttentionKernel kernel);
  AttentionKernel attention() const { return attention_; }

  // Encodes sequences stored back to back in `tokens` (lengths in `lengths`, each 1..max
  // positions) and writes one pooled, unnormalized vector per sequence to `out`
  // (lengths.size() × hidden_size floats). Token ids must be < vocab_size.
  Status encode(std::span<const int32_t> tokens, std::span<const int> lengths, Pooling pooling, float* out,
              Scratch& scratch) const;

 private:
  struct Layer {
    std::vector<float> qkv_weight, qkv_bias;  // query, key, value fused: [3H × H], [3H]
    std::vector<float> attention_out_weight, attention_out_bias, attention_norm_gamma, attention_norm_beta;
    std::vector<float> ffn_in_weight, ffn_in_bias, ffn_out_weight, ffn_out_bias, ffn_norm_gamma, ffn_norm_beta;
  };

  struct LowPrecisionLayer {
    LowPrecisionLinear qkv, attention_out, ffn_in, ffn_out;
  };

  void embed_tokens(std::span<const int32_t> tokens, std::span<const int> lengths, float* hidden) const;
  Status run_layer(size_t index, std::span<const int> lengths, size_t total_tokens, Scratch& scratch) const;

  BertConfig config_;
  std::vector<float> word_embeddings_, position_embeddings_, token_type_embeddings_;
  std::vector<float> embedding_norm_gamma_, embedding_norm_beta_;
  std::vector<Layer> layers_;
  EncoderPrecision precision_ = EncoderPrecision::kFp32;
  AttentionKernel attention_ = AttentionKernel::kReference;  // load() resolves kAuto
  std::vector<LowPrecisionLayer> low_precision_layers_;  // one per layer unless fp32
};

}  // namespace kr::embed
