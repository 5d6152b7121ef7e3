// Engine::ask with a language model: an in-process fake OpenAI-compatible server.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <httplib.h>
#include <netinet/in.h>
#include <sys/socket.h>
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

class FakeOpenAi {
 public:
  FakeOpenAi() {
    server_.Get("/v1/models", [this](const httplib::Request&, httplib::Response& res) {
      std::lock_guard lock(mutex_);
      ++model_requests_;
      json models = {{"object", "list"},
                     {"data", json::array({{{"id", model_}, {"object", "model"}, {"max_model_len", max_model_len_}}})}};
      res.set_content(models.dump(), "application/json");
    });
    server_.Post("/tokenize", [this](const httplib::Request& req, httplib::Response& res) {
      std::lock_guard lock(mutex_);
      ++tokenize_requests_;
      if (tokenize_404_) {
        res.status = 404;
        res.set_content(R"({"detail":"Not Found"})", "application/json");
        return;
      }
      const json body = json::parse(req.body);
      size_t chars = 0;
      for (const auto& m : body.at("messages")) chars += m.at("content").get<std::string>().size();
      res.set_content(json{{"count", static_cast<int>(chars / 4 + 10)}}.dump(), "application/json");
    });
    server_.Post("/v1/chat/completions", [this](const httplib::Request& req, httplib::Response& res) {
      std::vector<std::string> pieces;
      {
        std::lock_guard lock(mutex_);
        chat_bodies_.push_back(json::parse(req.body));
        pieces = pieces_;
      }
      const json body = json::parse(req.body);
      if (body.value("stream", false)) {
        res.set_chunked_content_provider("text/event-stream", [pieces](size_t, httplib::DataSink& sink) {
          for (const auto& piece : pieces) {
            const json chunk = {{"id", "c1"},
                                {"object", "chat.completion.chunk"},
                                {"choices", json::array({{{"index", 0}, {"delta", {{"content", piece}}},
                                                          {"finish_reason", nullptr}}})}};
            const std::string event = "data: " + chunk.dump() + "\n\n";
            if (!sink.write(event.data(), event.size())) return false;
          }
          const json last = {{"id", "c1"},
                             {"object", "chat.completion.chunk"},
                             {"choices", json::array({{{"index", 0}, {"delta", json::object()},
                                                       {"finish_reason", "stop"}}})}};
          const json usage = {{"id", "c1"},
                              {"choices", json::array()},
                              {"usage", {{"prompt_tokens", 321}, {"completion_tokens", 12}}}};
          const std::string tail = "data: " + last.dump() + "\n\ndata: " + usage.dump() + "\n\ndata: [DONE]\n\n";
          sink.write(tail.data(), tail.size());
          sink.done();
          return true;
        });
        return;
      }
      std::string text;
      for (const auto& piece : pieces) text += piece;
      const json answer = {
          {"id", "c1"},
          {"object", "chat.completion"},
          {"model", "fake-model"},
          {"choices", json::array({{{"index", 0},
                                    {"message", {{"role", "assistant"}, {"content", text}}},
                                    {"finish_reason", "stop"}}})},
          {"usage", {{"prompt_tokens", 321}, {"completion_tokens", 12}}}};
      res.set_content(answer.dump(), "application/json");
    });
    port_ = server_.bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { server_.listen_after_bind(); });
    for (int i = 0; i < 500 && !server_.is_running(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  ~FakeOpenAi() {
    server_.stop();
    thread_.join();
  }

  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_) + "/v1"; }
  void set_window(int tokens) {
    std::lock_guard lock(mutex_);
    max_model_len_ = tokens;
  }
  void set_tokenize_404(bool value) {
    std::lock_guard lock(mutex_);
    tokenize_404_ = value;
  }
  void set_pieces(std::vector<std::string> pieces) {
    std::lock_guard lock(mutex_);
    pieces_ = std::move(pieces);
  }
  std::vector<json> chat_bodies() {
    std::lock_guard lock(mutex_);
    return chat_bodies_;
  }
  int tokenize_requests() {
    std::lock_guard lock(mutex_);
    return tokenize_requests_;
  }

