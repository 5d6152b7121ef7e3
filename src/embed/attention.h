// Multi-head self-attention over sequences packed back to back (no padding, no mask), fp32.
//
// The fused kernel runs one pass per sequence and head: for each tile of 8 query rows it computes
// the tile's scores against every key, its softmax and its product with V while the tile (8 × n
// floats) stays in L1, so the n × n score matrix is never written out and read back. It needs
// AVX-512 (checked by CPUID/XCR0 and by a comparison with the reference on first use) and a head
// size that is a multiple of 16 up to 64; otherwise the reference path runs: two SGEMMs per
// sequence and head around a full score matrix (what the encoder did before).
#pragma once

#include <cstddef>
#include <span>
#include <string>
#include <vector>

namespace kr::embed {

enum class AttentionKernel {
  kAuto,       // fused where this CPU and head size allow it, else reference
  kReference,  // SGEMM, softmax, SGEMM per sequence and head
  kFused,      // the AVX-512 tiled kernel (callers check fused_attention_available() first)
};

struct AttentionScratch {
  std::vector<float> keys_t;  // fused: one head's keys transposed, [head_dim × n rounded up to 32]
  std::vector<float> scores;  // fused: one tile's scores; reference: a sequence's n × n scores
  std::vector<float> rows;    // fused: a partial tile's query rows or context rows
};

// Whether kFused runs here for heads of `head_dim`; `why_not` says why when it does not.
bool fused_attention_available(size_t head_dim, std::string* why_not = nullptr);

// context[T × hidden] = softmax(Q·Kᵀ / √head_dim)·V per sequence and head, where qkv holds
// [T × 3·hidden] rows (query | key | value, heads side by side) and `lengths` sum to T.
void self_attention(const float* qkv, std::span<const int> lengths, size_t hidden, size_t heads, float* context,
                    AttentionScratch& scratch, AttentionKernel kernel = AttentionKernel::kAuto);

const char* attention_kernel_name(AttentionKernel kernel);

}  // namespace kr::embed
