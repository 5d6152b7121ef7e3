#include "retrieve/query_embedding_cache.h"

namespace kr::retrieve {
namespace {

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; }

}  // namespace

std::string normalize_query_text(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  bool pending_space = false;
  for (char c : text) {
    if (is_space(c)) {
      pending_space = !out.empty();
      continue;
    }
    if (pending_space) out += ' ';
    pending_space = false;
    out += c;
  }
  return out;
}

QueryEmbeddingCache::QueryEmbeddingCache(size_t capacity) : capacity_(capacity) {}

std::string QueryEmbeddingCache::key(std::string_view model, std::string_view query) {
  // A model id never holds a NUL byte, so (model, text) pairs cannot collide.
  std::string out(model);
  out += '\0';
  out += normalize_query_text(query);
  return out;
}

std::optional<std::vector<float>> QueryEmbeddingCache::find(std::string_view model, std::string_view query) {
  if (capacity_ == 0) {
    misses_++;
    return std::nullopt;
  }
  const std::string wanted = key(model, query);
  std::lock_guard lock(mutex_);
  const auto it = by_key_.find(wanted);
  if (it == by_key_.end()) {
    misses_++;
    return std::nullopt;
  }
  recent_.splice(recent_.begin(), recent_, it->second);  // iterators (and the key's view) stay valid
  hits_++;
  return it->second->vector;
}

void QueryEmbeddingCache::insert(std::string_view model, std::string_view query, std::vector<float> vector) {
  if (capacity_ == 0) return;
  std::string entry_key = key(model, query);
  std::lock_guard lock(mutex_);
  if (const auto it = by_key_.find(entry_key); it != by_key_.end()) {
    it->second->vector = std::move(vector);  // two searches embedded it at once: keep the newer
    recent_.splice(recent_.begin(), recent_, it->second);
    return;
  }
  if (recent_.size() >= capacity_) {
    by_key_.erase(recent_.back().key);
    recent_.pop_back();
  }
  recent_.push_front(Entry{std::move(entry_key), std::move(vector)});
  by_key_.emplace(recent_.front().key, recent_.begin());
}

size_t QueryEmbeddingCache::size() const {
  std::lock_guard lock(mutex_);
  return recent_.size();
}

}  // namespace kr::retrieve
