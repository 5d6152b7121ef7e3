// Bm25Index: an in-memory inverted index with term-at-a-time scoring.
//
// Layout: terms are interned to dense ids; each term has one contiguous postings
// vector of {slot, tf}; each live chunk occupies a dense "slot" with its length,
// ids and term list. Removing a chunk only tombstones its slot (and decrements
// df), so removal is O(terms of the chunk); dead postings are purged in the
// background of apply() once they exceed 20% of all postings, and only then are
// their slots reused (a reused slot must not inherit stale postings).
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
#include <cmath>
#include <mutex>
#include <shared_mutex>
#include <stdexcept>
#include <unordered_map>

#include "index/bm25.h"

namespace kr::index {
namespace {

struct Posting {
  uint32_t slot;
  uint32_t tf;
};

// Purge dead postings when they are more than this share of all postings.
constexpr double kPurgeRatio = 0.2;
// ... and at least this many, so tiny indexes do not purge on every removal.
constexpr uint64_t kMinPurgePostings = 1024;
// Postings copied per exclusive-lock section while purging, to bound reader stalls.
constexpr size_t kPurgeBatchPostings = size_t{1} << 20;
// Above this share of postings per slot, scan the accumulator densely instead of
// tracking touched slots.
constexpr double kDenseScanRatio = 0.25;

// Per-thread score accumulator; always all-zero between searches.
struct Scratch {
  std::vector<double> scores;
  std::vector<uint32_t> touched;
  bool in_use = false;
};

struct TermTf {
  uint32_t term;
  uint32_t tf;
};

struct Candidate {
  double score;
  uint64_t chunk_id;
  uint32_t slot;
};

// Higher score first, then lower chunk_id: the order of the results.
bool better(const Candidate& a, const Candidate& b) {
  return a.score > b.score || (a.score == b.score && a.chunk_id < b.chunk_id);
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
      if (!term_dirty[term]) {
        term_dirty[term] = 1;
        dirty_terms.push_back(term);
      }
    }
    live_postings -= slot_terms[slot].size();
    dead_postings += slot_terms[slot].size();
    std::vector<uint32_t>().swap(slot_terms[slot]);
    total_length -= slot_length[slot];
    slot_alive[slot] = 0;
    --live_chunks;
    dead_slots.push_back(slot);
  }

  void add_chunk(PreparedChunk& chunk) {
    remove_chunk(chunk.chunk_id);
    uint32_t slot;
    if (!free_slots.empty()) {
      slot = free_slots.back();
      free_slots.pop_back();
    } else {
      slot = static_cast<uint32_t>(slot_alive.size());
      slot_alive.push_back(0);
      slot_length.push_back(0);
      slot_chunk_id.push_back(0);
      slot_doc_key.push_back(0);
      slot_terms.emplace_back();
    }
    slot_alive[slot] = 1;
    slot_length[slot] = chunk.length;
    slot_chunk_id[slot] = chunk.chunk_id;
    slot_doc_key[slot] = chunk.doc_key;
    std::vector<uint32_t>& terms = slot_terms[slot];
    terms.reserve(chunk.terms.size());
    for (const TermTf& t : chunk.terms) {
      postings[t.term].push_back({slot, t.tf});
      if (df[t.term]++ == 0) ++live_terms;
      terms.push_back(t.term);
    }
    live_postings += chunk.terms.size();
    total_length += chunk.length;
    ++live_chunks;
    slot_of_chunk[chunk.chunk_id] = slot;
  }

