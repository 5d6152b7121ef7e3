// Start-up time of a large collection: N synthetic chunks with 384-dimensional vectors are
// written through the store, then the collection is opened (a) rebuilding every index from
// the store, as after a crash, and (b) loading the vector snapshot saved at shutdown.
//   kr_startup_bench DIR [CHUNKS=100000] [DIMENSION=384]
// Or only writes a collection into a server's data directory (bench/startup_100k.py):
//   kr_startup_bench --build DATA_DIR NAME CHUNKS CORPUS.jsonl MODEL_ID [DIMENSION=384]
// Prints one JSON line. The collection's directory is created and must not exist.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>
#include <string>
#include <thread>

#include "core/log.h"
#include "service/collection.h"

using namespace kr;

namespace {

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

int fail(const Status& status) {
  std::fprintf(stderr, "kr_startup_bench: %s\n", status.to_string().c_str());
  return 1;
}

// Chunk texts: real passages of a JSONL corpus ({"text": ...} per line) first, then generated
// ones: a passage's sentences in a shuffled order plus one sentence of another passage and a
// unique token, so term statistics stay those of the corpus. Without a corpus: random words.
class TextSource {
 public:
  explicit TextSource(const std::string& corpus_path) {
    std::ifstream in(corpus_path);
    for (std::string line; std::getline(in, line);) {
      const auto doc = nlohmann::json::parse(line, nullptr, false);
      if (!doc.is_object() || !doc.contains("text") || !doc["text"].is_string()) continue;
      const std::string text = doc["text"].get<std::string>();
      std::vector<std::string> sentences;
      for (size_t begin = 0; begin < text.size();) {
        size_t end = text.find(". ", begin);
        end = end == std::string::npos ? text.size() : end + 1;
        sentences.push_back(text.substr(begin, end - begin));
        begin = end + 1;
      }
      passages_.push_back(text);
      sentences_.push_back(std::move(sentences));
    }
  }
  std::string text(int i, std::mt19937& random) const {
    if (passages_.empty()) {
      static const char* words[] = {"patients", "treatment", "cohort", "risk", "outcome", "trial", "dose",
                                    "clinical", "association", "mortality", "therapy", "randomized",
                                    "significant", "baseline"};
      std::string out;
      for (int w = 0; w < 60; ++w) out += std::string(words[random() % 14]) + " ";
      return out + std::to_string(i);
    }
    const size_t n = passages_.size();
    if (static_cast<size_t>(i) < n) return passages_[static_cast<size_t>(i)];
    std::vector<std::string> sentences = sentences_[static_cast<size_t>(i) % n];
    std::shuffle(sentences.begin(), sentences.end(), random);
    const auto& other = sentences_[random() % n];
    if (!other.empty()) sentences.push_back(other[random() % other.size()]);
    std::string out;
    for (const auto& sentence : sentences) out += sentence + " ";
    return out + "gen" + std::to_string(i);
  }
  size_t real_passages() const { return passages_.size(); }

 private:
  std::vector<std::string> passages_;
  std::vector<std::vector<std::string>> sentences_;
};

// Writes `chunks` chunks (4 per document) with random unit vectors of `space` through the store.
Status write_collection(const std::string& name, const std::string& dir, int chunks,
                        const service::EmbeddingSpace& space, const TextSource& texts) {
  auto collection = service::Collection::create(name, dir, service::CollectionSettings{});
  if (!collection) return collection.status();
  service::Collection& c = **collection;
  KR_RETURN_IF_ERROR(c.adopt_embedding_space(space));
  std::mt19937 random(7);
  std::normal_distribution<float> normal;
  std::vector<store::PutRequest> batch;
  for (int i = 0; i < chunks; i += 4) {
    store::PutRequest request;
    request.document.doc_id = "doc" + std::to_string(i / 4);
    request.document.name = request.document.doc_id + ".txt";
    request.document.source = request.document.name;
    request.document.content_hash = std::to_string(i);
    request.document.format = "text";
    std::vector<chunk::Chunk> pieces;
    for (int k = 0; k < 4 && i + k < chunks; ++k) {
      chunk::Chunk piece;
      piece.ordinal = k;
      piece.text = texts.text(i + k, random);
      pieces.push_back(std::move(piece));
    }
    request.chunks = c.to_store_chunks(pieces);
    for (auto& record : request.chunks) {
      record.vector.resize(static_cast<size_t>(space.dimension));
      for (float& x : record.vector) x = normal(random);
      index::l2_normalize(record.vector);
    }
    batch.push_back(std::move(request));
    if (batch.size() == 256 || i + 4 >= chunks) {
      auto stored = c.store().put_documents(std::move(batch));
      if (!stored) return stored.status();
      batch.clear();
    }
  }
  return Status::ok();
}

}  // namespace

