// VectorIndex: an exact scan below a size threshold, an hnswlib HNSW graph above it.
//
// Exact mode: vectors are rows of one contiguous array (slot = row), ids by slot, and
// a hash map from id to slot. Removal moves the last row into the hole. A search is
// one pass of a dot-product kernel over all rows (chosen at run time: AVX-512,
// AVX2+FMA or a portable loop; not BLAS sgemv, whose threaded OpenBLAS build would
// fight concurrent searches for the cores and hide its synchronization from TSan),
// feeding a k-sized heap; the filter is consulted only for rows that would enter it.
//
// Graph mode: hnswlib 0.6.2 owns the vectors (one copy: its level-0 block holds
// links, vector and label per element). Its "distance" is the negated dot product,
// computed by the same kernel, so scores match the exact path. Labels are our ids.
// - Removal marks the element deleted (it keeps routing searches). A new id reuses a
//   deleted element (relabel + updatePoint, what hnswlib 0.7's replace_deleted does),
//   re-adding a removed id revives its own element, and a full graph doubles its
//   capacity (resizeIndex), so deleted elements only pile up through net removals.
//   When they exceed 30% of the graph it is rebuilt from the live vectors.
// - hnswlib 0.6.2 has no filter hook: a filtered search asks the graph for ef
//   candidates, keeps those passing the filter, and grows ef by the observed pass
//   rate until k pass; past ef = live/32 a graph search costs about as much as a scan,
//   so it scans the live elements instead (filter first, then the dot product).
// - ef is per search without mutating the graph: setEf(1) once, then searchKnn(q, ef)
//   (hnswlib searches with max(ef_, k)) and keep the best k.
// - Parallel insertion is not used: hnswlib 0.6.2 shares its level generator between
//   inserting threads without a lock.
//
// Mode switches: exact -> graph when the size reaches exact_threshold, graph -> exact
// when it falls below exact_threshold / 2 (hysteresis: no flapping at the boundary).
//
// Concurrency: writers serialize on writer_mutex. Searches hold `rw` shared; small
// writes take it exclusively. Building the exact arrays and saving run under
// writer_mutex alone: only writers mutate, so the data is stable for them while
// searches go on; the result is swapped in under a short exclusive section.
// Graph builds (the exact -> graph switch, compaction) of kBackgroundBuildMin vectors
// or more run on a background thread and hold no lock while they build: the builder
// copies the live vectors, writers meanwhile keep writing to the current structure
// (searches keep using it) and log their writes; the builder replays the log into the
// new graph in rounds without the lock, the last short round under writer_mutex, and
// swaps the graph in under the exclusive section. Smaller builds run inline.
// A turnstile mutex keeps a stream of searches from starving a writer (glibc's rwlock
// prefers readers). hnswlib's searchKnn is safe for concurrent readers (its
// visited-list pool has a mutex and its counters are atomics).
//
// Snapshot format (all little-endian), version 1:
//   header, 96 bytes: magic "KRVECIDX", u32 version, u32 dimension, u64 generation,
//     u64 live_count, u64 slot_count, u32 mode (0 exact, 1 graph), u32 M,
//     u64 graph_bytes, u64 payload_checksum, 3 x u64 reserved, u64 header_checksum
//   payload: slot_count x u64 ids, slot_count x dimension x f32 vectors, then in graph
//     mode: i32 max_level, u32 entry_point, and per slot: u32 level, u32 deleted,
//     then for each layer 0..level: u32 count, count x u32 neighbor slots.
// Checksums are XXH64. Everything is checked before anything is trusted, including
// the graph's links (a link to a slot without that layer would crash hnswlib).
#include "index/vector_index.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <bit>
#include <cerrno>
#include <cmath>
#include <condition_variable>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iostream>
#include <limits>
#include <mutex>
#include <new>
#include <shared_mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <unordered_map>
#include <utility>

#if defined(__x86_64__)
#include <immintrin.h>
#endif

// hnswlib's prefetches read one link past the end of a full upper-layer list (hnswalg.h
// searchBaseLayer: *(datal + j + 1)). The 3 bytes stay inside glibc's usable size of
// that malloc block, so it is harmless, but AddressSanitizer reports it: sanitized
// builds compile hnswlib without its SSE code (prefetches only; distances are ours).
#if defined(__SANITIZE_ADDRESS__) || defined(KR_HNSW_NO_PREFETCH)
#define NO_MANUAL_VECTORIZATION
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define NO_MANUAL_VECTORIZATION
#endif
#endif
// Only this file may include hnswlib: its hnswlib.h defines non-inline functions.
#include <hnswlib/hnswlib.h>

namespace kr::index {
namespace {

static_assert(std::endian::native == std::endian::little, "snapshot format assumes little-endian");
static_assert(sizeof(hnswlib::labeltype) == sizeof(uint64_t), "ids are hnswlib labels");

using Graph = hnswlib::HierarchicalNSW<float>;
using Slot = hnswlib::tableint;
using Filter = std::function<bool(uint64_t)>;

// Deleted elements above this share of the graph trigger a rebuild.
constexpr double kCompactRatio = 0.3;
// Graph builds of at least this many vectors run on a background thread (smaller ones
// take milliseconds and run inline, so small indexes switch modes synchronously).
constexpr size_t kBackgroundBuildMin = 2048;
// The builder replays logged writes without the writer lock while a round has more
// than this many; the last round runs under it. Rounds are capped so a steady stream
// of writes cannot keep the build from finishing.
constexpr size_t kFinalReplayMax = 256;
constexpr int kMaxReplayRounds = 8;
// A filtered graph search gives up for a scan once ef exceeds live / this.
constexpr size_t kGraphScanRatio = 32;
constexpr size_t kMinGraphCapacity = 1024;
constexpr int kMaxM = 2048;
// hnswlib draws levels as -ln(U) / ln(M); anything above this in a file is corrupt.
constexpr uint32_t kMaxLevel = 64;

// ---------------------------------------------------------------------------
// Dot-product kernels.

using DotFn = float (*)(const float*, const float*, size_t);

// Eight independent partial sums: vectorizable without -ffast-math.
float dot_portable(const float* a, const float* b, size_t n) {
  float acc[8] = {};
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    for (size_t j = 0; j < 8; ++j) acc[j] += a[i + j] * b[i + j];
  }
  float s = ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7]));
  for (; i < n; ++i) s += a[i] * b[i];
  return s;
}

#if defined(__x86_64__)
__attribute__((target("avx2,fma"))) float dot_avx2(const float* a, const float* b, size_t n) {
  __m256 s0 = _mm256_setzero_ps(), s1 = _mm256_setzero_ps();
  __m256 s2 = _mm256_setzero_ps(), s3 = _mm256_setzero_ps();
  size_t i = 0;
  for (; i + 32 <= n; i += 32) {
    s0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), s0);
    s1 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 8), _mm256_loadu_ps(b + i + 8), s1);
    s2 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 16), _mm256_loadu_ps(b + i + 16), s2);
    s3 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 24), _mm256_loadu_ps(b + i + 24), s3);
  }
  for (; i + 8 <= n; i += 8) s0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), s0);
  const __m256 s = _mm256_add_ps(_mm256_add_ps(s0, s1), _mm256_add_ps(s2, s3));
  __m128 h = _mm_add_ps(_mm256_castps256_ps128(s), _mm256_extractf128_ps(s, 1));
  h = _mm_add_ps(h, _mm_movehl_ps(h, h));
  h = _mm_add_ss(h, _mm_shuffle_ps(h, h, 1));
  float r = _mm_cvtss_f32(h);
  for (; i < n; ++i) r += a[i] * b[i];
  return r;
}

