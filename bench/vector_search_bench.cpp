// kr_vector_bench: build time, search latency (p50/p99, one query at a time, one
// thread) and recall@k of kr::index::VectorIndex in exact and HNSW mode, plus an
// exact scan through BLAS sgemv for comparison with the index's own kernel.
//
//   kr_vector_bench [--n 10000] [--dim 384] [--queries 1000] [--k 10] [--json]
//                   [--data FILE] [--ef 0] [--m 16] [--ef-construction 200]
//
// --data: raw little-endian float32, n base vectors then `queries` query vectors, each
// `dim` floats (bench/vector_search.py writes it). Without it, normalized Gaussian
// clusters are generated here. Recall is measured against the exact mode.
#include <cblas.h>
#include <dlfcn.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <functional>
#include <iostream>
#include <random>
#include <utility>
#include <set>
#include <span>
#include <string>
#include <vector>

#include "index/vector_index.h"

namespace {

using kr::index::VectorHit;
using kr::index::VectorIndex;
using kr::index::VectorIndexOptions;
using Clock = std::chrono::steady_clock;

struct Args {
  size_t n = 10000;
  int dim = 384;
  size_t queries = 1000;
  int k = 10;
  bool json = false;
  std::string data;
  int ef = 0;
  int m = 16;
  int ef_construction = 200;
};

[[noreturn]] void usage(const char* msg) {
  std::fprintf(stderr,
               "%s\nusage: kr_vector_bench [--n N] [--dim D] [--queries Q] [--k K] [--json] [--data FILE]"
               " [--ef EF] [--m M] [--ef-construction EFC]\n",
               msg);
  std::exit(2);
}

Args parse(int argc, char** argv) {
  Args a;
  for (int i = 1; i < argc; ++i) {
    const std::string flag = argv[i];
    if (flag == "--json") {
      a.json = true;
      continue;
    }
    if (i + 1 >= argc) usage(("missing value for " + flag).c_str());
    const std::string v = argv[++i];
    if (flag == "--n") a.n = std::stoul(v);
    else if (flag == "--dim") a.dim = std::stoi(v);
    else if (flag == "--queries") a.queries = std::stoul(v);
    else if (flag == "--k") a.k = std::stoi(v);
    else if (flag == "--data") a.data = v;
    else if (flag == "--ef") a.ef = std::stoi(v);
    else if (flag == "--m") a.m = std::stoi(v);
    else if (flag == "--ef-construction") a.ef_construction = std::stoi(v);
    else usage(("unknown flag " + flag).c_str());
  }
  if (a.n == 0 || a.dim <= 0 || a.queries == 0 || a.k <= 0) usage("n, dim, queries and k must be > 0");
  return a;
}

// n + queries rows of dim floats.
std::vector<float> load_or_generate(const Args& a) {
  const size_t rows = a.n + a.queries;
  std::vector<float> data(rows * static_cast<size_t>(a.dim));
  if (!a.data.empty()) {
    std::ifstream in(a.data, std::ios::binary);
    in.read(reinterpret_cast<char*>(data.data()), static_cast<std::streamsize>(data.size() * sizeof(float)));
    if (!in || in.peek() != EOF) usage(("--data must hold exactly (n + queries) * dim float32: " + a.data).c_str());
    return data;
  }
  std::mt19937_64 rng(42);
  std::normal_distribution<float> gauss;
  const size_t clusters = std::max<size_t>(10, a.n / 100);
  std::vector<float> centers(clusters * static_cast<size_t>(a.dim));
  for (float& x : centers) x = gauss(rng);
  for (size_t c = 0; c < clusters; ++c) kr::index::l2_normalize({centers.data() + c * a.dim, size_t(a.dim)});
  std::uniform_int_distribution<size_t> pick(0, clusters - 1);
  const float spread = 1.0f / std::sqrt(static_cast<float>(a.dim));  // noise norm ~ center norm
  for (size_t r = 0; r < rows; ++r) {
    const float* c = centers.data() + pick(rng) * a.dim;
    float* v = data.data() + r * a.dim;
    for (int j = 0; j < a.dim; ++j) v[j] = c[j] + spread * gauss(rng);
    kr::index::l2_normalize({v, size_t(a.dim)});
  }
  return data;
}

struct Row {
  std::string name;
  double build_s = 0;
  double p50_us = 0;
  double p99_us = 0;
  double recall = 1;
  double memory_mb = 0;
};

double percentile(std::vector<double> v, double p) {
  std::sort(v.begin(), v.end());
  const size_t i = std::min(v.size() - 1, static_cast<size_t>(p * static_cast<double>(v.size())));
  return v[i];
}

double seconds_since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

// Runs `search(query index)` for every query (after a short warm-up) and fills latency.
template <typename F>
std::vector<std::vector<uint64_t>> time_searches(const Args& a, Row& row, F&& search) {
  for (size_t q = 0; q < std::min<size_t>(a.queries, 20); ++q) (void)search(q);
  std::vector<double> us;
  std::vector<std::vector<uint64_t>> results;
  for (size_t q = 0; q < a.queries; ++q) {
    const auto t0 = Clock::now();
    std::vector<uint64_t> ids = search(q);
    us.push_back(seconds_since(t0) * 1e6);
    results.push_back(std::move(ids));
  }
  row.p50_us = percentile(us, 0.5);
  row.p99_us = percentile(us, 0.99);
  return results;
}

double mean_recall(const std::vector<std::vector<uint64_t>>& got, const std::vector<std::vector<uint64_t>>& truth) {
  double total = 0;
  for (size_t q = 0; q < got.size(); ++q) {
    const std::set<uint64_t> want(truth[q].begin(), truth[q].end());
    size_t found = 0;
    for (uint64_t id : got[q]) found += want.count(id);
    total += want.empty() ? 1.0 : static_cast<double>(found) / static_cast<double>(want.size());
  }
  return total / static_cast<double>(got.size());
}

std::vector<uint64_t> ids_of(const std::vector<VectorHit>& hits) {
  std::vector<uint64_t> ids;
  for (const auto& h : hits) ids.push_back(h.id);
  return ids;
}

// OpenBLAS runs sgemv on all cores by default; the index is one thread per search.
void single_threaded_blas() {
  using SetThreads = void (*)(int);
  if (auto f = reinterpret_cast<SetThreads>(dlsym(RTLD_DEFAULT, "openblas_set_num_threads"))) f(1);
}

}  // namespace