int main(int argc, char** argv) {
  if (argc >= 2 && std::string(argv[1]) == "--build") {
    // Only write a collection for a server to open (bench/startup_100k.py).
    if (argc < 7) {
      std::fprintf(stderr, "usage: kr_startup_bench --build DATA_DIR NAME CHUNKS CORPUS.jsonl MODEL_ID [DIMENSION]\n");
      return 2;
    }
    log::configure("warn", false);
    const std::string dir = std::string(argv[2]) + "/collections/" + argv[3];
    if (std::filesystem::exists(dir)) return fail(error(ErrorCode::kAlreadyExists, dir + " exists"));
    std::filesystem::create_directories(dir);
    const TextSource texts(argv[5]);
    const int dimension = argc > 7 ? std::stoi(argv[7]) : 384;
    const auto started = std::chrono::steady_clock::now();
    if (Status s = write_collection(argv[3], dir, std::stoi(argv[4]), {argv[6], dimension}, texts); !s) return fail(s);
    std::printf("{\"chunks\": %d, \"real_passages\": %zu, \"write_s\": %.2f}\n", std::stoi(argv[4]),
                texts.real_passages(), seconds_since(started));
    return 0;
  }
  if (argc < 2) {
    std::fprintf(stderr, "usage: kr_startup_bench DIR [CHUNKS] [DIMENSION]\n");
    return 2;
  }
  const std::string dir = argv[1];
  const int chunks = argc > 2 ? std::stoi(argv[2]) : 100000;
  const int dimension = argc > 3 ? std::stoi(argv[3]) : 384;
  log::configure("warn", false);
  if (std::filesystem::exists(dir)) return fail(error(ErrorCode::kAlreadyExists, dir + " exists"));
  std::filesystem::create_directories(dir);

  // Documents of 4 chunks of ~60 words each, like pubmedqa passages cut in pieces, written
  // straight into the store (the in-memory indexes are built by the opens measured below).
  const auto write_started = std::chrono::steady_clock::now();
  if (Status s = write_collection("bench", dir, chunks, {"synthetic-384", dimension}, TextSource("")); !s) {
    return fail(s);
  }
  const double write_seconds = seconds_since(write_started);

  // (a) No snapshot: BM25 from the stored term frequencies, the vector index (an HNSW graph
  // above vector_exact_threshold) from the stored vectors.
  auto started = std::chrono::steady_clock::now();
  auto cold = service::Collection::open("bench", dir);
  if (!cold) return fail(cold.status());
  const double rebuild_seconds = seconds_since(started);  // searchable (exact scan) from here
  // Above the threshold the graph is built in the background while searches scan.
  // Collection::open uses the default vector_exact_threshold (20,000).
  while (chunks >= 20000 && (*cold)->info()->vector_index != "hnsw") {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  const double graph_ready_seconds = seconds_since(started);
  {
    std::lock_guard lock((*cold)->write_mutex());
    if (Status s = (*cold)->save_snapshot(); !s) return fail(s);
  }
  const std::string mode = (*cold)->info()->vector_index;
  cold.value().reset();

  // (b) With the snapshot of an unchanged store.
  started = std::chrono::steady_clock::now();
  auto warm = service::Collection::open("bench", dir);
  if (!warm) return fail(warm.status());
  const double snapshot_seconds = seconds_since(started);
  {
    std::lock_guard lock((*warm)->write_mutex());
    if (Status s = (*warm)->check(); !s) return fail(s);
  }
  std::printf(
      "{\"chunks\": %d, \"dimension\": %d, \"vector_index\": \"%s\", \"write_s\": %.2f, "
      "\"open_rebuild_s\": %.2f, \"graph_ready_s\": %.2f, \"open_snapshot_s\": %.2f}\n",
      chunks, dimension, mode.c_str(), write_seconds, rebuild_seconds, graph_ready_seconds, snapshot_seconds);
  return 0;
}
