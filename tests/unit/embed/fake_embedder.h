// A deterministic in-process Embedder for pipeline tests: counts calls, can be held inside
// embed() until released (to line up races), or made slow.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <thread>

#include "core/text.h"
#include "embed/embedder.h"

namespace kr::testing {

class FakeEmbedder final : public embed::Embedder {
 public:
  explicit FakeEmbedder(std::string model = "fake-4d") { info_ = {std::move(model), 4, 0}; }
  const embed::EmbedderInfo& info() const override { return info_; }

  Result<embed::Embeddings> embed(std::span<const std::string> texts, embed::InputKind kind) override {
    {
      std::unique_lock lock(mutex_);
      ++calls_;
      texts_ += texts.size();
      if (on_call_) on_call_(texts, kind);
      entered_.notify_all();
      released_.wait(lock, [&] { return !hold_; });
    }
    if (delay_.count() > 0) std::this_thread::sleep_for(delay_);
    if (fail_) return error(ErrorCode::kUnavailable, "fake embedder down");
    embed::Embeddings out;
    out.dimension = 4;
    for (const auto& text : texts) {
      const std::string digest = sha256_hex(text);
      float v[4];
      for (int i = 0; i < 4; ++i) v[i] = 1.0f + static_cast<float>(static_cast<unsigned char>(digest[i])) / 64.0f;
      embed::normalize_l2(v);
      out.values.insert(out.values.end(), v, v + 4);
    }
    return out;
  }

  // While held, embed() blocks after counting the call.
  void hold() {
    std::lock_guard lock(mutex_);
    hold_ = true;
  }
  void release() {
    {
      std::lock_guard lock(mutex_);
      hold_ = false;
    }
    released_.notify_all();
  }
  // Waits until embed() has been entered `count` times in total.
  void wait_for_calls(int count) {
    std::unique_lock lock(mutex_);
    entered_.wait(lock, [&] { return calls_ >= count; });
  }
  void set_delay(std::chrono::milliseconds delay) { delay_ = delay; }
  void set_fail(bool fail) { fail_ = fail; }
  // Called under the fake's lock at the start of each call.
  void on_call(std::function<void(std::span<const std::string>, embed::InputKind)> hook) { on_call_ = std::move(hook); }
  int calls() const {
    std::lock_guard lock(mutex_);
    return calls_;
  }
  size_t texts() const {
    std::lock_guard lock(mutex_);
    return texts_;
  }

 private:
  embed::EmbedderInfo info_;
  mutable std::mutex mutex_;
  std::condition_variable entered_, released_;
  bool hold_ = false;
  int calls_ = 0;
  size_t texts_ = 0;
  std::chrono::milliseconds delay_{0};
  std::atomic<bool> fail_{false};
  std::function<void(std::span<const std::string>, embed::InputKind)> on_call_;
};

}  // namespace kr::testing
