// Bm25Index: an in-memory inverted index over compressed posting blocks, searched
// with block-max MaxScore (bm25_max_score.cpp); the exhaustive term-at-a-time
// scorer (bm25_scorers.cpp) stays as the reference.
//
// Layout: terms are interned to dense ids; each term has one PostingList of
// {slot, tf} in slot order; each chunk occupies a dense "slot" with its length,
// ids and term list. Slots are handed out in increasing order and never reused
// directly, so appending keeps every list sorted. Removing a chunk only tombstones
// its slot (and decrements df), so removal is O(terms of the chunk); once dead
// postings (or dead slots) exceed 20%, apply() compacts: it renumbers the live slots
// densely and rebuilds every list, off to the side, then swaps them in.
//
// Scoring follows Lucene's BM25Similarity with two deliberate differences:
// - document lengths are exact (Lucene quantizes norms to one byte via SmallFloat),
//   and N, df and the average length count live chunks only (Lucene keeps deleted
//   documents in its statistics until segments merge);
// - the (k1 + 1) factor in the numerator, as the header specifies (Lucene >= 8
//   dropped it; it scales every score equally and does not change rankings).
// Scores are accumulated in double, so equal inputs give bit-identical results.
//
// Concurrency: a shared_mutex guards the structures. apply() prepares the batch
// (hashing terms, the expensive part) without it, holding only the writer mutex,
// then takes it exclusively just to splice the batch in, which makes a batch
// atomic for readers. A turnstile mutex keeps a steady stream of searches from
// starving the writer (glibc's rwlock prefers readers).
#include <algorithm>
#include <array>
#include <cmath>
#include <mutex>
#include <shared_mutex>
#include <stdexcept>
#include <unordered_map>

#include "index/bm25.h"
#include "index/bm25_scorers.h"

namespace kr::index {
namespace {

// Compact when dead postings (or dead slots) are more than this share of all.
constexpr double kCompactRatio = 0.2;
// ... and at least this many, so tiny indexes do not compact on every removal.
constexpr uint64_t kMinCompact = 1024;

// Below this many postings over the query's terms, the exhaustive scorer is faster
// than MaxScore: pubmedqa questions (about 9 terms) took 15 us exhaustive vs 60 us
// MaxScore at 3.4k chunks (2k postings) and 0.50 vs 0.55 ms at 100k chunks (32k
// postings); see BENCHMARKS.md.
constexpr size_t kMaxScoreMinPostings = 65536;

struct TermTf {
  uint32_t term;
  uint32_t tf;
};

bool worth_compacting(uint64_t dead, uint64_t all) {
  return dead >= kMinCompact && static_cast<double>(dead) > kCompactRatio * static_cast<double>(all);
}

}  // namespace

Status Bm25Params::validate() const {
  if (!std::isfinite(k1) || k1 < 0) {
    return error(ErrorCode::kInvalidArgument, "bm25 k1 must be finite and >= 0, got " + std::to_string(k1));
  }
  if (!std::isfinite(b) || b < 0 || b > 1) {
    return error(ErrorCode::kInvalidArgument, "bm25 b must be in [0, 1], got " + std::to_string(b));
  }
  return Status::ok();
}

struct Bm25Index::Impl {
  using TermMap = std::unordered_map<std::string, uint32_t>;
  // One chunk of an apply() batch with its terms resolved to ids.
  struct PreparedChunk {
    uint64_t chunk_id;
    uint64_t doc_key;
    uint32_t length;
    std::vector<TermTf> terms;  // unique term ids
  };
  // The per-slot arrays readers use; compaction builds a new set and swaps it in.
  struct Slots {
    std::vector<uint8_t> alive;
    std::vector<uint32_t> length;
    std::vector<uint64_t> chunk_id;
    std::vector<uint64_t> doc_key;
    void push(uint32_t len, uint64_t chunk, uint64_t doc) {
      alive.push_back(1);
      length.push_back(len);
      chunk_id.push_back(chunk);
      doc_key.push_back(doc);
    }
    void swap(Slots& other) {
      alive.swap(other.alive);
      length.swap(other.length);
      chunk_id.swap(other.chunk_id);
      doc_key.swap(other.doc_key);
    }
  };

  explicit Impl(Bm25Params p) : params(p) {}

