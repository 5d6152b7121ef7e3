// In-memory dense-vector index: maximum inner product over float vectors, which is
// cosine similarity when the caller stores and queries L2-normalized vectors.
// The durable copy of every vector lives in the store; this structure is derived
// from it, and its snapshot (save/load) is only a start-up cache.
//
// Two internal modes, switched automatically:
// - exact: vectors in one contiguous row-major array, brute-force scan with a
//   SIMD dot product chosen at run time (AVX-512 / AVX2+FMA / portable), results exact;
// - graph: an HNSW graph (hnswlib), used from `exact_threshold` vectors on and until
//   the index shrinks below half of it (hysteresis), results approximate.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <span>
#include <vector>

#include "core/status.h"

namespace kr::index {

// Field names follow the HNSW paper (Malkov & Yashunin): M, ef_construction, ef.
struct VectorIndexOptions {
  // Below this many vectors search is an exact scan; at or above it an HNSW graph is
  // built. The index goes back to exact below exact_threshold / 2. 0 = always a graph.
  uint64_t exact_threshold = 20000;
  int M = 16;                 // graph out-degree per layer (2 * M on layer 0), in [2, 2048]
  int ef_construction = 200;  // candidate list size while inserting, >= 1
  int ef_search = 0;          // candidate list size while searching; 0 = max(64, 2k)
  uint64_t seed = 100;        // level generator seed (graph layout is deterministic)
  // kInvalidArgument when a field is out of range.
  Status validate() const;
};

struct VectorHit {
  uint64_t id = 0;
  float score = 0.0f;  // dot product (cosine for normalized vectors)
};

enum class VectorIndexMode { kExact, kGraph };

// Thread-safety: const members may run concurrently with each other and with the
// writers (upsert, remove, clear), which are serialized internally. A search sees each
// write entirely or not at all. Graph builds (crossing the threshold, compaction after
// many removals) of 2048 vectors or more run on a background thread: the write that
// starts one returns at once, searches meanwhile use the current structure (the exact
// scan, or the graph being compacted), later writes go on and are applied to the new
// graph before it is swapped in; only the swap is exclusive.
// A search's filter runs inside its read lock and must not call back into the index.
// Moved-from indexes may only be destroyed or assigned to.
class VectorIndex {
 public:
  // Throws std::invalid_argument when dimension <= 0 or options.validate() fails
  // (a start-up bug: configuration is validated before an index is built).
  explicit VectorIndex(int dimension, VectorIndexOptions options = {});
  ~VectorIndex();
  VectorIndex(VectorIndex&&) noexcept;
  VectorIndex& operator=(VectorIndex&&) noexcept;
  VectorIndex(const VectorIndex&) = delete;
  VectorIndex& operator=(const VectorIndex&) = delete;

  // Adds `vector` under `id`, replacing the vector already stored under it.
  // kInvalidArgument on a wrong dimension or a non-finite component; kResourceExhausted
  // when memory runs out. Vectors are stored as given (normalize with l2_normalize).
  // Small graph builds run inline; large ones start in the background (see above).
  Status upsert(uint64_t id, std::span<const float> vector);
  // Returns whether `id` was present.
  bool remove(uint64_t id);
  void clear();

  bool contains(uint64_t id) const;
  uint64_t size() const;
  int dimension() const;
  VectorIndexMode mode() const;
  // Bytes held by vectors, ids and graph (allocator overhead not counted).
  uint64_t memory_bytes() const;

  // At most k hits, best first (higher score; equal scores by id ascending). Only ids
  // for which `filter` returns true (when given) and that are present at the time of
  // the search. Exact in exact mode and whenever the filter is selective enough that
  // the graph is bypassed; approximate otherwise.
  // Throws std::invalid_argument when the query has the wrong dimension or a
  // non-finite component (the caller's encoder is broken: the request ends).
  std::vector<VectorHit> search(std::span<const float> query, int k,
                                const std::function<bool(uint64_t)>* filter = nullptr) const;

  // Writes a snapshot atomically (temporary file, fsync, rename, fsync of the folder).
  // It records `generation`, a caller-chosen version of the source of truth.
  Status save(const std::filesystem::path& file, uint64_t generation) const;
  // Blocks until no background graph build is running (tests, benchmarks).
  void wait_for_background_work() const;
  bool background_work_pending() const;
  // Tests: runs on the thread of each later background build, halfway through it.
  void set_build_hook_for_testing(std::function<void()> hook);

  // Reads a snapshot written by save(). Never crashes on a bad file: kNotFound when it
  // is missing, kFailedPrecondition when dimension or generation differ, kDataCorruption
  // when it is truncated, damaged or inconsistent. The caller then rebuilds from the store.
  // A saved graph is restored as is (with the M it was built with); `options` apply
  // to everything after.
  static Result<VectorIndex> load(const std::filesystem::path& file, int expected_dimension,
                                  uint64_t expected_generation, VectorIndexOptions options = {});

 private:
  struct Impl;
  explicit VectorIndex(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// Scales `v` to unit L2 norm in place; returns false (leaving `v` unchanged) when its
// norm is zero or not finite.
bool l2_normalize(std::span<float> v);

}  // namespace kr::index
