// Query vectors of recent searches, so a repeated question (a retry, a chat follow-up that
// condenses to the same text, a popular query) skips the encoder: a MiniLM forward pass costs
// milliseconds, a cache hit microseconds.
#pragma once

#include <atomic>
#include <cstdint>
#include <list>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace kr::retrieve {

// The text a query is cached under: surrounding whitespace trimmed and every run of
// whitespace made one space (a BERT tokenizer splits on whitespace, so the vector is the
// same). Case and punctuation are kept: cased models see them.
std::string normalize_query_text(std::string_view text);

// A bounded LRU map from (model, normalized query text) to the query's vector.
// Thread-safety: every method may be called concurrently.
class QueryEmbeddingCache {
 public:
  // `capacity` entries at most; 0 disables the cache (find misses, insert keeps nothing).
  explicit QueryEmbeddingCache(size_t capacity);

  // The vector cached for this model and text, counting a hit or a miss.
  std::optional<std::vector<float>> find(std::string_view model, std::string_view query);
  // Keeps the vector, evicting the least recently used entry when full.
  void insert(std::string_view model, std::string_view query, std::vector<float> vector);

  size_t capacity() const { return capacity_; }
  size_t size() const;
  uint64_t hits() const { return hits_.load(); }
  uint64_t misses() const { return misses_.load(); }

 private:
  struct Entry {
    std::string key;
    std::vector<float> vector;
  };
  static std::string key(std::string_view model, std::string_view query);

  const size_t capacity_;
  mutable std::mutex mutex_;
  std::list<Entry> recent_;  // most recently used first
  std::unordered_map<std::string_view, std::list<Entry>::iterator> by_key_;  // views into recent_'s keys
  std::atomic<uint64_t> hits_{0};
  std::atomic<uint64_t> misses_{0};
};

}  // namespace kr::retrieve
