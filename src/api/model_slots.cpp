#include "api/model_slots.h"

#include <string>

namespace kr::api {
namespace {

// The slot the request running on this thread holds (one per request at most).
thread_local ModelSlots* t_held = nullptr;

}  // namespace

ModelSlots::ModelSlots(int max_concurrent, int max_waiting, std::chrono::milliseconds max_wait)
    : max_concurrent_(max_concurrent), max_waiting_(max_waiting), max_wait_(max_wait) {}

Status ModelSlots::acquire_for_request() {
  if (t_held) return Status::ok();
  std::unique_lock lock(mutex_);
  const auto stopping = [] {
    return error(ErrorCode::kUnavailable, "the server is shutting down; retry after 1 s (another replica answers)");
  };
  if (shutting_down_) return stopping();
  if (in_flight_ >= max_concurrent_) {
    const std::string busy = "the language model is busy: " + std::to_string(in_flight_) +
                             " answers are being generated (llm_max_concurrent)";
    if (waiting_ >= max_waiting_) {
      return error(ErrorCode::kUnavailable, busy + " and " + std::to_string(waiting_) +
                                                " requests wait (llm_max_waiting); retry after 1 s");
    }
    ++waiting_;
    const bool got =
        freed_.wait_for(lock, max_wait_, [this] { return shutting_down_ || in_flight_ < max_concurrent_; });
    --waiting_;
    if (shutting_down_) return stopping();
    if (!got) {
      return error(ErrorCode::kUnavailable, busy + "; waited " + std::to_string(max_wait_.count() / 1000) +
                                                " s for a slot; retry after 1 s");
    }
  }
  ++in_flight_;
  t_held = this;
  return Status::ok();
}

void ModelSlots::release_request_slot() {
  if (ModelSlots* slots = t_held) {
    t_held = nullptr;
    slots->release();
  }
}

void ModelSlots::release() {
  {
    std::lock_guard lock(mutex_);
    --in_flight_;
  }
  freed_.notify_one();
}

void ModelSlots::shutdown() {
  {
    std::lock_guard lock(mutex_);
    shutting_down_ = true;
  }
  freed_.notify_all();
}

int ModelSlots::in_flight() const {
  std::lock_guard lock(mutex_);
  return in_flight_;
}

}  // namespace kr::api