int main(int argc, char** argv) {
  const Args a = parse(argc, argv);
  const std::vector<float> data = load_or_generate(a);
  const size_t dim = static_cast<size_t>(a.dim);
  const auto base = [&](size_t i) { return std::span<const float>(data.data() + i * dim, dim); };
  const auto query = [&](size_t q) { return std::span<const float>(data.data() + (a.n + q) * dim, dim); };
  std::vector<Row> rows;
  const std::function<bool(uint64_t)> tenth = [](uint64_t id) { return id % 10 == 0; };

  // Exact mode.
  VectorIndexOptions exact_opts;
  exact_opts.exact_threshold = a.n + 1;
  VectorIndex exact(a.dim, exact_opts);
  Row ex{"kaito-rag exact"};
  auto t0 = Clock::now();
  for (size_t i = 0; i < a.n; ++i) {
    if (!exact.upsert(i, base(i)).is_ok()) usage("upsert failed");
  }
  ex.build_s = seconds_since(t0);
  ex.memory_mb = static_cast<double>(exact.memory_bytes()) / 1e6;
  const auto truth = time_searches(a, ex, [&](size_t q) { return ids_of(exact.search(query(q), a.k)); });
  rows.push_back(ex);

  Row exf{"kaito-rag exact, filter 10%"};
  const auto truth_f = time_searches(a, exf, [&](size_t q) { return ids_of(exact.search(query(q), a.k, &tenth)); });
  rows.push_back(exf);

  // Exact scan through BLAS: scores = M q (sgemv), then the same top-k selection.
  {
    single_threaded_blas();
    std::vector<float> matrix(data.begin(), data.begin() + static_cast<std::ptrdiff_t>(a.n * dim));
    std::vector<float> scores(a.n);
    Row blas{"exact via cblas_sgemv"};
    blas.memory_mb = static_cast<double>(matrix.size() * sizeof(float)) / 1e6;
    const auto got = time_searches(a, blas, [&](size_t q) {
      cblas_sgemv(CblasRowMajor, CblasNoTrans, static_cast<int>(a.n), a.dim, 1.0f, matrix.data(), a.dim,
                  query(q).data(), 1, 0.0f, scores.data(), 1);
      // k-sized min-heap of (score, -id): the same selection work as the index's scan.
      const size_t k = std::min<size_t>(static_cast<size_t>(a.k), a.n);
      std::vector<std::pair<float, int64_t>> heap;
      heap.reserve(k + 1);
      const auto worse = [](const auto& x, const auto& y) { return x > y; };
      for (size_t i = 0; i < a.n; ++i) {
        const std::pair<float, int64_t> e{scores[i], -static_cast<int64_t>(i)};
        if (heap.size() == k && !(e > heap.front())) continue;
        heap.push_back(e);
        std::push_heap(heap.begin(), heap.end(), worse);
        if (heap.size() > k) {
          std::pop_heap(heap.begin(), heap.end(), worse);
          heap.pop_back();
        }
      }
      std::sort_heap(heap.begin(), heap.end(), worse);
      std::vector<uint64_t> idx;
      for (const auto& e : heap) idx.push_back(static_cast<uint64_t>(-e.second));
      return idx;
    });
    blas.recall = mean_recall(got, truth);
    rows.push_back(blas);
  }

  // HNSW mode: exact_threshold 0, every vector is inserted into the graph.
  VectorIndexOptions graph_opts;
  graph_opts.exact_threshold = 0;
  graph_opts.M = a.m;
  graph_opts.ef_construction = a.ef_construction;
  graph_opts.ef_search = a.ef;
  VectorIndex graph(a.dim, graph_opts);
  Row hn{"kaito-rag hnsw"};
  t0 = Clock::now();
  for (size_t i = 0; i < a.n; ++i) {
    if (!graph.upsert(i, base(i)).is_ok()) usage("upsert failed");
  }
  hn.build_s = seconds_since(t0);
  hn.memory_mb = static_cast<double>(graph.memory_bytes()) / 1e6;
  hn.recall = mean_recall(time_searches(a, hn, [&](size_t q) { return ids_of(graph.search(query(q), a.k)); }), truth);
  rows.push_back(hn);

  Row hnf{"kaito-rag hnsw, filter 10%"};
  hnf.recall = mean_recall(
      time_searches(a, hnf, [&](size_t q) { return ids_of(graph.search(query(q), a.k, &tenth)); }), truth_f);
  rows.push_back(hnf);

  const int ef = a.ef > 0 ? std::max(a.ef, a.k) : std::max(64, 2 * a.k);
  if (a.json) {
    std::printf("{\"n\": %zu, \"dim\": %d, \"queries\": %zu, \"k\": %d, \"ef_search\": %d, \"rows\": [", a.n, a.dim,
                a.queries, a.k, ef);
    for (size_t i = 0; i < rows.size(); ++i) {
      const Row& r = rows[i];
      std::printf("%s{\"name\": \"%s\", \"build_s\": %.4f, \"p50_us\": %.2f, \"p99_us\": %.2f, \"recall\": %.4f, "
                  "\"memory_mb\": %.1f}",
                  i ? ", " : "", r.name.c_str(), r.build_s, r.p50_us, r.p99_us, r.recall, r.memory_mb);
    }
    std::printf("]}\n");
  } else {
    std::printf("n=%zu dim=%d queries=%zu k=%d ef_search=%d (recall@%d vs exact)\n", a.n, a.dim, a.queries, a.k, ef,
                a.k);
    std::printf("%-30s %9s %10s %10s %8s %10s\n", "index", "build s", "p50 us", "p99 us", "recall", "memory MB");
    for (const Row& r : rows) {
      std::printf("%-30s %9.3f %10.1f %10.1f %8.4f %10.1f\n", r.name.c_str(), r.build_s, r.p50_us, r.p99_us,
                  r.recall, r.memory_mb);
    }
  }
  return 0;
}