__attribute__((target("avx512f"))) float dot_avx512(const float* a, const float* b, size_t n) {
  __m512 s0 = _mm512_setzero_ps(), s1 = _mm512_setzero_ps();
  __m512 s2 = _mm512_setzero_ps(), s3 = _mm512_setzero_ps();
  size_t i = 0;
  for (; i + 64 <= n; i += 64) {
    s0 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i), _mm512_loadu_ps(b + i), s0);
    s1 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i + 16), _mm512_loadu_ps(b + i + 16), s1);
    s2 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i + 32), _mm512_loadu_ps(b + i + 32), s2);
    s3 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i + 48), _mm512_loadu_ps(b + i + 48), s3);
  }
  for (; i + 16 <= n; i += 16) s0 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i), _mm512_loadu_ps(b + i), s0);
  // Horizontal sum through memory: GCC 12's lane-extracting AVX-512 intrinsics (and
  // _mm512_reduce_add_ps) trip -Wuninitialized at -O2 (_mm256_undefined_pd, PR 105593).
  alignas(64) float lanes[16];
  _mm512_store_ps(lanes, _mm512_add_ps(_mm512_add_ps(s0, s1), _mm512_add_ps(s2, s3)));
  for (int w = 8; w > 0; w /= 2) {
    for (int j = 0; j < w; ++j) lanes[j] += lanes[j + w];
  }
  float r = lanes[0];
  for (; i < n; ++i) r += a[i] * b[i];  // scalar tail: masked loads would trip ASan
  return r;
}
#endif

DotFn select_dot() {
#if defined(__x86_64__)
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx512f")) return dot_avx512;
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return dot_avx2;
#endif
  return dot_portable;
}

template <DotFn kDot>
float negated_dot(const void* a, const void* b, const void* dim) {
  return -kDot(static_cast<const float*>(a), static_cast<const float*>(b), *static_cast<const size_t*>(dim));
}

// hnswlib space: distance = -dot, with our kernel (hnswlib's own InnerProductSpace only
// dispatches among kernels compiled in, which is SSE without -mavx).
class DotSpace final : public hnswlib::SpaceInterface<float> {
 public:
  DotSpace(size_t dim, DotFn dot) : dim_(dim) {
#if defined(__x86_64__)
    if (dot == dot_avx512) dist_ = negated_dot<dot_avx512>;
    if (dot == dot_avx2) dist_ = negated_dot<dot_avx2>;
#endif
    (void)dot;
  }
  size_t get_data_size() override { return dim_ * sizeof(float); }
  hnswlib::DISTFUNC<float> get_dist_func() override { return dist_; }
  void* get_dist_func_param() override { return &dim_; }

 private:
  size_t dim_;
  hnswlib::DISTFUNC<float> dist_ = negated_dot<dot_portable>;
};

// ---------------------------------------------------------------------------
// Graph writes, on the index's graph or on one being built in the background.

// A graph with its list of deleted elements to reuse (entries may have been revived)
// and, by slot, whether an element is listed (so it is listed at most once).
struct GraphParts {
  std::unique_ptr<Graph> graph;
  std::vector<Slot> free_slots;
  std::vector<uint8_t> in_free_list;
};

void graph_upsert(GraphParts& p, uint64_t id, const float* v) {
  Graph& g = *p.graph;
  if (g.label_lookup_.count(id) != 0) {
    g.addPoint(v, id);  // updates in place, reviving the element if it was deleted
    return;
  }
  while (!p.free_slots.empty()) {
    const Slot s = p.free_slots.back();
    p.free_slots.pop_back();
    p.in_free_list[s] = 0;
    if (!g.isMarkedDeleted(s)) continue;  // revived since it was listed
    // Reuse a deleted element for the new id (hnswlib 0.7's replace_deleted).
    g.label_lookup_.erase(g.getExternalLabel(s));
    g.setExternalLabel(s, id);
    g.label_lookup_[id] = s;
    g.unmarkDeletedInternal(s);
    g.updatePoint(v, s, 1.0f);
    return;
  }
  if (g.cur_element_count >= g.max_elements_) {
    const size_t capacity = std::max(kMinGraphCapacity, 2 * g.max_elements_);
    p.in_free_list.reserve(capacity);
    g.resizeIndex(capacity);
    p.in_free_list.resize(capacity, 0);
  }
  g.addPoint(v, id);
}

bool graph_remove(GraphParts& p, uint64_t id) {
  Graph& g = *p.graph;
  auto it = g.label_lookup_.find(id);
  if (it == g.label_lookup_.end() || g.isMarkedDeleted(it->second)) return false;
  const Slot s = it->second;
  if (!p.in_free_list[s]) p.free_slots.push_back(s);  // may throw: before the mark
  p.in_free_list[s] = 1;
  g.markDeletedInternal(s);
  return true;
}

// A write made while a background build runs, replayed into the new graph.
struct LoggedWrite {
  uint64_t id = 0;
  std::vector<float> vector;  // empty: a removal
};

// ---------------------------------------------------------------------------
// Top-k selection.

bool better(const VectorHit& a, const VectorHit& b) {
  return a.score > b.score || (a.score == b.score && a.id < b.id);
}

// Bounded heap whose front is the worst kept hit.
class TopK {
 public:
  explicit TopK(size_t k) : k_(k) { heap_.reserve(k); }
  bool accepts(float score, uint64_t id) const {
    if (std::isnan(score)) return false;
    return heap_.size() < k_ || better(VectorHit{id, score}, heap_.front());
  }
  // Precondition: accepts(h.score, h.id).
  void push(VectorHit h) {
    if (heap_.size() == k_) {
      std::pop_heap(heap_.begin(), heap_.end(), better);
      heap_.back() = h;
    } else {
      heap_.push_back(h);
    }
    std::push_heap(heap_.begin(), heap_.end(), better);
  }
  std::vector<VectorHit> take_sorted() {
    std::sort_heap(heap_.begin(), heap_.end(), better);
    return std::move(heap_);
  }

 private:
  size_t k_;
  std::vector<VectorHit> heap_;
};

// ---------------------------------------------------------------------------
// XXH64 (streaming), for snapshot checksums.

class Xxh64 {
 public:
  void update(const void* data, size_t len) {
    if (len == 0) return;  // data may be null (an empty vector's data())
    const auto* p = static_cast<const unsigned char*>(data);
    total_ += len;
    if (buffered_ + len < 32) {
      std::memcpy(buf_ + buffered_, p, len);
      buffered_ += len;
      return;
    }
    if (buffered_ > 0) {
      const size_t fill = 32 - buffered_;
      std::memcpy(buf_ + buffered_, p, fill);
      stripe(buf_);
      p += fill;
      len -= fill;
      buffered_ = 0;
    }
    for (; len >= 32; p += 32, len -= 32) stripe(p);
    std::memcpy(buf_, p, len);
    buffered_ = len;
  }

