#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <bit>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <future>
#include <map>
#include <random>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "index/vector_index.h"

#if defined(__SANITIZE_THREAD__)
// hnswlib 0.6.2's addPoint takes its per-element and global mutexes in both orders
// (a potential deadlock between concurrent inserters; VectorIndex never inserts
// concurrently, writers are serialized). With a graph's 65k+ mutexes TSan's deadlock
// detector also loses the stacks (no suppression can match) and slows the run 10x.
// Data-race detection stays on; TSAN_OPTIONS in the environment still overrides this.
extern "C" const char* __tsan_default_options() { return "detect_deadlocks=0"; }
#endif

namespace kr::index {
namespace {

namespace fs = std::filesystem;
using Vec = std::vector<float>;
using Filter = std::function<bool(uint64_t)>;

Vec random_unit(int dim, std::mt19937_64& rng) {
  std::normal_distribution<float> gauss;
  Vec v(static_cast<size_t>(dim));
  do {
    for (float& x : v) x = gauss(rng);
  } while (!l2_normalize(v));
  return v;
}

// Normalized Gaussian clusters: the shape of real embeddings (topics) more than uniform noise.
std::vector<Vec> clustered(size_t n, int dim, int clusters, float spread, std::mt19937_64& rng) {
  std::vector<Vec> centers;
  for (int c = 0; c < clusters; ++c) centers.push_back(random_unit(dim, rng));
  std::normal_distribution<float> gauss(0.0f, spread);
  std::uniform_int_distribution<int> pick(0, clusters - 1);
  std::vector<Vec> out;
  out.reserve(n);
  for (size_t i = 0; i < n; ++i) {
    Vec v = centers[static_cast<size_t>(pick(rng))];
    for (float& x : v) x += gauss(rng);
    l2_normalize(v);
    out.push_back(std::move(v));
  }
  return out;
}

double dot(const Vec& a, const Vec& b) {
  double s = 0;
  for (size_t i = 0; i < a.size(); ++i) s += double{a[i]} * b[i];
  return s;
}

// Brute force in double precision over the live vectors.
struct Reference {
  std::map<uint64_t, Vec> vectors;

