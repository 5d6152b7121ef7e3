// A BERT encoder (embeddings + N post-LayerNorm transformer layers) with pooling, in fp32.
// Sequences run packed back to back with no padding: the linear layers see every real token
// once, and attention runs per sequence on its true length (so no attention mask is needed).
#pragma once

#include <cstdint>
#include <filesystem>
#include <span>
#include <string>
#include <vector>

#include "core/status.h"

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
  // Working memory of one forward pass; reuse it across calls from the same thread.
  struct Scratch {
    std::vector<float> hidden, qkv, context, projected, intermediate, scores;
  };

  // Loads the weights (names with or without a "bert." prefix; F32/F16/BF16) from a
  // model.safetensors file, checking every shape against the config.
  static Result<BertModel> load(const std::filesystem::path& safetensors, const BertConfig& config);

  const BertConfig& config() const { return config_; }

  // Encodes sequences stored back to back in `tokens` (lengths in `lengths`, each 1..max
  // positions) and writes one pooled, unnormalized vector per sequence to `out`
  // (lengths.size() × hidden_size floats). Token ids must be < vocab_size.
  void encode(std::span<const int32_t> tokens, std::span<const int> lengths, Pooling pooling, float* out,
              Scratch& scratch) const;

 private:
  struct Layer {
    std::vector<float> qkv_weight, qkv_bias;  // query, key, value fused: [3H × H], [3H]
    std::vector<float> attention_out_weight, attention_out_bias, attention_norm_gamma, attention_norm_beta;
    std::vector<float> ffn_in_weight, ffn_in_bias, ffn_out_weight, ffn_out_bias, ffn_norm_gamma, ffn_norm_beta;
  };

  void embed_tokens(std::span<const int32_t> tokens, std::span<const int> lengths, float* hidden) const;
  void run_layer(const Layer& layer, std::span<const int> lengths, size_t total_tokens, Scratch& scratch) const;

  BertConfig config_;
  std::vector<float> word_embeddings_, position_embeddings_, token_type_embeddings_;
  std::vector<float> embedding_norm_gamma_, embedding_norm_beta_;
  std::vector<Layer> layers_;
};

}  // namespace kr::embed