  uint64_t digest() const {
    uint64_t h;
    if (total_ >= 32) {
      h = std::rotl(v_[0], 1) + std::rotl(v_[1], 7) + std::rotl(v_[2], 12) + std::rotl(v_[3], 18);
      for (uint64_t v : v_) h = (h ^ mix(0, v)) * kP1 + kP4;
    } else {
      h = kP5;  // seed 0
    }
    h += total_;
    const unsigned char* p = buf_;
    size_t len = buffered_;
    for (; len >= 8; p += 8, len -= 8) h = std::rotl(h ^ mix(0, read64(p)), 27) * kP1 + kP4;
    if (len >= 4) {
      uint32_t w;
      std::memcpy(&w, p, 4);
      h = std::rotl(h ^ (uint64_t{w} * kP1), 23) * kP2 + kP3;
      p += 4;
      len -= 4;
    }
    for (; len > 0; ++p, --len) h = std::rotl(h ^ (uint64_t{*p} * kP5), 11) * kP1;
    h ^= h >> 33;
    h *= kP2;
    h ^= h >> 29;
    h *= kP3;
    h ^= h >> 32;
    return h;
  }

  static uint64_t of(const void* data, size_t len) {
    Xxh64 x;
    x.update(data, len);
    return x.digest();
  }

 private:
  static constexpr uint64_t kP1 = 0x9E3779B185EBCA87ULL, kP2 = 0xC2B2AE3D27D4EB4FULL,
                            kP3 = 0x165667B19E3779F9ULL, kP4 = 0x85EBCA77C2B2AE63ULL,
                            kP5 = 0x27D4EB2F165667C5ULL;
  static uint64_t read64(const unsigned char* p) {
    uint64_t v;
    std::memcpy(&v, p, 8);
    return v;
  }
  static uint64_t mix(uint64_t acc, uint64_t input) { return std::rotl(acc + input * kP2, 31) * kP1; }
  void stripe(const unsigned char* p) {
    for (int i = 0; i < 4; ++i) v_[i] = mix(v_[i], read64(p + 8 * i));
  }

  uint64_t v_[4] = {kP1 + kP2, kP2, 0, 0 - kP1};
  unsigned char buf_[32] = {};
  size_t buffered_ = 0;
  uint64_t total_ = 0;
};

// ---------------------------------------------------------------------------
// Snapshot header.

constexpr char kMagic[8] = {'K', 'R', 'V', 'E', 'C', 'I', 'D', 'X'};
constexpr uint32_t kFormatVersion = 1;
constexpr size_t kHeaderBytes = 96;
constexpr uint32_t kModeExact = 0;
constexpr uint32_t kModeGraph = 1;

struct Header {
  uint32_t version = kFormatVersion;
  uint32_t dimension = 0;
  uint64_t generation = 0;
  uint64_t live_count = 0;
  uint64_t slot_count = 0;
  uint32_t mode = kModeExact;
  uint32_t m = 0;
  uint64_t graph_bytes = 0;
  uint64_t payload_checksum = 0;
};

template <typename T>
void put_le(unsigned char* out, size_t offset, T v) {
  std::memcpy(out + offset, &v, sizeof(T));
}
template <typename T>
T get_le(const unsigned char* in, size_t offset) {
  T v;
  std::memcpy(&v, in + offset, sizeof(T));
  return v;
}

void encode_header(const Header& h, unsigned char (&out)[kHeaderBytes]) {
  std::memset(out, 0, kHeaderBytes);
  std::memcpy(out, kMagic, sizeof(kMagic));
  put_le(out, 8, h.version);
  put_le(out, 12, h.dimension);
  put_le(out, 16, h.generation);
  put_le(out, 24, h.live_count);
  put_le(out, 32, h.slot_count);
  put_le(out, 40, h.mode);
  put_le(out, 44, h.m);
  put_le(out, 48, h.graph_bytes);
  put_le(out, 56, h.payload_checksum);
  put_le(out, 88, Xxh64::of(out, 88));
}

Status corrupt(const std::filesystem::path& file, const std::string& what) {
  return error(ErrorCode::kDataCorruption, "vector index snapshot " + file.string() + ": " + what);
}

Result<Header> decode_header(const unsigned char (&in)[kHeaderBytes], const std::filesystem::path& file) {
  if (std::memcmp(in, kMagic, sizeof(kMagic)) != 0) return corrupt(file, "not a vector index snapshot");
  if (get_le<uint64_t>(in, 88) != Xxh64::of(in, 88)) return corrupt(file, "header checksum mismatch");
  Header h;
  h.version = get_le<uint32_t>(in, 8);
  h.dimension = get_le<uint32_t>(in, 12);
  h.generation = get_le<uint64_t>(in, 16);
  h.live_count = get_le<uint64_t>(in, 24);
  h.slot_count = get_le<uint64_t>(in, 32);
  h.mode = get_le<uint32_t>(in, 40);
  h.m = get_le<uint32_t>(in, 44);
  h.graph_bytes = get_le<uint64_t>(in, 48);
  h.payload_checksum = get_le<uint64_t>(in, 56);
  return h;
}

std::string errno_text() { return std::strerror(errno); }

// Buffered writes to a file descriptor, hashing what goes through.
class FileWriter {
 public:
  explicit FileWriter(int fd) : fd_(fd) { buf_.reserve(kBufferBytes); }
  bool put(const void* data, size_t len) {
    hash_.update(data, len);
    const auto* p = static_cast<const char*>(data);
    while (len > 0) {
      const size_t n = std::min(len, kBufferBytes - buf_.size());
      buf_.insert(buf_.end(), p, p + n);
      p += n;
      len -= n;
      if (buf_.size() == kBufferBytes && !flush()) return false;
    }
    return true;
  }
  template <typename T>
  bool put_value(T v) {
    return put(&v, sizeof(T));
  }
  bool flush() {
    const char* p = buf_.data();
    size_t left = buf_.size();
    while (left > 0) {
      const ssize_t n = ::write(fd_, p, left);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return false;
      p += n;
      left -= static_cast<size_t>(n);
    }
    buf_.clear();
    return true;
  }
  uint64_t digest() const { return hash_.digest(); }

 private:
  static constexpr size_t kBufferBytes = size_t{1} << 20;
  int fd_;
  std::vector<char> buf_;
  Xxh64 hash_;
};

// Reads exactly `len` bytes; false on a short read or an error (errno set or 0).
bool read_exact(int fd, void* data, size_t len) {
  auto* p = static_cast<char*>(data);
  while (len > 0) {
    const ssize_t n = ::read(fd, p, std::min<size_t>(len, size_t{1} << 30));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      if (n == 0) errno = 0;
      return false;
    }
    p += n;
    len -= static_cast<size_t>(n);
  }
  return true;
}

class FdCloser {
 public:
  explicit FdCloser(int fd) : fd_(fd) {}
  ~FdCloser() {
    if (fd_ >= 0) ::close(fd_);
  }
  FdCloser(const FdCloser&) = delete;
  FdCloser& operator=(const FdCloser&) = delete;
  int release() { return std::exchange(fd_, -1); }

 private:
  int fd_;
};

// Bounds-checked reader over the graph section.
class Cursor {
 public:
  Cursor(const unsigned char* data, size_t size) : data_(data), size_(size) {}
  bool read_u32(uint32_t& v) {
    if (size_ - pos_ < 4) return false;
    std::memcpy(&v, data_ + pos_, 4);
    pos_ += 4;
    return true;
  }
  // Returns the position of `count` u32 values and skips them, or nullptr.
  const unsigned char* take_u32s(uint32_t count) {
    if ((size_ - pos_) / 4 < count) return nullptr;
    const unsigned char* p = data_ + pos_;
    pos_ += size_t{count} * 4;
    return p;
  }
  bool at_end() const { return pos_ == size_; }

 private:
  const unsigned char* data_;
  size_t size_;
  size_t pos_ = 0;
};

std::atomic<uint64_t> g_tmp_counter{0};

}  // namespace

