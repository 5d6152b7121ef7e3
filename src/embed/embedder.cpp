#include "embed/embedder.h"

#include <cmath>

namespace kr::embed {

void normalize_l2(std::span<float> v) {
  double sum = 0;
  for (float x : v) sum += static_cast<double>(x) * x;
  if (sum <= 0) return;
  // sentence-transformers' Normalize divides by max(norm, 1e-12).
  const float inv = static_cast<float>(1.0 / std::max(std::sqrt(sum), 1e-12));
  for (float& x : v) x *= inv;
}

}  // namespace kr::embed
