// search_max_score() (block-max MaxScore) and search() against search_exhaustive()
// (every posting scored) on random corpora, queries, filters and update sequences:
// identical chunk ids, doc keys and bit-identical scores, in the same order.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "index/bm25.h"

namespace kr::index {
namespace {

// Zipf-like draw over [0, n): most draws hit a few frequent terms, so their lists
// span many sealed blocks, while the tail of the vocabulary stays in unsealed tails.
class Zipf {
 public:
  Zipf(size_t n, double s) : cdf_(n) {
    double sum = 0;
    for (size_t i = 0; i < n; ++i) cdf_[i] = sum += 1.0 / std::pow(static_cast<double>(i + 1), s);
    for (double& c : cdf_) c /= sum;
  }
  size_t operator()(std::mt19937_64& rng) const {
    const double u = std::uniform_real_distribution<double>(0, 1)(rng);
    return std::min<size_t>(std::lower_bound(cdf_.begin(), cdf_.end(), u) - cdf_.begin(), cdf_.size() - 1);
  }

 private:
  std::vector<double> cdf_;
};

struct CorpusShape {
  size_t vocabulary;
  double zipf_s;
  size_t max_terms;  // distinct draws per chunk
  uint32_t max_tf;
  bool explicit_lengths;  // length > sum of tfs (stop words counted), as the service passes
};

ChunkPostings random_chunk(uint64_t id, const CorpusShape& shape, const Zipf& zipf, std::mt19937_64& rng) {
  std::map<std::string, uint32_t> terms;
  const size_t draws = 1 + rng() % shape.max_terms;
  for (size_t i = 0; i < draws; ++i) {
    terms["w" + std::to_string(zipf(rng))] += 1 + static_cast<uint32_t>(rng() % shape.max_tf);
  }
  ChunkPostings c;
  c.chunk_id = id;
  c.doc_key = 1 + rng() % 50;
  c.terms.assign(terms.begin(), terms.end());
  if (shape.explicit_lengths) {
    uint32_t sum = 0;
    for (const auto& [t, tf] : c.terms) sum += tf;
    c.length = sum + static_cast<uint32_t>(rng() % 40);
  }
  return c;
}

std::vector<std::string> random_query(const CorpusShape& shape, const Zipf& zipf, std::mt19937_64& rng) {
  std::vector<std::string> q;
  const size_t n = rng() % 9;  // 0..8 terms
  for (size_t i = 0; i < n; ++i) {
    switch (rng() % 8) {
      case 0:  // a term no chunk has (what is left of a stop-word-only query is nothing, or this)
        q.push_back("absent" + std::to_string(rng() % 3));
        break;
      case 1:  // repeat an earlier term
        q.push_back(q.empty() ? "w0" : q[rng() % q.size()]);
        break;
      case 2:  // uniform: mostly rare terms
        q.push_back("w" + std::to_string(rng() % shape.vocabulary));
        break;
      default:
        q.push_back("w" + std::to_string(zipf(rng)));
    }
  }
  return q;
}

std::string describe(const std::vector<std::string>& q, size_t k) {
  std::string s = "k=" + std::to_string(k) + " query:";
  for (const auto& t : q) s += " " + t;
  return s;
}

void expect_identical(const Bm25Index& index, const std::vector<std::string>& q, size_t k,
                      const std::function<bool(uint64_t)>& filter) {
  const auto exhaustive = index.search_exhaustive(q, k, filter);
  for (const auto& results : {index.search_max_score(q, k, filter), index.search(q, k, filter)}) {
    ASSERT_EQ(results.size(), exhaustive.size()) << describe(q, k);
    for (size_t i = 0; i < results.size(); ++i) {
      ASSERT_EQ(results[i].chunk_id, exhaustive[i].chunk_id) << describe(q, k) << " rank " << i;
      ASSERT_EQ(results[i].doc_key, exhaustive[i].doc_key) << describe(q, k) << " rank " << i;
      ASSERT_EQ(results[i].score, exhaustive[i].score) << describe(q, k) << " rank " << i;  // bit-identical
    }
  }
}

const size_t kTopKs[] = {1, 2, 3, 10, 50, 1000, SIZE_MAX};

void check_queries(const Bm25Index& index, const CorpusShape& shape, const Zipf& zipf, std::mt19937_64& rng,
                   int queries) {
  for (int i = 0; i < queries; ++i) {
    const auto q = random_query(shape, zipf, rng);
    const size_t k = kTopKs[rng() % std::size(kTopKs)];
    expect_identical(index, q, k, {});
    // Filters: a random share of documents, from none to all.
    const uint64_t modulus = 1 + rng() % 5, keep = rng() % modulus;
    expect_identical(index, q, k, [=](uint64_t doc_key) { return doc_key % modulus == keep; });
    if (testing::Test::HasFatalFailure()) return;
  }
}

TEST(Bm25MaxScoreTest, RandomCorporaMatchExhaustive) {
  const CorpusShape shapes[] = {
      {50, 1.0, 8, 3, false},       // tiny vocabulary: every list is long, many ties
      {2000, 1.1, 30, 4, true},     // natural-ish text
      {20000, 0.8, 60, 2, true},    // flatter: many lists just around one block
      {300, 1.3, 5, 200, false},    // large tfs
      {5000, 1.0, 100, 1, false},   // binary tfs: ties everywhere
  };
  std::mt19937_64 rng(20261201);
  for (size_t s = 0; s < std::size(shapes); ++s) {
    SCOPED_TRACE("shape " + std::to_string(s));
    const CorpusShape& shape = shapes[s];
    const Zipf zipf(shape.vocabulary, shape.zipf_s);
    for (int corpus = 0; corpus < 4; ++corpus) {
      Bm25Index index({.k1 = corpus == 3 ? 0.0 : 0.5 + (rng() % 20) / 10.0, .b = (rng() % 11) / 10.0});
      const size_t chunks = 1 + rng() % 3000;
      std::vector<ChunkPostings> add;
      // Chunk ids not in slot order, so tie-breaking by id differs from traversal order.
      for (size_t i = 0; i < chunks; ++i) add.push_back(random_chunk(rng() % 100000, shape, zipf, rng));
      index.apply(add, {});
      check_queries(index, shape, zipf, rng, 60);
      if (HasFatalFailure()) return;
    }
  }
}

TEST(Bm25MaxScoreTest, UpdatesDeletesAndCompactionMatchExhaustive) {
  const CorpusShape shape{3000, 1.05, 40, 3, true};
  const Zipf zipf(shape.vocabulary, shape.zipf_s);
  std::mt19937_64 rng(99);
  Bm25Index index;
  std::vector<uint64_t> ids;
  for (int round = 0; round < 40; ++round) {
    std::vector<ChunkPostings> add;
    std::vector<uint64_t> remove;
    const size_t adds = rng() % 600, removes = ids.empty() ? 0 : rng() % 400;
    for (size_t i = 0; i < removes; ++i) remove.push_back(ids[rng() % ids.size()]);
    for (size_t i = 0; i < adds; ++i) {
      // Re-adding a live id replaces the chunk; some ids come back after removal.
      const uint64_t id = rng() % 3 == 0 && !ids.empty() ? ids[rng() % ids.size()] : rng() % 1000000;
      add.push_back(random_chunk(id, shape, zipf, rng));
      ids.push_back(id);
    }
    index.apply(add, remove);
    SCOPED_TRACE("round " + std::to_string(round) + ", chunks " + std::to_string(index.stats().chunks));
    check_queries(index, shape, zipf, rng, 25);
    if (HasFatalFailure()) return;
  }
  // Remove almost everything: compaction leaves few chunks, results still agree.
  std::vector<uint64_t> remove(ids.begin(), ids.end() - static_cast<long>(std::min<size_t>(ids.size(), 50)));
  index.apply({}, remove);
  check_queries(index, shape, zipf, rng, 50);
}

TEST(Bm25MaxScoreTest, TiesAcrossBlocksAreBrokenByChunkId) {
  // 1,000 identical chunks (same tf and length: equal scores) with ids in reverse
  // slot order, plus a few better ones: the top k must be the best ones followed
  // by the lowest ids, even though low ids sit in the last blocks.
  Bm25Index index;
  std::vector<ChunkPostings> add;
  for (uint64_t i = 0; i < 1000; ++i) add.push_back({5000 - i, 1, {{"t", 1}, {"pad", 3}}, 0});
  for (uint64_t i = 0; i < 3; ++i) add.push_back({9000 + i, 1, {{"t", 3}, {"pad", 1}}, 0});
  index.apply(add, {});
  const auto top = index.search_max_score({"t"}, 6);
  ASSERT_EQ(top.size(), 6u);
  EXPECT_EQ(top[0].chunk_id, 9000u);
  EXPECT_EQ(top[1].chunk_id, 9001u);
  EXPECT_EQ(top[2].chunk_id, 9002u);
  EXPECT_EQ(top[3].chunk_id, 4001u);
  EXPECT_EQ(top[4].chunk_id, 4002u);
  EXPECT_EQ(top[5].chunk_id, 4003u);
  EXPECT_EQ(top[3].score, top[5].score);
  expect_identical(index, {"t", "pad"}, 10, {});
  expect_identical(index, {"t"}, 500, {});
}

TEST(Bm25MaxScoreTest, StopWordOnlyAndEmptyQueriesReturnNothing) {
  Bm25Index index;
  index.apply({{1, 1, {{"cancer", 2}}, 0}}, {});
  // The analyzer drops stop words, so such a query arrives with no terms or with terms no chunk has.
  EXPECT_TRUE(index.search({}, 10).empty());
  EXPECT_TRUE(index.search({"the", "of"}, 10).empty());
  EXPECT_TRUE(index.search_exhaustive({"the", "of"}, 10).empty());
  EXPECT_TRUE(index.search_max_score({"the", "of"}, 10).empty());
  EXPECT_TRUE(index.search_max_score({}, 10).empty());
}

TEST(Bm25MaxScoreTest, LargeListsThroughSearchMatchExhaustive) {
  // Over 65,536 postings per query, so search() itself takes the MaxScore path.
  const CorpusShape shape{500, 1.2, 20, 3, true};
  const Zipf zipf(shape.vocabulary, shape.zipf_s);
  std::mt19937_64 rng(5);
  Bm25Index index;
  std::vector<ChunkPostings> add;
  for (uint64_t id = 0; id < 40000; ++id) add.push_back(random_chunk(id, shape, zipf, rng));
  index.apply(add, {});
  for (int i = 0; i < 20; ++i) {
    expect_identical(index, {"w0", "w1", "w" + std::to_string(zipf(rng)), "w" + std::to_string(rng() % 500)},
                     kTopKs[rng() % std::size(kTopKs)], {});
    if (HasFatalFailure()) return;
  }
}

TEST(Bm25MaxScoreTest, FilterMayRunAnotherSearch) {
  Bm25Index index, other;
  std::vector<ChunkPostings> add;
  for (uint64_t i = 0; i < 3000; ++i) add.push_back({i, i % 7, {{"t", 1 + static_cast<uint32_t>(i % 5)}}, 5});
  index.apply(add, {});
  other.apply({{1, 2, {{"allowed", 1}}, 0}, {2, 5, {{"allowed", 1}}, 0}}, {});
  const auto filter = [&](uint64_t key) {
    for (const auto& r : other.search_max_score({"allowed"}, 10)) {
      if (r.doc_key == key) return true;
    }
    return false;
  };
  const auto results = index.search_max_score({"t"}, 20, filter);
  ASSERT_EQ(results.size(), 20u);
  for (const auto& r : results) EXPECT_TRUE(r.doc_key == 2 || r.doc_key == 5);
  expect_identical(index, {"t"}, 20, filter);
}

TEST(Bm25MaxScoreTest, FilterSeesOnlyCandidatesThatCouldEnter) {
  // Filtered-out chunks never raise the k-th score, so they cannot cause pruning:
  // a filter that rejects everything is asked about every matching chunk.
  Bm25Index index;
  std::vector<ChunkPostings> add;
  for (uint64_t i = 0; i < 5000; ++i) add.push_back({i, i % 10, {{"common", 1 + static_cast<uint32_t>(i % 4)}}, 4});
  index.apply(add, {});
  size_t calls = 0;
  const auto none = index.search_max_score({"common"}, 10, [&](uint64_t) {
    ++calls;
    return false;
  });
  EXPECT_TRUE(none.empty());
  EXPECT_EQ(calls, 5000u);  // nothing ever enters, so nothing can be pruned
  const auto top = index.search_max_score({"common"}, 10, [](uint64_t key) { return key == 3; });
  ASSERT_EQ(top.size(), 10u);
  for (const auto& r : top) EXPECT_EQ(r.doc_key, 3u);
  expect_identical(index, {"common"}, 10, [](uint64_t key) { return key == 3; });
}

}  // namespace
}  // namespace kr::index
