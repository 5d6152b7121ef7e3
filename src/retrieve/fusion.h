// Hybrid retrieval: combining a lexical (BM25) and a dense (vector) ranking into one.
// Raw scores of the two are on unrelated scales (BM25 is unbounded, cosine is in [-1, 1]),
// so they are never summed as they are: either ranks are fused (RRF) or each list's scores
// are first normalized to [0, 1].
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace kr::retrieve {

enum class SearchMode { kBm25, kDense, kHybrid };
enum class FusionMethod { kRrf, kNormalized };

std::string_view search_mode_name(SearchMode mode);
std::optional<SearchMode> parse_search_mode(std::string_view name);  // "bm25" | "dense" | "hybrid"
std::string_view fusion_method_name(FusionMethod method);
std::optional<FusionMethod> parse_fusion_method(std::string_view name);  // "rrf" | "normalized"

// One candidate of one retriever, best first.
struct Candidate {
  uint64_t id = 0;
  double score = 0;
};

struct FusedCandidate {
  uint64_t id = 0;
  double score = 0;                        // the fused score (what results are sorted by)
  std::optional<double> lexical_score;     // raw BM25 score when the lexical list had it
  std::optional<double> dense_score;       // raw cosine when the dense list had it
  int lexical_rank = 0, dense_rank = 0;    // 1-based; 0 = absent from that list
};

struct FusionOptions {
  FusionMethod method = FusionMethod::kNormalized;
  // Weight of the dense side in [0, 1]; the lexical side gets 1 - alpha. For RRF the two
  // reciprocal-rank terms are weighted 2·alpha and 2·(1 - alpha), so 0.5 is plain RRF.
  double alpha = 0.5;
  double rrf_k = 60;  // RRF's rank constant (Cormack et al. 2009)
};

// Fuses two rankings (each sorted best first, ids unique within a list). Result sorted by
// fused score, ties broken by better rank on either side, then by id (deterministic).
std::vector<FusedCandidate> fuse(const std::vector<Candidate>& lexical, const std::vector<Candidate>& dense,
                                 const FusionOptions& options);

}  // namespace kr::retrieve
