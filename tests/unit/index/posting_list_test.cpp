#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <random>
#include <vector>

#include "index/posting_list.h"

namespace kr::index {
namespace {

struct Expected {
  uint32_t slot;
  uint32_t tf;
};

std::vector<Expected> decode_all(const PostingList& list) {
  std::vector<Expected> out;
  std::array<uint32_t, PostingList::kBlockSize> slots, tfs;
  for (size_t b = 0; b < list.block_count(); ++b) {
    const uint32_t n = list.decode(b, slots.data(), tfs.data());
    EXPECT_GT(n, 0u);
    EXPECT_EQ(slots[n - 1], list.block_last(b));
    for (uint32_t i = 0; i < n; ++i) out.push_back({slots[i], tfs[i]});
  }
  return out;
}

TEST(PostingListTest, RoundTripsExtremeGapsAndFrequencies) {
  std::mt19937_64 rng(7);
  std::vector<Expected> expected;
  PostingList list;
  uint32_t slot = 0;
  for (int i = 0; i < 1000; ++i) {
    // Mostly small gaps, sometimes huge ones; tf from 1 up to UINT32_MAX.
    const uint32_t gap = rng() % 10 == 0 ? static_cast<uint32_t>(rng() % (1u << 22)) + 1 : 1 + rng() % 4;
    slot = i == 0 ? static_cast<uint32_t>(rng() % 5) : slot + gap;
    const uint32_t tf = rng() % 50 == 0 ? UINT32_MAX - static_cast<uint32_t>(rng() % 3) : 1 + rng() % 9;
    list.append(slot, tf, 1 + static_cast<uint32_t>(rng() % 500));
    expected.push_back({slot, tf});
  }
  EXPECT_EQ(list.size(), 1000u);
  EXPECT_EQ(list.block_count(), 8u);  // 7 sealed blocks of 128 and a tail of 104
  EXPECT_TRUE(list.is_sealed(6));
  EXPECT_FALSE(list.is_sealed(7));
  const auto got = decode_all(list);
  ASSERT_EQ(got.size(), expected.size());
  for (size_t i = 0; i < got.size(); ++i) {
    ASSERT_EQ(got[i].slot, expected[i].slot) << i;
    ASSERT_EQ(got[i].tf, expected[i].tf) << i;
  }
}

TEST(PostingListTest, DenseListsCompressBelowTwoBytesPerPosting) {
  // Small gaps and tfs, as for frequent terms: bit-packing plus block headers must
  // beat the 8 bytes of an uncompressed {slot, tf} by a wide margin.
  std::mt19937_64 rng(3);
  PostingList list;
  uint32_t slot = 0;
  for (int i = 0; i < 100000; ++i) {
    slot += 1 + static_cast<uint32_t>(rng() % 4);
    list.append(slot, 1 + static_cast<uint32_t>(rng() % 3), 100);
  }
  EXPECT_LT(list.memory_bytes(), 2u * 100000);
  EXPECT_EQ(decode_all(list).size(), 100000u);
}

TEST(PostingListTest, SlotsNearTheTopOfTheRange) {
  // From slot 0 straight to the largest slots (2^32 - 2): a 32-bit delta, then 1-bit ones.
  PostingList list;
  const uint32_t top = PostingList::kNoSlot - 1, first = top - 198;
  list.append(0, 7, 3);
  for (uint32_t i = 0; i < 199; ++i) list.append(first + i, 1 + i % 3, 5);
  const auto got = decode_all(list);
  ASSERT_EQ(got.size(), 200u);
  EXPECT_EQ(got[0].slot, 0u);
  EXPECT_EQ(got[0].tf, 7u);
  EXPECT_EQ(got[1].slot, first);
  EXPECT_EQ(got[127].slot, first + 126);
  EXPECT_EQ(got[128].slot, first + 127);
  EXPECT_EQ(got[128].tf, 1 + 127u % 3);
  EXPECT_EQ(got.back().slot, top);
}

TEST(PostingListTest, BoundsDominateEveryPostingScore) {
  std::mt19937_64 rng(11);
  for (int trial = 0; trial < 20; ++trial) {
    std::vector<uint32_t> lengths;  // by slot
    PostingList list;
    std::vector<Expected> postings;
    uint32_t slot = 0;
    const int n = 1 + static_cast<int>(rng() % 700);
    for (int i = 0; i < n; ++i) {
      slot += 1 + static_cast<uint32_t>(rng() % 3);
      lengths.resize(size_t{slot} + 1, 0);
      lengths[slot] = 1 + static_cast<uint32_t>(rng() % 2000);
      const uint32_t tf = 1 + static_cast<uint32_t>(rng() % (rng() % 2 ? 3 : 60));
      list.append(slot, tf, lengths[slot]);
      postings.push_back({slot, tf});
    }
    std::uniform_real_distribution<double> unit(0.0, 1.0);
    for (int params = 0; params < 10; ++params) {
      const double k1 = 3 * unit(rng), b = unit(rng), avg = 1 + 500 * unit(rng), weight = 0.1 + 5 * unit(rng);
      const double c0 = k1 * (1 - b), c1 = k1 * b / avg;
      const double list_bound =
          std::max(list.sealed_bound(weight, c0, c1), list.tail_bound(weight, c0, c1));
      size_t i = 0;
      for (size_t block = 0; block < list.block_count(); ++block) {
        const double block_bound = list.is_sealed(block) ? list.sealed_block_bound(block, weight, c0, c1)
                                                         : list.tail_bound(weight, c0, c1);
        EXPECT_LE(block_bound, list_bound);
        double best = 0;
        for (; i < postings.size() && postings[i].slot <= list.block_last(block); ++i) {
          const double s = bm25_term_score(weight, postings[i].tf, lengths[postings[i].slot], c0, c1);
          ASSERT_LE(s, block_bound) << "block " << block;
          best = std::max(best, s);
        }
        EXPECT_GT(best, 0.0);
        // The tail bound is exact.
        if (!list.is_sealed(block)) {
          EXPECT_EQ(best, block_bound);
        }
      }
      EXPECT_EQ(i, postings.size());
    }
  }
}

TEST(ImpactSetTest, KeepsAParetoFrontierWithinCapacity) {
  ImpactSet<4> set;
  set.add({2, 10});
  set.add({1, 20});  // dominated by {2, 10}
  EXPECT_EQ(set.size(), 1);
  set.add({3, 5});  // dominates {2, 10}
  ASSERT_EQ(set.size(), 1);
  EXPECT_EQ(set[0].tf, 3u);
  EXPECT_EQ(set[0].length, 5u);
  for (uint32_t i = 1; i <= 10; ++i) set.add({3 + i, 5 + 10 * i});
  EXPECT_EQ(set.size(), 4);
  for (uint8_t i = 1; i < set.size(); ++i) {
    EXPECT_GT(set[i].tf, set[i - 1].tf);
    EXPECT_GT(set[i].length, set[i - 1].length);
  }
  // Every added pair is still dominated by some kept impact.
  for (uint32_t i = 0; i <= 10; ++i) {
    const Impact added{3 + i, 5 + 10 * i};
    bool dominated = false;
    for (uint8_t j = 0; j < set.size(); ++j) dominated |= set[j].tf >= added.tf && set[j].length <= added.length;
    EXPECT_TRUE(dominated) << i;
  }
}

}  // namespace
}  // namespace kr::index
