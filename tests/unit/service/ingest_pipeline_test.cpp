// The ingest pipeline: group commit (K documents -> one embedding call and one transaction),
// acknowledgement only after commit (a child killed mid-ingest loses nothing acknowledged),
// the bounded queue, and an ingest racing a collection delete.
#include "service/ingest_pipeline.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <thread>

#include "../embed/fake_embedder.h"
#include "core/log.h"
#include "core/text.h"

namespace kr::service {
namespace {

namespace fs = std::filesystem;

std::string unique_dir() {
  static int counter = 0;
  const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
  return (fs::path(::testing::TempDir()) / ("kr_pipeline_" + std::string(info->name()) + "_" +
                                             std::to_string(::getpid()) + "_" + std::to_string(counter++)))
      .string();
}

IngestInput text_file(int n, const std::string& body_suffix = "") {
  IngestInput in;
  in.name = "doc" + std::to_string(n) + ".txt";
  in.bytes = "Document number " + std::to_string(n) + " talks about topic " + std::to_string(n * 7) +
             ".\n\nIts second paragraph mentions kettles and descaling." + body_suffix + "\n";
  return in;
}

std::vector<IngestInput> text_files(int first, int count) {
  std::vector<IngestInput> out;
  for (int i = first; i < first + count; ++i) out.push_back(text_file(i));
  return out;
}

// A data directory with a registry and a pipeline over a fake embedder (no kaito-rag binary:
// parsing runs inline).
struct Harness {
  explicit Harness(const std::string& dir, IngestPipelineOptions options = {},
                   std::shared_ptr<testing::FakeEmbedder> fake = std::make_shared<testing::FakeEmbedder>())
      : data_dir(dir), registry(data_dir, {}), parser(ParseRunnerOptions{}), embedder(std::move(fake)) {
    Status opened = data_dir.open(store::DataDirectory::Access::kReadWrite);
    if (opened) opened = registry.open_all();
    EXPECT_TRUE(opened.is_ok()) << opened.to_string();
    pipeline = std::make_unique<IngestPipeline>(registry, parser, embedder, counters, options);
  }
  store::DataDirectory data_dir;
  CollectionRegistry registry;
  ParseRunner parser;
  std::shared_ptr<testing::FakeEmbedder> embedder;
  EngineCounters counters;
  std::unique_ptr<IngestPipeline> pipeline;
};

class IngestPipelineTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { log::configure("error", false); }
  void SetUp() override { dir_ = unique_dir(); }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
  std::string dir_;
};

TEST_F(IngestPipelineTest, KDocumentsShareOneEmbeddingCallAndOneTransaction) {
  IngestPipelineOptions options;
  options.batch_documents = 10;
  Harness h(dir_, options);
  auto results = h.pipeline->ingest("docs", text_files(0, 25));
  ASSERT_TRUE(results.is_ok()) << results.status().to_string();
  ASSERT_EQ(results->size(), 25u);
  for (size_t i = 0; i < results->size(); ++i) {
    ASSERT_TRUE((*results)[i].is_ok()) << (*results)[i].status().to_string();
    EXPECT_EQ((*results)[i]->outcome, IngestOutcome::kAdded) << i;
    EXPECT_EQ((*results)[i]->name, "doc" + std::to_string(i) + ".txt");  // answers stay in input order
  }
  // 25 documents with K = 10: batches of 10, 10 and 5.
  EXPECT_EQ(h.embedder->calls(), 3);
  EXPECT_EQ(h.counters.ingest_batches.load(), 3u);
  auto collection = h.registry.find("docs");
  ASSERT_TRUE(collection.is_ok());
  EXPECT_EQ((*collection)->store().write_transactions(), 3u);
  auto info = (*collection)->info();
  ASSERT_TRUE(info.is_ok());
  EXPECT_EQ(info->documents, 25);
  EXPECT_EQ(info->vectors, info->chunks);
  EXPECT_EQ(info->embedding_model, "fake-4d");
  std::lock_guard lock((*collection)->write_mutex());
  EXPECT_TRUE((*collection)->check().is_ok()) << (*collection)->check().to_string();
}

TEST_F(IngestPipelineTest, ChunkBudgetCutsBatches) {
  IngestPipelineOptions options;
  options.batch_documents = 100;
  options.batch_chunks = 3;  // every document here has one chunk
  Harness h(dir_, options);
  auto results = h.pipeline->ingest("docs", text_files(0, 7));
  ASSERT_TRUE(results.is_ok());
  EXPECT_EQ(h.embedder->calls(), 3);  // 3 + 3 + 1
  EXPECT_EQ(h.counters.ingest_batches.load(), 3u);
}

TEST_F(IngestPipelineTest, OutcomesInsideOneBatchFollowInputOrder) {
  Harness h(dir_);
  std::vector<IngestInput> inputs;
  inputs.push_back(text_file(1));
  IngestInput same_bytes = text_file(1);
  same_bytes.name = "copy.txt";  // another source, same content: a duplicate of the first
  inputs.push_back(same_bytes);
  IngestInput replacement = text_file(2);
  replacement.name = "doc1.txt";  // same source as the first, new content: replaces it
  inputs.push_back(replacement);
  IngestInput broken;
  broken.name = "empty.txt";
  inputs.push_back(broken);  // empty file: a per-file failure, the others still commit
  auto results = h.pipeline->ingest("docs", std::move(inputs));
  ASSERT_TRUE(results.is_ok());
  ASSERT_TRUE((*results)[0].is_ok() && (*results)[1].is_ok() && (*results)[2].is_ok() && (*results)[3].is_ok());
  EXPECT_EQ((*results)[0]->outcome, IngestOutcome::kAdded);
  EXPECT_EQ((*results)[1]->outcome, IngestOutcome::kDuplicate);
  EXPECT_EQ((*results)[1]->duplicate_of, (*results)[0]->doc_id);
  EXPECT_EQ((*results)[2]->outcome, IngestOutcome::kUpdated);
  EXPECT_EQ((*results)[2]->doc_id, (*results)[0]->doc_id);
  EXPECT_EQ((*results)[3]->outcome, IngestOutcome::kFailed);
  EXPECT_EQ(h.counters.ingest_batches.load(), 1u);
  auto collection = h.registry.find("docs");
  ASSERT_TRUE(collection.is_ok());
  auto info = (*collection)->info();
  EXPECT_EQ(info->documents, 1);
  std::lock_guard lock((*collection)->write_mutex());
  EXPECT_TRUE((*collection)->check().is_ok()) << (*collection)->check().to_string();
  // Unchanged on a second ingest, decided before parsing.
  auto again = h.pipeline->ingest("docs", {replacement});
  ASSERT_TRUE(again.is_ok() && (*again)[0].is_ok());
  EXPECT_EQ((*again)[0]->outcome, IngestOutcome::kUnchanged);
}

TEST_F(IngestPipelineTest, ConcurrentRequestsAreCommittedTogether) {
  IngestPipelineOptions options;
  options.batch_documents = 64;
  Harness h(dir_, options);
  ASSERT_TRUE(h.pipeline->ingest("docs", {text_file(1000)}).is_ok());  // creates the collection
  h.embedder->hold();
  std::thread first([&] { EXPECT_TRUE(h.pipeline->ingest("docs", text_files(0, 3)).is_ok()); });
  h.embedder->wait_for_calls(2);  // the first request's batch is inside embed()
  std::vector<std::thread> others;
  for (int r = 0; r < 4; ++r) {
    others.emplace_back([&, r] {
      auto results = h.pipeline->ingest("docs", text_files(100 + 10 * r, 5));
      ASSERT_TRUE(results.is_ok());
      for (const auto& result : *results) EXPECT_EQ(result->outcome, IngestOutcome::kAdded);
    });
  }
  while (h.pipeline->queued() < 20) std::this_thread::sleep_for(std::chrono::milliseconds(2));
  h.embedder->release();
  first.join();
  for (auto& t : others) t.join();
  // The 20 documents queued behind the running batch went into ONE further batch.
  EXPECT_EQ(h.embedder->calls(), 3);
  EXPECT_EQ(h.counters.files_added.load(), 24u);
}

TEST_F(IngestPipelineTest, FullQueueIsUnavailable) {
  IngestPipelineOptions options;
  options.queue_documents = 5;
  Harness h(dir_, options);
  h.embedder->hold();
  std::thread busy([&] { EXPECT_TRUE(h.pipeline->ingest("docs", text_files(0, 4)).is_ok()); });
  h.embedder->wait_for_calls(1);
  auto refused = h.pipeline->ingest("docs", text_files(10, 2));
  ASSERT_FALSE(refused.is_ok());
  EXPECT_EQ(refused.status().code(), ErrorCode::kUnavailable);  // HTTP 503 + Retry-After
  EXPECT_NE(refused.status().message().find("ingest_queue_documents"), std::string::npos);
  h.embedder->release();
  busy.join();
  EXPECT_EQ(h.pipeline->in_flight(), 0u);
  // Room again: the same request is accepted.
  auto accepted = h.pipeline->ingest("docs", text_files(10, 2));
  ASSERT_TRUE(accepted.is_ok());
  EXPECT_EQ((*accepted)[1]->outcome, IngestOutcome::kAdded);
}

TEST_F(IngestPipelineTest, IngestRacingACollectionDeleteNeverAnswersAdded) {
  Harness h(dir_);
  ASSERT_TRUE(h.pipeline->ingest("docs", {text_file(1)}).is_ok());
  h.embedder->hold();
  Result<std::vector<Result<IngestResult>>> raced = std::vector<Result<IngestResult>>{};
  std::thread ingest([&] { raced = h.pipeline->ingest("docs", text_files(10, 3)); });
  h.embedder->wait_for_calls(2);  // parsed, embedding: not committed yet
  ASSERT_TRUE(h.registry.remove("docs").is_ok());
  h.embedder->release();
  ingest.join();
  ASSERT_TRUE(raced.is_ok());
  for (const auto& result : *raced) {
    ASSERT_FALSE(result.is_ok()) << "answered " << ingest_outcome_name(result->outcome);
    EXPECT_EQ(result.status().code(), ErrorCode::kNotFound);
    EXPECT_NE(result.status().message().find("deleted"), std::string::npos);
  }
  EXPECT_EQ(h.registry.find("docs").status().code(), ErrorCode::kNotFound);
  EXPECT_FALSE(fs::exists(h.data_dir.collection_dir("docs")));
}

// A child process ingests batch after batch and reports every acknowledged document through a
// pipe; the parent kills it with SIGKILL in the middle, reopens the directory and finds every
// acknowledged document, with store and indexes in agreement.
TEST_F(IngestPipelineTest, KillMidBatchLosesNothingAcknowledged) {
  int acks[2];
  ASSERT_EQ(::pipe(acks), 0);
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    ::close(acks[0]);
    IngestPipelineOptions options;
    options.batch_documents = 8;
    auto fake = std::make_shared<testing::FakeEmbedder>();
    fake->set_delay(std::chrono::milliseconds(15));  // most of the time is spent inside a batch
    Harness h(dir_, options, fake);
    for (int request = 0; request < 1000; ++request) {
      auto results = h.pipeline->ingest("docs", text_files(request * 8, 8));
      if (!results) ::_exit(3);
      for (const auto& result : *results) {
        if (!result || result->outcome != IngestOutcome::kAdded) ::_exit(4);
        const std::string line = result->doc_id + "\n";
        if (::write(acks[1], line.data(), line.size()) != static_cast<ssize_t>(line.size())) ::_exit(5);
      }
    }
    ::_exit(0);
  }
  ::close(acks[1]);
  std::set<std::string> acknowledged;
  std::string buffer;
  char chunk[4096];
  while (acknowledged.size() < 60) {
    const ssize_t n = ::read(acks[0], chunk, sizeof chunk);
    ASSERT_GT(n, 0) << "the child stopped early";
    buffer.append(chunk, static_cast<size_t>(n));
    for (size_t end; (end = buffer.find('\n')) != std::string::npos; buffer.erase(0, end + 1)) {
      acknowledged.insert(buffer.substr(0, end));
    }
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(7));  // land inside a batch
  ::kill(child, SIGKILL);
  int status = 0;
  ::waitpid(child, &status, 0);
  EXPECT_TRUE(WIFSIGNALED(status));
  // Acknowledgements written before the kill and still in the pipe count too.
  while (true) {
    const ssize_t n = ::read(acks[0], chunk, sizeof chunk);
    if (n <= 0) break;
    buffer.append(chunk, static_cast<size_t>(n));
  }
  for (size_t end; (end = buffer.find('\n')) != std::string::npos; buffer.erase(0, end + 1)) {
    acknowledged.insert(buffer.substr(0, end));
  }
  ::close(acks[0]);

