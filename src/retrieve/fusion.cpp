#include "retrieve/fusion.h"

#include <algorithm>
#include <unordered_map>

namespace kr::retrieve {

std::string_view search_mode_name(SearchMode mode) {
  switch (mode) {
    case SearchMode::kBm25: return "bm25";
    case SearchMode::kDense: return "dense";
    case SearchMode::kHybrid: return "hybrid";
  }
  return "hybrid";
}

std::optional<SearchMode> parse_search_mode(std::string_view name) {
  if (name == "bm25" || name == "lexical" || name == "keyword") return SearchMode::kBm25;
  if (name == "dense" || name == "vector" || name == "semantic") return SearchMode::kDense;
  if (name == "hybrid") return SearchMode::kHybrid;
  return std::nullopt;
}

std::string_view fusion_method_name(FusionMethod method) {
  return method == FusionMethod::kRrf ? "rrf" : "normalized";
}

std::optional<FusionMethod> parse_fusion_method(std::string_view name) {
  if (name == "rrf") return FusionMethod::kRrf;
  if (name == "normalized" || name == "minmax") return FusionMethod::kNormalized;
  return std::nullopt;
}

namespace {

// Min-max normalization of one list's scores to [0, 1]; a list whose scores are all equal
// maps to 1 (every candidate is as good as the best).
std::vector<double> min_max(const std::vector<Candidate>& list) {
  std::vector<double> out(list.size(), 1.0);
  if (list.empty()) return out;
  const auto [low, high] = std::minmax_element(list.begin(), list.end(), [](const Candidate& a, const Candidate& b) {
    return a.score < b.score;
  });
  const double range = high->score - low->score;
  if (range <= 0) return out;
  for (size_t i = 0; i < list.size(); ++i) out[i] = (list[i].score - low->score) / range;
  return out;
}

}  // namespace

std::vector<FusedCandidate> fuse(const std::vector<Candidate>& lexical, const std::vector<Candidate>& dense,
                                 const FusionOptions& options) {
  const double alpha = std::clamp(options.alpha, 0.0, 1.0);
  std::unordered_map<uint64_t, FusedCandidate> by_id;
  by_id.reserve(lexical.size() + dense.size());
  auto add = [&](const std::vector<Candidate>& list, bool is_dense) {
    const double weight = is_dense ? alpha : 1.0 - alpha;
    const std::vector<double> normalized =
        options.method == FusionMethod::kNormalized ? min_max(list) : std::vector<double>{};
    for (size_t i = 0; i < list.size(); ++i) {
      FusedCandidate& entry = by_id[list[i].id];
      entry.id = list[i].id;
      const int rank = static_cast<int>(i) + 1;
      if (is_dense) {
        entry.dense_score = list[i].score;
        entry.dense_rank = rank;
      } else {
        entry.lexical_score = list[i].score;
        entry.lexical_rank = rank;
      }
      entry.score += options.method == FusionMethod::kRrf ? 2.0 * weight / (options.rrf_k + rank)
                                                           : weight * normalized[i];
    }
  };
  add(lexical, /*is_dense=*/false);
  add(dense, /*is_dense=*/true);

  std::vector<FusedCandidate> out;
  out.reserve(by_id.size());
  for (auto& [id, entry] : by_id) out.push_back(entry);
  auto best_rank = [](const FusedCandidate& c) {
    const int a = c.lexical_rank == 0 ? 1 << 30 : c.lexical_rank;
    const int b = c.dense_rank == 0 ? 1 << 30 : c.dense_rank;
    return std::min(a, b);
  };
  std::sort(out.begin(), out.end(), [&](const FusedCandidate& a, const FusedCandidate& b) {
    if (a.score != b.score) return a.score > b.score;
    if (best_rank(a) != best_rank(b)) return best_rank(a) < best_rank(b);
    return a.id < b.id;
  });
  return out;
}

}  // namespace kr::retrieve
