// The encoder executor: results in order across slices, a fixed worker budget, query
// embeddings ahead of bulk slices, errors reported once.
#include "embed/encoder_executor.h"

#include <gtest/gtest.h>

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "fake_embedder.h"

namespace kr::embed {
namespace {

std::vector<std::string> numbered(const std::string& prefix, int count) {
  std::vector<std::string> out;
  for (int i = 0; i < count; ++i) out.push_back(prefix + std::to_string(i));
  return out;
}

TEST(EncoderExecutor, SlicesComeBackInOrder) {
  auto fake = std::make_shared<testing::FakeEmbedder>();
  EncoderExecutorOptions options;
  options.threads = 3;
  options.slice_texts = 4;
  EncoderExecutor executor(fake, options);
  const auto texts = numbered("passage ", 37);
  auto together = executor.embed(texts, InputKind::kPassage);
  ASSERT_TRUE(together.is_ok());
  ASSERT_EQ(together->rows(), 37u);
  EXPECT_EQ(fake->calls(), 10);  // ceil(37 / 4) slices
  // Row i is text i's vector, whichever worker ran its slice.
  testing::FakeEmbedder reference;
  auto expected = reference.embed(texts, InputKind::kPassage);
  EXPECT_EQ(together->values, expected->values);
  EXPECT_EQ(executor.threads(), 3);
}

TEST(EncoderExecutor, SliceCharacterBudget) {
  auto fake = std::make_shared<testing::FakeEmbedder>();
  EncoderExecutorOptions options;
  options.threads = 1;
  options.slice_texts = 100;
  options.slice_chars = 250;
  EncoderExecutor executor(fake, options);
  const std::vector<std::string> texts(6, std::string(100, 'x'));  // two per slice
  ASSERT_TRUE(executor.embed(texts, InputKind::kPassage).is_ok());
  EXPECT_EQ(fake->calls(), 3);
  const std::vector<std::string> huge(1, std::string(1000, 'y'));  // a slice always takes one text
  ASSERT_TRUE(executor.embed(huge, InputKind::kPassage).is_ok());
  EXPECT_EQ(fake->calls(), 4);
}

TEST(EncoderExecutor, QueriesJumpAheadOfBulkSlices) {
  auto fake = std::make_shared<testing::FakeEmbedder>();
  std::mutex order_mutex;
  std::vector<std::string> order;  // first text of each call, in call order
  fake->on_call([&](std::span<const std::string> texts, InputKind) {
    std::lock_guard lock(order_mutex);
    order.push_back(texts.front());
  });
  fake->set_delay(std::chrono::milliseconds(5));
  EncoderExecutorOptions options;
  options.threads = 1;  // one worker: the order of calls is the order of the queue
  options.slice_texts = 1;
  EncoderExecutor executor(fake, options);
  fake->hold();
  const auto bulk_texts = numbered("bulk ", 40);
  std::thread bulk([&] { ASSERT_TRUE(executor.embed(bulk_texts, InputKind::kPassage).is_ok()); });
  fake->wait_for_calls(1);  // the worker is inside the first bulk slice; 39 wait
  const std::vector<std::string> query = {"the question"};
  std::thread asker([&] {
    auto vector = executor.embed(query, InputKind::kQuery);
    ASSERT_TRUE(vector.is_ok());
    EXPECT_EQ(vector->rows(), 1u);
  });
  while (executor.slices_run(EmbedPriority::kBulk) < 1) std::this_thread::yield();
  std::this_thread::sleep_for(std::chrono::milliseconds(20));  // the query is queued by now
  fake->release();
  asker.join();
  bulk.join();
  ASSERT_EQ(order.size(), 41u);
  // The query ran right after the slice that was running when it arrived.
  EXPECT_EQ(order[1], "the question");
  EXPECT_EQ(executor.slices_run(EmbedPriority::kInteractive), 1u);
  EXPECT_EQ(executor.slices_run(EmbedPriority::kBulk), 40u);
}

// Blocks passage (bulk) calls until released; queries pass.
class BlockingPassages final : public Embedder {
 public:
  const EmbedderInfo& info() const override { return info_; }
  Result<Embeddings> embed(std::span<const std::string> texts, InputKind kind) override {
    if (kind == InputKind::kPassage) {
      std::unique_lock lock(mutex_);
      ++inside_;
      changed_.notify_all();
      changed_.wait(lock, [&] { return released_; });
    }
    Embeddings out;
    out.dimension = 2;
    out.values.assign(texts.size() * 2, 0.5f);
    return out;
  }
  void wait_inside(int n) {
    std::unique_lock lock(mutex_);
    changed_.wait(lock, [&] { return inside_ >= n; });
  }
  void release() {
    std::lock_guard lock(mutex_);
    released_ = true;
    changed_.notify_all();
  }