  std::shared_lock<std::shared_mutex> read_lock() const {
    { std::lock_guard<std::mutex> turnstile(gate); }
    return std::shared_lock<std::shared_mutex>(rw);
  }

  // Exclusive access; holding the gate keeps new readers out while we wait.
  struct WriteLock {
    explicit WriteLock(const Impl& impl) : gate(impl.gate), rw(impl.rw) {}
    std::unique_lock<std::mutex> gate;
    std::unique_lock<std::shared_mutex> rw;
  };

  // Runs under writer_mutex only: reads the term dictionary, which no one else
  // mutates, and assigns ids to new terms past the current end. New terms are
  // collected in a map of the same type so apply() can splice its nodes in.
  std::vector<PreparedChunk> prepare(const std::vector<ChunkPostings>& add, TermMap& new_ids) const {
    std::vector<PreparedChunk> prepared;
    prepared.reserve(add.size());
    for (const ChunkPostings& chunk : add) {
      PreparedChunk p{chunk.chunk_id, chunk.doc_key, chunk.length, {}};
      p.terms.reserve(chunk.terms.size());
      uint64_t tf_sum = 0;
      for (const auto& [term, tf] : chunk.terms) {
        if (tf == 0) continue;
        tf_sum += tf;
        uint32_t id;
        if (auto it = term_ids.find(term); it != term_ids.end()) {
          id = it->second;
        } else if (auto nit = new_ids.find(term); nit != new_ids.end()) {
          id = nit->second;
        } else {
          id = static_cast<uint32_t>(postings.size() + new_ids.size());
          new_ids.emplace(term, id);
        }
        p.terms.push_back({id, tf});
      }
      // TermFreqs should hold unique terms; merge duplicates so df stays right.
      std::sort(p.terms.begin(), p.terms.end(),
                [](const TermTf& a, const TermTf& b) { return a.term < b.term; });
      size_t out = 0;
      for (size_t i = 0; i < p.terms.size(); ++i) {
        if (out > 0 && p.terms[out - 1].term == p.terms[i].term) {
          const uint64_t sum = uint64_t{p.terms[out - 1].tf} + p.terms[i].tf;
          p.terms[out - 1].tf = static_cast<uint32_t>(std::min<uint64_t>(sum, UINT32_MAX));
        } else {
          p.terms[out++] = p.terms[i];
        }
      }
      p.terms.resize(out);
      if (p.length == 0) p.length = static_cast<uint32_t>(std::min<uint64_t>(tf_sum, UINT32_MAX));
      prepared.push_back(std::move(p));
    }
    return prepared;
  }

  void remove_chunk(uint64_t chunk_id) {
    auto it = slot_of_chunk.find(chunk_id);
    if (it == slot_of_chunk.end()) return;
    const uint32_t slot = it->second;
    slot_of_chunk.erase(it);
    for (uint32_t term : slot_terms[slot]) {
      if (--df[term] == 0) --live_terms;
    }
    live_postings -= slot_terms[slot].size();
    dead_postings += slot_terms[slot].size();
    std::vector<uint32_t>().swap(slot_terms[slot]);
    total_length -= slots.length[slot];
    slots.alive[slot] = 0;
    --live_chunks;
  }

  void add_chunk(PreparedChunk& chunk) {
    remove_chunk(chunk.chunk_id);
    // Slots only grow until compaction renumbers them; 2^32 - 1 chunks would need
    // hundreds of gigabytes, far beyond what one in-memory index serves.
    const uint32_t slot = static_cast<uint32_t>(slots.alive.size());
    slots.push(chunk.length, chunk.chunk_id, chunk.doc_key);
    std::vector<uint32_t>& terms = slot_terms.emplace_back();
    terms.reserve(chunk.terms.size());
    for (const TermTf& t : chunk.terms) {
      postings[t.term].append(slot, t.tf, chunk.length);
      if (df[t.term]++ == 0) ++live_terms;
      terms.push_back(t.term);
    }
    live_postings += chunk.terms.size();
    total_length += chunk.length;
    ++live_chunks;
    slot_of_chunk[chunk.chunk_id] = slot;
  }

