#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "fake_llm_server.h"
#include "generate/llm_client.h"

namespace kr::generate {
namespace {

using testing::FakeLlmServer;
using Clock = std::chrono::steady_clock;

LlmConfig config_for(const std::string& url) {
  LlmConfig c;
  c.base_url = url;
  c.timeout_seconds = 5;
  c.max_retries = 2;
  c.retry_backoff_seconds = 0.01;
  return c;
}

ChatRequest question() {
  ChatRequest r;
  r.messages = {{"system", "Answer briefly."}, {"user", "Say hello."}};
  r.max_tokens = 32;
  return r;
}

// A port nobody listens on: bound once, then closed.
int closed_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  EXPECT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  socklen_t len = sizeof addr;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  ::close(fd);
  return ntohs(addr.sin_port);
}

TEST(LlmEndpoint, ParsesSchemesPortsAndPrefixes) {
  auto a = parse_llm_url("http://workspace-phi-3:8080");
  ASSERT_TRUE(a.is_ok()) << a.status().to_string();
  EXPECT_EQ(a->origin(), "http://workspace-phi-3:8080");
  EXPECT_EQ(a->api_prefix, "/v1");
  EXPECT_EQ(a->root_prefix, "");

  auto b = parse_llm_url("http://workspace-phi-3/v1/");
  ASSERT_TRUE(b.is_ok());
  EXPECT_EQ(b->port, 80);
  EXPECT_EQ(b->api_prefix, "/v1");
  EXPECT_EQ(b->root_prefix, "");

  auto c = parse_llm_url("https://x.openai.azure.com/openai/deployments/d");
  ASSERT_TRUE(c.is_ok());
  EXPECT_EQ(c->scheme, "https");
  EXPECT_EQ(c->port, 443);
  EXPECT_EQ(c->api_prefix, "/openai/deployments/d/v1");
  EXPECT_EQ(c->root_prefix, "/openai/deployments/d");
  EXPECT_EQ(c->api_url(), "https://x.openai.azure.com:443/openai/deployments/d/v1");

  auto d = parse_llm_url("HTTP://[::1]:5000/gw/v1");
  ASSERT_TRUE(d.is_ok());
  EXPECT_EQ(d->host, "::1");
  EXPECT_EQ(d->origin(), "http://[::1]:5000");
  EXPECT_EQ(d->root_prefix, "/gw");

  auto e = parse_llm_url("localhost:11434");
  ASSERT_TRUE(e.is_ok());
  EXPECT_EQ(e->scheme, "http");
  EXPECT_EQ(e->port, 11434);

  for (const char* bad : {"", "ftp://host", "http://host:99999", "http://host:abc", "http://:80", "http://h/v1?x=1",
                          "http://user:pw@host"}) {
    auto r = parse_llm_url(bad);
    EXPECT_FALSE(r.is_ok()) << bad;
    if (!r.is_ok()) {
      EXPECT_EQ(r.status().code(), ErrorCode::kInvalidArgument) << bad;
    }
  }
}

TEST(OpenAiClient, InvalidUrlFailsEveryCallWithoutThrowing) {
  auto client = make_openai_client(config_for("gopher://nowhere"));
  EXPECT_EQ(client->model_info().status().code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(client->complete(question()).status().code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(client->stream(question(), [](const std::string&) { return true; }).status().code(),
            ErrorCode::kInvalidArgument);
}

TEST(OpenAiClient, ModelInfoReadsFirstModelAndCaches) {
  FakeLlmServer server;
  auto client = make_openai_client(config_for(server.url()));
  auto info = client->model_info();
  ASSERT_TRUE(info.is_ok()) << info.status().to_string();
  EXPECT_EQ(info->id, "phi-3");
  EXPECT_EQ(info->max_model_len, 4096);
  ASSERT_TRUE(client->model_info().is_ok());
  EXPECT_EQ(server.model_requests.load(), 1);
}

TEST(OpenAiClient, ModelInfoForConfiguredModel) {
  FakeLlmServer server;
  auto cfg = config_for(server.url() + "/v1");
  cfg.model = "phi-3-lora";
  auto listed = make_openai_client(cfg)->model_info();
  ASSERT_TRUE(listed.is_ok());
  EXPECT_EQ(listed->id, "phi-3-lora");
  EXPECT_EQ(listed->max_model_len, 2048);

  cfg.model = "not-listed";
  auto unlisted = make_openai_client(cfg)->model_info();
  ASSERT_TRUE(unlisted.is_ok());
  EXPECT_EQ(unlisted->id, "not-listed");
  EXPECT_EQ(unlisted->max_model_len, 4096);  // data[0]'s

  cfg.context_window = 1000;
  EXPECT_EQ(make_openai_client(cfg)->model_info()->max_model_len, 1000);
}

TEST(OpenAiClient, ModelInfoWithoutMaxModelLen) {
  FakeLlmServer server;
  server.edit([](auto& s) { s.models = nlohmann::json::parse(R"({"data":[{"id":"llama3"}]})"); });
  auto info = make_openai_client(config_for(server.url()))->model_info();
  ASSERT_TRUE(info.is_ok());
  EXPECT_EQ(info->id, "llama3");
  EXPECT_EQ(info->max_model_len, 0);
}

TEST(OpenAiClient, PathPrefixIsKept) {
  FakeLlmServer server("/gw/team");
  auto client = make_openai_client(config_for(server.url()));
  ASSERT_TRUE(client->model_info().is_ok());
  auto count = client->count_prompt_tokens(question().messages);
  ASSERT_TRUE(count.is_ok()) << count.status().to_string();
  auto done = client->complete(question());
  ASSERT_TRUE(done.is_ok()) << done.status().to_string();
}

TEST(OpenAiClient, CountPromptTokens) {
  FakeLlmServer server;
  auto client = make_openai_client(config_for(server.url()));
  const auto messages = question().messages;
  auto count = client->count_prompt_tokens(messages);
  ASSERT_TRUE(count.is_ok()) << count.status().to_string();
  EXPECT_EQ(*count, static_cast<int>((messages[0].content.size() + messages[1].content.size()) / 4 + 7));
}

TEST(OpenAiClient, TokenizeMissingIsUnsupportedAndRemembered) {
  for (int status : {404, 405}) {
    FakeLlmServer server;
    server.edit([&](auto& s) { s.tokenize_status = status; });
    auto client = make_openai_client(config_for(server.url()));
    EXPECT_EQ(client->count_prompt_tokens(question().messages).status().code(), ErrorCode::kUnsupported);
    EXPECT_EQ(client->count_prompt_tokens(question().messages).status().code(), ErrorCode::kUnsupported);
    EXPECT_EQ(server.tokenize_requests.load(), 1);
  }
}

TEST(OpenAiClient, CompleteParsesAnswerAndSendsRequest) {
  FakeLlmServer server;
  auto cfg = config_for(server.url());
  cfg.api_key = "sk-test";
  auto client = make_openai_client(cfg);
  auto done = client->complete(question());
  ASSERT_TRUE(done.is_ok()) << done.status().to_string();
  EXPECT_EQ(done->text, "Hello, world.");
  EXPECT_EQ(done->finish_reason, "stop");
  EXPECT_EQ(done->prompt_tokens, 25);
  EXPECT_EQ(done->completion_tokens, 5);
  const auto body = server.last_chat_body();
  EXPECT_EQ(body.at("model"), "phi-3");  // learned from /v1/models
  EXPECT_EQ(body.at("max_tokens"), 32);
  EXPECT_EQ(body.at("stream"), false);
  EXPECT_EQ(body.at("messages").size(), 2u);
  EXPECT_EQ(server.last_authorization(), "Bearer sk-test");
}

TEST(OpenAiClient, NoAuthorizationHeaderWithoutKey) {
  FakeLlmServer server;
  ASSERT_TRUE(make_openai_client(config_for(server.url()))->complete(question()).is_ok());
  EXPECT_EQ(server.last_authorization(), "");
}

TEST(OpenAiClient, RetriesServiceUnavailableThenSucceeds) {
  FakeLlmServer server;
  server.edit([](auto& s) {
    s.chat_failures = {{503, R"({"error":{"message":"loading"}})"}, {502, "bad gateway"}};
  });
  auto done = make_openai_client(config_for(server.url()))->complete(question());
  ASSERT_TRUE(done.is_ok()) << done.status().to_string();
  EXPECT_EQ(server.chat_requests.load(), 3);
}

TEST(OpenAiClient, GivesUpAfterMaxRetries) {
  FakeLlmServer server;
  server.edit([](auto& s) {
    for (int i = 0; i < 3; ++i) {
      s.chat_failures.push_back({429, R"({"error":{"message":"Too many requests: waiting queue (9) exceeds max-num-seqs (8).",
                                          "type":"requests","param":null,"code":"rate_limit_exceeded"}})"});
    }
  });
  auto done = make_openai_client(config_for(server.url()))->complete(question());
  ASSERT_FALSE(done.is_ok());
  EXPECT_EQ(done.status().code(), ErrorCode::kUnavailable);
  EXPECT_NE(done.status().message().find("429"), std::string::npos) << done.status().message();
  EXPECT_NE(done.status().message().find("waiting queue"), std::string::npos) << done.status().message();
  EXPECT_EQ(server.chat_requests.load(), 3);
}

TEST(OpenAiClient, ContextOverflowIsInvalidArgumentInBothErrorShapes) {
  const std::string message = "This model's maximum context length is 4096 tokens. However, you requested 5000 tokens.";
  const std::vector<std::string> bodies = {
      nlohmann::json{{"object", "error"}, {"message", message}, {"type", "BadRequestError"}, {"code", 400}}.dump(),
      nlohmann::json{{"error", {{"message", message}, {"type", "BadRequestError"}, {"code", 400}}}}.dump()};
  for (const std::string& body : bodies) {
    FakeLlmServer server;
    server.edit([&](auto& s) { s.chat_failures = {{400, body}}; });
    auto done = make_openai_client(config_for(server.url()))->complete(question());
    ASSERT_FALSE(done.is_ok());
    EXPECT_EQ(done.status().code(), ErrorCode::kInvalidArgument);
    EXPECT_EQ(done.status().message(), "the language model rejected the request (400): " + message);
    EXPECT_EQ(server.chat_requests.load(), 1);  // 4xx is not retried
  }
}

TEST(OpenAiClient, UnknownModelListsAvailableOnes) {
  FakeLlmServer server;
  auto cfg = config_for(server.url());
  cfg.model = "mistral-7b";
  auto done = make_openai_client(cfg)->complete(question());
  ASSERT_FALSE(done.is_ok());
  EXPECT_EQ(done.status().code(), ErrorCode::kNotFound);
  EXPECT_EQ(done.status().message(), "model 'mistral-7b' not found on the server; available: phi-3, phi-3-lora");
}

TEST(OpenAiClient, WrongKeyIsUnauthenticated) {
  FakeLlmServer server;
  server.edit([](auto& s) { s.required_key = "right"; });
  auto cfg = config_for(server.url());
  cfg.api_key = "wrong";
  auto done = make_openai_client(cfg)->complete(question());
  ASSERT_FALSE(done.is_ok());
  EXPECT_EQ(done.status().code(), ErrorCode::kUnauthenticated);
  EXPECT_NE(done.status().message().find("Invalid API key"), std::string::npos);
  EXPECT_EQ(server.chat_requests.load(), 1);
  cfg.api_key = "right";
  EXPECT_TRUE(make_openai_client(cfg)->complete(question()).is_ok());
}

TEST(OpenAiClient, ConnectionRefusedIsActionable) {
  auto cfg = config_for("http://127.0.0.1:" + std::to_string(closed_port()));
  cfg.model = "m";  // skip /v1/models
  cfg.max_retries = 1;
  const auto start = Clock::now();
  auto done = make_openai_client(cfg)->complete(question());
  ASSERT_FALSE(done.is_ok());
  EXPECT_EQ(done.status().code(), ErrorCode::kUnavailable);
  EXPECT_NE(done.status().message().find("cannot reach the language model at http://127.0.0.1:"), std::string::npos)
      << done.status().message();
  EXPECT_NE(done.status().message().find("--llm-url"), std::string::npos);
  EXPECT_LT(Clock::now() - start, std::chrono::seconds(3));

  auto info = make_openai_client(cfg)->model_info();
  EXPECT_EQ(info.status().code(), ErrorCode::kUnavailable);
}

TEST(OpenAiClient, EmptyNotFoundMeansNotReady) {
  // KAITO's pre-download server answers every path with an empty 404.
  FakeLlmServer server("/elsewhere");
  const std::string root = server.url().substr(0, server.url().size() - std::string("/elsewhere").size());
  auto client = make_openai_client(config_for(root));
  auto info = client->model_info();
  ASSERT_FALSE(info.is_ok());
  EXPECT_EQ(info.status().code(), ErrorCode::kUnavailable);
  EXPECT_NE(info.status().message().find("not ready"), std::string::npos) << info.status().message();

  auto cfg = config_for(root);
  cfg.model = "phi-3";
  auto pinned = make_openai_client(cfg);
  EXPECT_EQ(pinned->complete(question()).status().code(), ErrorCode::kUnavailable);
  EXPECT_EQ(pinned->count_prompt_tokens(question().messages).status().code(), ErrorCode::kUnavailable);
}

TEST(OpenAiClient, HttpsToPlainServerIsATlsError) {
  FakeLlmServer server;
  auto cfg = config_for("https" + server.url().substr(4));
  cfg.model = "phi-3";
  cfg.max_retries = 0;
  auto done = make_openai_client(cfg)->complete(question());
  ASSERT_FALSE(done.is_ok());
  EXPECT_EQ(done.status().code(), ErrorCode::kUnavailable);
  EXPECT_NE(done.status().message().find("TLS"), std::string::npos) << done.status().message();
}

TEST(OpenAiClient, SlowServerTimesOut) {
  FakeLlmServer server;
  server.edit([](auto& s) { s.slow_ms = 3000; });
  auto cfg = config_for(server.url());
  cfg.model = "phi-3";
  cfg.timeout_seconds = 0.3;
  const auto start = Clock::now();
  auto done = make_openai_client(cfg)->complete(question());
  ASSERT_FALSE(done.is_ok());
  EXPECT_EQ(done.status().code(), ErrorCode::kDeadlineExceeded) << done.status().to_string();
  EXPECT_EQ(server.chat_requests.load(), 1);  // a timeout is not retried
  auto streamed = make_openai_client(cfg)->stream(question(), [](const std::string&) { return true; });
  EXPECT_EQ(streamed.status().code(), ErrorCode::kDeadlineExceeded) << streamed.status().to_string();
  EXPECT_LT(Clock::now() - start, std::chrono::milliseconds(2500));
}

TEST(OpenAiClient, StreamDeliversDeltas) {
  FakeLlmServer server;
  auto cfg = config_for(server.url());
  cfg.api_key = "sk-stream";
  auto client = make_openai_client(cfg);
  std::vector<std::string> deltas;
  auto done = client->stream(question(), [&](const std::string& d) {
    deltas.push_back(d);
    return true;
  });
  ASSERT_TRUE(done.is_ok()) << done.status().to_string();
  EXPECT_EQ(deltas, (std::vector<std::string>{"Hel", "lo", ", ", "world", "."}));
  EXPECT_EQ(done->text, "Hello, world.");
  EXPECT_EQ(done->finish_reason, "stop");
  EXPECT_EQ(done->prompt_tokens, 25);
  EXPECT_EQ(done->completion_tokens, 5);
  const auto body = server.last_chat_body();
  EXPECT_EQ(body.at("stream"), true);
  EXPECT_EQ(body.at("stream_options").at("include_usage"), true);
  EXPECT_EQ(server.last_authorization(), "Bearer sk-stream");
}

TEST(OpenAiClient, StreamRetriesBeforeFirstToken) {
  FakeLlmServer server;
  server.edit([](auto& s) { s.chat_failures = {{503, "{}"}}; });
  std::string text;
  auto done = make_openai_client(config_for(server.url()))->stream(question(), [&](const std::string& d) {
    text += d;
    return true;
  });
  ASSERT_TRUE(done.is_ok()) << done.status().to_string();
  EXPECT_EQ(text, "Hello, world.");
  EXPECT_EQ(server.chat_requests.load(), 2);
}

TEST(OpenAiClient, StreamErrorEventMidStream) {
  FakeLlmServer server;
  server.edit([](auto& s) { s.stream_error_after = 2; });
  std::string text;
  auto done = make_openai_client(config_for(server.url()))->stream(question(), [&](const std::string& d) {
    text += d;
    return true;
  });
  ASSERT_FALSE(done.is_ok());
  EXPECT_EQ(done.status().code(), ErrorCode::kUnavailable);
  EXPECT_NE(done.status().message().find("engine crashed mid-stream"), std::string::npos);
  EXPECT_EQ(text, "Hello");
  EXPECT_EQ(server.chat_requests.load(), 1);

  server.edit([](auto& s) { s.stream_error_type = "BadRequestError"; });
  auto bad = make_openai_client(config_for(server.url()))->stream(question(), [](const std::string&) { return true; });
  EXPECT_EQ(bad.status().code(), ErrorCode::kInvalidArgument);
}

TEST(OpenAiClient, StreamFallsBackWhenServerDoesNotStream) {
  FakeLlmServer server;
  server.edit([](auto& s) { s.ignore_stream = true; });
  std::vector<std::string> deltas;
  auto done = make_openai_client(config_for(server.url()))->stream(question(), [&](const std::string& d) {
    deltas.push_back(d);
    return true;
  });
  ASSERT_TRUE(done.is_ok()) << done.status().to_string();
  EXPECT_EQ(deltas, std::vector<std::string>{"Hello, world."});
}

TEST(OpenAiClient, CancelledStreamDisconnects) {
  FakeLlmServer server;
  server.edit([](auto& s) {
    s.tokens.assign(200, "tok ");
    s.token_delay_ms = 10;
  });
  int received = 0;
  auto done = make_openai_client(config_for(server.url()))->stream(question(), [&](const std::string&) {
    return ++received < 2;
  });
  ASSERT_FALSE(done.is_ok());
  EXPECT_EQ(done.status().code(), ErrorCode::kCancelled);
  EXPECT_EQ(received, 2);
  const auto cancelled_at = Clock::now();
  while (!server.client_gone.load() && Clock::now() - cancelled_at < std::chrono::seconds(1)) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  EXPECT_TRUE(server.client_gone.load()) << "the server kept streaming to a cancelled client";
  EXPECT_LT(server.tokens_written.load(), 50);
  EXPECT_EQ(server.chat_requests.load(), 1);
}

TEST(OpenAiClient, ConcurrentCalls) {
  FakeLlmServer server;
  auto client = make_openai_client(config_for(server.url()));
  std::vector<std::thread> threads;
  std::atomic<int> ok{0};
  for (int t = 0; t < 6; ++t) {
    threads.emplace_back([&, t] {
      auto r = t % 2 ? client->complete(question())
                     : client->stream(question(), [](const std::string&) { return true; });
      if (r.is_ok() && r->text == "Hello, world.") ++ok;
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(ok.load(), 6);
}

// Completion style (base models): a prompt text on /v1/completions with stop sequences.
ChatRequest completion_question() {
  ChatRequest r;
  r.prompt = "Sources:\n[1] (a.txt)\nThe sky is blue.\nQuestion: What colour is the sky?\nAnswer:";
  r.stop = {"\n\n", "\nQuestion:"};
  r.max_tokens = 24;
  return r;
}

TEST(OpenAiClient, CompletionStyleGoesToCompletionsWithStops) {
  FakeLlmServer server;
  auto client = make_openai_client(config_for(server.url()));
  auto done = client->complete(completion_question());
  ASSERT_TRUE(done.is_ok()) << done.status().to_string();
  EXPECT_EQ(done->text, "Hello, world.");
  EXPECT_EQ(server.completion_requests.load(), 1);
  const auto body = server.last_chat_body();
  EXPECT_EQ(body.at("prompt"), completion_question().prompt);
  EXPECT_FALSE(body.contains("messages"));
  EXPECT_EQ(body.at("stop"), nlohmann::json::array({"\n\n", "\nQuestion:"}));
  EXPECT_EQ(body.at("max_tokens"), 24);
  EXPECT_EQ(body.at("model"), "phi-3");
  // Chat requests carry no stop field unless asked.
  ASSERT_TRUE(client->complete(question()).is_ok());
  EXPECT_FALSE(server.last_chat_body().contains("stop"));
  EXPECT_EQ(server.completion_requests.load(), 1);
}

TEST(OpenAiClient, CompletionStyleStreamsTextChunks) {
  FakeLlmServer server;
  auto client = make_openai_client(config_for(server.url()));
  std::vector<std::string> deltas;
  auto done = client->stream(completion_question(), [&](const std::string& d) {
    deltas.push_back(d);
    return true;
  });
  ASSERT_TRUE(done.is_ok()) << done.status().to_string();
  EXPECT_EQ(deltas, (std::vector<std::string>{"Hel", "lo", ", ", "world", "."}));
  EXPECT_EQ(done->text, "Hello, world.");
  EXPECT_EQ(done->finish_reason, "stop");
  EXPECT_EQ(done->completion_tokens, 5);
  EXPECT_EQ(server.completion_requests.load(), 1);
  EXPECT_EQ(server.last_chat_body().at("stream"), true);
}

TEST(OpenAiClient, ModelInfoReadsChatTemplateFromProps) {
  {
    FakeLlmServer vllm;  // no /props: unknown
    auto info = make_openai_client(config_for(vllm.url()))->model_info();
    ASSERT_TRUE(info.is_ok());
    EXPECT_EQ(info->has_chat_template, std::nullopt);
    EXPECT_EQ(vllm.props_requests.load(), 1);
  }
  for (const auto& [props, expected] : std::vector<std::pair<std::string, bool>>{
           {R"({"chat_template":""})", false},
           {R"({"chat_template":null})", false},
           {R"({"chat_template":"{% for m in messages %}{{ m.content }}{% endfor %}"})", true}}) {
    FakeLlmServer llama;
    llama.edit([&](auto& s) { s.props = nlohmann::json::parse(props); });
    auto client = make_openai_client(config_for(llama.url() + "/v1"));
    auto info = client->model_info();
    ASSERT_TRUE(info.is_ok());
    EXPECT_EQ(info->has_chat_template, expected) << props;
    ASSERT_TRUE(client->model_info().is_ok());
    EXPECT_EQ(llama.props_requests.load(), 1);  // cached with the model list
  }
}

TEST(OpenAiClient, ModelInfoKeepsVllmRoot) {
  FakeLlmServer server;
  server.edit([](auto& s) {
    s.models = nlohmann::json::parse(R"({"data":[{"id":"ws","root":"tiiuae/falcon-7b","max_model_len":2048}]})");
  });
  auto info = make_openai_client(config_for(server.url()))->model_info();
  ASSERT_TRUE(info.is_ok());
  EXPECT_EQ(info->root, "tiiuae/falcon-7b");
}

TEST(OpenAiClient, CountTextTokensOnTokenizeThenExtrasThenUnsupported) {
  const std::string text(400, 'a');
  {
    FakeLlmServer vllm;
    auto count = make_openai_client(config_for(vllm.url()))->count_text_tokens(text);
    ASSERT_TRUE(count.is_ok()) << count.status().to_string();
    EXPECT_EQ(*count, 400 / 4 + 7);
  }
  {
    FakeLlmServer llama_cpp_python;  // /tokenize 404, /extras/tokenize/count answers
    llama_cpp_python.edit([](auto& s) {
      s.tokenize_status = 404;
      s.extras_tokenize = true;
    });
    auto client = make_openai_client(config_for(llama_cpp_python.url()));
    ASSERT_EQ(*client->count_text_tokens(text), 400 / 4 + 1);
    ASSERT_EQ(*client->count_text_tokens(text), 400 / 4 + 1);
    EXPECT_EQ(llama_cpp_python.tokenize_requests.load(), 3);  // the route that worked is remembered
  }
  {
    FakeLlmServer neither;
    neither.edit([](auto& s) { s.tokenize_status = 404; });
    auto client = make_openai_client(config_for(neither.url()));
    EXPECT_EQ(client->count_text_tokens(text).status().code(), ErrorCode::kUnsupported);
    EXPECT_EQ(client->count_text_tokens(text).status().code(), ErrorCode::kUnsupported);
    EXPECT_EQ(neither.tokenize_requests.load(), 2);  // not asked again
  }
}

}  // namespace
}  // namespace kr::generate
