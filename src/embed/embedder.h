// Text embedding: one interface for the local C++ encoder and remote embedding servers.
#pragma once

#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace kr::embed {

// Retrieval models embed queries and passages differently (e5's "query: "/"passage: ",
// bge's query instruction); the embedder adds the configured prefix for the kind.
enum class InputKind { kQuery, kPassage };

struct EmbedderInfo {
  std::string model_id;   // recorded per collection; vectors of different models never mix
  int dimension = 0;
  int max_tokens = 0;     // inputs longer than this are truncated by the model (0: unknown)
  std::string precision;  // local encoder: the arithmetic it runs in (fp32, bf16, int8); empty: remote
};

// A row-major batch of vectors: rows() × dimension floats.
struct Embeddings {
  int dimension = 0;
  std::vector<float> values;
  size_t rows() const { return dimension == 0 ? 0 : values.size() / static_cast<size_t>(dimension); }
  std::span<const float> row(size_t i) const {
    return {values.data() + i * static_cast<size_t>(dimension), static_cast<size_t>(dimension)};
  }
};

// Thread-safety: embed() may be called concurrently.
class Embedder {
 public:
  virtual ~Embedder() = default;
  virtual const EmbedderInfo& info() const = 0;
  // One vector per text, in order, L2-normalized (cosine similarity = dot product).
  virtual Result<Embeddings> embed(std::span<const std::string> texts, InputKind kind) = 0;
  // Tokens the model runs for `text` (special tokens and the kind's prefix included), counted up
  // to info().max_tokens + 1 (enough to tell whether the model would truncate it);
  // -1 when the tokenizer is not known here (remote models).
  virtual int count_tokens(std::string_view text, InputKind kind) const {
    (void)text;
    (void)kind;
    return -1;
  }
};

// Scales `v` to unit length (left as is when it is all zeros).
void normalize_l2(std::span<float> v);

}  // namespace kr::embed