// ---------------------------------------------------------------------------

Status VectorIndexOptions::validate() const {
  if (M < 2 || M > kMaxM) return error(ErrorCode::kInvalidArgument, "vector index M must be in [2, 2048]");
  if (ef_construction < 1) return error(ErrorCode::kInvalidArgument, "vector index ef_construction must be >= 1");
  if (ef_search < 0) return error(ErrorCode::kInvalidArgument, "vector index ef_search must be >= 0");
  return Status::ok();
}

bool l2_normalize(std::span<float> v) {
  double sum = 0;
  for (float x : v) sum += double{x} * x;
  const double norm = std::sqrt(sum);
  if (!(norm > 0) || !std::isfinite(norm)) return false;
  const double inv = 1.0 / norm;
  for (float& x : v) x = static_cast<float>(x * inv);
  return true;
}

struct VectorIndex::Impl {
  Impl(int dimension, VectorIndexOptions o)
      : dim(static_cast<size_t>(dimension)), opts(o), dot(select_dot()), space(dim, dot) {}

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

  // --- state queries (callers hold a lock: rw shared, or writer_mutex) ---

  uint64_t live() const {
    if (mode == VectorIndexMode::kExact) return ids.size();
    return current.graph->cur_element_count - current.graph->num_deleted_;
  }

  size_t ef_for(size_t k) const {
    return opts.ef_search > 0 ? std::max<size_t>(static_cast<size_t>(opts.ef_search), k)
                              : std::max<size_t>(64, 2 * k);
  }

  const float* graph_vector(Slot s) const {
    return reinterpret_cast<const float*>(current.graph->getDataByInternalId(s));
  }

  // --- search (rw shared) ---

  std::vector<VectorHit> scan_exact(const float* q, size_t k, const Filter* filter) const {
    TopK top(k);
    const size_t n = ids.size();
    const float* row = rows.data();
    for (size_t i = 0; i < n; ++i, row += dim) {
      const float score = dot(q, row, dim);
      if (!top.accepts(score, ids[i])) continue;
      if (filter != nullptr && !(*filter)(ids[i])) continue;
      top.push({ids[i], score});
    }
    return top.take_sorted();
  }

  // Exact scan of the graph's live elements; the filter first (it is selective here).
  std::vector<VectorHit> scan_graph(const float* q, size_t k, const Filter* filter) const {
    TopK top(k);
    const Graph& g = *current.graph;
    for (Slot s = 0; s < g.cur_element_count; ++s) {
      if (g.isMarkedDeleted(s)) continue;
      const uint64_t id = g.getExternalLabel(s);
      if (filter != nullptr && !(*filter)(id)) continue;
      const float score = dot(q, graph_vector(s), dim);
      if (top.accepts(score, id)) top.push({id, score});
    }
    return top.take_sorted();
  }

  // Up to ef live elements near q, best first.
  std::vector<VectorHit> graph_candidates(const float* q, size_t ef) const {
    auto pq = current.graph->searchKnn(q, ef);
    std::vector<VectorHit> out(pq.size());
    for (size_t i = out.size(); i-- > 0;) {
      out[i] = VectorHit{pq.top().second, -pq.top().first};
      pq.pop();
    }
    return out;
  }

  std::vector<VectorHit> search_graph(const float* q, size_t k, const Filter* filter) const {
    const size_t n = live();
    size_t ef = ef_for(k);
    if (filter == nullptr) {
      std::vector<VectorHit> hits = graph_candidates(q, ef);
      std::sort(hits.begin(), hits.end(), better);  // ties by id
      if (hits.size() > k) hits.resize(k);
      return hits;
    }
    const size_t max_ef = std::max(ef, n / kGraphScanRatio);
    for (;;) {
      const std::vector<VectorHit> candidates = graph_candidates(q, ef);
      TopK top(k);
      size_t passed = 0;
      for (const VectorHit& h : candidates) {
        if (!(*filter)(h.id)) continue;
        ++passed;
        if (top.accepts(h.score, h.id)) top.push(h);
      }
      if (passed >= k || candidates.size() >= n) return top.take_sorted();
      if (ef >= max_ef) break;
      // Expect k passes at the observed pass rate, with a margin; at least double.
      const size_t wanted = passed == 0 ? ef * 8 : ef * k * 2 / passed;
      ef = std::min(max_ef, std::max(wanted, ef * 2));
    }
    return scan_graph(q, k, filter);
  }

  // --- small writes (writer_mutex + WriteLock) ---

  void exact_upsert(uint64_t id, const float* v) {
    if (auto it = slot_of.find(id); it != slot_of.end()) {
      std::memcpy(rows.data() + size_t{it->second} * dim, v, dim * sizeof(float));
      return;
    }
    // Grow first so that nothing below can throw halfway; by 1.5x (not 2x) to bound the
    // slack of the largest allocation.
    if (ids.size() == ids.capacity()) ids.reserve(std::max<size_t>(64, ids.capacity() + ids.capacity() / 2));
    if (rows.size() + dim > rows.capacity()) {
      rows.reserve(std::max((ids.size() + 1) * dim, rows.capacity() + rows.capacity() / 2));
    }
    slot_of.emplace(id, static_cast<uint32_t>(ids.size()));
    ids.push_back(id);
    rows.insert(rows.end(), v, v + dim);
  }

  bool exact_remove(uint64_t id) {
    auto it = slot_of.find(id);
    if (it == slot_of.end()) return false;
    const size_t slot = it->second;
    const size_t last = ids.size() - 1;
    slot_of.erase(it);
    if (slot != last) {
      std::memcpy(rows.data() + slot * dim, rows.data() + last * dim, dim * sizeof(float));
      ids[slot] = ids[last];
      slot_of.find(ids[slot])->second = static_cast<uint32_t>(slot);
    }
    ids.pop_back();
    rows.resize(last * dim);
    return true;
  }

  void graph_upsert(uint64_t id, const float* v) { kr::index::graph_upsert(current, id, v); }
  bool graph_remove(uint64_t id) { return kr::index::graph_remove(current, id); }

  // Writes made during a background build are logged for it (writer_mutex held).
  void log_write(uint64_t id, const float* v) {
    if (!logging) return;
    try {
      LoggedWrite w{id, {}};
      if (v != nullptr) w.vector.assign(v, v + dim);
      write_log.push_back(std::move(w));
    } catch (const std::bad_alloc&) {
      cancel_background_build();  // a graph missing this write must not be swapped in
    }
  }

  // --- large work (writer_mutex only, or no lock on a copy; swaps in under WriteLock) ---

  GraphParts new_graph(size_t capacity) {
    GraphParts p;
    p.graph = std::make_unique<Graph>(&space, std::max(capacity, kMinGraphCapacity), static_cast<size_t>(opts.M),
                                      static_cast<size_t>(opts.ef_construction), static_cast<size_t>(opts.seed));
    p.graph->setEf(1);  // searches pass their ef as k, see the file comment
    p.in_free_list.assign(p.graph->max_elements_, 0);
    return p;
  }

  void install_graph(GraphParts built) {
    std::vector<float> old_rows;
    std::vector<uint64_t> old_ids;
    std::unordered_map<uint64_t, uint32_t> old_slot_of;
    GraphParts old_graph;
    {
      WriteLock lock(*this);
      old_rows.swap(rows);
      old_ids.swap(ids);
      old_slot_of.swap(slot_of);
      old_graph = std::exchange(current, std::move(built));
      mode = VectorIndexMode::kGraph;
    }
    // The old structures are freed here, outside the exclusive section.
  }

