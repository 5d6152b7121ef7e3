// An in-process OpenAI-compatible server (vLLM flavour) for client tests, with
// scripted failures. Listens on 127.0.0.1 on a free port.
#pragma once

#include <httplib.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace kr::generate::testing {

class FakeLlmServer {
 public:
  struct Failure {
    int status = 500;
    std::string body;
  };

  // What the server is told to do; set before the request, guarded by mutex.
  struct Script {
    nlohmann::json models = nlohmann::json::parse(
        R"({"object":"list","data":[{"id":"phi-3","object":"model","max_model_len":4096},
            {"id":"phi-3-lora","object":"model","parent":"phi-3","max_model_len":2048}]})");
    std::vector<std::string> tokens = {"Hel", "lo", ", ", "world", "."};
    std::deque<Failure> chat_failures;  // answered first, one per request
    int tokenize_status = 200;
    std::string required_key;           // when set, other bearer tokens get 401
    int stream_error_after = -1;        // >= 0: an error event after that many tokens
    std::string stream_error_type = "InternalServerError";
    int token_delay_ms = 0;
    int slow_ms = 0;                    // delay before answering chat requests
    bool ignore_stream = false;         // answer stream requests with plain JSON
    nlohmann::json props = nullptr;     // llama.cpp's GET /props answer; null: 404 like vLLM
    bool extras_tokenize = false;       // llama-cpp-python's POST /extras/tokenize/count
  };

  explicit FakeLlmServer(std::string prefix = "") : prefix_(std::move(prefix)) {
    const std::string p = regex_escape(prefix_);
    svr_.Get(p + "/v1/models", [this](const httplib::Request&, httplib::Response& res) {
      ++model_requests;
      std::lock_guard lock(mu_);
      res.set_content(script.models.dump(), "application/json");
    });
    svr_.Post(p + "/tokenize", [this](const httplib::Request& req, httplib::Response& res) { tokenize(req, res); });
    svr_.Post(p + "/v1/chat/completions",
              [this](const httplib::Request& req, httplib::Response& res) { chat(req, res, false); });
    svr_.Post(p + "/v1/completions",
              [this](const httplib::Request& req, httplib::Response& res) { chat(req, res, true); });
    svr_.Get(p + "/props", [this](const httplib::Request&, httplib::Response& res) {
      ++props_requests;
      std::lock_guard lock(mu_);
      if (script.props.is_null()) {
        res.status = 404;
        res.set_content(R"({"detail":"Not Found"})", "application/json");
      } else {
        res.set_content(script.props.dump(), "application/json");
      }
    });
    svr_.Post(p + "/extras/tokenize/count", [this](const httplib::Request& req, httplib::Response& res) {
      ++tokenize_requests;
      std::lock_guard lock(mu_);
      if (!script.extras_tokenize) {
        res.status = 404;
        res.set_content(R"({"detail":"Not Found"})", "application/json");
        return;
      }
      const auto body = nlohmann::json::parse(req.body);
      res.set_content(nlohmann::json{{"count", body.at("input").get<std::string>().size() / 4 + 1}}.dump(),
                      "application/json");
    });
    port_ = svr_.bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { svr_.listen_after_bind(); });
    for (int i = 0; i < 500 && !svr_.is_running(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }

  ~FakeLlmServer() {
    {
      std::lock_guard lock(mu_);
      released_ = true;
    }
    cv_.notify_all();
    svr_.stop();
    thread_.join();
  }

  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_) + prefix_; }

  template <typename F>
  void edit(F&& f) {
    std::lock_guard lock(mu_);
    f(script);
  }

  nlohmann::json last_chat_body() {
    std::lock_guard lock(mu_);
    return last_chat_body_;
  }
  std::string last_authorization() {
    std::lock_guard lock(mu_);
    return last_authorization_;
  }

  std::atomic<int> model_requests{0};
  std::atomic<int> tokenize_requests{0};
  std::atomic<int> chat_requests{0};
  std::atomic<int> completion_requests{0};  // of chat_requests: those on /v1/completions
  std::atomic<int> props_requests{0};
  std::atomic<int> tokens_written{0};
  std::atomic<bool> client_gone{false};  // a streamed write failed: the client disconnected

 private:
  static std::string regex_escape(const std::string& s) {
    std::string out;
    for (char c : s) {
      if (std::string_view(".^$|()[]{}*+?\\").find(c) != std::string_view::npos) out += '\\';
      out += c;
    }
    return out;
  }

  // A streamed piece: chat chunks carry delta.content, completion chunks carry text.
  static nlohmann::json chunk(const nlohmann::json& delta, const nlohmann::json& finish, bool completion = false) {
    if (completion) {
      return {{"id", "cmpl-1"},
              {"object", "text_completion"},
              {"model", "phi-3"},
              {"choices", nlohmann::json::array({{{"index", 0},
                                                  {"text", delta.value("content", "")},
                                                  {"finish_reason", finish}}})}};
    }
    return {{"id", "chatcmpl-1"},
            {"object", "chat.completion.chunk"},
            {"model", "phi-3"},
            {"choices", nlohmann::json::array({{{"index", 0}, {"delta", delta}, {"finish_reason", finish}}})}};
  }

  void tokenize(const httplib::Request& req, httplib::Response& res) {
    ++tokenize_requests;
    std::lock_guard lock(mu_);
    if (script.tokenize_status != 200) {
      res.status = script.tokenize_status;
      res.set_content(R"({"detail":"Not Found"})", "application/json");
      return;
    }
    const auto body = nlohmann::json::parse(req.body);
    size_t chars = 0;
    if (body.contains("prompt")) chars = body.at("prompt").get<std::string>().size();
    if (body.contains("messages")) {
      for (const auto& m : body.at("messages")) chars += m.at("content").get<std::string>().size();
    }
    res.set_content(nlohmann::json{{"count", chars / 4 + 7}, {"max_model_len", 4096}}.dump(), "application/json");
  }

  void chat(const httplib::Request& req, httplib::Response& res, bool completion) {
    ++chat_requests;
    if (completion) ++completion_requests;
    std::unique_lock lock(mu_);
    last_authorization_ = req.get_header_value("Authorization");
    last_chat_body_ = nlohmann::json::parse(req.body);
    if (!script.required_key.empty() && last_authorization_ != "Bearer " + script.required_key) {
      res.status = 401;
      res.set_content(R"({"error":{"message":"Invalid API key","type":"AuthenticationError","code":401}})",
                      "application/json");
      return;
    }
    if (!script.chat_failures.empty()) {
      const Failure f = script.chat_failures.front();
      script.chat_failures.pop_front();
      res.status = f.status;
      res.set_header("Retry-After", "0");
      res.set_content(f.body, "application/json");
      return;
    }
    const std::string model = last_chat_body_.value("model", "");
    bool known = model.empty();
    for (const auto& m : script.models.at("data")) known = known || m.at("id") == model;
    if (!known) {
      res.status = 404;
      res.set_content(nlohmann::json{{"error",
                                      {{"message", "The model `" + model + "` does not exist."},
                                       {"type", "NotFoundError"},
                                       {"code", 404}}}}
                          .dump(),
                      "application/json");
      return;
    }
    if (script.slow_ms > 0) cv_.wait_for(lock, std::chrono::milliseconds(script.slow_ms), [this] { return released_; });

    std::string text;
    for (const auto& t : script.tokens) text += t;
    if (!last_chat_body_.value("stream", false) || script.ignore_stream) {
      nlohmann::json choice = {{"index", 0}, {"finish_reason", "stop"}};
      if (completion) {
        choice["text"] = text;
      } else {
        choice["message"] = {{"role", "assistant"}, {"content", text}};
      }
      nlohmann::json out = {{"id", "chatcmpl-1"},
                            {"object", completion ? "text_completion" : "chat.completion"},
                            {"choices", nlohmann::json::array({choice})},
                            {"usage", {{"prompt_tokens", 25}, {"completion_tokens", script.tokens.size()}}}};
      res.set_content(out.dump(), "application/json");
      return;
    }

    // One event per provider call, so a disconnect is noticed between tokens.
    std::vector<std::string> events;
    if (!completion) events.push_back(chunk({{"role", "assistant"}, {"content", ""}}, nullptr).dump());
    for (size_t i = 0; i < script.tokens.size(); ++i) {
      if (script.stream_error_after == static_cast<int>(i)) {
        events.push_back(nlohmann::json{{"error",
                                         {{"message", "engine crashed mid-stream"},
                                          {"type", script.stream_error_type},
                                          {"code", script.stream_error_type == "BadRequestError" ? 400 : 500}}}}
                             .dump());
        break;
      }
      events.push_back(chunk({{"content", script.tokens[i]}}, nullptr, completion).dump());
    }
    if (script.stream_error_after < 0) {
      events.push_back(chunk({{"content", ""}}, "stop", completion).dump());
      nlohmann::json usage = {{"id", "chatcmpl-1"},
                              {"choices", nlohmann::json::array()},
                              {"usage", {{"prompt_tokens", 25}, {"completion_tokens", script.tokens.size()}}}};
      events.push_back(usage.dump());
    }
    events.push_back("[DONE]");
    const int delay = script.token_delay_ms;
    auto next = std::make_shared<size_t>(0);
    res.set_chunked_content_provider(
        "text/event-stream",
        [this, events = std::move(events), next, delay](size_t, httplib::DataSink& sink) {
          if (*next >= events.size()) {
            sink.done();
            return true;
          }
          if (delay > 0 && *next > 0) std::this_thread::sleep_for(std::chrono::milliseconds(delay));
          const std::string frame = "data: " + events[(*next)++] + "\n\n";
          if (!sink.write(frame.data(), frame.size())) {
            client_gone = true;
            return false;
          }
          ++tokens_written;
          return true;
        },
        [this](bool success) {
          if (!success) client_gone = true;
        });
  }

  std::string prefix_;
  httplib::Server svr_;
  int port_ = 0;
  std::thread thread_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool released_ = false;
  nlohmann::json last_chat_body_;
  std::string last_authorization_;

 public:
  Script script;  // edit under edit() once requests may be in flight
};

}  // namespace kr::generate::testing