  Harness reopened(dir_);
  auto collection = reopened.registry.find("docs");
  ASSERT_TRUE(collection.is_ok()) << collection.status().to_string();
  for (const auto& doc_id : acknowledged) {
    EXPECT_TRUE((*collection)->document_key(doc_id).has_value()) << doc_id << " was acknowledged but is gone";
  }
  auto info = (*collection)->info();
  EXPECT_GE(info->documents, static_cast<int64_t>(acknowledged.size()));
  EXPECT_EQ(info->documents % 8, 0) << "a batch was half committed";
  std::lock_guard lock((*collection)->write_mutex());
  EXPECT_TRUE((*collection)->check().is_ok()) << (*collection)->check().to_string();
}

TEST_F(IngestPipelineTest, EmbeddingFailureFailsTheBatchAndStoresNothing) {
  Harness h(dir_);
  ASSERT_TRUE(h.pipeline->ingest("docs", {text_file(1)}).is_ok());
  h.embedder->set_fail(true);
  auto results = h.pipeline->ingest("docs", text_files(10, 3));
  ASSERT_TRUE(results.is_ok());
  for (const auto& result : *results) {
    ASSERT_TRUE(result.is_ok());
    EXPECT_EQ(result->outcome, IngestOutcome::kFailed);
    EXPECT_NE(result->error.message().find("fake embedder down"), std::string::npos);
  }
  EXPECT_EQ((*h.registry.find("docs"))->info()->documents, 1);
}