  // The live vectors: ids and rows (writer_mutex held).
  void copy_live(std::vector<uint64_t>& out_ids, std::vector<float>& out_rows) const {
    if (mode == VectorIndexMode::kExact) {
      out_ids = ids;
      out_rows = rows;
      return;
    }
    const Graph& g = *current.graph;
    out_ids.reserve(live());
    out_rows.reserve(live() * dim);
    for (Slot s = 0; s < g.cur_element_count; ++s) {
      if (g.isMarkedDeleted(s)) continue;
      out_ids.push_back(g.getExternalLabel(s));
      out_rows.insert(out_rows.end(), graph_vector(s), graph_vector(s) + dim);
    }
  }

  // A graph of the given vectors; no graph (null) when `cancel` was raised meanwhile.
  GraphParts build_graph(const std::vector<uint64_t>& new_ids, const std::vector<float>& new_rows,
                         const std::atomic<bool>* cancel, const std::function<void()>* halfway = nullptr) {
    GraphParts p = new_graph(new_ids.size() + new_ids.size() / 4);
    for (size_t i = 0; i < new_ids.size(); ++i) {
      if (halfway != nullptr && *halfway && i == new_ids.size() / 2) (*halfway)();
      if (cancel != nullptr && i % 64 == 0 && cancel->load(std::memory_order_relaxed)) return {};
      p.graph->addPoint(new_rows.data() + i * dim, new_ids[i]);
    }
    return p;
  }

  // Builds a graph of the live vectors (switch to graph, or compaction). writer_mutex held.
  void rebuild_graph() {
    std::vector<uint64_t> live_ids;
    std::vector<float> live_rows;
    copy_live(live_ids, live_rows);
    if (live_ids.size() < kBackgroundBuildMin) {
      install_graph(build_graph(live_ids, live_rows, nullptr));
      return;
    }
    if (builder.joinable()) builder.join();  // it finished: building is false, it takes no more locks
    building = true;
    logging = true;
    write_log.clear();
    cancel_build.store(false);
    const uint64_t epoch = ++build_epoch;
    builder = std::thread([this, epoch, hook = build_hook, i = std::move(live_ids), r = std::move(live_rows)] {
      build_in_background(epoch, i, r, hook);
    });
  }

  // Runs on `builder`. Holds no lock while it builds; see the file comment.
  void build_in_background(uint64_t epoch, const std::vector<uint64_t>& from_ids, const std::vector<float>& from_rows,
                           const std::function<void()>& hook) {
    try {
      GraphParts built = build_graph(from_ids, from_rows, &cancel_build, &hook);
      for (int round = 1; built.graph; ++round) {
        std::unique_lock<std::mutex> writer(writer_mutex);
        if (epoch != build_epoch) break;  // cancelled (clear, shrink) since it started
        std::vector<LoggedWrite> writes;
        writes.swap(write_log);
        const bool last = writes.size() <= kFinalReplayMax || round >= kMaxReplayRounds;
        if (!last) writer.unlock();
        for (const LoggedWrite& w : writes) {
          if (w.vector.empty()) {
            kr::index::graph_remove(built, w.id);
          } else {
            kr::index::graph_upsert(built, w.id, w.vector.data());
          }
        }
        if (last) {
          logging = false;
          install_graph(std::move(built));
          break;
        }
      }
    } catch (const std::exception&) {
      // Out of memory or an hnswlib error: the index stays correct in its current mode,
      // and the next write that needs a graph starts another build.
    }
    {
      std::lock_guard<std::mutex> writer(writer_mutex);
      logging = false;
      write_log.clear();
      write_log.shrink_to_fit();
      building = false;
    }
    build_done.notify_all();
  }

  // Abandons a background build (writer_mutex held); it exits at its next check.
  void cancel_background_build() {
    if (!building) return;
    ++build_epoch;
    cancel_build.store(true);
    logging = false;
    write_log.clear();
  }

  void switch_to_exact() {
    const Graph& old = *current.graph;
    const size_t n = live();
    std::vector<float> new_rows;
    std::vector<uint64_t> new_ids;
    std::unordered_map<uint64_t, uint32_t> new_slot_of;
    new_rows.reserve(n * dim);
    new_ids.reserve(n);
    new_slot_of.reserve(n);
    for (Slot s = 0; s < old.cur_element_count; ++s) {
      if (old.isMarkedDeleted(s)) continue;
      const float* v = graph_vector(s);
      new_slot_of.emplace(old.getExternalLabel(s), static_cast<uint32_t>(new_ids.size()));
      new_ids.push_back(old.getExternalLabel(s));
      new_rows.insert(new_rows.end(), v, v + dim);
    }
    GraphParts old_graph;
    {
      WriteLock lock(*this);
      rows.swap(new_rows);
      ids.swap(new_ids);
      slot_of.swap(new_slot_of);
      old_graph = std::exchange(current, GraphParts{});
      mode = VectorIndexMode::kExact;
    }
  }

  // Mode switches and compaction after a write. writer_mutex held.
  Status maintain() {
    try {
      const uint64_t n = live();
      if (building) {
        // Below the hysteresis floor the build under way is not wanted any more.
        if (n < opts.exact_threshold / 2) {
          cancel_background_build();
          if (mode == VectorIndexMode::kGraph) switch_to_exact();
        }
        return Status::ok();
      }
      if (mode == VectorIndexMode::kExact) {
        if (n > 0 && n >= opts.exact_threshold) rebuild_graph();
      } else if (n < opts.exact_threshold / 2) {
        switch_to_exact();
      } else if (static_cast<double>(current.graph->num_deleted_) >
                 kCompactRatio * static_cast<double>(current.graph->cur_element_count)) {
        rebuild_graph();
      }
      return Status::ok();
    } catch (const std::bad_alloc&) {
      return error(ErrorCode::kResourceExhausted, "out of memory while rebuilding the vector index");
    } catch (const std::exception& e) {
      return error(ErrorCode::kInternal, std::string("vector index rebuild failed: ") + e.what());
    }
  }

  void reset() {
    cancel_background_build();
    std::vector<float> old_rows;
    std::vector<uint64_t> old_ids;
    std::unordered_map<uint64_t, uint32_t> old_slot_of;
    GraphParts old_graph;
    WriteLock lock(*this);
    old_rows.swap(rows);
    old_ids.swap(ids);
    old_slot_of.swap(slot_of);
    old_graph = std::exchange(current, GraphParts{});
    mode = VectorIndexMode::kExact;
  }

  // Cancels a background build and waits for its thread (no lock held).
  void stop_builder() {
    {
      std::lock_guard<std::mutex> writer(writer_mutex);
      cancel_background_build();
    }
    if (builder.joinable()) builder.join();
  }

  uint64_t memory_bytes() const {
    uint64_t bytes = rows.capacity() * sizeof(float) + ids.capacity() * sizeof(uint64_t);
    // unordered_map: bucket array plus one node (next pointer, key, value, padding) per entry.
    bytes += slot_of.bucket_count() * sizeof(void*) + slot_of.size() * 24;
    if (current.graph) {
      const Graph& g = *current.graph;
      bytes += g.max_elements_ * g.size_data_per_element_;  // level 0: links, vector, label
      for (Slot s = 0; s < g.cur_element_count; ++s) {
        if (g.element_levels_[s] > 0) bytes += g.size_links_per_element_ * g.element_levels_[s] + 1;
      }
      bytes += g.max_elements_ * (sizeof(char*) + sizeof(int) + sizeof(std::mutex));  // per-element arrays
      bytes += g.link_list_update_locks_.size() * sizeof(std::mutex);
      bytes += g.max_elements_ * sizeof(hnswlib::vl_type);  // one visited list (one more per concurrent search)
      bytes += g.label_lookup_.bucket_count() * sizeof(void*) + g.label_lookup_.size() * 24;
      bytes += current.free_slots.capacity() * sizeof(Slot) + current.in_free_list.capacity();
    }
    return bytes;
  }

