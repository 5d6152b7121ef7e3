#include "embed/attention.h"

#include <cblas.h>
#include <immintrin.h>

#include <algorithm>
#include <cmath>
#include <cstdint>

#include "embed/kernels.h"
#include "embed/precision.h"

// GCC 12's AVX-512 intrinsics pass _mm512_undefined_ps() through, which -Wmaybe-uninitialized
// reports wherever they are inlined (GCC bug 105593, fixed in GCC 13).
#if defined(__GNUC__) && !defined(__clang__) && __GNUC__ < 13
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif

// The fused kernel's functions are compiled for AVX-512 only; they run after the CPUID/XCR0 check.
#define KR_AVX512 __attribute__((target("avx512f")))

namespace kr::embed {
namespace {

constexpr size_t kTileRows = 8;   // query rows per tile
constexpr size_t kKeyBlock = 32;  // keys per score block: two 16-float vectors
constexpr size_t kMaxHeadDim = 64;

size_t round_up(size_t n, size_t multiple) { return (n + multiple - 1) / multiple * multiple; }

// ---- reference: SGEMM, softmax, SGEMM (the score matrix goes to memory and back) ----

void reference_attention(const float* qkv, std::span<const int> lengths, size_t hidden, size_t heads,
                         float* context, AttentionScratch& scratch) {
  const size_t head_dim = hidden / heads;
  const float scale = 1.0f / std::sqrt(static_cast<float>(head_dim));
  const int ld_qkv = static_cast<int>(3 * hidden);
  size_t offset = 0;
  for (int length : lengths) {
    const int n = length;
    if (scratch.scores.size() < static_cast<size_t>(n) * n) scratch.scores.resize(static_cast<size_t>(n) * n);
    const float* base = qkv + offset * 3 * hidden;
    for (size_t head = 0; head < heads; ++head) {
      const float* q = base + head * head_dim;
      const float* k = base + hidden + head * head_dim;
      const float* v = base + 2 * hidden + head * head_dim;
      float* scores = scratch.scores.data();
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, n, n, static_cast<int>(head_dim), 1.0f, q, ld_qkv, k,
                  ld_qkv, 0.0f, scores, n);
      kernels::softmax_rows(scores, static_cast<size_t>(n), static_cast<size_t>(n), scale);
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, static_cast<int>(head_dim), n, 1.0f, scores, n, v,
                  ld_qkv, 0.0f, context + offset * hidden + head * head_dim, static_cast<int>(hidden));
    }
    offset += static_cast<size_t>(length);
  }
}

// ---- fused: per tile of query rows, scores → softmax → ·V while the tile is in L1 ----

// keys_t[c][j] = key j's channel c for j < n; columns n..padded are zero.
void transpose_keys(const float* keys, size_t ld, size_t n, size_t head_dim, size_t padded, float* keys_t) {
  for (size_t c = 0; c < head_dim; ++c) std::fill(keys_t + c * padded + n, keys_t + (c + 1) * padded, 0.0f);
  for (size_t j = 0; j < n; ++j) {
    const float* key = keys + j * ld;
    for (size_t c = 0; c < head_dim; ++c) keys_t[c * padded + j] = key[c];
  }
}

// scores[r][j] = q_r · key_j for the tile's 8 rows and every (padded) key: 8 × 32 accumulators
// in registers, one broadcast query value against two vectors of keys per channel.
KR_AVX512 void tile_scores(const float* q, size_t ldq, size_t head_dim, const float* keys_t, size_t padded,
                           float* scores) {
  for (size_t block = 0; block < padded; block += kKeyBlock) {
    __m512 acc[kTileRows][2];
    for (auto& row : acc) row[0] = row[1] = _mm512_setzero_ps();
    for (size_t c = 0; c < head_dim; ++c) {
      const float* keys = keys_t + c * padded + block;
      const __m512 k0 = _mm512_loadu_ps(keys);
      const __m512 k1 = _mm512_loadu_ps(keys + 16);
      for (size_t r = 0; r < kTileRows; ++r) {
        const __m512 value = _mm512_set1_ps(q[r * ldq + c]);
        acc[r][0] = _mm512_fmadd_ps(value, k0, acc[r][0]);
        acc[r][1] = _mm512_fmadd_ps(value, k1, acc[r][1]);
      }
    }
    for (size_t r = 0; r < kTileRows; ++r) {
      _mm512_storeu_ps(scores + r * padded + block, acc[r][0]);
      _mm512_storeu_ps(scores + r * padded + block + 16, acc[r][1]);
    }
  }
}

