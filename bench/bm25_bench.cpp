// BM25 speed and quality in one process: our index's two scorers (block-max
// MaxScore and the exhaustive one; search() picks by the query's posting count), and Xapian (glass backend, BM25Weight), all fed the
// same analyzed terms and asked the same queries, interleaved query by query so
// machine load falls on all of them alike.
//
//   build/release/bench/kr_bm25_bench --beir ../shared/eval/pubmedqa-dev [--chunks 1000000] [--k 10]
//
// The corpus is the BEIR folder's passages (title + text, one chunk each), then, up to
// --chunks, generated chunks: each takes the length of a random real passage and
// draws every token from the real passages' token stream (their unigram distribution)
// with probability 0.9, else from a Zipf(1) vocabulary of 2M synthetic terms. The
// real passages keep their relevance judgements, so nDCG@10 is measured at every size
// with the generated chunks as distractors. Queries: the folder's questions, analyzed
// like the passages (English Snowball, stop words removed).
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>
#include <xapian.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <random>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include <nlohmann/json.hpp>

#include "index/bm25.h"
#include "index/tokenizer.h"

namespace {

using kr::index::Bm25Index;
using kr::index::ChunkPostings;
using kr::index::ScoredChunk;
using kr::index::TermFreqs;

struct Options {
  std::string beir = "../shared/eval/pubmedqa-dev";
  size_t chunks = 0;  // 0: the BEIR passages only
  size_t k = 10;
  int passes = 3;
  std::string xapian_dir = "/tmp/kr_bm25_bench_xapian";
  uint64_t seed = 42;
  bool xapian = true;
};

struct Beir {
  std::vector<std::string> doc_ids;
  std::vector<std::string> texts;
  std::vector<std::string> query_ids;
  std::vector<std::string> queries;
  std::map<std::string, std::set<std::string>> relevant;
};

Beir load_beir(const std::filesystem::path& dir) {
  Beir b;
  std::ifstream corpus(dir / "corpus.jsonl");
  for (std::string line; std::getline(corpus, line);) {
    if (line.empty()) continue;
    const auto j = nlohmann::json::parse(line);
    const std::string title = j.value("title", ""), text = j.value("text", "");
    b.doc_ids.push_back(j.at("_id").get<std::string>());
    b.texts.push_back(title.empty() ? text : title + "\n\n" + text);
  }
  std::ifstream qrels(dir / "qrels" / "test.tsv");
  for (std::string line; std::getline(qrels, line);) {
    const size_t t1 = line.find('\t'), t2 = line.find('\t', t1 + 1);
    if (t2 == std::string::npos || line.rfind("query-id", 0) == 0) continue;
    if (std::stod(line.substr(t2 + 1)) > 0) b.relevant[line.substr(0, t1)].insert(line.substr(t1 + 1, t2 - t1 - 1));
  }
  std::ifstream queries(dir / "queries.jsonl");
  for (std::string line; std::getline(queries, line);) {
    if (line.empty()) continue;
    const auto j = nlohmann::json::parse(line);
    const std::string id = j.at("_id").get<std::string>();
    if (!b.relevant.count(id)) continue;
    b.query_ids.push_back(id);
    b.queries.push_back(j.at("text").get<std::string>());
  }
  return b;
}

double ndcg10(const std::vector<std::string>& ranked, const std::set<std::string>& relevant) {
  double dcg = 0, idcg = 0;
  for (size_t i = 0; i < std::min<size_t>(10, ranked.size()); ++i) {
    if (relevant.count(ranked[i])) dcg += 1 / std::log2(i + 2.0);
  }
  for (size_t i = 0; i < std::min<size_t>(10, relevant.size()); ++i) idcg += 1 / std::log2(i + 2.0);
  return idcg == 0 ? 0 : dcg / idcg;
}

double thread_cpu_seconds() {
  timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

double wall_seconds() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

size_t rss_bytes() {
  std::ifstream statm("/proc/self/statm");
  size_t pages = 0, resident = 0;
  statm >> pages >> resident;
  return resident * static_cast<size_t>(sysconf(_SC_PAGESIZE));
}

uint64_t dir_bytes(const std::filesystem::path& dir) {
  uint64_t total = 0;
  for (const auto& e : std::filesystem::recursive_directory_iterator(dir)) {
    if (e.is_regular_file()) total += e.file_size();
  }
  return total;
}

// Generates chunks whose tokens follow the real passages' unigram distribution
// (90%) or a Zipf(1) law over synthetic terms (10%); lengths follow the real ones.
class ChunkGenerator {
 public:
  ChunkGenerator(const std::vector<std::vector<std::string>>& real, uint64_t seed) : rng_(seed) {
    std::unordered_map<std::string, uint32_t> ids;
    for (const auto& terms : real) {
      lengths_.push_back(static_cast<uint32_t>(terms.size()));
      for (const auto& t : terms) {
        auto [it, added] = ids.emplace(t, static_cast<uint32_t>(vocabulary_.size()));
        if (added) vocabulary_.push_back(t);
        stream_.push_back(it->second);
      }
    }
    real_vocabulary_ = vocabulary_.size();
  }

  ChunkPostings next(uint64_t chunk_id) {
    const uint32_t length = std::max<uint32_t>(1, lengths_[rng_() % lengths_.size()]);
    std::vector<uint32_t> tokens(length);
    for (uint32_t& t : tokens) {
      if (rng_() % 10 != 0) {
        t = stream_[rng_() % stream_.size()];
      } else {
        // Continuous Zipf(1) inverse CDF over ranks 1..kSynthetic.
        const double u = std::uniform_real_distribution<double>(0, 1)(rng_);
        const auto rank = static_cast<uint32_t>(std::pow(kSynthetic + 1.0, u)) - 1;
        t = static_cast<uint32_t>(real_vocabulary_) + std::min(rank, kSynthetic - 1);
      }
    }
    std::sort(tokens.begin(), tokens.end());
    ChunkPostings c;
    c.chunk_id = chunk_id;
    c.doc_key = chunk_id;
    c.length = length;
    for (size_t i = 0; i < tokens.size();) {
      size_t j = i;
      while (j < tokens.size() && tokens[j] == tokens[i]) ++j;
      c.terms.emplace_back(term(tokens[i]), static_cast<uint32_t>(j - i));
      i = j;
    }
    return c;
  }

 private:
  static constexpr uint32_t kSynthetic = 2'000'000;
  std::string term(uint32_t id) const {
    return id < real_vocabulary_ ? vocabulary_[id] : "zq" + std::to_string(id - real_vocabulary_);
  }
  std::mt19937_64 rng_;
  std::vector<std::string> vocabulary_;
  size_t real_vocabulary_ = 0;
  std::vector<uint32_t> stream_;
  std::vector<uint32_t> lengths_;
};

Xapian::Document xapian_document(const ChunkPostings& c) {
  Xapian::Document doc;
  for (const auto& [term, tf] : c.terms) {
    // Xapian rejects terms over 245 bytes; the analyzer never makes such words from prose.
    if (term.size() <= 240) doc.add_term(term, tf);
  }
  return doc;
}

struct Latencies {
  std::vector<double> wall, cpu;
  double percentile(const std::vector<double>& v, double p) const {
    std::vector<double> s = v;
    std::sort(s.begin(), s.end());
    return s.empty() ? 0 : s[std::min(s.size() - 1, static_cast<size_t>(p * static_cast<double>(s.size())))];
  }
  double total(const std::vector<double>& v) const {
    double t = 0;
    for (double x : v) t += x;
    return t;
  }
};

int run(const Options& opt) {
  const Beir beir = load_beir(opt.beir);
  if (beir.texts.empty() || beir.queries.empty()) {
    std::fprintf(stderr, "no corpus or queries in %s\n", opt.beir.c_str());
    return 1;
  }
  auto analyzer = kr::index::Analyzer::create({});
  if (!analyzer) {
    std::fprintf(stderr, "%s\n", analyzer.status().message().c_str());
    return 1;
  }
  std::vector<std::vector<std::string>> passage_terms;
  for (const auto& text : beir.texts) passage_terms.push_back((*analyzer)->analyze(text));
  std::vector<std::vector<std::string>> queries;
  for (const auto& q : beir.queries) queries.push_back((*analyzer)->analyze(q));
  const size_t total = std::max(opt.chunks, beir.texts.size());

  // Build both indexes from the same chunks, in ingest-sized batches.
  std::filesystem::remove_all(opt.xapian_dir);
  const size_t rss_before = rss_bytes();
  Bm25Index ours;
  double ours_build = 0, xapian_build = 0, generate = 0;
  {
    Xapian::WritableDatabase writable(opt.xapian_dir, Xapian::DB_CREATE_OR_OVERWRITE | Xapian::DB_BACKEND_GLASS);
    ChunkGenerator generator(passage_terms, opt.seed);
    constexpr size_t kBatch = 10000;
    for (size_t first = 0; first < total; first += kBatch) {
      double t0 = wall_seconds();
      std::vector<ChunkPostings> batch;
      for (size_t id = first; id < std::min(total, first + kBatch); ++id) {
        if (id < passage_terms.size()) {
          TermFreqs tf = kr::index::count_terms(passage_terms[id]);
          batch.push_back({id, id, std::move(tf), static_cast<uint32_t>(passage_terms[id].size())});
        } else {
          batch.push_back(generator.next(id));
        }
      }
      double t1 = wall_seconds();
      generate += t1 - t0;
      ours.apply(batch, {});
      double t2 = wall_seconds();
      ours_build += t2 - t1;
      if (!opt.xapian) continue;
      for (const auto& c : batch) writable.add_document(xapian_document(c));  // docid = chunk id + 1
      if ((first / kBatch) % 20 == 19) writable.commit();
      xapian_build += wall_seconds() - t2;
    }
    const double t = wall_seconds();
    writable.commit();
    writable.close();
    xapian_build += wall_seconds() - t;
  }
  const size_t rss_after = rss_bytes();
  Xapian::Database xapian(opt.xapian_dir);
  Xapian::Enquire enquire(xapian);
  // Same k1 and b; k2 = 0, k3 = 1 and min_normlen 0.5 are Xapian's defaults.
  enquire.set_weighting_scheme(Xapian::BM25Weight(1.2, 0, 1, 0.75, 0.5));

  using Search = std::function<std::vector<uint64_t>(const std::vector<std::string>&)>;
  std::vector<std::pair<std::string, Search>> systems = {
      {"kaito-rag block-max MaxScore",
       [&](const std::vector<std::string>& q) {
         std::vector<uint64_t> ids;
         for (const ScoredChunk& r : ours.search_max_score(q, opt.k)) ids.push_back(r.chunk_id);
         return ids;
       }},
      {"kaito-rag exhaustive",
       [&](const std::vector<std::string>& q) {
         std::vector<uint64_t> ids;
         for (const ScoredChunk& r : ours.search_exhaustive(q, opt.k)) ids.push_back(r.chunk_id);
         return ids;
       }},
      {"Xapian 1.4 BM25Weight", [&](const std::vector<std::string>& q) {
         std::vector<uint64_t> ids;
         enquire.set_query(Xapian::Query(Xapian::Query::OP_OR, q.begin(), q.end()));
         const Xapian::MSet mset = enquire.get_mset(0, static_cast<Xapian::doccount>(opt.k));
         for (auto it = mset.begin(); it != mset.end(); ++it) ids.push_back(*it - 1);
         return ids;
       }}};

  if (!opt.xapian) systems.pop_back();

  // Quality (and warm-up: the first pass loads Xapian's pages into the cache).
  std::vector<double> ndcg(systems.size(), 0.0);
  size_t mismatches = 0;
  for (size_t q = 0; q < queries.size(); ++q) {
    const auto exact = ours.search_max_score(queries[q], opt.k), reference = ours.search_exhaustive(queries[q], opt.k);
    bool same = exact.size() == reference.size();
    for (size_t i = 0; same && i < exact.size(); ++i) {
      same = exact[i].chunk_id == reference[i].chunk_id && exact[i].score == reference[i].score;
    }
    mismatches += !same;
    for (size_t s = 0; s < systems.size(); ++s) {
      std::vector<std::string> ranked;
      for (uint64_t id : systems[s].second(queries[q])) {
        if (id < beir.doc_ids.size()) ranked.push_back(beir.doc_ids[id]);
        else ranked.push_back("");  // a generated distractor
      }
      ndcg[s] += ndcg10(ranked, beir.relevant.at(beir.query_ids[q]));
    }
  }

  std::vector<Latencies> latencies(systems.size());
  for (int pass = 0; pass < opt.passes; ++pass) {
    for (const auto& q : queries) {
      for (size_t s = 0; s < systems.size(); ++s) {
        const double w0 = wall_seconds(), c0 = thread_cpu_seconds();
        const auto ids = systems[s].second(q);
        const double c1 = thread_cpu_seconds(), w1 = wall_seconds();
        latencies[s].wall.push_back((w1 - w0) * 1e3);
        latencies[s].cpu.push_back((c1 - c0) * 1e3);
        if (ids.size() > opt.k) std::abort();  // keeps the call from being optimized away
      }
    }
  }

  const auto stats = ours.stats();
  nlohmann::json out = {
      {"corpus", {{"beir", opt.beir}, {"chunks", stats.chunks}, {"real_passages", beir.texts.size()},
                  {"postings", stats.postings}, {"terms", stats.terms}, {"queries", queries.size()},
                  {"k", opt.k}, {"passes", opt.passes}}},
      {"build_seconds", {{"generate", generate}, {"ours", ours_build}, {"xapian", xapian_build}}},
      {"memory", {{"ours_index_bytes", ours.memory_bytes()}, {"process_rss_growth_bytes", rss_after - rss_before},
                  {"xapian_db_bytes_on_disk", dir_bytes(opt.xapian_dir)}}},
      {"pruned_vs_exhaustive_mismatched_queries", mismatches},
      {"systems", nlohmann::json::array()}};
  for (size_t s = 0; s < systems.size(); ++s) {
    const Latencies& l = latencies[s];
    out["systems"].push_back({{"name", systems[s].first},
                              {"ndcg@10", ndcg[s] / static_cast<double>(queries.size())},
                              {"wall_ms", {{"p50", l.percentile(l.wall, 0.5)}, {"p99", l.percentile(l.wall, 0.99)},
                                           {"mean", l.total(l.wall) / static_cast<double>(l.wall.size())}}},
                              {"cpu_ms", {{"p50", l.percentile(l.cpu, 0.5)}, {"p99", l.percentile(l.cpu, 0.99)},
                                          {"mean", l.total(l.cpu) / static_cast<double>(l.cpu.size())}}}});
  }
  std::printf("%s\n", out.dump(2).c_str());
  std::filesystem::remove_all(opt.xapian_dir);
  return mismatches == 0 ? 0 : 2;
}

}  // namespace

int main(int argc, char** argv) {
  Options opt;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    const auto value = [&]() -> std::string {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "%s needs a value\n", a.c_str());
        std::exit(1);
      }
      return argv[++i];
    };
    if (a == "--beir") {
      opt.beir = value();
    } else if (a == "--chunks") {
      opt.chunks = std::stoull(value());
    } else if (a == "--k") {
      opt.k = std::stoull(value());
    } else if (a == "--passes") {
      opt.passes = std::stoi(value());
    } else if (a == "--xapian-dir") {
      opt.xapian_dir = value();
    } else if (a == "--no-xapian") {
      opt.xapian = false;
    } else if (a == "--seed") {
      opt.seed = std::stoull(value());
    } else {
      std::fprintf(stderr,
                   "usage: %s [--beir DIR] [--chunks N] [--k 10] [--passes 3] [--xapian-dir DIR] [--no-xapian] [--seed 42]\n",
                   argv[0]);
      return a == "--help" ? 0 : 1;
    }
  }
  return run(opt);
}