  // --- persistence ---

  Status save_locked(const std::filesystem::path& file, uint64_t generation) const;
  static Result<std::unique_ptr<Impl>> load(const std::filesystem::path& file, int expected_dimension,
                                            uint64_t expected_generation, VectorIndexOptions options);
  Status restore_graph(const Header& h, const std::vector<uint64_t>& slot_ids, const std::vector<float>& vectors,
                       const std::vector<unsigned char>& section, const std::filesystem::path& file);

  const size_t dim;
  const VectorIndexOptions opts;
  const DotFn dot;
  DotSpace space;  // referenced by the graphs; Impl never moves

  mutable std::mutex writer_mutex;  // serializes writers and save()
  mutable std::mutex gate;          // turnstile, see read_lock()
  mutable std::shared_mutex rw;     // searches shared, small writes and swaps exclusive

  VectorIndexMode mode = VectorIndexMode::kExact;
  // Exact mode.
  std::vector<float> rows;  // slot-major, dim floats per slot
  std::vector<uint64_t> ids;
  std::unordered_map<uint64_t, uint32_t> slot_of;
  // Graph mode.
  GraphParts current;
  // Background graph build (see the file comment); guarded by writer_mutex unless noted.
  std::thread builder;
  bool building = false;               // a builder thread is running
  bool logging = false;                // writes are logged for it
  uint64_t build_epoch = 0;            // a build whose epoch is stale installs nothing
  std::atomic<bool> cancel_build{false};  // read by the builder without the lock
  std::vector<LoggedWrite> write_log;
  mutable std::condition_variable build_done;
  std::function<void()> build_hook;  // tests: runs on the builder halfway through a build
};

Status VectorIndex::Impl::save_locked(const std::filesystem::path& file, uint64_t generation) const {
  const std::string tmp = file.string() + ".tmp-" + std::to_string(::getpid()) + "-" + std::to_string(++g_tmp_counter);
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd < 0) return error(ErrorCode::kUnavailable, "cannot create " + tmp + ": " + errno_text());
  FdCloser closer(fd);
  const auto fail = [&](const std::string& what) {
    const std::string reason = errno_text();
    ::close(closer.release());
    ::unlink(tmp.c_str());
    return error(ErrorCode::kUnavailable, "cannot write vector index snapshot " + tmp + ": " + what + ": " + reason);
  };

  Header h;
  h.dimension = static_cast<uint32_t>(dim);
  h.generation = generation;
  h.live_count = live();
  unsigned char header[kHeaderBytes] = {};
  FileWriter out(fd);
  if (::write(fd, header, kHeaderBytes) != static_cast<ssize_t>(kHeaderBytes)) return fail("header");
  bool ok = true;
  if (mode == VectorIndexMode::kExact) {
    h.slot_count = ids.size();
    ok = out.put(ids.data(), ids.size() * sizeof(uint64_t)) && out.put(rows.data(), rows.size() * sizeof(float));
  } else {
    const Graph& g = *current.graph;
    h.mode = kModeGraph;
    h.m = static_cast<uint32_t>(g.M_);
    h.slot_count = g.cur_element_count;
    for (Slot s = 0; ok && s < g.cur_element_count; ++s) ok = out.put_value<uint64_t>(g.getExternalLabel(s));
    for (Slot s = 0; ok && s < g.cur_element_count; ++s) ok = out.put(graph_vector(s), dim * sizeof(float));
    uint64_t graph_bytes = 8;
    ok = ok && out.put_value<int32_t>(g.maxlevel_) && out.put_value<uint32_t>(g.enterpoint_node_);
    for (Slot s = 0; ok && s < g.cur_element_count; ++s) {
      const int level = g.element_levels_[s];
      ok = out.put_value<uint32_t>(static_cast<uint32_t>(level)) &&
           out.put_value<uint32_t>(g.isMarkedDeleted(s) ? 1 : 0);
      graph_bytes += 8;
      for (int l = 0; ok && l <= level; ++l) {
        hnswlib::linklistsizeint* list = g.get_linklist_at_level(s, l);
        const uint32_t count = g.getListCount(list);
        ok = out.put_value(count) && out.put(list + 1, count * sizeof(Slot));
        graph_bytes += 4 + uint64_t{count} * sizeof(Slot);
      }
    }
    h.graph_bytes = graph_bytes;
  }
  if (!ok || !out.flush()) return fail("payload");
  h.payload_checksum = out.digest();
  encode_header(h, header);
  if (::pwrite(fd, header, kHeaderBytes, 0) != static_cast<ssize_t>(kHeaderBytes)) return fail("header");
  if (::fsync(fd) != 0) return fail("fsync");
  if (::close(closer.release()) != 0) {
    const std::string reason = errno_text();
    ::unlink(tmp.c_str());
    return error(ErrorCode::kUnavailable, "cannot write vector index snapshot " + tmp + ": " + reason);
  }
  if (::rename(tmp.c_str(), file.c_str()) != 0) {
    const std::string reason = errno_text();
    ::unlink(tmp.c_str());
    return error(ErrorCode::kUnavailable, "cannot rename " + tmp + " to " + file.string() + ": " + reason);
  }
  // Make the rename durable.
  const std::filesystem::path dir = file.has_parent_path() ? file.parent_path() : std::filesystem::path(".");
  const int dir_fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir_fd < 0) return error(ErrorCode::kUnavailable, "cannot open " + dir.string() + ": " + errno_text());
  FdCloser dir_closer(dir_fd);
  if (::fsync(dir_fd) != 0) return error(ErrorCode::kUnavailable, "cannot fsync " + dir.string() + ": " + errno_text());
  return Status::ok();
}

