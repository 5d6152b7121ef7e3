#include "retrieve/query_embedding_cache.h"

#include <gtest/gtest.h>

#include <thread>

namespace kr::retrieve {
namespace {

TEST(NormalizeQueryText, TrimsAndCollapsesWhitespaceOnly) {
  EXPECT_EQ(normalize_query_text("  What  is\tBM25?\n"), "What is BM25?");
  EXPECT_EQ(normalize_query_text("Ümlaut  über"), "Ümlaut über");
  EXPECT_EQ(normalize_query_text("CASE Kept, punctuation too!"), "CASE Kept, punctuation too!");
  EXPECT_EQ(normalize_query_text(" \t\n"), "");
}

TEST(QueryEmbeddingCache, HitsOnTheSameModelAndNormalizedText) {
  QueryEmbeddingCache cache(4);
  EXPECT_FALSE(cache.find("minilm", "what is bm25").has_value());
  cache.insert("minilm", "what is bm25", {0.6f, 0.8f});
  const auto hit = cache.find("minilm", "  what   is bm25 ");
  ASSERT_TRUE(hit.has_value());
  EXPECT_EQ(*hit, (std::vector<float>{0.6f, 0.8f}));
  // Another model, or another text, is another entry.
  EXPECT_FALSE(cache.find("bge-small", "what is bm25").has_value());
  EXPECT_FALSE(cache.find("minilm", "What is BM25").has_value());
  EXPECT_EQ(cache.hits(), 1u);
  EXPECT_EQ(cache.misses(), 3u);
  EXPECT_EQ(cache.size(), 1u);
}

TEST(QueryEmbeddingCache, ModelAndTextCannotRunTogether) {
  QueryEmbeddingCache cache(4);
  cache.insert("model a", "b", {1.0f});
  EXPECT_FALSE(cache.find("model", "a b").has_value());
  EXPECT_FALSE(cache.find("model a b", "").has_value());
}

TEST(QueryEmbeddingCache, EvictsTheLeastRecentlyUsed) {
  QueryEmbeddingCache cache(2);
  cache.insert("m", "one", {1.0f});
  cache.insert("m", "two", {2.0f});
  ASSERT_TRUE(cache.find("m", "one").has_value());  // "two" is now the least recently used
  cache.insert("m", "three", {3.0f});
  EXPECT_EQ(cache.size(), 2u);
  EXPECT_FALSE(cache.find("m", "two").has_value());
  EXPECT_EQ(cache.find("m", "one"), (std::vector<float>{1.0f}));
  EXPECT_EQ(cache.find("m", "three"), (std::vector<float>{3.0f}));
}

TEST(QueryEmbeddingCache, ReinsertReplacesWithoutGrowing) {
  QueryEmbeddingCache cache(2);
  cache.insert("m", "q", {1.0f});
  cache.insert("m", " q ", {2.0f});
  EXPECT_EQ(cache.size(), 1u);
  EXPECT_EQ(cache.find("m", "q"), (std::vector<float>{2.0f}));
}

TEST(QueryEmbeddingCache, ZeroCapacityKeepsNothing) {
  QueryEmbeddingCache cache(0);
  cache.insert("m", "q", {1.0f});
  EXPECT_FALSE(cache.find("m", "q").has_value());
  EXPECT_EQ(cache.size(), 0u);
  EXPECT_EQ(cache.misses(), 1u);
}

TEST(QueryEmbeddingCache, ConcurrentUseStaysBoundedAndConsistent) {
  QueryEmbeddingCache cache(16);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&cache, t] {
      for (int i = 0; i < 2000; ++i) {
        // Three in four lookups go to 8 hot queries (they stay cached, so hits are certain), every
        // fourth to one of 40 cold ones (they overflow the 16 entries, so eviction runs concurrently).
        const int id = i % 4 == 3 ? 100 + (i * 7 + t) % 40 : i % 8;
        const std::string text = "q" + std::to_string(id);
        if (auto hit = cache.find("m", text)) {
          // A hit is always the vector stored for that text.
          ASSERT_EQ(hit->size(), 1u);
          ASSERT_EQ(std::to_string(static_cast<int>((*hit)[0])), text.substr(1));
        } else {
          cache.insert("m", text, {static_cast<float>(std::stoi(text.substr(1)))});
        }
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(cache.size(), 16u);
  EXPECT_EQ(cache.hits() + cache.misses(), 8000u);
  EXPECT_GT(cache.hits(), 0u);
}

}  // namespace
}  // namespace kr::retrieve
