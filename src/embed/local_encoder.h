// The local sentence encoder: a BERT-family transformer run on the CPU in C++, loaded from a
// Hugging Face / sentence-transformers model folder (config.json, tokenizer files,
// model.safetensors, 1_Pooling/config.json, config_sentence_transformers.json).
#pragma once

#include <filesystem>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "embed/attention.h"
#include "embed/embedder.h"
#include "embed/precision.h"

namespace kr::embed {

struct LocalEncoderOptions {
  int threads = 0;           // worker threads for a batch; 0 = all cores
  int batch_size = 32;       // sequences per forward pass (sorted by length first)
  // Prefixes added before the text; unset = the model folder's sentence-transformers
  // "prompts" (query/passage or query/document), else none.
  std::optional<std::string> query_prefix;
  std::optional<std::string> passage_prefix;
  int max_tokens = 0;        // 0 = the model's max_seq_length (sentence_bert_config.json), else 512
  std::string model_id;      // empty = the folder name
  // kAuto: int8 or bf16 where this CPU runs it natively, its self-test passes and probe texts
  // embed within the accuracy bound of fp32 (cosine 0.99 int8, 0.999 bf16); else fp32.
  // bf16/int8 explicitly: an error when the self-test fails (runs emulated when not native).
  EncoderPrecision precision = EncoderPrecision::kFp32;
  // Self-attention kernel (attention.h): kAuto = fused where the CPU has AVX-512 and its self-test
  // passes; kReference is the SGEMM path (benchmarks compare the two).
  AttentionKernel attention = AttentionKernel::kAuto;
};

class LocalEncoder final : public Embedder {
 public:
  // Reads the folder; a missing or malformed file is kInvalidArgument/kNotFound naming the file.
  static Result<std::unique_ptr<LocalEncoder>> load(const std::filesystem::path& model_dir,
                                                    const LocalEncoderOptions& options = {});
  ~LocalEncoder() override;

  const EmbedderInfo& info() const override;
  Result<Embeddings> embed(std::span<const std::string> texts, InputKind kind) override;
  int count_tokens(std::string_view text, InputKind kind) const override;
  // The self-attention kernel in use (kFused or kReference).
  AttentionKernel attention() const;
  // Token ids (with [CLS]/[SEP], prefix included, truncated) the encoder would run for `text`.
  std::vector<int32_t> tokenize(const std::string& text, InputKind kind) const;

  struct Impl;

 private:
  explicit LocalEncoder(std::unique_ptr<Impl> impl);
  Status choose_precision(EncoderPrecision requested);
  // Lowest cosine between the probe texts' fp32 vectors and their vectors in `precision`.
  Result<double> probe_accuracy(EncoderPrecision precision);
  std::unique_ptr<Impl> impl_;
};

}  // namespace kr::embed