Result<std::unique_ptr<VectorIndex::Impl>> VectorIndex::Impl::load(const std::filesystem::path& file,
                                                                   int expected_dimension,
                                                                   uint64_t expected_generation,
                                                                   VectorIndexOptions options) {
  const int fd = ::open(file.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return error(ErrorCode::kNotFound, "no vector index snapshot at " + file.string());
    return error(ErrorCode::kUnavailable, "cannot open " + file.string() + ": " + errno_text());
  }
  FdCloser closer(fd);
  struct stat st {};
  if (::fstat(fd, &st) != 0) return error(ErrorCode::kUnavailable, "cannot stat " + file.string() + ": " + errno_text());
  const uint64_t file_size = static_cast<uint64_t>(st.st_size);
  if (file_size < kHeaderBytes) return corrupt(file, "truncated header");
  unsigned char raw[kHeaderBytes];
  if (!read_exact(fd, raw, kHeaderBytes)) return corrupt(file, "truncated header");
  Result<Header> decoded = decode_header(raw, file);
  if (!decoded.is_ok()) return decoded.status();
  const Header& h = *decoded;

  if (h.version != kFormatVersion) {
    return error(ErrorCode::kFailedPrecondition,
                 "vector index snapshot " + file.string() + " has format version " + std::to_string(h.version));
  }
  if (h.dimension != static_cast<uint32_t>(expected_dimension)) {
    return error(ErrorCode::kFailedPrecondition, "vector index snapshot " + file.string() + " has dimension " +
                                                     std::to_string(h.dimension) + ", expected " +
                                                     std::to_string(expected_dimension));
  }
  if (h.generation != expected_generation) {
    return error(ErrorCode::kFailedPrecondition, "vector index snapshot " + file.string() + " is of generation " +
                                                     std::to_string(h.generation) + ", expected " +
                                                     std::to_string(expected_generation));
  }
  if (h.mode == kModeExact) {
    if (h.slot_count != h.live_count || h.graph_bytes != 0 || h.m != 0) return corrupt(file, "inconsistent header");
  } else if (h.mode == kModeGraph) {
    if (h.live_count > h.slot_count || h.m < 2 || h.m > static_cast<uint32_t>(kMaxM) ||
        h.slot_count >= std::numeric_limits<Slot>::max() || h.graph_bytes < 8) {
      return corrupt(file, "inconsistent header");
    }
  } else {
    return corrupt(file, "unknown mode " + std::to_string(h.mode));
  }
  // Sizes, without overflow: every term is bounded by the file size before it is added.
  const size_t dim = h.dimension;
  const uint64_t payload = file_size - kHeaderBytes;
  if (h.slot_count > payload / 8 || h.slot_count > payload / (dim * sizeof(float)) || h.graph_bytes > payload) {
    return corrupt(file, "truncated (counts exceed the file size)");
  }
  const uint64_t expected = h.slot_count * 8 + h.slot_count * dim * sizeof(float) + h.graph_bytes;
  if (expected != payload) {
    return corrupt(file, expected > payload ? "truncated" : "trailing bytes after the payload");
  }

  const size_t slots = static_cast<size_t>(h.slot_count);
  std::vector<uint64_t> slot_ids(slots);
  std::vector<float> vectors(slots * dim);
  std::vector<unsigned char> graph_section(static_cast<size_t>(h.graph_bytes));
  if (!read_exact(fd, slot_ids.data(), slots * 8) || !read_exact(fd, vectors.data(), vectors.size() * sizeof(float)) ||
      !read_exact(fd, graph_section.data(), graph_section.size())) {
    if (errno != 0) return error(ErrorCode::kUnavailable, "cannot read " + file.string() + ": " + errno_text());
    return corrupt(file, "truncated");
  }
  Xxh64 hash;
  hash.update(slot_ids.data(), slots * 8);
  hash.update(vectors.data(), vectors.size() * sizeof(float));
  hash.update(graph_section.data(), graph_section.size());
  if (hash.digest() != h.payload_checksum) return corrupt(file, "payload checksum mismatch");

  auto impl = std::make_unique<Impl>(expected_dimension, options);
  if (h.mode == kModeExact) {
    impl->slot_of.reserve(slots);
    for (size_t i = 0; i < slots; ++i) {
      if (!impl->slot_of.emplace(slot_ids[i], static_cast<uint32_t>(i)).second) return corrupt(file, "duplicate id");
    }
    impl->ids = std::move(slot_ids);
    impl->rows = std::move(vectors);
  } else {
    KR_RETURN_IF_ERROR(impl->restore_graph(h, slot_ids, vectors, graph_section, file));
  }
  return impl;
}

Status VectorIndex::Impl::restore_graph(const Header& h, const std::vector<uint64_t>& slot_ids,
                                        const std::vector<float>& vectors, const std::vector<unsigned char>& section,
                                        const std::filesystem::path& file) {
  const size_t slots = slot_ids.size();
  const uint32_t max_m0 = 2 * h.m;
  // Pass 1: structure, counts and neighbor ranges.
  Cursor c(section.data(), section.size());
  uint32_t max_level_raw = 0, entry = 0;
  if (!c.read_u32(max_level_raw) || !c.read_u32(entry)) return corrupt(file, "truncated graph");
  const auto max_level = static_cast<int32_t>(max_level_raw);
  std::vector<uint32_t> levels(slots);
  std::vector<uint8_t> deleted(slots);
  struct List {
    uint32_t slot, level, count;
    const unsigned char* neighbors;
  };
  std::vector<List> lists;
  lists.reserve(slots);
  int32_t highest = -1;
  uint64_t deleted_count = 0;
  for (size_t s = 0; s < slots; ++s) {
    uint32_t level = 0, del = 0;
    if (!c.read_u32(level) || !c.read_u32(del)) return corrupt(file, "truncated graph");
    if (level > kMaxLevel || del > 1) return corrupt(file, "bad graph element");
    levels[s] = level;
    deleted[s] = static_cast<uint8_t>(del);
    deleted_count += del;
    highest = std::max(highest, static_cast<int32_t>(level));
    for (uint32_t l = 0; l <= level; ++l) {
      uint32_t count = 0;
      if (!c.read_u32(count)) return corrupt(file, "truncated graph");
      if (count > (l == 0 ? max_m0 : h.m)) return corrupt(file, "too many graph links");
      const unsigned char* neighbors = c.take_u32s(count);
      if (neighbors == nullptr) return corrupt(file, "truncated graph");
      lists.push_back({static_cast<uint32_t>(s), l, count, neighbors});
    }
  }
  if (!c.at_end()) return corrupt(file, "trailing bytes in the graph");
  if (slots - deleted_count != h.live_count) return corrupt(file, "live count mismatch");
  if (max_level != highest || (slots > 0 && (entry >= slots || static_cast<int32_t>(levels[entry]) != max_level))) {
    return corrupt(file, "bad graph entry point");
  }
  // Pass 2: every link points to an element that has that layer.
  for (const List& list : lists) {
    for (uint32_t j = 0; j < list.count; ++j) {
      const uint32_t nb = get_le<uint32_t>(list.neighbors, size_t{j} * 4);
      if (nb >= slots || levels[nb] < list.level) return corrupt(file, "bad graph link");
    }
  }
  {
    std::unordered_map<uint64_t, Slot> seen;
    seen.reserve(slots);
    for (size_t s = 0; s < slots; ++s) {
      if (!seen.emplace(slot_ids[s], static_cast<Slot>(s)).second) return corrupt(file, "duplicate id");
    }
  }

  // Build: the graph is constructed for the saved M; links and vectors are copied in.
  auto g = std::make_unique<Graph>(&space, std::max(slots + slots / 4, kMinGraphCapacity), h.m,
                                   static_cast<size_t>(opts.ef_construction), static_cast<size_t>(opts.seed));
  g->setEf(1);
  g->cur_element_count = slots;  // element_levels_ stay 0 until a layer block exists (destructor)
  for (size_t s = 0; s < slots; ++s) {
    std::memset(g->data_level0_memory_ + s * g->size_data_per_element_, 0, g->size_data_per_element_);
    std::memcpy(g->getDataByInternalId(static_cast<Slot>(s)), vectors.data() + s * dim, dim * sizeof(float));
    g->setExternalLabel(static_cast<Slot>(s), slot_ids[s]);
    g->label_lookup_[slot_ids[s]] = static_cast<Slot>(s);
    if (levels[s] > 0) {
      const size_t bytes = g->size_links_per_element_ * levels[s] + 1;
      g->linkLists_[s] = static_cast<char*>(std::malloc(bytes));
      if (g->linkLists_[s] == nullptr) throw std::bad_alloc();
      std::memset(g->linkLists_[s], 0, bytes);
      g->element_levels_[s] = static_cast<int>(levels[s]);
    }
  }
  for (const List& list : lists) {
    hnswlib::linklistsizeint* ll = g->get_linklist_at_level(list.slot, static_cast<int>(list.level));
    g->setListCount(ll, static_cast<unsigned short>(list.count));
    std::memcpy(ll + 1, list.neighbors, size_t{list.count} * 4);
  }
  for (size_t s = 0; s < slots; ++s) {
    if (deleted[s]) g->markDeletedInternal(static_cast<Slot>(s));
  }
  g->enterpoint_node_ = slots > 0 ? entry : static_cast<Slot>(-1);
  g->maxlevel_ = max_level;

  current.in_free_list.assign(g->max_elements_, 0);
  for (size_t s = 0; s < slots; ++s) {
    if (deleted[s]) {
      current.free_slots.push_back(static_cast<Slot>(s));
      current.in_free_list[s] = 1;
    }
  }
  current.graph = std::move(g);
  mode = VectorIndexMode::kGraph;
  return Status::ok();
}