  // Runs under writer_mutex. Builds renumbered slots and lists while searches go
  // on (nothing else mutates what it reads), then swaps them in under a short
  // exclusive section. Compaction never changes search results.
  void compact_if_needed() {
    const uint64_t slot_count = slots.alive.size();
    if (!worth_compacting(dead_postings, live_postings + dead_postings) &&
        !worth_compacting(slot_count - live_chunks, slot_count)) {
      return;
    }
    std::vector<uint32_t> renumbered(slot_count, PostingList::kNoSlot);
    Slots next;
    for (uint32_t slot = 0; slot < slot_count; ++slot) {
      if (!slots.alive[slot]) continue;
      renumbered[slot] = static_cast<uint32_t>(next.alive.size());
      next.push(slots.length[slot], slots.chunk_id[slot], slots.doc_key[slot]);
    }
    std::vector<PostingList> lists(postings.size());
    std::array<uint32_t, PostingList::kBlockSize> block_slots, block_tfs;
    for (size_t term = 0; term < postings.size(); ++term) {
      for (size_t b = 0; b < postings[term].block_count(); ++b) {
        const uint32_t n = postings[term].decode(b, block_slots.data(), block_tfs.data());
        for (uint32_t i = 0; i < n; ++i) {
          const uint32_t slot = renumbered[block_slots[i]];
          if (slot != PostingList::kNoSlot) lists[term].append(slot, block_tfs[i], next.length[slot]);
        }
      }
    }
    // The writer's own bookkeeping, which searches never read.
    std::vector<std::vector<uint32_t>> terms(next.alive.size());
    for (uint32_t slot = 0; slot < slot_count; ++slot) {
      if (renumbered[slot] != PostingList::kNoSlot) terms[renumbered[slot]].swap(slot_terms[slot]);
    }
    slot_terms.swap(terms);
    for (auto& [chunk, slot] : slot_of_chunk) slot = renumbered[slot];
    {
      WriteLock lock(*this);
      postings.swap(lists);
      slots.swap(next);
      dead_postings = 0;
    }
  }

  ScoringInputs scoring_inputs(const std::vector<std::string>& query_terms) const {
    ScoringInputs in;
    if (live_chunks == 0) return in;
    // Repeated query terms add up, so group them by id with a multiplicity.
    std::vector<std::pair<uint32_t, uint32_t>> counts;
    for (const std::string& term : query_terms) {
      auto it = term_ids.find(term);
      if (it == term_ids.end() || df[it->second] == 0) continue;
      auto c = std::find_if(counts.begin(), counts.end(), [&](const auto& e) { return e.first == it->second; });
      if (c == counts.end()) {
        counts.emplace_back(it->second, 1);
      } else {
        ++c->second;
      }
    }
    const double n = static_cast<double>(live_chunks);
    const double k1 = params.k1;
    for (const auto& [term, count] : counts) {
      const double df_term = df[term];
      const double idf = std::log(1.0 + (n - df_term + 0.5) / (df_term + 0.5));
      in.terms.push_back({&postings[term], count * idf * (k1 + 1.0)});
    }
    // len normalization k1 * (1 - b + b * len / avg_len) = c0 + c1 * len, computed per
    // posting: as cheap as loading a precomputed norm, and never stale.
    const double avg_length = static_cast<double>(total_length) / n;
    in.c0 = k1 * (1.0 - params.b);
    in.c1 = avg_length > 0 ? k1 * params.b / avg_length : 0.0;
    in.slots = {slots.alive.data(), slots.length.data(), slots.chunk_id.data(), slots.doc_key.data(),
                slots.alive.size()};
    return in;
  }

  size_t memory_bytes() const {
    size_t bytes = postings.capacity() * sizeof(PostingList) + df.capacity() * sizeof(uint32_t);
    for (const PostingList& list : postings) bytes += list.memory_bytes();
    // Hash nodes: key, value and next pointer, plus the bucket array.
    bytes += term_ids.size() * (sizeof(std::string) + 2 * sizeof(void*)) + term_ids.bucket_count() * sizeof(void*);
    for (const auto& [term, id] : term_ids) {
      if (term.capacity() > 15) bytes += term.capacity() + 1;
    }
    bytes += slots.alive.capacity() + slots.length.capacity() * 4 + slots.chunk_id.capacity() * 8 +
             slots.doc_key.capacity() * 8;
    bytes += slot_terms.capacity() * sizeof(std::vector<uint32_t>);
    for (const auto& terms : slot_terms) bytes += terms.capacity() * sizeof(uint32_t);
    bytes += slot_of_chunk.size() * (16 + 2 * sizeof(void*)) + slot_of_chunk.bucket_count() * sizeof(void*);
    return bytes;
  }