 private:
  httplib::Server server_;
  std::thread thread_;
  int port_ = 0;
  std::mutex mutex_;
  std::string model_ = "fake-model";
  int max_model_len_ = 4096;
  bool tokenize_404_ = false;
  std::vector<std::string> pieces_ = {"Employees get ", "25 days ", "of vacation [2]", "."};
  std::vector<json> chat_bodies_;
  int model_requests_ = 0;
  int tokenize_requests_ = 0;
};

// A TCP port on 127.0.0.1 on which nothing listens.
int closed_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = 0;
  ::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address);
  socklen_t length = sizeof address;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length);
  const int port = ntohs(address.sin_port);
  ::close(fd);
  return port;
}

const char* kHandbook =
    "# Employee Handbook\n\n"
    "## Vacation policy\n\n"
    "Employees receive 25 days of paid vacation per year. Unused vacation days expire at the end of March.\n\n"
    "## Sick days\n\n"
    "Sick days do not reduce vacation days. Report sick days to your manager before 10am.\n\n"
    "## Expense reports\n\n"
    "Submit expense reports within 30 days using the finance portal.\n";

std::vector<generate::ChatMessage> messages_of(const json& body) {
  std::vector<generate::ChatMessage> messages;
  for (const auto& m : body.at("messages")) messages.push_back({m.at("role"), m.at("content")});
  return messages;
}

class EngineLlmTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { log::configure("error", false); }
  static void TearDownTestSuite() { log::configure("info", false); }

  void SetUp() override {
    static std::atomic<int> counter{0};
    dir_ = (fs::path(::testing::TempDir()) /
            ("kr_engine_llm_" + std::to_string(::getpid()) + "_" + std::to_string(counter++)))
               .string();
    config_.data_dir = dir_;
    config_.parse_isolation = "inline";
    config_.llm_url = server_.url();
    config_.llm_timeout_seconds = 10;
    config_.llm_max_retries = 0;
  }
  void TearDown() override {
    engine_.reset();
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }

  void open_engine() {
    engine_ = std::make_unique<Engine>(config_, "");
    Status status = engine_->open();
    ASSERT_TRUE(status.is_ok()) << status.to_string();
  }

  void ingest(const std::string& name, const std::string& bytes) {
    IngestInput in;
    in.name = name;
    in.bytes = bytes;
    auto result = engine_->ingest("docs", in);
    ASSERT_TRUE(result.is_ok()) << result.status().to_string();
    ASSERT_EQ(result->outcome, IngestOutcome::kAdded) << result->error.to_string();
  }

  FakeOpenAi server_;
  std::string dir_;
  Config config_;
  std::unique_ptr<Engine> engine_;
};

TEST_F(EngineLlmTest, CompleteAnswerMapsCitationsToSources) {
  open_engine();
  ASSERT_TRUE(engine_->has_llm());
  ingest("handbook.md", kHandbook);
  AskRequest request;
  request.question = "How many vacation days and sick days do employees get?";
  auto answer = engine_->ask("docs", request);
  ASSERT_TRUE(answer.is_ok()) << answer.status().to_string();
  EXPECT_FALSE(answer->extractive);
  EXPECT_EQ(answer->model, "fake-model");
  EXPECT_EQ(answer->text, "Employees get 25 days of vacation [2].");
  EXPECT_EQ(answer->finish_reason, "stop");
  EXPECT_EQ(answer->context_window, 4096);
  EXPECT_EQ(answer->prompt_tokens, 321);  // the server's usage wins over our count
  EXPECT_EQ(answer->completion_tokens, 12);
  EXPECT_EQ(answer->citations, (std::vector<int>{2}));
  ASSERT_GE(answer->sources.size(), 2u);
  for (size_t i = 0; i < answer->sources.size(); ++i) {
    EXPECT_EQ(answer->sources[i].number, static_cast<int>(i + 1));
    EXPECT_EQ(answer->sources[i].cited, i == 1) << "source " << i + 1;
    EXPECT_FALSE(answer->sources[i].hit.text.empty());
  }

  // The request: the model named, sources numbered in the prompt, the question included.
  const auto bodies = server_.chat_bodies();
  ASSERT_EQ(bodies.size(), 1u);
  EXPECT_EQ(bodies[0].at("model"), "fake-model");
  EXPECT_EQ(bodies[0].at("stream"), false);
  EXPECT_EQ(bodies[0].at("max_tokens").get<int>(), 512);
  std::string prompt;
  for (const auto& m : messages_of(bodies[0])) prompt += m.content + "\n";
  EXPECT_NE(prompt.find("How many vacation days and sick days"), std::string::npos);
  EXPECT_NE(prompt.find(answer->sources[0].hit.text.substr(0, 30)), std::string::npos);
  EXPECT_NE(prompt.find("(section: "), std::string::npos) << "heading paths are given to the model";
  EXPECT_EQ(engine_->counters().answers.load(), 1u);
}

