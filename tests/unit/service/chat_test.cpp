// Engine::chat (multi-turn): condensation before retrieval, history in the prompt, the
// context window, fallbacks. An in-process fake OpenAI-compatible server plays the model.
#include <gtest/gtest.h>
#include <httplib.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "core/log.h"
#include "generate/prompt.h"
#include "service/engine.h"

namespace kr::service {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

bool is_condense(const json& body) {
  for (const auto& m : body.at("messages")) {
    if (m.at("role") == "system" && m.at("content").get<std::string>().find("standalone question") != std::string::npos) {
      return true;
    }
  }
  return false;
}

// /v1/models and /v1/chat/completions (no /tokenize: the engine estimates). Condensing
// requests get `condensed` (or a 500 when `fail_condense`); answers are "Answer [1]." streamed
// in 3 pieces when asked.
class FakeModel {
 public:
  FakeModel() {
    server_.Get("/v1/models", [this](const httplib::Request&, httplib::Response& res) {
      std::lock_guard lock(mutex_);
      res.set_content(json{{"object", "list"},
                           {"data", json::array({{{"id", "chat-model"}, {"max_model_len", window_}}})}}
                          .dump(),
                      "application/json");
    });
    server_.Post("/v1/chat/completions", [this](const httplib::Request& req, httplib::Response& res) {
      const json body = json::parse(req.body);
      std::string text = "Answer [1].";
      {
        std::lock_guard lock(mutex_);
        bodies_.push_back(body);
        if (is_condense(body)) {
          if (fail_condense_) {
            res.status = 500;
            res.set_content(R"({"error":{"message":"boom"}})", "application/json");
            return;
          }
          text = condensed_;
        }
      }
      if (body.value("stream", false)) {
        res.set_chunked_content_provider("text/event-stream", [text](size_t, httplib::DataSink& sink) {
          for (const std::string& piece : {text.substr(0, 3), text.substr(3, 4), text.substr(7)}) {
            const json chunk = {{"choices", json::array({{{"index", 0}, {"delta", {{"content", piece}}}}})}};
            const std::string event = "data: " + chunk.dump() + "\n\n";
            if (!sink.write(event.data(), event.size())) return false;
          }
          const std::string tail =
              "data: " + json{{"choices", json::array({{{"index", 0}, {"delta", json::object()}, {"finish_reason", "stop"}}})}}.dump() +
              "\n\ndata: [DONE]\n\n";
          sink.write(tail.data(), tail.size());
          sink.done();
          return true;
        });
        return;
      }
      res.set_content(json{{"choices", json::array({{{"index", 0},
                                                      {"message", {{"role", "assistant"}, {"content", text}}},
                                                      {"finish_reason", "stop"}}})},
                           {"usage", {{"prompt_tokens", 10}, {"completion_tokens", 3}}}}
                          .dump(),
                      "application/json");
    });
    port_ = server_.bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { server_.listen_after_bind(); });
    for (int i = 0; i < 500 && !server_.is_running(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  ~FakeModel() {
    server_.stop();
    thread_.join();
  }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_) + "/v1"; }
  void set(const std::string& condensed, bool fail, int window) {
    std::lock_guard lock(mutex_);
    condensed_ = condensed;
    fail_condense_ = fail;
    window_ = window;
  }
  std::vector<json> bodies() {
    std::lock_guard lock(mutex_);
    return bodies_;
  }

 private:
  httplib::Server server_;
  std::thread thread_;
  int port_ = 0;
  std::mutex mutex_;
  std::string condensed_ = "";
  bool fail_condense_ = false;
  int window_ = 4096;
  std::vector<json> bodies_;
};

const char* kHandbook =
    "# Handbook\n\n"
    "## Vacation\n\n"
    "Employees receive 25 days of paid vacation per year.\n\n"
    "## Parental leave\n\n"
    "Parents get 20 weeks of paid parental leave after a birth or adoption.\n\n"
    "## Expenses\n\n"
    "Submit expense reports within 30 days using the finance portal.\n";

class ChatTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { log::configure("error", false); }
  static void TearDownTestSuite() { log::configure("info", false); }

