// Server-side search latency of one collection, in process (no HTTP, no query embedding):
//   kr_search_bench COLLECTION_DIR QUERIES.jsonl [QUERIES=500] [TOP_K=10] [--no-recall]
// COLLECTION_DIR is a collection written by `kr_startup_bench --build` (chunk i of document
// "docD" has ordinal i % 4 and store id 4D + i % 4 + 1; its vectors are random unit vectors).
// Reports, as one JSON object:
//   - size on disk (store + WAL + vector snapshot), open time, RSS after open, HNSW readiness
//     (a first open builds the graph and saves the snapshot that later opens load);
//   - p50/p99/mean wall and CPU ms of Collection::search for bm25, dense, hybrid on one thread
//     and hybrid with its dense side on a SearchPool helper: each query runs every variant back
//     to back, so machine load falls on all alike;
//   - the chunk-row read of a search's hits with a statement prepared per call (before) and a
//     statement kept by the connection (after), on the same ids;
//   - dense recall@10 against an exact scan of the stored vectors, with random unit queries.
#include <sqlite3.h>
#include <time.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>
#include <string>
#include <thread>
#include <unordered_set>

#include "core/log.h"
#include "service/collection.h"
#include "store/sqlite.h"

using namespace kr;
namespace fs = std::filesystem;