TEST_F(EngineLlmTest, StreamingDeltasConcatenateToTheAnswer) {
  open_engine();
  ingest("handbook.md", kHandbook);
  server_.set_pieces({"Vacation ", "is 25 days", " per year [1]", "; sick days are separate [2]", "."});
  std::vector<std::string> deltas;
  AskRequest request;
  request.question = "vacation days sick days";
  auto answer = engine_->ask("docs", request, [&](const std::string& delta) {
    deltas.push_back(delta);
    return true;
  });
  ASSERT_TRUE(answer.is_ok()) << answer.status().to_string();
  ASSERT_GE(deltas.size(), 2u);
  std::string joined;
  for (const auto& d : deltas) joined += d;
  EXPECT_EQ(joined, answer->text);
  EXPECT_EQ(answer->text, "Vacation is 25 days per year [1]; sick days are separate [2].");
  EXPECT_EQ(answer->finish_reason, "stop");
  EXPECT_EQ(answer->citations, (std::vector<int>{1, 2}));
  ASSERT_GE(answer->sources.size(), 2u);
  EXPECT_TRUE(answer->sources[0].cited);
  EXPECT_TRUE(answer->sources[1].cited);
  for (size_t i = 2; i < answer->sources.size(); ++i) EXPECT_FALSE(answer->sources[i].cited);
  const auto bodies = server_.chat_bodies();
  ASSERT_EQ(bodies.size(), 1u);
  EXPECT_EQ(bodies[0].at("stream"), true);
}

TEST_F(EngineLlmTest, StreamCancelledBySink) {
  open_engine();
  ingest("handbook.md", kHandbook);
  AskRequest request;
  request.question = "vacation days";
  int calls = 0;
  auto answer = engine_->ask("docs", request, [&](const std::string&) { return ++calls < 2; });
  ASSERT_FALSE(answer.is_ok());
  EXPECT_EQ(answer.status().code(), ErrorCode::kCancelled);
  EXPECT_EQ(calls, 2);
  EXPECT_EQ(engine_->counters().answer_failures.load(), 1u);
}

TEST_F(EngineLlmTest, CitationsOutsideTheSourcesAreIgnored) {
  open_engine();
  ingest("handbook.md", kHandbook);
  server_.set_pieces({"See [99] and [0]."});
  AskRequest request;
  request.question = "vacation";
  auto answer = engine_->ask("docs", request);
  ASSERT_TRUE(answer.is_ok()) << answer.status().to_string();
  for (const auto& source : answer->sources) EXPECT_FALSE(source.cited);
}

TEST_F(EngineLlmTest, PromptFitsTheContextWindowWithEstimatedCounts) {
  server_.set_window(1024);
  server_.set_tokenize_404(true);  // force our own estimate
  open_engine();
  std::string doc = "# Policies\n\n";
  for (int s = 0; s < 30; ++s) {
    doc += "## Policy " + std::to_string(s) + "\n\n";
    for (int k = 0; k < 6; ++k) {
      doc += "The policy number " + std::to_string(s) + " clause " + std::to_string(k) +
             " explains how requests are reviewed, approved and archived by the committee. ";
    }
    doc += "\n\n";
  }
  ingest("policies.md", doc);
  AskRequest request;
  request.question = "How are policy requests reviewed and approved?";
  request.top_k = 20;
  auto answer = engine_->ask("docs", request);
  ASSERT_TRUE(answer.is_ok()) << answer.status().to_string();
  EXPECT_EQ(answer->context_window, 1024);
  EXPECT_GE(server_.tokenize_requests(), 1);

  const auto bodies = server_.chat_bodies();
  ASSERT_EQ(bodies.size(), 1u);
  const int max_tokens = bodies[0].at("max_tokens").get<int>();
  EXPECT_EQ(max_tokens, 256);  // min(answer_max_tokens, window / 4)
  const int prompt_tokens = generate::estimate_messages_tokens(messages_of(bodies[0]));
  EXPECT_LE(prompt_tokens + max_tokens, 1024) << "prompt of " << prompt_tokens << " tokens overflows the window";
  ASSERT_GE(answer->sources.size(), 1u);
  EXPECT_LT(answer->sources.size(), 20u) << "all 20 passages cannot fit in 1024 tokens";
  // Sources are exactly the passages the prompt carries, numbered from 1.
  for (size_t i = 0; i < answer->sources.size(); ++i) EXPECT_EQ(answer->sources[i].number, static_cast<int>(i + 1));
}

