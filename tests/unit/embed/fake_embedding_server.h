// An in-process embedding server for RemoteEmbedder tests: OpenAI-style POST {prefix}/v1/embeddings
// and TEI-style POST {tei_path}, with scripted replies. Listens on 127.0.0.1 on a free port.
#pragma once

#include <httplib.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

namespace kr::embed::testing {

// A deterministic, text-dependent vector (not normalized).
inline std::vector<float> fake_vector(const std::string& text, int dimension) {
  uint64_t h = 1469598103934665603ull;
  for (unsigned char c : text) h = (h ^ c) * 1099511628211ull;
  std::vector<float> v(static_cast<size_t>(dimension));
  for (float& x : v) {
    h = h * 6364136223846793005ull + 1442695040888963407ull;
    x = static_cast<float>((h >> 33) % 2001) / 1000.0f - 1.0f;
  }
  return v;
}

class FakeEmbeddingServer {
 public:
  struct Reply {
    int status = 500;
    std::string body;
    std::string retry_after;  // header value when set
  };

  // What the server does; edit under edit() once requests may be in flight.
  struct Script {
    int dimension = 8;
    std::string model = "bge-small-en-v1.5";  // reported by the OpenAI route
    std::deque<Reply> replies;                // answered first, one per request
    std::string required_key;                 // when set, other bearer tokens get 401
    bool reverse_order = false;               // OpenAI: list the data last to first (with right indices)
    int max_batch = 0;                        // > 0: larger batches get TEI's 413
    int slow_ms = 0;                          // delay before answering
    bool tei_object = false;                  // TEI: answer {"embeddings": [...]}
  };

  explicit FakeEmbeddingServer(std::string prefix = "", std::string tei_path = "/embed")
      : prefix_(std::move(prefix)), tei_path_(std::move(tei_path)) {
    svr_.Post(regex_escape(prefix_) + "/v1/embeddings",
              [this](const httplib::Request& req, httplib::Response& res) { handle(req, res, false); });
    svr_.Post(regex_escape(tei_path_),
              [this](const httplib::Request& req, httplib::Response& res) { handle(req, res, true); });
    port_ = svr_.bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { svr_.listen_after_bind(); });
    for (int i = 0; i < 500 && !svr_.is_running(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }

  ~FakeEmbeddingServer() {
    {
      std::lock_guard lock(mu_);
      released_ = true;
    }
    cv_.notify_all();
    svr_.stop();
    thread_.join();
  }

  FakeEmbeddingServer(const FakeEmbeddingServer&) = delete;
  FakeEmbeddingServer& operator=(const FakeEmbeddingServer&) = delete;

  std::string origin() const { return "http://127.0.0.1:" + std::to_string(port_); }
  std::string url() const { return origin() + prefix_; }          // OpenAI base URL
  std::string tei_url() const { return origin() + tei_path_; }

  template <typename F>
  void edit(F&& f) {
    std::lock_guard lock(mu_);
    f(script_);
  }

  nlohmann::json last_body() {
    std::lock_guard lock(mu_);
    return last_body_;
  }
  std::string last_authorization() {
    std::lock_guard lock(mu_);
    return last_authorization_;
  }
  std::vector<size_t> batch_sizes() {  // of answered (200) requests, in arrival order
    std::lock_guard lock(mu_);
    return batch_sizes_;
  }

  std::atomic<int> requests{0};

 private:
  static std::string regex_escape(const std::string& s) {
    std::string out;
    for (char c : s) {
      if (std::string_view(".^$|()[]{}*+?\\").find(c) != std::string_view::npos) out += '\\';
      out += c;
    }
    return out;
  }

  static void reply(httplib::Response& res, int status, const nlohmann::json& body) {
    res.status = status;
    res.set_content(body.dump(), "application/json");
  }

  void handle(const httplib::Request& req, httplib::Response& res, bool tei) {
    ++requests;
    std::unique_lock lock(mu_);
    last_authorization_ = req.get_header_value("Authorization");
    last_body_ = nlohmann::json::parse(req.body, nullptr, false);
    if (!script_.required_key.empty() && last_authorization_ != "Bearer " + script_.required_key) {
      return reply(res, 401, {{"error", {{"message", "Invalid API key"}, {"type", "AuthenticationError"}}}});
    }
    if (!script_.replies.empty()) {
      const Reply r = script_.replies.front();
      script_.replies.pop_front();
      res.status = r.status;
      if (!r.retry_after.empty()) res.set_header("Retry-After", r.retry_after);
      res.set_content(r.body, "application/json");
      return;
    }
    if (script_.slow_ms > 0) {
      cv_.wait_for(lock, std::chrono::milliseconds(script_.slow_ms), [this] { return released_; });
    }

    const nlohmann::json inputs = last_body_.is_object() ? last_body_.value(tei ? "inputs" : "input", nlohmann::json())
                                                         : nlohmann::json();
    if (!inputs.is_array() || inputs.empty()) {
      return reply(res, 400, {{"error", "`inputs` cannot be empty"}, {"error_type", "Empty"}});
    }
    if (script_.max_batch > 0 && inputs.size() > static_cast<size_t>(script_.max_batch)) {
      return reply(res, 413, {{"error", "batch size " + std::to_string(inputs.size()) +
                                            " > maximum allowed batch size " + std::to_string(script_.max_batch)},
                              {"error_type", "Validation"}});
    }
    nlohmann::json vectors = nlohmann::json::array();
    for (const auto& input : inputs) {
      const std::string text = input.is_string() ? input.get<std::string>() : std::string();
      if (text.empty()) {
        return reply(res, tei ? 413 : 400, {{"error", "Input validation error: `inputs` cannot be empty"}});
      }
      vectors.push_back(fake_vector(text, script_.dimension));
    }
    batch_sizes_.push_back(inputs.size());

    if (tei) {
      return reply(res, 200, script_.tei_object ? nlohmann::json{{"embeddings", vectors}} : vectors);
    }
    nlohmann::json data = nlohmann::json::array();
    for (size_t i = 0; i < vectors.size(); ++i) {
      data.push_back({{"object", "embedding"}, {"index", i}, {"embedding", vectors[i]}});
    }
    if (script_.reverse_order) std::reverse(data.begin(), data.end());
    reply(res, 200,
          {{"object", "list"},
           {"data", data},
           {"model", script_.model},
           {"usage", {{"prompt_tokens", inputs.size() * 3}, {"total_tokens", inputs.size() * 3}}}});
  }

  std::string prefix_;
  std::string tei_path_;
  httplib::Server svr_;
  int port_ = 0;
  std::thread thread_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool released_ = false;
  Script script_;
  nlohmann::json last_body_;
  std::string last_authorization_;
  std::vector<size_t> batch_sizes_;
};

}  // namespace kr::embed::testing