 private:
  EmbedderInfo info_{.model_id = "blocking", .dimension = 2};
  std::mutex mutex_;
  std::condition_variable changed_;
  int inside_ = 0;
  bool released_ = false;
};

TEST(EncoderExecutor, InteractiveLaneAnswersAQueryWhileEveryWorkerIsInABulkSlice) {
  auto inner = std::make_shared<BlockingPassages>();
  EncoderExecutor executor(inner, {.threads = 2, .slice_texts = 1, .slice_chars = 1 << 20, .interactive_lane = true});
  EXPECT_EQ(executor.threads(), 2);
  const auto bulk_texts = numbered("bulk ", 6);
  std::thread bulk([&] { ASSERT_TRUE(executor.embed(bulk_texts, InputKind::kPassage).is_ok()); });
  inner->wait_inside(2);  // both bulk workers are stuck in a slice
  const std::vector<std::string> query = {"the question"};
  auto vector = executor.embed(query, InputKind::kQuery);  // would wait forever without the lane
  ASSERT_TRUE(vector.is_ok());
  EXPECT_EQ(vector->rows(), 1u);
  EXPECT_EQ(executor.slices_run(EmbedPriority::kInteractive), 1u);
  inner->release();
  bulk.join();
  EXPECT_EQ(executor.slices_run(EmbedPriority::kBulk), 6u);
}

TEST(EncoderExecutor, ManyQueriesAreBulk) {
  auto fake = std::make_shared<testing::FakeEmbedder>();
  EncoderExecutor executor(fake, {.threads = 1, .slice_texts = 64, .slice_chars = 1 << 20});
  ASSERT_TRUE(executor.embed(numbered("q", EncoderExecutor::kInteractiveTexts + 1), InputKind::kQuery).is_ok());
  EXPECT_EQ(executor.slices_run(EmbedPriority::kBulk), 1u);
  ASSERT_TRUE(executor.embed(numbered("q", 1), InputKind::kQuery).is_ok());
  EXPECT_EQ(executor.slices_run(EmbedPriority::kInteractive), 1u);
}

TEST(EncoderExecutor, AFailedSliceFailsTheCall) {
  auto fake = std::make_shared<testing::FakeEmbedder>();
  EncoderExecutor executor(fake, {.threads = 2, .slice_texts = 2, .slice_chars = 1 << 20});
  fake->set_fail(true);
  auto failed = executor.embed(numbered("p", 9), InputKind::kPassage);
  ASSERT_FALSE(failed.is_ok());
  EXPECT_EQ(failed.status().code(), ErrorCode::kUnavailable);
  fake->set_fail(false);
  EXPECT_TRUE(executor.embed(numbered("p", 9), InputKind::kPassage).is_ok());  // the executor keeps working
}

TEST(EncoderExecutor, ConcurrentCallersShareTheWorkers) {
  auto fake = std::make_shared<testing::FakeEmbedder>();
  EncoderExecutor executor(fake, {.threads = 2, .slice_texts = 3, .slice_chars = 1 << 20});
  std::atomic<int> ok{0};
  std::vector<std::thread> callers;
  for (int c = 0; c < 8; ++c) {
    callers.emplace_back([&, c] {
      const auto texts = numbered("caller " + std::to_string(c) + " text ", 10);
      auto got = executor.embed(texts, InputKind::kPassage);
      testing::FakeEmbedder reference;
      if (got.is_ok() && got->values == reference.embed(texts, InputKind::kPassage)->values) ok++;
    });
  }
  for (auto& t : callers) t.join();
  EXPECT_EQ(ok.load(), 8);
}

}  // namespace
}  // namespace kr::embed