// ---------------------------------------------------------------------------

VectorIndex::VectorIndex(int dimension, VectorIndexOptions options) {
  if (dimension <= 0) throw std::invalid_argument("vector index dimension must be > 0");
  if (Status s = options.validate(); !s.is_ok()) throw std::invalid_argument(s.message());
  impl_ = std::make_unique<Impl>(dimension, options);
}

VectorIndex::VectorIndex(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
VectorIndex::~VectorIndex() {
  if (impl_) impl_->stop_builder();
}
VectorIndex::VectorIndex(VectorIndex&&) noexcept = default;
VectorIndex& VectorIndex::operator=(VectorIndex&& other) noexcept {
  if (this != &other) {
    if (impl_) impl_->stop_builder();
    impl_ = std::move(other.impl_);
  }
  return *this;
}

void VectorIndex::wait_for_background_work() const {
  const Impl& m = *impl_;
  std::unique_lock<std::mutex> writer(m.writer_mutex);
  m.build_done.wait(writer, [&] { return !m.building; });
}

bool VectorIndex::background_work_pending() const {
  const Impl& m = *impl_;
  std::lock_guard<std::mutex> writer(m.writer_mutex);
  return m.building;
}

void VectorIndex::set_build_hook_for_testing(std::function<void()> hook) {
  Impl& m = *impl_;
  std::lock_guard<std::mutex> writer(m.writer_mutex);
  m.build_hook = std::move(hook);
}

Status VectorIndex::upsert(uint64_t id, std::span<const float> vector) {
  Impl& m = *impl_;
  if (vector.size() != m.dim) {
    return error(ErrorCode::kInvalidArgument, "vector has dimension " + std::to_string(vector.size()) +
                                                  ", the index has " + std::to_string(m.dim));
  }
  for (float x : vector) {
    if (!std::isfinite(x)) return error(ErrorCode::kInvalidArgument, "vector has a non-finite component");
  }
  std::lock_guard<std::mutex> writer(m.writer_mutex);
  try {
    Impl::WriteLock lock(m);
    if (m.mode == VectorIndexMode::kExact) {
      m.exact_upsert(id, vector.data());
    } else {
      m.graph_upsert(id, vector.data());
    }
    m.log_write(id, vector.data());
  } catch (const std::bad_alloc&) {
    return error(ErrorCode::kResourceExhausted, "out of memory adding a vector");
  } catch (const std::exception& e) {
    return error(ErrorCode::kInternal, std::string("vector index: ") + e.what());
  }
  return m.maintain();
}

bool VectorIndex::remove(uint64_t id) {
  Impl& m = *impl_;
  std::lock_guard<std::mutex> writer(m.writer_mutex);
  bool removed;
  {
    Impl::WriteLock lock(m);
    removed = m.mode == VectorIndexMode::kExact ? m.exact_remove(id) : m.graph_remove(id);
  }
  if (removed) m.log_write(id, nullptr);
  // A failed rebuild leaves a correct index in its current mode; the next write retries.
  if (removed) (void)m.maintain();
  return removed;
}

void VectorIndex::clear() {
  Impl& m = *impl_;
  std::lock_guard<std::mutex> writer(m.writer_mutex);
  m.reset();
}

bool VectorIndex::contains(uint64_t id) const {
  const Impl& m = *impl_;
  auto lock = m.read_lock();
  if (m.mode == VectorIndexMode::kExact) return m.slot_of.count(id) != 0;
  auto it = m.current.graph->label_lookup_.find(id);
  return it != m.current.graph->label_lookup_.end() && !m.current.graph->isMarkedDeleted(it->second);
}

uint64_t VectorIndex::size() const {
  const Impl& m = *impl_;
  auto lock = m.read_lock();
  return m.live();
}

int VectorIndex::dimension() const { return static_cast<int>(impl_->dim); }

VectorIndexMode VectorIndex::mode() const {
  const Impl& m = *impl_;
  auto lock = m.read_lock();
  return m.mode;
}

uint64_t VectorIndex::memory_bytes() const {
  const Impl& m = *impl_;
  auto lock = m.read_lock();
  return m.memory_bytes();
}

std::vector<VectorHit> VectorIndex::search(std::span<const float> query, int k,
                                           const std::function<bool(uint64_t)>* filter) const {
  const Impl& m = *impl_;
  if (query.size() != m.dim) {
    throw std::invalid_argument("query has dimension " + std::to_string(query.size()) + ", the index has " +
                                std::to_string(m.dim));
  }
  for (float x : query) {
    if (!std::isfinite(x)) throw std::invalid_argument("query has a non-finite component");
  }
  if (filter != nullptr && !*filter) filter = nullptr;  // an empty std::function filters nothing
  if (k <= 0) return {};
  auto lock = m.read_lock();
  const size_t kk = static_cast<size_t>(std::min<uint64_t>(static_cast<uint64_t>(k), m.live()));
  if (kk == 0) return {};
  if (m.mode == VectorIndexMode::kExact) return m.scan_exact(query.data(), kk, filter);
  return m.search_graph(query.data(), kk, filter);
}

Status VectorIndex::save(const std::filesystem::path& file, uint64_t generation) const {
  const Impl& m = *impl_;
  // Writers are excluded, searches are not: only writers mutate.
  std::lock_guard<std::mutex> writer(m.writer_mutex);
  try {
    return m.save_locked(file, generation);
  } catch (const std::bad_alloc&) {
    return error(ErrorCode::kResourceExhausted, "out of memory saving the vector index");
  }
}

Result<VectorIndex> VectorIndex::load(const std::filesystem::path& file, int expected_dimension,
                                      uint64_t expected_generation, VectorIndexOptions options) {
  if (expected_dimension <= 0) return error(ErrorCode::kInvalidArgument, "vector index dimension must be > 0");
  KR_RETURN_IF_ERROR(options.validate());
  try {
    Result<std::unique_ptr<Impl>> impl = Impl::load(file, expected_dimension, expected_generation, options);
    if (!impl.is_ok()) return impl.status();
    std::unique_ptr<Impl> ready = std::move(impl).value();
    {
      std::lock_guard<std::mutex> writer(ready->writer_mutex);
      KR_RETURN_IF_ERROR(ready->maintain());  // apply this configuration's threshold
    }
    return VectorIndex(std::move(ready));
  } catch (const std::bad_alloc&) {
    return error(ErrorCode::kResourceExhausted, "out of memory loading " + file.string());
  } catch (const std::exception& e) {
    return error(ErrorCode::kDataCorruption, "vector index snapshot " + file.string() + ": " + e.what());
  }
}

}  // namespace kr::index