  const Bm25Params params;

  std::mutex writer_mutex;       // serializes apply()
  mutable std::mutex gate;       // turnstile, see the file comment
  mutable std::shared_mutex rw;  // readers shared, apply's splice exclusive

  // Terms, by id. Keys are std::string on purpose: short terms live inside the
  // hash node (SSO), so a lookup does not chase a pointer to compare keys.
  TermMap term_ids;
  std::vector<PostingList> postings;  // may include postings of dead slots
  std::vector<uint32_t> df;           // live chunks containing the term

  // Chunks, by slot (dead ones stay until compaction).
  Slots slots;
  std::vector<std::vector<uint32_t>> slot_terms;  // term ids of a live chunk, for removal
  std::unordered_map<uint64_t, uint32_t> slot_of_chunk;

  uint64_t live_chunks = 0;
  uint64_t live_terms = 0;
  uint64_t live_postings = 0;
  uint64_t dead_postings = 0;
  uint64_t total_length = 0;  // over live chunks
};

Bm25Index::Bm25Index(Bm25Params params) {
  if (Status s = params.validate(); !s.is_ok()) throw std::invalid_argument(s.message());
  impl_ = new Impl(params);
}

Bm25Index::~Bm25Index() { delete impl_; }

void Bm25Index::apply(const std::vector<ChunkPostings>& add, const std::vector<uint64_t>& remove_chunk_ids) {
  Impl& m = *impl_;
  std::lock_guard<std::mutex> writer(m.writer_mutex);
  Impl::TermMap new_ids;
  std::vector<Impl::PreparedChunk> prepared = m.prepare(add, new_ids);
  {
    Impl::WriteLock lock(m);
    const size_t terms = m.postings.size() + new_ids.size();
    m.postings.resize(terms);
    m.df.resize(terms, 0);
    m.term_ids.merge(new_ids);  // moves the nodes, no string copies
    for (uint64_t chunk_id : remove_chunk_ids) m.remove_chunk(chunk_id);
    for (Impl::PreparedChunk& chunk : prepared) m.add_chunk(chunk);
  }
  m.compact_if_needed();
}

std::vector<ScoredChunk> Bm25Index::search(const std::vector<std::string>& query_terms, size_t k,
                                           const std::function<bool(uint64_t doc_key)>& accept_doc) const {
  const Impl& m = *impl_;
  auto lock = m.read_lock();
  if (k == 0) return {};
  const ScoringInputs in = m.scoring_inputs(query_terms);
  size_t postings = 0;
  for (const QueryTerm& term : in.terms) postings += term.postings->size();
  return postings < kMaxScoreMinPostings ? score_exhaustive(in, k, accept_doc) : score_max_score(in, k, accept_doc);
}

std::vector<ScoredChunk> Bm25Index::search_max_score(const std::vector<std::string>& query_terms, size_t k,
                                                     const std::function<bool(uint64_t doc_key)>& accept_doc) const {
  const Impl& m = *impl_;
  auto lock = m.read_lock();
  if (k == 0) return {};
  return score_max_score(m.scoring_inputs(query_terms), k, accept_doc);
}

std::vector<ScoredChunk> Bm25Index::search_exhaustive(const std::vector<std::string>& query_terms, size_t k,
                                                      const std::function<bool(uint64_t doc_key)>& accept_doc) const {
  const Impl& m = *impl_;
  auto lock = m.read_lock();
  if (k == 0) return {};
  return score_exhaustive(m.scoring_inputs(query_terms), k, accept_doc);
}

Bm25Stats Bm25Index::stats() const {
  const Impl& m = *impl_;
  auto lock = m.read_lock();
  Bm25Stats s;
  s.chunks = m.live_chunks;
  s.terms = m.live_terms;
  s.postings = m.live_postings;
  s.average_length = m.live_chunks == 0 ? 0.0 : static_cast<double>(m.total_length) / static_cast<double>(m.live_chunks);
  return s;
}

size_t Bm25Index::memory_bytes() const {
  const Impl& m = *impl_;
  auto lock = m.read_lock();
  return m.memory_bytes();
}

Bm25Params Bm25Index::params() const { return impl_->params; }

}  // namespace kr::index