  // Runs under writer_mutex; copies lists without the lock and swaps them in
  // under short exclusive sections. Purging never changes search results.
  void purge_if_needed() {
    const uint64_t all = live_postings + dead_postings;
    if (dead_postings < kMinPurgePostings ||
        static_cast<double>(dead_postings) <= kPurgeRatio * static_cast<double>(all)) {
      return;
    }
    std::vector<std::pair<uint32_t, std::vector<Posting>>> batch;
    size_t batch_postings = 0;
    const auto flush = [&] {
      WriteLock lock(*this);
      for (auto& [term, list] : batch) {
        postings[term].swap(list);
        term_dirty[term] = 0;
      }
      batch.clear();
      batch_postings = 0;
    };
    for (uint32_t term : dirty_terms) {
      const std::vector<Posting>& old = postings[term];
      std::vector<Posting> kept;
      // Headroom so the next additions do not reallocate every list at once.
      kept.reserve(df[term] + df[term] / 8 + 4);
      for (const Posting& p : old) {
        if (slot_alive[p.slot]) kept.push_back(p);
      }
      batch_postings += old.size();
      batch.emplace_back(term, std::move(kept));
      if (batch_postings >= kPurgeBatchPostings) flush();
    }
    flush();
    WriteLock lock(*this);
    dirty_terms.clear();
    free_slots.insert(free_slots.end(), dead_slots.begin(), dead_slots.end());
    dead_slots.clear();
    dead_postings = 0;
  }

  template <bool kDense>
  void accumulate(const std::vector<std::pair<uint32_t, double>>& weighted, double c0, double c1,
                  Scratch& scratch) const {
    double* scores = scratch.scores.data();
    const uint32_t* lengths = slot_length.data();
    for (const auto& [term, weight] : weighted) {
      for (const Posting& p : postings[term]) {
        const double tf = p.tf;
        const double s = weight * tf / (tf + c0 + c1 * lengths[p.slot]);
        if constexpr (!kDense) {
          if (scores[p.slot] == 0) scratch.touched.push_back(p.slot);
        }
        scores[p.slot] += s;
      }
    }
  }

  const Bm25Params params;

  std::mutex writer_mutex;       // serializes apply()
  mutable std::mutex gate;       // turnstile, see the file comment
  mutable std::shared_mutex rw;  // readers shared, apply's splice exclusive

  // Terms, by id. Keys are std::string on purpose: short terms live inside the
  // hash node (SSO), so a lookup does not chase a pointer to compare keys.
  TermMap term_ids;
  std::vector<std::vector<Posting>> postings;  // may include postings of dead slots
  std::vector<uint32_t> df;                    // live chunks containing the term
  std::vector<uint8_t> term_dirty;             // postings include dead slots
  std::vector<uint32_t> dirty_terms;

  // Chunks, by slot.
  std::vector<uint8_t> slot_alive;
  std::vector<uint32_t> slot_length;
  std::vector<uint64_t> slot_chunk_id;
  std::vector<uint64_t> slot_doc_key;
  std::vector<std::vector<uint32_t>> slot_terms;  // term ids of a live chunk, for removal
  std::unordered_map<uint64_t, uint32_t> slot_of_chunk;
  std::vector<uint32_t> dead_slots;  // tombstoned, still referenced by postings
  std::vector<uint32_t> free_slots;  // no postings left, reusable

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
    m.term_dirty.resize(terms, 0);
    m.term_ids.merge(new_ids);  // moves the nodes, no string copies
    for (uint64_t chunk_id : remove_chunk_ids) m.remove_chunk(chunk_id);
    for (Impl::PreparedChunk& chunk : prepared) m.add_chunk(chunk);
  }
  m.purge_if_needed();
}