TEST_F(EngineLlmTest, PromptFitsWhenTheServerCounts) {
  server_.set_window(1024);
  open_engine();
  std::string doc;
  for (int s = 0; s < 20; ++s) {
    doc += "Paragraph " + std::to_string(s) + ": the archive retention rules keep records for seven years. ";
    doc += std::string("More words about archive retention and records management follow here. ") + "\n\n";
  }
  ingest("archive.txt", doc);
  AskRequest request;
  request.question = "archive retention records";
  request.top_k = 20;
  auto answer = engine_->ask("docs", request);
  ASSERT_TRUE(answer.is_ok()) << answer.status().to_string();
  const auto bodies = server_.chat_bodies();
  ASSERT_EQ(bodies.size(), 1u);
  const int max_tokens = bodies[0].at("max_tokens").get<int>();
  size_t chars = 0;
  for (const auto& m : bodies[0].at("messages")) chars += m.at("content").get<std::string>().size();
  const int server_count = static_cast<int>(chars / 4 + 10);  // what the fake /tokenize answers
  EXPECT_LE(server_count + max_tokens, 1024);
}

TEST_F(EngineLlmTest, ConfiguredWindowOverridesTheServer) {
  config_.llm_context_window = 2048;
  open_engine();
  ingest("handbook.md", kHandbook);
  AskRequest request;
  request.question = "vacation";
  auto answer = engine_->ask("docs", request);
  ASSERT_TRUE(answer.is_ok()) << answer.status().to_string();
  EXPECT_EQ(answer->context_window, 2048);
}

TEST_F(EngineLlmTest, UnreachableModelIsUnavailableButSearchWorks) {
  config_.llm_url = "http://127.0.0.1:" + std::to_string(closed_port()) + "/v1";
  config_.llm_timeout_seconds = 2;
  open_engine();
  ingest("handbook.md", kHandbook);
  AskRequest request;
  request.question = "How many vacation days?";
  auto answer = engine_->ask("docs", request);
  ASSERT_FALSE(answer.is_ok());
  EXPECT_EQ(answer.status().code(), ErrorCode::kUnavailable) << answer.status().to_string();
  EXPECT_NE(answer.status().message().find("search"), std::string::npos) << answer.status().message();
  EXPECT_EQ(engine_->counters().answer_failures.load(), 1u);

  auto found = engine_->search("docs", SearchRequest{"vacation days", 5, {}});
  ASSERT_TRUE(found.is_ok()) << found.status().to_string();
  ASSERT_FALSE(found->hits.empty());
  EXPECT_NE(found->hits[0].text.find("vacation"), std::string::npos);

  // Streaming fails the same way, without calling the sink.
  int calls = 0;
  auto streamed = engine_->ask("docs", request, [&](const std::string&) {
    ++calls;
    return true;
  });
  ASSERT_FALSE(streamed.is_ok());
  EXPECT_EQ(streamed.status().code(), ErrorCode::kUnavailable);
  EXPECT_EQ(calls, 0);
}

TEST_F(EngineLlmTest, NoHitsGivesNoSources) {
  open_engine();
  ingest("handbook.md", kHandbook);
  server_.set_pieces({"I don't know."});
  AskRequest request;
  request.question = "quantum chromodynamics";
  auto answer = engine_->ask("docs", request);
  ASSERT_TRUE(answer.is_ok()) << answer.status().to_string();
  EXPECT_TRUE(answer->sources.empty());
  EXPECT_TRUE(answer->citations.empty());
}

}  // namespace
}  // namespace kr::service