// A file input is hashed as a stream (CLI: nothing known) or trusted for the size and hash its
// caller measured while writing it (an upload): either way no whole-file read before the parse.
TEST_F(IngestPipelineTest, FileInputsAreHashedFromDiskOrFromTheCallersMeasurement) {
  Harness h(dir_);
  fs::create_directories(dir_ + "/in");
  const std::string path = dir_ + "/in/notes.txt";
  const std::string bytes = "Notes on kettles.\n\nDescale them monthly with citric acid.\n";
  std::ofstream(path, std::ios::binary) << bytes;

  IngestInput from_cli;
  from_cli.path = path;
  auto first = h.pipeline->ingest("docs", [&] { std::vector<IngestInput> v; v.push_back(from_cli); return v; }());
  ASSERT_TRUE(first.is_ok() && (*first)[0].is_ok());
  ASSERT_EQ((*first)[0]->outcome, IngestOutcome::kAdded) << (*first)[0]->error.to_string();
  auto stored = (*h.registry.find("docs"))->store().find_by_doc_id((*first)[0]->doc_id);
  ASSERT_TRUE(stored.is_ok() && stored->has_value());
  EXPECT_EQ((*stored)->content_hash, sha256_hex(bytes));
  EXPECT_EQ((*stored)->size_bytes, static_cast<int64_t>(bytes.size()));
  EXPECT_EQ((*stored)->name, "notes.txt");

  // Same source with the measured size and hash: unchanged, decided without opening the file.
  fs::remove(path);
  IngestInput measured = from_cli;
  measured.file_size = static_cast<int64_t>(bytes.size());
  measured.file_sha256 = sha256_hex(bytes);
  auto again = h.pipeline->ingest("docs", [&] { std::vector<IngestInput> v; v.push_back(measured); return v; }());
  ASSERT_TRUE(again.is_ok() && (*again)[0].is_ok());
  EXPECT_EQ((*again)[0]->outcome, IngestOutcome::kUnchanged);

  // A measured size over the limit is refused before any read.
  IngestPipelineOptions small;
  small.max_file_bytes = 8;
  Harness limited(dir_ + "/limited", small);
  auto refused = limited.pipeline->ingest("docs", [&] { std::vector<IngestInput> v; v.push_back(measured); return v; }());
  ASSERT_TRUE(refused.is_ok() && (*refused)[0].is_ok());
  EXPECT_EQ((*refused)[0]->outcome, IngestOutcome::kFailed);
  EXPECT_EQ((*refused)[0]->error.code(), ErrorCode::kTooLarge);
}

}  // namespace
}  // namespace kr::service