// exp(x) for x <= 0 (softmax arguments), as kernels::exp_approx computes it: x = k·ln2 + r, a
// degree-7 polynomial in r, then scaled by 2^k.
KR_AVX512 inline __m512 exp_vector(__m512 x) {
  x = _mm512_max_ps(x, _mm512_set1_ps(-87.0f));
  const __m512 k = _mm512_roundscale_ps(_mm512_mul_ps(x, _mm512_set1_ps(1.44269504088896341f)),
                                        _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  __m512 r = _mm512_fnmadd_ps(k, _mm512_set1_ps(0.693145751953125f), x);
  r = _mm512_fnmadd_ps(k, _mm512_set1_ps(1.42860682030941723212e-6f), r);
  __m512 p = _mm512_set1_ps(1.0f / 5040.0f);
  for (const float c : {1.0f / 720.0f, 1.0f / 120.0f, 1.0f / 24.0f, 1.0f / 6.0f, 0.5f, 1.0f, 1.0f}) {
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(c));
  }
  return _mm512_scalef_ps(p, k);
}

// Horizontal max / sum of a vector (GCC 12's _mm512_reduce_* trip -Wmaybe-uninitialized).
KR_AVX512 inline float lane_max(__m512 v) {
  alignas(64) float lanes[16];
  _mm512_store_ps(lanes, v);
  return *std::max_element(lanes, lanes + 16);
}
KR_AVX512 inline float lane_sum(__m512 v) {
  alignas(64) float lanes[16];
  _mm512_store_ps(lanes, v);
  float sum = 0;
  for (const float x : lanes) sum += x;
  return sum;
}

// Each of the tile's first `rows` score rows (n valid of `padded`) becomes exp((s - max)·scale) in
// place, columns n..padded zero; inv_sums[r] = 1 / Σ exp. Dividing by the sum is left to the
// context product, which scales its 16-float results instead of n probabilities.
KR_AVX512 void tile_softmax(float* scores, size_t padded, size_t n, size_t rows, float scale, float* inv_sums) {
  const size_t full = n / 16 * 16;
  const __mmask16 tail = static_cast<__mmask16>((1u << (n % 16)) - 1);
  const __m512 lowest = _mm512_set1_ps(-INFINITY);
  for (size_t r = 0; r < rows; ++r) {
    float* row = scores + r * padded;
    __m512 largest = lowest;
    for (size_t j = 0; j < full; j += 16) largest = _mm512_max_ps(largest, _mm512_loadu_ps(row + j));
    if (tail != 0) largest = _mm512_max_ps(largest, _mm512_mask_loadu_ps(lowest, tail, row + full));
    const __m512 shift = _mm512_set1_ps(lane_max(largest));
    const __m512 factor = _mm512_set1_ps(scale);
    __m512 sum = _mm512_setzero_ps();
    for (size_t j = 0; j < full; j += 16) {
      const __m512 e = exp_vector(_mm512_mul_ps(_mm512_sub_ps(_mm512_loadu_ps(row + j), shift), factor));
      _mm512_storeu_ps(row + j, e);
      sum = _mm512_add_ps(sum, e);
    }
    if (full < padded) {  // the partial vector (if any) and the padding: zeros past n
      const __m512 e = _mm512_maskz_mov_ps(
          tail, exp_vector(_mm512_mul_ps(_mm512_sub_ps(_mm512_loadu_ps(row + full), shift), factor)));
      _mm512_storeu_ps(row + full, e);
      sum = _mm512_add_ps(sum, e);
    }
    inv_sums[r] = 1.0f / lane_sum(sum);
  }
}