  void SetUp() override {
    static std::atomic<int> counter{0};
    dir_ = (fs::path(::testing::TempDir()) / ("kr_chat_" + std::to_string(::getpid()) + "_" + std::to_string(counter++)))
               .string();
    config_.data_dir = dir_;
    config_.parse_isolation = "inline";
    config_.llm_url = model_.url();
    config_.llm_timeout_seconds = 10;
    config_.llm_max_retries = 0;
    config_.chunk_max_tokens = 20;
    config_.chunk_overlap_tokens = 0;
  }
  void TearDown() override {
    engine_.reset();
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
  void open_engine() {
    engine_ = std::make_unique<Engine>(config_, "");
    ASSERT_TRUE(engine_->open().is_ok());
    IngestInput in;
    in.name = "handbook.md";
    in.bytes = kHandbook;
    auto result = engine_->ingest("docs", in);
    ASSERT_TRUE(result.is_ok()) << result.status().to_string();
  }
  static ChatAskRequest follow_up() {
    ChatAskRequest request;
    request.history = {{"user", "How many days of paid vacation do employees get?"},
                       {"assistant", "Employees get 25 days of paid vacation [1]."}};
    request.question = "And the other kind of leave, for new parents?";
    return request;
  }
  std::vector<json> answer_bodies() {
    std::vector<json> out;
    for (const auto& b : model_.bodies()) {
      if (!is_condense(b)) out.push_back(b);
    }
    return out;
  }

  FakeModel model_;
  std::string dir_;
  Config config_;
  std::unique_ptr<Engine> engine_;
};

TEST_F(ChatTest, FollowUpIsCondensedAndRetrievalUsesTheStandaloneQuestion) {
  model_.set("How long is paid parental leave?", false, 4096);
  open_engine();
  auto answer = engine_->chat("docs", follow_up());
  ASSERT_TRUE(answer.is_ok()) << answer.status().to_string();
  EXPECT_EQ(answer->retrieval_query, "How long is paid parental leave?");
  ASSERT_FALSE(answer->sources.empty());
  EXPECT_NE(answer->sources[0].hit.text.find("20 weeks"), std::string::npos) << answer->sources[0].hit.text;

  const auto bodies = model_.bodies();
  ASSERT_EQ(bodies.size(), 2u);
  ASSERT_TRUE(is_condense(bodies[0]));
  EXPECT_EQ(bodies[0].at("temperature").get<double>(), 0.0);
  EXPECT_LE(bodies[0].at("max_tokens").get<int>(), 128);
  const std::string condense_user = bodies[0].at("messages").at(1).at("content");
  EXPECT_NE(condense_user.find("How many days of paid vacation"), std::string::npos);
  EXPECT_NE(condense_user.find("Follow-up question: And the other kind of leave"), std::string::npos);

  // The answer prompt: instructions, the history, then sources + the question as asked.
  const json& messages = bodies[1].at("messages");
  ASSERT_EQ(messages.size(), 4u);
  EXPECT_EQ(messages[1].at("content"), "How many days of paid vacation do employees get?");
  EXPECT_EQ(messages[2].at("role"), "assistant");
  EXPECT_NE(messages[3].at("content").get<std::string>().find("Question: And the other kind of leave"),
            std::string::npos);
}

TEST_F(ChatTest, FailedCondensationFallsBackToTheRawQuestion) {
  model_.set("", true, 4096);
  open_engine();
  auto answer = engine_->chat("docs", follow_up());
  ASSERT_TRUE(answer.is_ok()) << answer.status().to_string();
  EXPECT_EQ(answer->retrieval_query, follow_up().question);
  EXPECT_EQ(answer->text, "Answer [1].");
}

TEST_F(ChatTest, UnusableCondensationFallsBackToTheRawQuestion) {
  model_.set("   ", false, 4096);
  open_engine();
  auto answer = engine_->chat("docs", follow_up());
  ASSERT_TRUE(answer.is_ok());
  EXPECT_EQ(answer->retrieval_query, follow_up().question);
}

TEST_F(ChatTest, NoHistoryMeansNoCondensation) {
  open_engine();
  ChatAskRequest request;
  request.history = {{"system", "Be brief."}};
  request.question = "How long is paid parental leave?";
  auto answer = engine_->chat("docs", request);
  ASSERT_TRUE(answer.is_ok());
  ASSERT_EQ(model_.bodies().size(), 1u);
  EXPECT_FALSE(is_condense(model_.bodies()[0]));
  EXPECT_NE(model_.bodies()[0].at("messages").at(0).at("content").get<std::string>().find("Be brief."),
            std::string::npos);
}

TEST_F(ChatTest, StreamsAndCancels) {
  model_.set("How long is paid parental leave?", false, 4096);
  open_engine();
  std::string streamed;
  auto answer = engine_->chat("docs", follow_up(), [&](const std::string& d) {
    streamed += d;
    return true;
  });
  ASSERT_TRUE(answer.is_ok()) << answer.status().to_string();
  EXPECT_EQ(streamed, "Answer [1].");
  EXPECT_TRUE(answer->sources[0].cited);

  auto cancelled = engine_->chat("docs", follow_up(), [](const std::string&) { return false; });
  EXPECT_EQ(cancelled.status().code(), ErrorCode::kCancelled);
}

TEST_F(ChatTest, SmallContextWindowIsNeverExceeded) {
  const int window = 600;
  model_.set("How long is paid parental leave?", false, window);
  config_.answer_max_tokens = 120;
  open_engine();
  for (double ratio : {0.2, 0.5, 0.8}) {
    ChatAskRequest request = follow_up();
    request.sources_budget_ratio = ratio;
    for (int i = 0; i < 12; ++i) {
      request.history.insert(request.history.begin(),
                             {{"user", "Old question " + std::to_string(i) + ": " + std::string(300, 'q')},
                              {"assistant", "Old answer " + std::to_string(i) + ": " + std::string(300, 'a')}});
    }
    auto answer = engine_->chat("docs", request);
    ASSERT_TRUE(answer.is_ok()) << answer.status().to_string();
  }
  const auto bodies = model_.bodies();
  ASSERT_EQ(bodies.size(), 6u);
  for (const auto& body : bodies) {
    std::vector<generate::ChatMessage> messages;
    for (const auto& m : body.at("messages")) messages.push_back({m.at("role"), m.at("content")});
    EXPECT_LE(generate::estimate_messages_tokens(messages) + body.at("max_tokens").get<int>(), window) << body.dump();
  }
  // The oldest turns were dropped, the latest kept.
  const json last = answer_bodies().back().at("messages");
  EXPECT_LT(last.size(), 2u + 26u);
  EXPECT_EQ(last[last.size() - 2].at("content"), "Employees get 25 days of paid vacation [1].");
}

TEST_F(ChatTest, WithoutAModelTheAnswerIsExtractive) {
  config_.llm_url = "";
  open_engine();
  ChatAskRequest request = follow_up();
  request.question = "How long is paid parental leave?";
  auto answer = engine_->chat("docs", request);
  ASSERT_TRUE(answer.is_ok()) << answer.status().to_string();
  EXPECT_TRUE(answer->extractive);
  EXPECT_NE(answer->text.find("20 weeks"), std::string::npos);
  EXPECT_EQ(answer->retrieval_query, request.question);
  EXPECT_TRUE(model_.bodies().empty());
}

TEST_F(ChatTest, UnknownCollectionCostsNoModelCall) {
  open_engine();
  auto answer = engine_->chat("nope", follow_up());
  EXPECT_EQ(answer.status().code(), ErrorCode::kNotFound);
  EXPECT_TRUE(model_.bodies().empty());
}

TEST_F(ChatTest, AskIsTheSingleTurnCase) {
  open_engine();
  auto answer = engine_->ask("docs", {"How long is paid parental leave?", 8, {}});
  ASSERT_TRUE(answer.is_ok());
  EXPECT_EQ(answer->retrieval_query, "How long is paid parental leave?");
  ASSERT_EQ(model_.bodies().size(), 1u);
  EXPECT_EQ(model_.bodies()[0].at("messages").size(), 2u);
}

}  // namespace
}  // namespace kr::service