std::vector<ScoredChunk> Bm25Index::search(const std::vector<std::string>& query_terms, size_t k,
                                           const std::function<bool(uint64_t doc_key)>& accept_doc) const {
  const Impl& m = *impl_;
  auto lock = m.read_lock();
  if (k == 0 || m.live_chunks == 0) return {};

  // Repeated query terms add up, so group them by id with a multiplicity.
  const double n = static_cast<double>(m.live_chunks);
  const double k1 = m.params.k1;
  std::vector<std::pair<uint32_t, double>> weighted;  // {term id, count * idf * (k1 + 1)}
  std::vector<std::pair<uint32_t, uint32_t>> counts;
  for (const std::string& term : query_terms) {
    auto it = m.term_ids.find(term);
    if (it == m.term_ids.end() || m.df[it->second] == 0) continue;
    auto c = std::find_if(counts.begin(), counts.end(), [&](const auto& e) { return e.first == it->second; });
    if (c == counts.end()) {
      counts.emplace_back(it->second, 1);
    } else {
      ++c->second;
    }
  }
  if (counts.empty()) return {};
  size_t touched_postings = 0;
  for (const auto& [term, count] : counts) {
    const double df = m.df[term];
    const double idf = std::log(1.0 + (n - df + 0.5) / (df + 0.5));
    weighted.emplace_back(term, count * idf * (k1 + 1.0));
    touched_postings += m.postings[term].size();
  }
  // len normalization k1 * (1 - b + b * len / avg_len) = c0 + c1 * len, computed per
  // posting: as cheap as loading a precomputed norm, and never stale.
  const double avg_length = static_cast<double>(m.total_length) / n;
  const double c0 = k1 * (1.0 - m.params.b);
  const double c1 = avg_length > 0 ? k1 * m.params.b / avg_length : 0.0;

  thread_local Scratch thread_scratch;
  Scratch nested;  // only used if accept_doc runs a search on another index
  Scratch& scratch = thread_scratch.in_use ? nested : thread_scratch;
  const size_t slots = m.slot_alive.size();
  if (scratch.scores.size() < slots) scratch.scores.resize(slots, 0.0);
  const bool dense = static_cast<double>(touched_postings) >= kDenseScanRatio * static_cast<double>(slots);
  // Leave the accumulator all-zero however we exit (accept_doc may throw).
  struct Reset {
    Scratch& s;
    bool dense;
    size_t slots;
    ~Reset() {
      if (dense) {
        std::fill_n(s.scores.begin(), slots, 0.0);
      } else {
        for (uint32_t slot : s.touched) s.scores[slot] = 0.0;
      }
      s.touched.clear();
      s.in_use = false;
    }
  } reset{scratch, dense, slots};
  scratch.in_use = true;

  if (dense) {
    m.accumulate<true>(weighted, c0, c1, scratch);
  } else {
    m.accumulate<false>(weighted, c0, c1, scratch);
  }

  // Bounded heap whose front is the worst kept candidate. Once it is full, a cheap
  // score comparison rejects most slots before touching their ids or the filter.
  std::vector<Candidate> heap;
  heap.reserve(std::min<size_t>(k, 1024));
  double threshold = 0.0;
  const auto consider = [&](uint32_t slot, double score) {
    if (!m.slot_alive[slot]) return;
    const Candidate c{score, m.slot_chunk_id[slot], slot};
    if (heap.size() == k && !better(c, heap.front())) return;
    if (accept_doc && !accept_doc(m.slot_doc_key[slot])) return;
    heap.push_back(c);
    std::push_heap(heap.begin(), heap.end(), better);
    if (heap.size() > k) {
      std::pop_heap(heap.begin(), heap.end(), better);
      heap.pop_back();
    }
    if (heap.size() == k) threshold = heap.front().score;
  };
  const double* scores = scratch.scores.data();
  if (dense) {
    for (uint32_t slot = 0; slot < slots; ++slot) {
      if (scores[slot] > 0 && scores[slot] >= threshold) consider(slot, scores[slot]);
    }
  } else {
    for (uint32_t slot : scratch.touched) {
      if (scores[slot] >= threshold) consider(slot, scores[slot]);
    }
  }

  std::sort_heap(heap.begin(), heap.end(), better);
  std::vector<ScoredChunk> results;
  results.reserve(heap.size());
  for (const Candidate& c : heap) results.push_back({c.chunk_id, m.slot_doc_key[c.slot], c.score});
  return results;
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

Bm25Params Bm25Index::params() const { return impl_->params; }

}  // namespace kr::index