  std::vector<VectorHit> search(const Vec& q, size_t k, const Filter* filter = nullptr) const {
    std::vector<std::pair<double, uint64_t>> all;
    for (const auto& [id, v] : vectors) {
      if (filter == nullptr || (*filter)(id)) all.emplace_back(dot(q, v), id);
    }
    std::sort(all.begin(), all.end(), [](const auto& a, const auto& b) {
      return a.first > b.first || (a.first == b.first && a.second < b.second);
    });
    std::vector<VectorHit> out;
    for (size_t i = 0; i < std::min(k, all.size()); ++i) out.push_back({all[i].second, static_cast<float>(all[i].first)});
    return out;
  }
};

VectorIndexOptions with_threshold(uint64_t threshold) {
  VectorIndexOptions o;
  o.exact_threshold = threshold;
  return o;
}

// Hits are best first, unique, and each score is the dot product with the id's current vector.
void expect_well_formed(const std::vector<VectorHit>& hits, const Reference& ref, const Vec& q) {
  std::set<uint64_t> seen;
  for (size_t i = 0; i < hits.size(); ++i) {
    ASSERT_TRUE(seen.insert(hits[i].id).second) << "duplicate id " << hits[i].id;
    auto it = ref.vectors.find(hits[i].id);
    ASSERT_NE(it, ref.vectors.end()) << "id " << hits[i].id << " is not in the index";
    EXPECT_NEAR(hits[i].score, dot(q, it->second), 1e-5) << "stale vector for id " << hits[i].id;
    if (i > 0) {
      EXPECT_TRUE(hits[i - 1].score > hits[i].score ||
                  (hits[i - 1].score == hits[i].score && hits[i - 1].id < hits[i].id));
    }
  }
}

// Same top-k as the reference, up to float rounding among near-ties at the k-th place.
void expect_exact(const std::vector<VectorHit>& hits, const Reference& ref, const Vec& q, size_t k,
                  const Filter* filter = nullptr) {
  const std::vector<VectorHit> want = ref.search(q, k, filter);
  expect_well_formed(hits, ref, q);
  ASSERT_EQ(hits.size(), want.size());
  if (want.empty()) return;
  const float kth = want.back().score;
  std::set<uint64_t> want_ids;
  for (const auto& h : want) want_ids.insert(h.id);
  for (const auto& h : hits) {
    if (std::abs(h.score - kth) > 1e-5f) {
      EXPECT_TRUE(want_ids.count(h.id)) << "id " << h.id << " score " << h.score << " not in the exact top k";
    }
  }
  EXPECT_NEAR(hits.back().score, kth, 1e-5);
}

double recall(const std::vector<VectorHit>& got, const std::vector<VectorHit>& want) {
  std::set<uint64_t> ids;
  for (const auto& h : want) ids.insert(h.id);
  size_t found = 0;
  for (const auto& h : got) found += ids.count(h.id);
  return want.empty() ? 1.0 : static_cast<double>(found) / static_cast<double>(want.size());
}

Status upsert(VectorIndex& index, Reference& ref, uint64_t id, const Vec& v) {
  ref.vectors[id] = v;
  return index.upsert(id, v);
}

void remove(VectorIndex& index, Reference& ref, uint64_t id) {
  ref.vectors.erase(id);
  EXPECT_TRUE(index.remove(id));
}

// ---------------------------------------------------------------------------
// Exact mode

TEST(VectorIndexTest, ExactSearchMatchesNaiveReference) {
  std::mt19937_64 rng(1);
  for (int dim : {1, 7, 16, 37, 64, 384}) {
    SCOPED_TRACE("dim " + std::to_string(dim));
    VectorIndex index(dim);
    Reference ref;
    for (uint64_t id = 0; id < 1500; ++id) ASSERT_TRUE(upsert(index, ref, id * 7 + 3, random_unit(dim, rng)).is_ok());
    EXPECT_EQ(index.mode(), VectorIndexMode::kExact);
    EXPECT_EQ(index.size(), 1500u);
    for (int qi = 0; qi < 20; ++qi) {
      const Vec q = random_unit(dim, rng);
      for (int k : {1, 10, 100}) expect_exact(index.search(q, k), ref, q, static_cast<size_t>(k));
    }
  }
}

TEST(VectorIndexTest, SmallAndEdgeCases) {
  VectorIndex index(3);
  const Vec q = {1, 0, 0};
  EXPECT_TRUE(index.search(q, 10).empty());
  ASSERT_TRUE(index.upsert(5, Vec{0, 1, 0}).is_ok());
  ASSERT_TRUE(index.upsert(9, Vec{1, 0, 0}).is_ok());
  ASSERT_TRUE(index.upsert(2, Vec{0, 1, 0}).is_ok());  // ties with 5
  EXPECT_TRUE(index.search(q, 0).empty());
  EXPECT_TRUE(index.search(q, -1).empty());
  const auto hits = index.search(q, 100);
  ASSERT_EQ(hits.size(), 3u);
  EXPECT_EQ(hits[0].id, 9u);
  EXPECT_FLOAT_EQ(hits[0].score, 1.0f);
  EXPECT_EQ(hits[1].id, 2u);  // equal scores by id ascending
  EXPECT_EQ(hits[2].id, 5u);
  EXPECT_EQ(index.dimension(), 3);
  EXPECT_GE(index.memory_bytes(), 3u * 3 * sizeof(float));
  index.clear();
  EXPECT_EQ(index.size(), 0u);
  EXPECT_FALSE(index.contains(9));
  EXPECT_TRUE(index.search(q, 10).empty());
}

TEST(VectorIndexTest, RejectsBadInput) {
  EXPECT_THROW(VectorIndex(0), std::invalid_argument);
  VectorIndexOptions bad;
  bad.M = 1;
  EXPECT_FALSE(bad.validate().is_ok());
  EXPECT_THROW(VectorIndex(4, bad), std::invalid_argument);
  bad = {};
  bad.ef_search = -1;
  EXPECT_EQ(bad.validate().code(), ErrorCode::kInvalidArgument);

  VectorIndex index(4);
  EXPECT_EQ(index.upsert(1, Vec{1, 0, 0}).code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(index.upsert(1, Vec{1, 0, 0, NAN}).code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(index.upsert(1, Vec{1, 0, 0, INFINITY}).code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(index.size(), 0u);
  EXPECT_THROW(index.search(Vec{1, 0, 0}, 1), std::invalid_argument);
  EXPECT_THROW(index.search(Vec{1, 0, 0, NAN}, 1), std::invalid_argument);

  Vec zero = {0, 0, 0, 0};
  EXPECT_FALSE(l2_normalize(zero));
  Vec v = {3, 0, 4, 0};
  ASSERT_TRUE(l2_normalize(v));
  EXPECT_FLOAT_EQ(v[0], 0.6f);
  EXPECT_FLOAT_EQ(v[2], 0.8f);
}

TEST(VectorIndexTest, ExactUpdatesAndRemovesAreNeverStale) {
  std::mt19937_64 rng(2);
  VectorIndex index(32);
  Reference ref;
  for (uint64_t id = 1; id <= 500; ++id) ASSERT_TRUE(upsert(index, ref, id, random_unit(32, rng)).is_ok());
  std::uniform_int_distribution<uint64_t> any(1, 700);
  for (int round = 0; round < 400; ++round) {
    const uint64_t id = any(rng);
    if (round % 3 == 0) {
      EXPECT_EQ(index.remove(id), ref.vectors.erase(id) == 1);
    } else {
      ASSERT_TRUE(upsert(index, ref, id, random_unit(32, rng)).is_ok());
    }
  }
  EXPECT_EQ(index.size(), ref.vectors.size());
  for (uint64_t id = 1; id <= 700; ++id) EXPECT_EQ(index.contains(id), ref.vectors.count(id) == 1);
  for (const auto& [id, v] : ref.vectors) {
    // Every live vector finds itself first.
    const auto hits = index.search(v, 1);
    ASSERT_EQ(hits.size(), 1u);
    EXPECT_NEAR(hits[0].score, 1.0, 1e-5);
  }
  for (int qi = 0; qi < 20; ++qi) {
    const Vec q = random_unit(32, rng);
    expect_exact(index.search(q, 50), ref, q, 50);
  }
}

TEST(VectorIndexTest, ExactFilter) {
  std::mt19937_64 rng(3);
  VectorIndex index(24);
  Reference ref;
  for (uint64_t id = 0; id < 2000; ++id) ASSERT_TRUE(upsert(index, ref, id, random_unit(24, rng)).is_ok());
  const Filter even = [](uint64_t id) { return id % 2 == 0; };
  const Filter rare = [](uint64_t id) { return id % 500 == 7; };  // 4 ids
  const Filter none = [](uint64_t) { return false; };
  const Filter empty;
  for (int qi = 0; qi < 10; ++qi) {
    const Vec q = random_unit(24, rng);
    expect_exact(index.search(q, 10, &even), ref, q, 10, &even);
    expect_exact(index.search(q, 10, &rare), ref, q, 10, &rare);
    EXPECT_EQ(index.search(q, 10, &rare).size(), 4u);
    EXPECT_TRUE(index.search(q, 10, &none).empty());
    expect_exact(index.search(q, 10, &empty), ref, q, 10);
  }
}

// ---------------------------------------------------------------------------
// Graph mode

TEST(VectorIndexGraphTest, RecallAtTenVersusExact) {
  std::mt19937_64 rng(4);
  constexpr int kDim = 64;
#if defined(__SANITIZE_THREAD__)
  constexpr size_t kN = 5000;  // TSan makes hnswlib's per-node locking ~50x slower; races are tested below
#else
  constexpr size_t kN = 30000;
#endif
  constexpr size_t kQueries = 200;
  const std::vector<Vec> data = clustered(kN + kQueries, kDim, 100, 0.17f, rng);
  // ef_construction 100 (default 200) halves the build time of this test; recall is
  // checked at the default ef_search.
  VectorIndexOptions o = with_threshold(1000);
  o.ef_construction = 100;
  VectorIndex index(kDim, o);
  // The exact mode is the reference here (it is checked against brute force above).
  VectorIndex exact(kDim, with_threshold(kN + 1));
  for (size_t i = 0; i < kN; ++i) {
    ASSERT_TRUE(index.upsert(1000 + i, data[i]).is_ok());
    ASSERT_TRUE(exact.upsert(1000 + i, data[i]).is_ok());
  }
  EXPECT_EQ(index.mode(), VectorIndexMode::kGraph);
  EXPECT_EQ(exact.mode(), VectorIndexMode::kExact);
  EXPECT_EQ(index.size(), kN);
  EXPECT_GE(index.memory_bytes(), kN * kDim * sizeof(float));
  double total = 0;
  for (size_t qi = kN; qi < kN + kQueries; ++qi) {
    const Vec& q = data[qi];
    const auto hits = index.search(q, 10);
    const auto want = exact.search(q, 10);
    ASSERT_EQ(hits.size(), 10u);
    for (size_t i = 1; i < hits.size(); ++i) ASSERT_GE(hits[i - 1].score, hits[i].score);
    total += recall(hits, want);
  }
  const double mean = total / kQueries;
  RecordProperty("recall_at_10", std::to_string(mean));
  EXPECT_GE(mean, 0.95);
}

TEST(VectorIndexGraphTest, UpdatesAndRemovesAreNeverStale) {
  std::mt19937_64 rng(5);
  constexpr int kDim = 16;
  VectorIndex index(kDim, with_threshold(500));
  Reference ref;
  for (uint64_t id = 0; id < 3000; ++id) ASSERT_TRUE(upsert(index, ref, id, random_unit(kDim, rng)).is_ok());
  ASSERT_EQ(index.mode(), VectorIndexMode::kGraph);
  std::set<uint64_t> removed;
  const auto check = [&](const char* stage) {
    SCOPED_TRACE(stage);
    ASSERT_EQ(index.size(), ref.vectors.size());
    for (uint64_t id : removed) ASSERT_FALSE(index.contains(id));
    double total = 0;
    for (int qi = 0; qi < 100; ++qi) {
      const Vec q = random_unit(kDim, rng);
      const auto hits = index.search(q, 10);
      expect_well_formed(hits, ref, q);  // no removed id, no old vector
      total += recall(hits, ref.search(q, 10));
    }
    EXPECT_GE(total / 100, 0.9);
  };
  // Remove 20% (marked deleted, below the compaction ratio).
  for (uint64_t id = 0; id < 3000; id += 5) {
    remove(index, ref, id);
    removed.insert(id);
  }
  EXPECT_FALSE(index.remove(0));
  check("after removals");
  // Move 500 vectors elsewhere: an old position must never be reported.
  for (uint64_t id = 1; id < 3000; id += 6) {
    if (!removed.count(id)) {
      ASSERT_TRUE(upsert(index, ref, id, random_unit(kDim, rng)).is_ok());
    }
  }
  check("after updates");
  // New ids reuse deleted elements; some removed ids come back with new vectors.
  for (uint64_t id = 10000; id < 10300; ++id) ASSERT_TRUE(upsert(index, ref, id, random_unit(kDim, rng)).is_ok());
  for (uint64_t id = 0; id < 1000; id += 10) {
    ASSERT_TRUE(upsert(index, ref, id, random_unit(kDim, rng)).is_ok());
    removed.erase(id);
  }
  check("after reuse");
  // Every live vector is found as its own nearest neighbour (score 1).
  size_t self_found = 0;
  for (const auto& [id, v] : ref.vectors) {
    const auto hits = index.search(v, 1);
    self_found += !hits.empty() && hits[0].id == id;
  }
  EXPECT_GE(static_cast<double>(self_found), 0.98 * static_cast<double>(ref.vectors.size()));
  // Remove more than 30% of the graph: compaction.
  const uint64_t before = index.memory_bytes();
  std::vector<uint64_t> ids;
  for (const auto& [id, v] : ref.vectors) ids.push_back(id);
  for (size_t i = 0; i < ids.size() / 2; ++i) {
    remove(index, ref, ids[i * 2]);
    removed.insert(ids[i * 2]);
  }
  index.wait_for_background_work();  // a compaction of this size runs in the background
  EXPECT_EQ(index.mode(), VectorIndexMode::kGraph);
  EXPECT_LT(index.memory_bytes(), before);
  check("after compaction");
}

TEST(VectorIndexGraphTest, Filters) {
  std::mt19937_64 rng(6);
  constexpr int kDim = 32;
  VectorIndex index(kDim, with_threshold(1000));
  Reference ref;
  const std::vector<Vec> data = clustered(8000, kDim, 40, 0.1f, rng);
  for (uint64_t id = 0; id < 8000; ++id) ASSERT_TRUE(upsert(index, ref, id, data[id]).is_ok());
  for (uint64_t id = 0; id < 8000; id += 9) remove(index, ref, id);
  ASSERT_EQ(index.mode(), VectorIndexMode::kGraph);
  const Filter half = [](uint64_t id) { return id % 2 == 1; };
  const Filter rare = [](uint64_t id) { return id % 250 == 1; };  // 0.4%: answered by a scan
  const Filter only_removed = [](uint64_t id) { return id % 9 == 0; };
  double total = 0;
  for (int qi = 0; qi < 50; ++qi) {
    const Vec q = random_unit(kDim, rng);
    const auto h = index.search(q, 10, &half);
    expect_well_formed(h, ref, q);
    for (const auto& hit : h) ASSERT_TRUE(half(hit.id));
    total += recall(h, ref.search(q, 10, &half));
    expect_exact(index.search(q, 10, &rare), ref, q, 10, &rare);
    EXPECT_TRUE(index.search(q, 10, &only_removed).empty());
  }
  EXPECT_GE(total / 50, 0.9);
}

TEST(VectorIndexGraphTest, ThresholdCrossingBothWaysWithHysteresis) {
  std::mt19937_64 rng(7);
  constexpr int kDim = 8;
  VectorIndex index(kDim, with_threshold(200));
  Reference ref;
  const auto check = [&] {
    for (int qi = 0; qi < 5; ++qi) {
      const Vec q = random_unit(kDim, rng);
      const auto hits = index.search(q, 5);
      expect_well_formed(hits, ref, q);
      if (index.mode() == VectorIndexMode::kExact) expect_exact(hits, ref, q, 5);
    }
  };
  for (uint64_t id = 0; id < 199; ++id) ASSERT_TRUE(upsert(index, ref, id, random_unit(kDim, rng)).is_ok());
  EXPECT_EQ(index.mode(), VectorIndexMode::kExact);
  check();
  ASSERT_TRUE(upsert(index, ref, 199, random_unit(kDim, rng)).is_ok());
  EXPECT_EQ(index.mode(), VectorIndexMode::kGraph);
  check();
  // Around the threshold: no switching back and forth.
  for (int i = 0; i < 20; ++i) {
    remove(index, ref, 199);
    EXPECT_EQ(index.mode(), VectorIndexMode::kGraph);
    ASSERT_TRUE(upsert(index, ref, 199, random_unit(kDim, rng)).is_ok());
  }
  for (uint64_t id = 199; id >= 100; --id) remove(index, ref, id);  // 100 left = threshold / 2
  EXPECT_EQ(index.mode(), VectorIndexMode::kGraph);
  check();
  remove(index, ref, 99);
  EXPECT_EQ(index.mode(), VectorIndexMode::kExact);
  EXPECT_EQ(index.size(), 99u);
  check();
  for (uint64_t id = 1000; id < 1101; ++id) ASSERT_TRUE(upsert(index, ref, id, random_unit(kDim, rng)).is_ok());
  EXPECT_EQ(index.mode(), VectorIndexMode::kGraph);  // 200 again
  check();

  VectorIndex always_graph(kDim, with_threshold(0));
  ASSERT_TRUE(always_graph.upsert(1, random_unit(kDim, rng)).is_ok());
  EXPECT_EQ(always_graph.mode(), VectorIndexMode::kGraph);
  EXPECT_TRUE(always_graph.remove(1));
  EXPECT_EQ(always_graph.search(random_unit(kDim, rng), 3).size(), 0u);
}

// ---------------------------------------------------------------------------
// Persistence

class VectorIndexPersistenceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("kr_vector_index_test_" + std::to_string(::testing::UnitTest::GetInstance()->random_seed()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name() + "_" + std::to_string(getpid()));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  static std::string read_all(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), {});
  }
  static void write_all(const fs::path& p, const std::string& bytes) {
    std::ofstream out(p, std::ios::binary | std::ios::trunc);
    out << bytes;
  }

  fs::path dir_;
};

void expect_same_results(const VectorIndex& a, const VectorIndex& b, int dim, std::mt19937_64& rng) {
  ASSERT_EQ(a.size(), b.size());
  ASSERT_EQ(a.mode(), b.mode());
  for (int qi = 0; qi < 30; ++qi) {
    const Vec q = random_unit(dim, rng);
    const auto x = a.search(q, 10);
    const auto y = b.search(q, 10);
    ASSERT_EQ(x.size(), y.size());
    for (size_t i = 0; i < x.size(); ++i) {
      EXPECT_EQ(x[i].id, y[i].id);
      EXPECT_EQ(x[i].score, y[i].score);
    }
  }
}

TEST_F(VectorIndexPersistenceTest, ExactRoundTrip) {
  std::mt19937_64 rng(8);
  VectorIndex index(20);
  for (uint64_t id = 0; id < 300; ++id) ASSERT_TRUE(index.upsert(id * 3, random_unit(20, rng)).is_ok());
  for (uint64_t id = 0; id < 300; id += 4) index.remove(id * 3);
  const fs::path file = dir_ / "vectors.snap";
  ASSERT_TRUE(index.save(file, 42).is_ok());
  EXPECT_EQ(std::distance(fs::directory_iterator(dir_), fs::directory_iterator()), 1);  // no temp file left
  Result<VectorIndex> loaded = VectorIndex::load(file, 20, 42);
  ASSERT_TRUE(loaded.is_ok()) << loaded.status().to_string();
  expect_same_results(index, *loaded, 20, rng);
  EXPECT_TRUE(loaded->contains(3));
  EXPECT_FALSE(loaded->contains(0));
  // Saving over an existing snapshot replaces it.
  ASSERT_TRUE(loaded->upsert(100000, random_unit(20, rng)).is_ok());
  ASSERT_TRUE(loaded->save(file, 43).is_ok());
  Result<VectorIndex> again = VectorIndex::load(file, 20, 43);
  ASSERT_TRUE(again.is_ok()) << again.status().to_string();
  EXPECT_TRUE(again->contains(100000));
  // An empty index too.
  VectorIndex empty(20);
  ASSERT_TRUE(empty.save(dir_ / "empty.snap", 1).is_ok());
  Result<VectorIndex> e = VectorIndex::load(dir_ / "empty.snap", 20, 1);
  ASSERT_TRUE(e.is_ok()) << e.status().to_string();
  EXPECT_EQ(e->size(), 0u);
}

TEST_F(VectorIndexPersistenceTest, GraphRoundTripKeepsGraphAndDeletions) {
  std::mt19937_64 rng(9);
  constexpr int kDim = 24;
  VectorIndex index(kDim, with_threshold(300));
  for (uint64_t id = 0; id < 2000; ++id) ASSERT_TRUE(index.upsert(id, random_unit(kDim, rng)).is_ok());
  for (uint64_t id = 0; id < 2000; id += 7) index.remove(id);
  ASSERT_EQ(index.mode(), VectorIndexMode::kGraph);
  const fs::path file = dir_ / "graph.snap";
  ASSERT_TRUE(index.save(file, 7).is_ok());
  Result<VectorIndex> loaded = VectorIndex::load(file, kDim, 7, with_threshold(300));
  ASSERT_TRUE(loaded.is_ok()) << loaded.status().to_string();
  // The same graph answers the same way.
  expect_same_results(index, *loaded, kDim, rng);
  EXPECT_FALSE(loaded->contains(0));
  EXPECT_TRUE(loaded->contains(1));
  // It stays writable: deleted elements are reused, removed ids come back.
  for (uint64_t id = 5000; id < 5100; ++id) ASSERT_TRUE(loaded->upsert(id, random_unit(kDim, rng)).is_ok());
  ASSERT_TRUE(loaded->upsert(0, Vec(kDim, 0.0f)).is_ok());
  EXPECT_EQ(loaded->size(), index.size() + 101);
  const Vec q = random_unit(kDim, rng);
  const auto hits = loaded->search(q, 2000);
  std::set<uint64_t> ids;
  for (const auto& h : hits) ids.insert(h.id);
  EXPECT_TRUE(ids.count(0) && ids.count(5050));
  EXPECT_FALSE(ids.count(7));
  // A smaller threshold in the new configuration is honoured at load.
  Result<VectorIndex> as_exact = VectorIndex::load(file, kDim, 7, with_threshold(1000000));
  ASSERT_TRUE(as_exact.is_ok()) << as_exact.status().to_string();
  EXPECT_EQ(as_exact->mode(), VectorIndexMode::kExact);
  EXPECT_EQ(as_exact->size(), index.size());
}

TEST_F(VectorIndexPersistenceTest, MismatchesAndDamageFailCleanly) {
  std::mt19937_64 rng(10);
  constexpr int kDim = 12;
  for (uint64_t threshold : {uint64_t{1000000}, uint64_t{100}}) {
    SCOPED_TRACE("threshold " + std::to_string(threshold));
    VectorIndex index(kDim, with_threshold(threshold));
    for (uint64_t id = 0; id < 400; ++id) ASSERT_TRUE(index.upsert(id, random_unit(kDim, rng)).is_ok());
    index.remove(3);
    const fs::path file = dir_ / "v.snap";
    ASSERT_TRUE(index.save(file, 5).is_ok());
    const std::string good = read_all(file);

    EXPECT_EQ(VectorIndex::load(dir_ / "missing", kDim, 5).status().code(), ErrorCode::kNotFound);
    EXPECT_EQ(VectorIndex::load(file, kDim, 6).status().code(), ErrorCode::kFailedPrecondition);
    EXPECT_EQ(VectorIndex::load(file, kDim + 1, 5).status().code(), ErrorCode::kFailedPrecondition);
    EXPECT_EQ(VectorIndex::load(file, 0, 5).status().code(), ErrorCode::kInvalidArgument);

    const fs::path bad = dir_ / "bad.snap";
    for (size_t len : {size_t{0}, size_t{10}, size_t{95}, size_t{96}, size_t{200}, good.size() / 2, good.size() - 1}) {
      write_all(bad, good.substr(0, len));
      EXPECT_EQ(VectorIndex::load(bad, kDim, 5).status().code(), ErrorCode::kDataCorruption) << "length " << len;
    }
    write_all(bad, good + "x");
    EXPECT_EQ(VectorIndex::load(bad, kDim, 5).status().code(), ErrorCode::kDataCorruption);
    for (size_t pos : {size_t{0}, size_t{9}, size_t{20}, size_t{50}, size_t{90}, size_t{100}, good.size() / 2,
                       good.size() - 3}) {
      std::string damaged = good;
      damaged[pos] = static_cast<char>(damaged[pos] ^ 0x10);
      write_all(bad, damaged);
      const Status s = VectorIndex::load(bad, kDim, 5).status();
      EXPECT_EQ(s.code(), ErrorCode::kDataCorruption) << "byte " << pos << ": " << s.to_string();
    }
    // The good file still loads.
    ASSERT_TRUE(VectorIndex::load(file, kDim, 5).is_ok());
  }
  // Saving into a missing folder reports an error.
  VectorIndex index(kDim);
  EXPECT_EQ(index.save(dir_ / "no" / "such" / "dir" / "v.snap", 1).code(), ErrorCode::kUnavailable);
}

// XXH64, to forge files whose checksums are right but whose content is not.
uint64_t xxh64(const unsigned char* p, size_t len) {
  constexpr uint64_t P1 = 0x9E3779B185EBCA87ULL, P2 = 0xC2B2AE3D27D4EB4FULL, P3 = 0x165667B19E3779F9ULL,
                     P4 = 0x85EBCA77C2B2AE63ULL, P5 = 0x27D4EB2F165667C5ULL;
  const auto rd64 = [](const unsigned char* q) { uint64_t v; std::memcpy(&v, q, 8); return v; };
  const auto rnd = [](uint64_t acc, uint64_t in) { return std::rotl(acc + in * P2, 31) * P1; };
  const unsigned char* end = p + len;
  uint64_t h;
  if (len >= 32) {
    uint64_t v[4] = {P1 + P2, P2, 0, 0 - P1};
    for (; end - p >= 32; p += 32) {
      for (int i = 0; i < 4; ++i) v[i] = rnd(v[i], rd64(p + 8 * i));
    }
    h = std::rotl(v[0], 1) + std::rotl(v[1], 7) + std::rotl(v[2], 12) + std::rotl(v[3], 18);
    for (uint64_t x : v) h = (h ^ rnd(0, x)) * P1 + P4;
  } else {
    h = P5;
  }
  h += len;
  for (; end - p >= 8; p += 8) h = std::rotl(h ^ rnd(0, rd64(p)), 27) * P1 + P4;
  if (end - p >= 4) {
    uint32_t w;
    std::memcpy(&w, p, 4);
    h = std::rotl(h ^ (uint64_t{w} * P1), 23) * P2 + P3;
    p += 4;
  }
  for (; p < end; ++p) h = std::rotl(h ^ (uint64_t{*p} * P5), 11) * P1;
  h ^= h >> 33;
  h *= P2;
  h ^= h >> 29;
  h *= P3;
  h ^= h >> 32;
  return h;
}

TEST(VectorIndexChecksumTest, Xxh64KnownAnswers) {
  EXPECT_EQ(xxh64(reinterpret_cast<const unsigned char*>(""), 0), 0xEF46DB3751D8E999ULL);
  EXPECT_EQ(xxh64(reinterpret_cast<const unsigned char*>("abc"), 3), 0x44BC2CF5AD770999ULL);
}

TEST_F(VectorIndexPersistenceTest, ForgedGraphWithValidChecksumsIsRejected) {
  std::mt19937_64 rng(11);
  constexpr int kDim = 4;
  VectorIndex index(kDim, with_threshold(10));
  for (uint64_t id = 0; id < 50; ++id) ASSERT_TRUE(index.upsert(id, random_unit(kDim, rng)).is_ok());
  const fs::path file = dir_ / "g.snap";
  ASSERT_TRUE(index.save(file, 1).is_ok());
  const std::string good = read_all(file);
  const size_t header = 96, slots = 50;
  const size_t graph_start = header + slots * 8 + slots * kDim * 4;
  // Rewrites checksums after `edit`; the loader must still refuse.
  const auto forge = [&](const std::function<void(std::string&)>& edit) {
    std::string s = good;
    edit(s);
    auto* b = reinterpret_cast<unsigned char*>(s.data());
    const uint64_t payload = xxh64(b + header, s.size() - header);
    std::memcpy(b + 56, &payload, 8);
    const uint64_t head = xxh64(b, 88);
    std::memcpy(b + 88, &head, 8);
    write_all(dir_ / "forged.snap", s);
    return VectorIndex::load(dir_ / "forged.snap", kDim, 1).status();
  };
  EXPECT_TRUE(forge([](std::string&) {}).is_ok());  // the forging itself is sound
  // First element: level, deleted, count0, then its first neighbor.
  const size_t first = graph_start + 8;
  const auto set_u32 = [](std::string& s, size_t pos, uint32_t v) { std::memcpy(s.data() + pos, &v, 4); };
  EXPECT_EQ(forge([&](std::string& s) { set_u32(s, first + 12, 1000000); }).code(), ErrorCode::kDataCorruption);
  EXPECT_EQ(forge([&](std::string& s) { set_u32(s, first + 8, 60000); }).code(), ErrorCode::kDataCorruption);
  EXPECT_EQ(forge([&](std::string& s) { set_u32(s, first + 4, 2); }).code(), ErrorCode::kDataCorruption);
  EXPECT_EQ(forge([&](std::string& s) { set_u32(s, first, 40); }).code(), ErrorCode::kDataCorruption);
  EXPECT_EQ(forge([&](std::string& s) { set_u32(s, graph_start + 4, 77); }).code(), ErrorCode::kDataCorruption);
  EXPECT_EQ(forge([&](std::string& s) { std::memcpy(s.data() + header + 8, s.data() + header, 8); }).code(),
            ErrorCode::kDataCorruption);  // duplicate id
}

// ---------------------------------------------------------------------------
// Concurrency (also run under TSan in CI)

TEST(VectorIndexConcurrencyTest, SearchesDuringWritesAndModeSwitches) {
  constexpr int kDim = 16;
  VectorIndex index(kDim, with_threshold(600));
  std::atomic<bool> done{false};
  // Ids >= 1'000'000 are removed in order and never re-added; removed_upto publishes progress.
  std::atomic<uint64_t> removed_upto{1000000};
  std::atomic<uint64_t> searches{0};
  const Filter odd = [](uint64_t id) { return id % 2 == 1; };
  std::vector<std::thread> readers;
  std::atomic<int> failures{0};
  for (int t = 0; t < 3; ++t) {
    readers.emplace_back([&, t] {
      std::mt19937_64 rng(100 + t);
      // Every reader checks at least once, even if the writer finishes first.
      for (bool first = true; first || !done.load(); first = false) {
        const uint64_t floor = removed_upto.load();
        const Vec q = random_unit(kDim, rng);
        const bool filtered = rng() % 2 == 0;
        const auto hits = index.search(q, 10, filtered ? &odd : nullptr);
        for (size_t i = 0; i < hits.size(); ++i) {
          const bool bad = (hits[i].id >= 1000000 && hits[i].id < floor) || (filtered && !odd(hits[i].id)) ||
                           (i > 0 && hits[i - 1].score < hits[i].score);
          if (bad) failures.fetch_add(1);
        }
        (void)index.size();
        (void)index.contains(5);
        searches.fetch_add(1);
      }
    });
  }
  std::mt19937_64 rng(99);
  const fs::path snap = fs::temp_directory_path() / ("kr_vec_conc_" + std::to_string(getpid()) + ".snap");
  for (uint64_t id = 0; id < 700; ++id) ASSERT_TRUE(index.upsert(id, random_unit(kDim, rng)).is_ok());
  for (uint64_t id = 1000000; id < 1000200; ++id) ASSERT_TRUE(index.upsert(id, random_unit(kDim, rng)).is_ok());
  ASSERT_TRUE(index.save(snap, 1).is_ok());
  for (uint64_t id = 1000000; id < 1000200; ++id) {
    ASSERT_TRUE(index.remove(id));
    removed_upto.store(id + 1);
    if (id % 10 == 0) {
      ASSERT_TRUE(index.upsert(id % 700, random_unit(kDim, rng)).is_ok());
    }
  }
  for (uint64_t id = 0; id < 500; ++id) index.remove(id);  // back to exact
  EXPECT_EQ(index.mode(), VectorIndexMode::kExact);
  for (uint64_t id = 2000; id < 2800; ++id) ASSERT_TRUE(index.upsert(id, random_unit(kDim, rng)).is_ok());
  EXPECT_EQ(index.mode(), VectorIndexMode::kGraph);
  ASSERT_TRUE(index.save(snap, 2).is_ok());
  done.store(true);
  for (auto& r : readers) r.join();
  fs::remove(snap);
  EXPECT_EQ(failures.load(), 0);
  EXPECT_GE(searches.load(), 3u);
  EXPECT_EQ(index.size(), 200u + 800u);
}


// ---------------------------------------------------------------------------
// Background graph builds: the write that starts one returns at once, searches and
// writes go on while it runs (the builder holds no lock), and every write made
// meanwhile is in the graph that is swapped in.

// Pauses the next background build halfway until release() (or a minute: no hang).
// The bounds below only end a broken run: half a build of 3,000 vectors takes over a minute
// under ThreadSanitizer on a busy 2-core machine, so they are generous.
constexpr auto kStuck = std::chrono::seconds(600);

class BuildPause {
 public:
  explicit BuildPause(VectorIndex& index) {
    index.set_build_hook_for_testing([this] {
      reached_.set_value();
      released_.wait_for(kStuck);
    });
  }
  bool wait_reached() { return reached_future_.wait_for(kStuck) == std::future_status::ready; }
  void release() { release_.set_value(); }

 private:
  std::promise<void> reached_;
  std::future<void> reached_future_ = reached_.get_future();
  std::promise<void> release_;
  std::shared_future<void> released_ = release_.get_future().share();
};

// Runs `work` on another thread; false if it did not finish while the paused build was held
// (a writer waiting for the build's lock never finishes before the build is released).
bool finishes(const std::function<void()>& work) {
  auto done = std::async(std::launch::async, work);
  return done.wait_for(kStuck / 2) == std::future_status::ready;
}

TEST(VectorIndexBackgroundBuildTest, ThresholdCrossingBuildsInTheBackground) {
  std::mt19937_64 rng(21);
  constexpr int kDim = 16;
  constexpr uint64_t kThreshold = 3000;
  VectorIndex index(kDim, with_threshold(kThreshold));
  BuildPause pause(index);
  Reference ref;
  for (uint64_t id = 0; id + 1 < kThreshold; ++id) ASSERT_TRUE(upsert(index, ref, id, random_unit(kDim, rng)).is_ok());
  const auto check_exact = [&](const char* stage) {
    SCOPED_TRACE(stage);
    ASSERT_EQ(index.size(), ref.vectors.size());
    for (int qi = 0; qi < 20; ++qi) {
      const Vec q = random_unit(kDim, rng);
      expect_exact(index.search(q, 10), ref, q, 10);
    }
  };
  check_exact("before the threshold");
  ASSERT_FALSE(index.background_work_pending());

  // The crossing write returns while the build is still under way.
  ASSERT_TRUE(upsert(index, ref, kThreshold - 1, random_unit(kDim, rng)).is_ok());
  ASSERT_TRUE(pause.wait_reached());
  EXPECT_TRUE(index.background_work_pending());
  EXPECT_EQ(index.mode(), VectorIndexMode::kExact);
  check_exact("while building: the exact scan answers");
  std::set<uint64_t> removed, added, moved;
  const fs::path snap = fs::temp_directory_path() / ("kr_vec_bg_" + std::to_string(getpid()) + ".snap");
  ASSERT_TRUE(finishes([&] {
    for (uint64_t id = 10000; id < 10200; ++id) {
      ASSERT_TRUE(upsert(index, ref, id, random_unit(kDim, rng)).is_ok());
      added.insert(id);
    }
    for (uint64_t id = 0; id < 300; id += 3) {
      remove(index, ref, id);
      removed.insert(id);
    }
    for (uint64_t id = 1; id < 300; id += 3) {
      ASSERT_TRUE(upsert(index, ref, id, random_unit(kDim, rng)).is_ok());
      moved.insert(id);
    }
    ASSERT_TRUE(index.save(snap, 7).is_ok());  // takes the writer lock too
  })) << "a writer waited for the background build";
  check_exact("while building, after more writes");
  EXPECT_EQ(index.mode(), VectorIndexMode::kExact);

  pause.release();
  index.wait_for_background_work();
  EXPECT_FALSE(index.background_work_pending());
  ASSERT_EQ(index.mode(), VectorIndexMode::kGraph);
  ASSERT_EQ(index.size(), ref.vectors.size());
  for (uint64_t id : removed) EXPECT_FALSE(index.contains(id)) << id;
  for (uint64_t id : added) EXPECT_TRUE(index.contains(id)) << id;
  // Writes made during the build are in the new graph: each moved or added vector is its
  // own nearest neighbour with its new position, and no removed id comes back.
  size_t self_found = 0;
  for (uint64_t id : moved) {
    const auto hits = index.search(ref.vectors.at(id), 1);
    self_found += !hits.empty() && hits[0].id == id && std::abs(hits[0].score - 1.0f) < 1e-4f;
  }
  for (uint64_t id : added) {
    const auto hits = index.search(ref.vectors.at(id), 1);
    self_found += !hits.empty() && hits[0].id == id;
  }
  EXPECT_GE(self_found, (moved.size() + added.size()) * 98 / 100);
  double total = 0;
  for (int qi = 0; qi < 50; ++qi) {
    const Vec q = random_unit(kDim, rng);
    const auto hits = index.search(q, 10);
    expect_well_formed(hits, ref, q);
    total += recall(hits, ref.search(q, 10));
  }
  EXPECT_GE(total / 50, 0.9);
  // The snapshot taken mid-build is an exact index with the writes made until then.
  auto loaded = VectorIndex::load(snap, kDim, 7, with_threshold(kThreshold * 10));
  ASSERT_TRUE(loaded.is_ok()) << loaded.status().to_string();
  EXPECT_EQ(loaded->size(), ref.vectors.size());
  fs::remove(snap);
}

TEST(VectorIndexBackgroundBuildTest, CompactionInTheBackgroundNeverServesRemovedIds) {
  std::mt19937_64 rng(22);
  constexpr int kDim = 16;
  VectorIndex index(kDim, with_threshold(1000));
  Reference ref;
  for (uint64_t id = 0; id < 6000; ++id) ASSERT_TRUE(upsert(index, ref, id, random_unit(kDim, rng)).is_ok());
  ASSERT_EQ(index.mode(), VectorIndexMode::kGraph);
  ASSERT_FALSE(index.background_work_pending());
  BuildPause pause(index);
  // Remove until more than 30% of the graph is deleted: compaction starts.
  uint64_t next = 0;
  while (!index.background_work_pending()) {
    ASSERT_LT(next, 6000u);
    remove(index, ref, next);
    next += 2;
  }
  ASSERT_TRUE(pause.wait_reached());
  const uint64_t bytes_before = index.memory_bytes();
  const auto check = [&](const char* stage) {
    SCOPED_TRACE(stage);
    ASSERT_EQ(index.size(), ref.vectors.size());
    for (int qi = 0; qi < 30; ++qi) {
      const Vec q = random_unit(kDim, rng);
      expect_well_formed(index.search(q, 10), ref, q);  // never a removed id or an old vector
    }
  };
  check("while compacting");
  ASSERT_TRUE(finishes([&] {
    for (uint64_t id = 1; id < 1000; id += 2) remove(index, ref, id);
    for (uint64_t id = 20000; id < 20100; ++id) ASSERT_TRUE(upsert(index, ref, id, random_unit(kDim, rng)).is_ok());
  })) << "a writer waited for the compaction";
  check("while compacting, after more writes");
  EXPECT_EQ(index.mode(), VectorIndexMode::kGraph);
  pause.release();
  index.wait_for_background_work();
  EXPECT_EQ(index.mode(), VectorIndexMode::kGraph);
  EXPECT_LT(index.memory_bytes(), bytes_before);
  check("after the swap");
  for (uint64_t id = 1; id < 1000; id += 2) EXPECT_FALSE(index.contains(id));
  for (uint64_t id = 20000; id < 20100; ++id) EXPECT_TRUE(index.contains(id));
}

TEST(VectorIndexBackgroundBuildTest, ClearOrShrinkDuringABuildDiscardsIt) {
  std::mt19937_64 rng(23);
  constexpr int kDim = 8;
  for (const bool shrink : {false, true}) {
    SCOPED_TRACE(shrink ? "shrink below threshold / 2" : "clear");
    VectorIndex index(kDim, with_threshold(2500));
    BuildPause pause(index);
    Reference ref;
    for (uint64_t id = 0; id < 2500; ++id) ASSERT_TRUE(upsert(index, ref, id, random_unit(kDim, rng)).is_ok());
    ASSERT_TRUE(pause.wait_reached());
    if (shrink) {
      for (uint64_t id = 0; id < 1300; ++id) remove(index, ref, id);  // 1200 left < 1250
    } else {
      index.clear();
      ref.vectors.clear();
    }
    pause.release();
    index.wait_for_background_work();
    EXPECT_EQ(index.mode(), VectorIndexMode::kExact);  // the stale graph was not swapped in
    ASSERT_EQ(index.size(), ref.vectors.size());
    const Vec q = random_unit(kDim, rng);
    expect_exact(index.search(q, 10), ref, q, 10);
    ASSERT_TRUE(upsert(index, ref, 99999, random_unit(kDim, rng)).is_ok());
    EXPECT_TRUE(index.contains(99999));
  }
}

// Destroying an index while a build runs cancels it and joins its thread.
TEST(VectorIndexBackgroundBuildTest, DestroyedDuringABuild) {
  std::mt19937_64 rng(24);
  auto index = std::make_unique<VectorIndex>(8, with_threshold(2100));
  for (uint64_t id = 0; id < 2100; ++id) ASSERT_TRUE(index->upsert(id, random_unit(8, rng)).is_ok());
  EXPECT_TRUE(finishes([&] { index.reset(); }));
}

}  // namespace
}  // namespace kr::index