// out[r] = inv_sums[r] · Σ_j weights[r][j] · v_j for the tile's first `rows` rows; `Vectors` = head_dim / 16.
// Rows go in groups whose accumulators (group × Vectors) fit the 32 vector registers.
template <size_t Vectors>
KR_AVX512 void tile_context(const float* weights, const float* inv_sums, size_t padded, size_t n,
                            const float* values, size_t ldv, size_t rows, float* out, size_t ldo) {
  constexpr size_t kGroup = Vectors == 4 ? 4 : kTileRows;
  for (size_t first = 0; first < rows; first += kGroup) {
    __m512 acc[kGroup][Vectors];
    for (auto& row : acc) {
      for (auto& part : row) part = _mm512_setzero_ps();
    }
    for (size_t j = 0; j < n; ++j) {
      __m512 value[Vectors];
      for (size_t v = 0; v < Vectors; ++v) value[v] = _mm512_loadu_ps(values + j * ldv + 16 * v);
      for (size_t r = 0; r < kGroup; ++r) {
        const __m512 p = _mm512_set1_ps(weights[(first + r) * padded + j]);
        for (size_t v = 0; v < Vectors; ++v) acc[r][v] = _mm512_fmadd_ps(p, value[v], acc[r][v]);
      }
    }
    for (size_t r = 0; r < kGroup && first + r < rows; ++r) {
      const __m512 inv = _mm512_set1_ps(inv_sums[first + r]);
      for (size_t v = 0; v < Vectors; ++v) {
        _mm512_storeu_ps(out + (first + r) * ldo + 16 * v, _mm512_mul_ps(acc[r][v], inv));
      }
    }
  }
}

KR_AVX512 void tile_context_any(size_t head_dim, const float* weights, const float* inv_sums, size_t padded,
                                size_t n, const float* values, size_t ldv, size_t rows, float* out, size_t ldo) {
  switch (head_dim / 16) {
    case 1: tile_context<1>(weights, inv_sums, padded, n, values, ldv, rows, out, ldo); break;
    case 2: tile_context<2>(weights, inv_sums, padded, n, values, ldv, rows, out, ldo); break;
    case 3: tile_context<3>(weights, inv_sums, padded, n, values, ldv, rows, out, ldo); break;
    default: tile_context<4>(weights, inv_sums, padded, n, values, ldv, rows, out, ldo); break;
  }
}

// One sequence (n tokens), one head: q, k, v point at its first token's head slice (row stride ld).
void fused_head(const float* q, const float* k, const float* v, size_t ld, size_t n, size_t head_dim,
                float* out, size_t ldo, AttentionScratch& scratch) {
  const size_t padded = round_up(n, kKeyBlock);
  const float scale = 1.0f / std::sqrt(static_cast<float>(head_dim));
  transpose_keys(k, ld, n, head_dim, padded, scratch.keys_t.data());
  float* scores = scratch.scores.data();
  for (size_t first = 0; first < n; first += kTileRows) {
    const size_t rows = std::min(kTileRows, n - first);
    const float* tile = q + first * ld;
    size_t ldq = ld;
    if (rows < kTileRows) {  // a partial tile: its missing rows are zeros, never stored
      std::fill(scratch.rows.begin(), scratch.rows.end(), 0.0f);
      for (size_t r = 0; r < rows; ++r) std::copy(tile + r * ld, tile + r * ld + head_dim, &scratch.rows[r * head_dim]);
      tile = scratch.rows.data();
      ldq = head_dim;
    }
    float inv_sums[kTileRows] = {};
    tile_scores(tile, ldq, head_dim, scratch.keys_t.data(), padded, scores);
    tile_softmax(scores, padded, n, rows, scale, inv_sums);
    tile_context_any(head_dim, scores, inv_sums, padded, n, v, ld, rows, out + first * ldo, ldo);
  }
}