namespace {

using Clock = std::chrono::steady_clock;

double ms_since(Clock::time_point start) {
  return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}
double thread_cpu_ms() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) * 1e3 + static_cast<double>(ts.tv_nsec) / 1e6;
}
double process_cpu_s() {
  timespec ts{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}
int64_t rss_kib(const char* field = "VmRSS:") {
  std::ifstream in("/proc/self/status");
  for (std::string line; std::getline(in, line);) {
    if (line.rfind(field, 0) == 0) return std::stoll(line.substr(std::string(field).size()));
  }
  return -1;
}
int64_t bytes_on_disk(const fs::path& dir) {
  int64_t total = 0;
  for (const auto& entry : fs::directory_iterator(dir)) {
    if (entry.is_regular_file()) total += static_cast<int64_t>(entry.file_size());
  }
  return total;
}

struct Samples {
  std::vector<double> wall, cpu;
  nlohmann::json summary() {
    auto at = [](std::vector<double> v, double p) {
      std::sort(v.begin(), v.end());
      return v.empty() ? 0.0 : v[std::min(v.size() - 1, static_cast<size_t>(p * static_cast<double>(v.size())))];
    };
    auto mean = [](const std::vector<double>& v) {
      double sum = 0;
      for (double x : v) sum += x;
      return v.empty() ? 0.0 : sum / static_cast<double>(v.size());
    };
    return {{"wall_p50_ms", at(wall, 0.5)}, {"wall_p99_ms", at(wall, 0.99)}, {"wall_mean_ms", mean(wall)},
            {"cpu_p50_ms", at(cpu, 0.5)},   {"cpu_p99_ms", at(cpu, 0.99)},   {"cpu_mean_ms", mean(cpu)}};
  }
};

std::vector<std::string> read_queries(const std::string& path, size_t limit) {
  std::vector<std::string> out;
  std::ifstream in(path);
  for (std::string line; std::getline(in, line) && out.size() < limit;) {
    const auto q = nlohmann::json::parse(line, nullptr, false);
    if (q.is_object() && q.contains("text") && q["text"].is_string()) out.push_back(q["text"].get<std::string>());
  }
  return out;
}

std::vector<float> random_unit(std::mt19937& random, int dimension) {
  std::normal_distribution<float> normal;
  std::vector<float> v(static_cast<size_t>(dimension));
  for (float& x : v) x = normal(random);
  index::l2_normalize(v);
  return v;
}

// "docD:K" -> the store id kr_startup_bench gave that chunk.
int64_t bench_chunk_id(const std::string& chunk_id) {
  const size_t colon = chunk_id.rfind(':');
  return 4 * std::stoll(chunk_id.substr(3, colon - 3)) + std::stoll(chunk_id.substr(colon + 1)) + 1;
}

constexpr const char* kChunkSql =
    "SELECT id, document_id, ordinal, text, page_start, page_end, heading_path, char_begin, char_end, "
    "token_estimate, terms, term_count FROM chunks WHERE id = ?";

// Reads the rows as CollectionStore::get_chunks did before (one prepare per call) or does now.
size_t read_rows(const store::Connection& db, const std::vector<int64_t>& ids, bool cached) {
  size_t bytes = 0;
  auto visit = [&](store::Statement& select) {
    for (int64_t id : ids) {
      select.reset();
      select.bind(1, id);
      if (select.step()) bytes += select.column_text(3).size() + select.column_blob(10).size();
    }
  };
  if (cached) {
    store::CachedStatement select(db, kChunkSql);
    visit(*select);
  } else {
    store::Statement select(db, kChunkSql);
    visit(select);
  }
  return bytes;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: kr_search_bench COLLECTION_DIR QUERIES.jsonl [QUERIES=500] [TOP_K=10] [--no-recall]\n");
    return 2;
  }
  log::configure("warn", false);
  const fs::path dir = argv[1];
  const size_t query_count = argc > 3 ? std::stoul(argv[3]) : 500;
  const int top_k = argc > 4 ? std::stoi(argv[4]) : 10;
  const bool recall = !(argc > 5 && std::string(argv[5]) == "--no-recall");
  nlohmann::json out;
  const bool had_snapshot = fs::exists(dir / "vectors.snapshot");
  out["disk_bytes_before_open"] = bytes_on_disk(dir);

  const double cpu_before_open = process_cpu_s();
  auto started = Clock::now();
  auto opened = service::Collection::open(dir.filename().string(), dir.string());
  if (!opened) {
    std::fprintf(stderr, "kr_search_bench: %s\n", opened.status().to_string().c_str());
    return 1;
  }
  service::Collection& collection = **opened;
  out["open_s"] = ms_since(started) / 1e3;
  out["opened_with_snapshot"] = had_snapshot;
  const auto info = collection.info();
  out["chunks"] = info->chunks;
  while (info->chunks >= 20000 && collection.info()->vector_index != "hnsw") {
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  out["graph_ready_s"] = ms_since(started) / 1e3;
  out["open_cpu_s"] = process_cpu_s() - cpu_before_open;
  out["vector_index"] = collection.info()->vector_index;
  {
    std::lock_guard lock(collection.write_mutex());
    if (Status s = collection.save_snapshot(); !s) std::fprintf(stderr, "snapshot: %s\n", s.to_string().c_str());
  }
  out["disk_bytes"] = bytes_on_disk(dir);
  out["rss_mib_after_open"] = static_cast<double>(rss_kib()) / 1024;

  const auto queries = read_queries(argv[2], query_count);
  const int dimension = collection.embedding_space().dimension;
  std::mt19937 random(11);
  std::vector<std::vector<float>> vectors;
  for (size_t i = 0; i < queries.size(); ++i) vectors.push_back(random_unit(random, dimension));

  retrieve::SearchPool pool({.threads = 1, .queue_max = 4, .nice = 0});
  const char* variants[] = {"bm25", "dense", "hybrid_sequential", "hybrid_parallel"};
  Samples samples[4];
  Samples rows_before, rows_after;
  auto db = store::Connection::open((dir / "collection.db").string(), false, true);
  if (!db) return 1;
  for (int pass = 0; pass < 2; ++pass) {  // pass 0 warms caches and pages, untimed
    for (size_t q = 0; q < queries.size(); ++q) {
      std::vector<int64_t> hit_ids;
      for (int v = 0; v < 4; ++v) {
        service::SearchPlan plan;
        plan.mode = v == 0 ? retrieve::SearchMode::kBm25
                           : (v == 1 ? retrieve::SearchMode::kDense : retrieve::SearchMode::kHybrid);
        plan.fusion.method = retrieve::FusionMethod::kNormalized;
        plan.query_vector = vectors[q];
        plan.pool = v == 3 ? &pool : nullptr;
        const double cpu0 = thread_cpu_ms();
        const auto t0 = Clock::now();
        auto found = collection.search(service::SearchRequest{queries[q], top_k, {}}, plan);
        const double wall = ms_since(t0), cpu = thread_cpu_ms() - cpu0;
        if (!found) {
          std::fprintf(stderr, "search failed: %s\n", found.status().to_string().c_str());
          return 1;
        }
        if (pass == 1) {
          samples[v].wall.push_back(wall);
          samples[v].cpu.push_back(cpu);
        }
        if (v == 2) {
          for (const auto& hit : found->hits) hit_ids.push_back(bench_chunk_id(hit.chunk_id));
        }
      }
      for (int cached = 0; cached < 2; ++cached) {
        const double cpu0 = thread_cpu_ms();
        const auto t0 = Clock::now();
        read_rows(*db, hit_ids, cached == 1);
        if (pass == 1) {
          (cached ? rows_after : rows_before).wall.push_back(ms_since(t0));
          (cached ? rows_after : rows_before).cpu.push_back(thread_cpu_ms() - cpu0);
        }
      }
    }
  }
  for (int v = 0; v < 4; ++v) out["search"][variants[v]] = samples[v].summary();
  out["hit_rows_prepared_per_call"] = rows_before.summary();
  out["hit_rows_cached_statement"] = rows_after.summary();
  out["queries"] = queries.size();
  out["top_k"] = top_k;
  out["rss_mib_after_search"] = static_cast<double>(rss_kib()) / 1024;
  out["vm_hwm_mib"] = static_cast<double>(rss_kib("VmHWM:")) / 1024;

  if (recall) {
    // Exact top-k of each query over every stored vector, against the index's answer.
    std::vector<int64_t> ids;
    std::vector<float> flat;
    Status read = collection.store().for_each_chunk_vector([&](int64_t id, int64_t, std::span<const float> v) {
      ids.push_back(id);
      flat.insert(flat.end(), v.begin(), v.end());
    });
    if (!read) return 1;
    double found_total = 0;
    size_t checked = 0;
    for (size_t q = 0; q < std::min<size_t>(queries.size(), 200); ++q) {
      std::vector<std::pair<float, int64_t>> scored(ids.size());
      for (size_t i = 0; i < ids.size(); ++i) {
        float dot = 0;
        for (int d = 0; d < dimension; ++d) dot += flat[i * static_cast<size_t>(dimension) + static_cast<size_t>(d)] * vectors[q][static_cast<size_t>(d)];
        scored[i] = {-dot, ids[i]};
      }
      std::partial_sort(scored.begin(), scored.begin() + top_k, scored.end());
      std::unordered_set<int64_t> exact;
      for (int i = 0; i < top_k; ++i) exact.insert(scored[static_cast<size_t>(i)].second);
      service::SearchPlan plan;
      plan.mode = retrieve::SearchMode::kDense;
      plan.query_vector = vectors[q];
      auto found = collection.search(service::SearchRequest{queries[q], top_k, {}}, plan);
      if (!found) return 1;
      for (const auto& hit : found->hits) found_total += exact.contains(bench_chunk_id(hit.chunk_id)) ? 1 : 0;
      checked++;
    }
    out["dense_recall_at_k"] = found_total / static_cast<double>(checked * static_cast<size_t>(top_k));
    out["recall_queries"] = checked;
  }
  std::printf("%s\n", out.dump().c_str());
  return 0;
}
