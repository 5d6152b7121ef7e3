#include <gtest/gtest.h>

#include <atomic>
#include <cmath>
#include <map>
#include <random>
#include <set>
#include <stdexcept>
#include <thread>

#include "index/bm25.h"

namespace kr::index {
namespace {

ChunkPostings chunk(uint64_t id, TermFreqs terms, uint64_t doc_key = 0) {
  ChunkPostings c;
  c.chunk_id = id;
  c.doc_key = doc_key == 0 ? id : doc_key;
  for (const auto& [term, tf] : terms) c.length += tf;
  c.terms = std::move(terms);
  return c;
}

// Toy corpus (lengths = sum of tfs):
//   1: apple x2, banana x1              len 3
//   2: apple x1, cherry x1, date x2     len 4
//   3: banana x3, cherry x2             len 5
//   4: apple x1                         len 1
// N = 4, avg_len = 13 / 4 = 3.25; df: apple 3, banana 2, cherry 2, date 1.
std::vector<ChunkPostings> toy_corpus() {
  return {chunk(1, {{"apple", 2}, {"banana", 1}}),
          chunk(2, {{"apple", 1}, {"cherry", 1}, {"date", 2}}),
          chunk(3, {{"banana", 3}, {"cherry", 2}}),
          chunk(4, {{"apple", 1}})};
}

double score_of(const std::vector<ScoredChunk>& results, uint64_t chunk_id) {
  for (const auto& r : results) {
    if (r.chunk_id == chunk_id) return r.score;
  }
  return 0.0;
}

TEST(Bm25Test, ScoresMatchHandComputedValues) {
  Bm25Index index;  // k1 = 1.2, b = 0.75
  index.apply(toy_corpus(), {});

  // idf = ln(1 + (N - df + 0.5) / (df + 0.5))
  const double idf_apple = std::log(1 + (4 - 3 + 0.5) / (3 + 0.5));   // ln(10/7)
  const double idf_banana = std::log(1 + (4 - 2 + 0.5) / (2 + 0.5));  // ln 2
  const double idf_date = std::log(1 + (4 - 1 + 0.5) / (1 + 0.5));    // ln(10/3)
  EXPECT_NEAR(idf_apple, 0.3566749439387324, 1e-15);
  EXPECT_NEAR(idf_banana, 0.6931471805599453, 1e-15);
  EXPECT_NEAR(idf_date, 1.2039728043259361, 1e-15);
  // norm(len) = k1 * (1 - b + b * len / 3.25)
  const double norm3 = 1.2 * (0.25 + 0.75 * 3 / 3.25);  // 1.1307692307692307
  const double norm4 = 1.2 * (0.25 + 0.75 * 4 / 3.25);  // 1.4076923076923078
  const double norm5 = 1.2 * (0.25 + 0.75 * 5 / 3.25);  // 1.6846153846153846
  const double norm1 = 1.2 * (0.25 + 0.75 * 1 / 3.25);  // 0.5769230769230769
  // term score = idf * tf * 2.2 / (tf + norm)
  const double c1 = idf_apple * 2 * 2.2 / (2 + norm3) + idf_banana * 1 * 2.2 / (1 + norm3);
  const double c2 = idf_apple * 1 * 2.2 / (1 + norm4);
  const double c3 = idf_banana * 3 * 2.2 / (3 + norm5);
  const double c4 = idf_apple * 1 * 2.2 / (1 + norm1);
  EXPECT_NEAR(c1, 1.216941102271328, 1e-12);
  EXPECT_NEAR(c2, 0.325907456761909, 1e-12);
  EXPECT_NEAR(c3, 0.976552185419430, 1e-12);
  EXPECT_NEAR(c4, 0.497605043738915, 1e-12);

  const auto results = index.search({"apple", "banana"}, 10);
  ASSERT_EQ(results.size(), 4u);
  EXPECT_EQ(results[0].chunk_id, 1u);
  EXPECT_NEAR(results[0].score, c1, 1e-9);
  EXPECT_EQ(results[1].chunk_id, 3u);
  EXPECT_NEAR(results[1].score, c3, 1e-9);
  EXPECT_EQ(results[2].chunk_id, 4u);
  EXPECT_NEAR(results[2].score, c4, 1e-9);
  EXPECT_EQ(results[3].chunk_id, 2u);
  EXPECT_NEAR(results[3].score, c2, 1e-9);

  const auto date = index.search({"date"}, 10);
  ASSERT_EQ(date.size(), 1u);
  EXPECT_NEAR(date[0].score, idf_date * 2 * 2.2 / (2 + norm4), 1e-9);  // 1.554565336511141

  const Bm25Stats stats = index.stats();
  EXPECT_EQ(stats.chunks, 4u);
  EXPECT_EQ(stats.terms, 4u);
  EXPECT_EQ(stats.postings, 8u);
  EXPECT_DOUBLE_EQ(stats.average_length, 3.25);
}

TEST(Bm25Test, RepeatedQueryTermCountsPerOccurrence) {
  Bm25Index index;
  index.apply(toy_corpus(), {});
  const auto once = index.search({"cherry"}, 10);
  const auto twice = index.search({"cherry", "cherry"}, 10);
  ASSERT_EQ(twice.size(), 2u);
  EXPECT_EQ(twice[0].chunk_id, 3u);
  EXPECT_NEAR(twice[0].score, 1.655449633738157, 1e-9);
  EXPECT_NEAR(twice[1].score, 1.266709863515299, 1e-9);
  EXPECT_NEAR(twice[0].score, 2 * once[0].score, 1e-12);
}

TEST(Bm25Test, K1AndBChangeScores) {
  Bm25Index index({.k1 = 2.0, .b = 0.0});
  index.apply(toy_corpus(), {});
  // b = 0: no length normalization, norm = k1 = 2, factor k1 + 1 = 3.
  const double idf_apple = std::log(10.0 / 7.0), idf_banana = std::log(2.0);
  const auto results = index.search({"apple", "banana"}, 10);
  ASSERT_EQ(results.size(), 4u);
  EXPECT_NEAR(score_of(results, 1), idf_apple * 2 * 3 / (2 + 2) + idf_banana * 3 / (1 + 2), 1e-9);
  EXPECT_NEAR(score_of(results, 3), idf_banana * 3 * 3 / (3 + 2), 1e-9);
  // Chunks 2 and 4 have apple x1 and now score the same whatever their lengths;
  // the tie is broken by chunk_id.
  EXPECT_NEAR(score_of(results, 2), idf_apple, 1e-9);
  EXPECT_EQ(results[0].chunk_id, 3u);  // 1.2476649250079 > 1.2281595964680
  EXPECT_EQ(results[2].chunk_id, 2u);
  EXPECT_EQ(results[3].chunk_id, 4u);
  EXPECT_EQ(index.params().k1, 2.0);

  // k1 = 0: only idf counts, tf is ignored.
  Bm25Index binary({.k1 = 0.0, .b = 0.75});
  binary.apply(toy_corpus(), {});
  EXPECT_NEAR(score_of(binary.search({"banana"}, 10), 3), std::log(2.0), 1e-12);
}

TEST(Bm25Test, InvalidParamsRejected) {
  EXPECT_FALSE((Bm25Params{.k1 = -1}).validate().is_ok());
  EXPECT_FALSE((Bm25Params{.b = 1.5}).validate().is_ok());
  EXPECT_FALSE((Bm25Params{.k1 = std::nan("")}).validate().is_ok());
  EXPECT_TRUE(Bm25Params{}.validate().is_ok());
  EXPECT_THROW(Bm25Index({.b = -0.1}), std::invalid_argument);
}

void expect_same_results(const Bm25Index& a, const Bm25Index& b, const std::vector<std::string>& query) {
  const auto ra = a.search(query, 1000), rb = b.search(query, 1000);
  ASSERT_EQ(ra.size(), rb.size());
  for (size_t i = 0; i < ra.size(); ++i) {
    EXPECT_EQ(ra[i].chunk_id, rb[i].chunk_id);
    EXPECT_EQ(ra[i].doc_key, rb[i].doc_key);
    EXPECT_NEAR(ra[i].score, rb[i].score, 1e-12);
  }
}

TEST(Bm25Test, RemovalUpdatesStatistics) {
  Bm25Index index;
  index.apply(toy_corpus(), {});
  index.apply({}, {2, 999});  // unknown ids are ignored

  auto corpus = toy_corpus();
  corpus.erase(corpus.begin() + 1);
  Bm25Index fresh;
  fresh.apply(corpus, {});
  for (const auto& q : std::vector<std::vector<std::string>>{{"apple"}, {"banana", "cherry"}, {"date"}}) {
    expect_same_results(index, fresh, q);
  }
  EXPECT_TRUE(index.search({"date"}, 10).empty());
  const Bm25Stats stats = index.stats();
  EXPECT_EQ(stats.chunks, 3u);
  EXPECT_EQ(stats.terms, 3u);  // date is gone
  EXPECT_EQ(stats.postings, 5u);
  EXPECT_DOUBLE_EQ(stats.average_length, 9.0 / 3);
}

TEST(Bm25Test, ReAddAndReplace) {
  Bm25Index index, reference;
  index.apply(toy_corpus(), {});
  reference.apply(toy_corpus(), {});
  index.apply({}, {2});
  index.apply({toy_corpus()[1]}, {});
  expect_same_results(index, reference, {"apple", "date", "cherry"});

  // Same id added again without a removal replaces the chunk.
  index.apply({chunk(2, {{"fig", 1}})}, {});
  EXPECT_EQ(index.stats().chunks, 4u);
  EXPECT_TRUE(index.search({"date"}, 10).empty());
  ASSERT_EQ(index.search({"fig"}, 10).size(), 1u);
  // Remove and re-add in one batch: the removal runs first.
  index.apply({chunk(2, {{"grape", 1}})}, {2});
  EXPECT_TRUE(index.search({"fig"}, 10).empty());
  EXPECT_EQ(index.search({"grape"}, 10).size(), 1u);
  // Duplicate ids inside one batch: the last wins.
  index.apply({chunk(9, {{"kiwi", 1}}), chunk(9, {{"lime", 1}})}, {});
  EXPECT_TRUE(index.search({"kiwi"}, 10).empty());
  EXPECT_EQ(index.search({"lime"}, 10).size(), 1u);
  EXPECT_EQ(index.stats().chunks, 5u);
}

TEST(Bm25Test, LengthDefaultsToSumOfFrequencies) {
  Bm25Index a, b;
  ChunkPostings implicit = chunk(1, {{"x", 2}, {"y", 3}});
  implicit.length = 0;
  a.apply({implicit, chunk(2, {{"x", 1}})}, {});
  b.apply({chunk(1, {{"x", 2}, {"y", 3}}), chunk(2, {{"x", 1}})}, {});
  expect_same_results(a, b, {"x", "y"});
}

TEST(Bm25Test, FilterSkipsDocsBeforeTopK) {
  Bm25Index index;
  index.apply({chunk(1, {{"t", 5}}, 100), chunk(2, {{"t", 4}}, 200), chunk(3, {{"t", 3}}, 100),
               chunk(4, {{"t", 2}}, 200), chunk(5, {{"u", 1}}, 200)},
              {});
  std::set<uint64_t> asked;
  const auto results = index.search({"t"}, 2, [&](uint64_t doc_key) {
    asked.insert(doc_key);
    return doc_key == 200;
  });
  ASSERT_EQ(results.size(), 2u);  // filtered docs do not use up k
  EXPECT_EQ(results[0].chunk_id, 2u);
  EXPECT_EQ(results[0].doc_key, 200u);
  EXPECT_EQ(results[1].chunk_id, 4u);
  EXPECT_EQ(asked.count(100), 1u);
  EXPECT_TRUE(index.search({"t"}, 10, [](uint64_t) { return false; }).empty());
}

TEST(Bm25Test, FilterNotCalledForNonMatchingChunks) {
  Bm25Index index;
  index.apply({chunk(1, {{"a", 1}}, 10), chunk(2, {{"b", 1}}, 20)}, {});
  std::vector<uint64_t> asked;
  index.search({"a"}, 10, [&](uint64_t key) {
    asked.push_back(key);
    return true;
  });
  EXPECT_EQ(asked, std::vector<uint64_t>{10});
}

TEST(Bm25Test, TiesBrokenByChunkIdAscending) {
  Bm25Index index;
  index.apply({chunk(30, {{"w", 1}}), chunk(10, {{"w", 1}}), chunk(20, {{"w", 1}}), chunk(5, {{"v", 1}})}, {});
  auto all = index.search({"w"}, 10);
  ASSERT_EQ(all.size(), 3u);
  EXPECT_EQ(all[0].chunk_id, 10u);
  EXPECT_EQ(all[1].chunk_id, 20u);
  EXPECT_EQ(all[2].chunk_id, 30u);
  auto top2 = index.search({"w"}, 2);
  ASSERT_EQ(top2.size(), 2u);
  EXPECT_EQ(top2[0].chunk_id, 10u);
  EXPECT_EQ(top2[1].chunk_id, 20u);
}

TEST(Bm25Test, TopKOrderingAndLimits) {
  Bm25Index index;
  std::vector<ChunkPostings> chunks;
  for (uint32_t i = 1; i <= 50; ++i) chunks.push_back(chunk(i, {{"t", i}, {"pad", 50}}));
  index.apply(chunks, {});
  const auto top = index.search({"t"}, 5);
  ASSERT_EQ(top.size(), 5u);
  for (size_t i = 0; i < top.size(); ++i) EXPECT_EQ(top[i].chunk_id, 50 - i);
  for (size_t i = 1; i < top.size(); ++i) EXPECT_GT(top[i - 1].score, top[i].score);
  EXPECT_EQ(index.search({"t"}, 1000).size(), 50u);
  EXPECT_EQ(index.search({"t"}, SIZE_MAX).size(), 50u);
  EXPECT_TRUE(index.search({"t"}, 0).empty());
  EXPECT_TRUE(index.search({}, 10).empty());
  EXPECT_TRUE(index.search({"missing"}, 10).empty());
  EXPECT_TRUE(Bm25Index().search({"t"}, 10).empty());
}

// Straightforward BM25 over a map, to check the index after random updates.
std::map<uint64_t, double> reference_scores(const std::map<uint64_t, ChunkPostings>& live,
                                            const std::vector<std::string>& query, Bm25Params p) {
  std::map<uint64_t, double> scores;
  if (live.empty()) return scores;
  const double n = static_cast<double>(live.size());
  double total = 0;
  for (const auto& [id, c] : live) total += c.length;
  const double avg = total / n;
  for (const std::string& term : query) {
    double df = 0;
    for (const auto& [id, c] : live) {
      for (const auto& [t, tf] : c.terms) df += (t == term);
    }
    if (df == 0) continue;
    const double idf = std::log(1 + (n - df + 0.5) / (df + 0.5));
    for (const auto& [id, c] : live) {
      for (const auto& [t, tf] : c.terms) {
        if (t == term) scores[id] += idf * tf * (p.k1 + 1) / (tf + p.k1 * (1 - p.b + p.b * c.length / avg));
      }
    }
  }
  return scores;
}

TEST(Bm25Test, RandomUpdatesMatchReferenceIncludingPurge) {
  std::mt19937 rng(1234);
  Bm25Index index;
  std::map<uint64_t, ChunkPostings> live;
  const auto random_chunk = [&](uint64_t id) {
    std::map<std::string, uint32_t> terms;
    const int n = 1 + static_cast<int>(rng() % 12);
    for (int i = 0; i < n; ++i) terms["t" + std::to_string(rng() % 40)] += 1 + rng() % 3;
    return chunk(id, TermFreqs(terms.begin(), terms.end()), 1 + rng() % 7);
  };
  for (int round = 0; round < 60; ++round) {
    std::vector<ChunkPostings> add;
    std::vector<uint64_t> remove;
    for (int i = 0; i < 40; ++i) {
      const uint64_t id = rng() % 400;
      if (rng() % 3 == 0) {
        remove.push_back(id);
      } else {
        add.push_back(random_chunk(id));
      }
    }
    index.apply(add, remove);
    for (uint64_t id : remove) live.erase(id);
    for (const auto& c : add) live[c.chunk_id] = c;

    const Bm25Stats stats = index.stats();
    ASSERT_EQ(stats.chunks, live.size());
    uint64_t postings = 0;
    std::set<std::string> terms;
    for (const auto& [id, c] : live) {
      postings += c.terms.size();
      for (const auto& [t, tf] : c.terms) terms.insert(t);
    }
    ASSERT_EQ(stats.postings, postings);
    ASSERT_EQ(stats.terms, terms.size());

    const std::vector<std::string> query{"t" + std::to_string(rng() % 40), "t" + std::to_string(rng() % 40),
                                         "t" + std::to_string(rng() % 45)};
    const auto expected = reference_scores(live, query, {});
    const auto results = index.search(query, 1000);
    ASSERT_EQ(results.size(), expected.size()) << "round " << round;
    for (const auto& r : results) {
      ASSERT_TRUE(expected.count(r.chunk_id));
      EXPECT_NEAR(r.score, expected.at(r.chunk_id), 1e-9);
      EXPECT_EQ(r.doc_key, live.at(r.chunk_id).doc_key);
    }
  }
}

TEST(Bm25Test, PurgeAndSlotReuseKeepResultsExact) {
  // Enough removals to cross the purge threshold, then new chunks reuse slots.
  Bm25Index index;
  std::vector<ChunkPostings> chunks;
  for (uint64_t id = 0; id < 3000; ++id) {
    chunks.push_back(chunk(id, {{"all", 1}, {"m" + std::to_string(id % 7), 2}, {"u" + std::to_string(id), 1}}));
  }
  index.apply(chunks, {});
  std::vector<uint64_t> removed;
  for (uint64_t id = 0; id < 3000; id += 2) removed.push_back(id);
  index.apply({}, removed);
  std::vector<ChunkPostings> fresh_adds;
  for (uint64_t id = 5000; id < 5600; ++id) fresh_adds.push_back(chunk(id, {{"all", 2}, {"new", 1}}));
  index.apply(fresh_adds, {});

  Bm25Index reference;
  std::vector<ChunkPostings> survivors;
  for (const auto& c : chunks) {
    if (c.chunk_id % 2 == 1) survivors.push_back(c);
  }
  reference.apply(survivors, {});
  reference.apply(fresh_adds, {});
  for (const auto& q : std::vector<std::vector<std::string>>{{"all"}, {"m3", "new"}, {"u7", "u8", "all"}}) {
    expect_same_results(index, reference, q);
  }
  EXPECT_TRUE(index.search({"u8"}, 10).empty());
  EXPECT_EQ(index.stats().chunks, 2100u);
  EXPECT_EQ(index.stats().postings, reference.stats().postings);
}

TEST(Bm25Test, ConcurrentSearchSeesWholeBatches) {
  // Each batch replaces the previous 10 "live" chunks with 10 new ones and adds
  // 10 permanent ones, so a search must always see exactly 10 live chunks and a
  // multiple of 10 permanent ones.
  Bm25Index index;
  std::atomic<bool> done{false};
  std::atomic<int> violations{0};
  std::atomic<long> searches{0};
  std::thread writer([&] {
    std::vector<uint64_t> previous;
    for (uint64_t batch = 0; batch < 300; ++batch) {
      std::vector<ChunkPostings> add;
      std::vector<uint64_t> current;
      for (uint64_t i = 0; i < 10; ++i) {
        const uint64_t id = 1000000 + batch * 10 + i;
        add.push_back(chunk(id, {{"live", 1 + i}, {"filler", 3}}));
        current.push_back(id);
        add.push_back(chunk(batch * 10 + i, {{"permanent", 1}, {"filler", 1}}));
      }
      index.apply(add, previous);
      previous = current;
    }
    done = true;
  });
  std::vector<std::thread> readers;
  for (int r = 0; r < 3; ++r) {
    readers.emplace_back([&] {
      size_t last_permanent = 0;
      // do-while: a fast writer may finish before a reader is scheduled; each reader still checks once.
      do {
        const auto live = index.search({"live"}, 1000);
        const auto permanent = index.search({"permanent"}, 100000);
        const Bm25Stats stats = index.stats();
        if (!live.empty() && live.size() != 10) ++violations;
        if (permanent.size() % 10 != 0 || permanent.size() < last_permanent) ++violations;
        if (stats.chunks % 10 != 0) ++violations;
        last_permanent = permanent.size();
        ++searches;
      } while (!done);
    });
  }
  writer.join();
  for (auto& t : readers) t.join();
  EXPECT_EQ(violations.load(), 0);
  EXPECT_GT(searches.load(), 0);
  EXPECT_EQ(index.stats().chunks, 3010u);
}

TEST(Bm25Test, FilterMayRunASearchOnAnotherIndex) {
  Bm25Index main_index, other;
  main_index.apply(toy_corpus(), {});
  other.apply({chunk(7, {{"allowed", 1}}, 1), chunk(8, {{"allowed", 1}}, 3)}, {});
  const auto results = main_index.search({"apple", "banana"}, 10, [&](uint64_t key) {
    for (const auto& r : other.search({"allowed"}, 10)) {
      if (r.doc_key == key) return true;
    }
    return false;
  });
  ASSERT_EQ(results.size(), 2u);
  EXPECT_EQ(results[0].chunk_id, 1u);
  EXPECT_EQ(results[1].chunk_id, 3u);
  // The accumulators were left clean: a plain search still gives all four.
  EXPECT_EQ(main_index.search({"apple", "banana"}, 10).size(), 4u);
}

}  // namespace
}  // namespace kr::index