void fused_attention(const float* qkv, std::span<const int> lengths, size_t hidden, size_t heads, float* context,
                     AttentionScratch& scratch) {
  const size_t head_dim = hidden / heads;
  const size_t longest = lengths.empty() ? 0 : static_cast<size_t>(*std::max_element(lengths.begin(), lengths.end()));
  const size_t padded = round_up(longest, kKeyBlock);
  if (scratch.keys_t.size() < head_dim * padded) scratch.keys_t.resize(head_dim * padded);
  if (scratch.scores.size() < kTileRows * padded) scratch.scores.resize(kTileRows * padded);
  scratch.rows.resize(kTileRows * head_dim);
  const size_t ld = 3 * hidden;
  size_t offset = 0;
  for (int length : lengths) {
    const float* base = qkv + offset * ld;
    for (size_t head = 0; head < heads; ++head) {
      const size_t column = head * head_dim;
      fused_head(base + column, base + hidden + column, base + 2 * hidden + column, ld,
                 static_cast<size_t>(length), head_dim, context + offset * hidden + column, hidden, scratch);
    }
    offset += static_cast<size_t>(length);
  }
}

// The fused kernel against the reference on random input covering full and partial tiles and
// key blocks, every supported head size: run once per process before the fused kernel is used.
bool fused_matches_reference() {
  uint32_t state = 2024;
  auto next = [&] {
    state = state * 1664525u + 1013904223u;
    return static_cast<float>(state >> 8) / static_cast<float>(1u << 24) - 0.5f;
  };
  const std::vector<int> lengths = {1, 7, 8, 33, 70};
  size_t total = 0;
  for (int n : lengths) total += static_cast<size_t>(n);
  for (size_t head_dim = 16; head_dim <= kMaxHeadDim; head_dim += 16) {
    const size_t heads = 2, hidden = heads * head_dim;
    std::vector<float> qkv(total * 3 * hidden), fused(total * hidden), reference(total * hidden);
    for (float& x : qkv) x = 4 * next();
    AttentionScratch scratch;
    fused_attention(qkv.data(), lengths, hidden, heads, fused.data(), scratch);
    reference_attention(qkv.data(), lengths, hidden, heads, reference.data(), scratch);
    for (size_t i = 0; i < fused.size(); ++i) {
      if (!(std::fabs(fused[i] - reference[i]) <= 1e-5f + 1e-4f * std::fabs(reference[i]))) return false;
    }
  }
  return true;
}

}  // namespace

bool fused_attention_available(size_t head_dim, std::string* why_not) {
  auto no = [&](const char* reason) {
    if (why_not != nullptr) *why_not = reason;
    return false;
  };
  if (head_dim == 0 || head_dim % 16 != 0 || head_dim > kMaxHeadDim) {
    return no("the fused attention kernel needs a head size that is a multiple of 16 up to 64");
  }
  if (native_instructions(EncoderPrecision::kFp32) != "avx512") return no("this CPU (or its OS) has no AVX-512");
  static const bool matches = fused_matches_reference();
  if (!matches) return no("the fused attention kernel's self-test did not match the reference on this CPU");
  return true;
}

void self_attention(const float* qkv, std::span<const int> lengths, size_t hidden, size_t heads, float* context,
                    AttentionScratch& scratch, AttentionKernel kernel) {
  const bool fused = kernel == AttentionKernel::kFused ||
                     (kernel == AttentionKernel::kAuto && fused_attention_available(hidden / heads));
  if (fused) {
    fused_attention(qkv, lengths, hidden, heads, context, scratch);
  } else {
    reference_attention(qkv, lengths, hidden, heads, context, scratch);
  }
}

const char* attention_kernel_name(AttentionKernel kernel) {
  switch (kernel) {
    case AttentionKernel::kAuto: return "auto";
    case AttentionKernel::kReference: return "reference";
    case AttentionKernel::kFused: return "fused";
  }
  return "?";
}

}  // namespace kr::embed
