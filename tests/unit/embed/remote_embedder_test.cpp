#include "embed/remote_embedder.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "fake_embedding_server.h"

namespace kr::embed {
namespace {

using testing::FakeEmbeddingServer;
using Reply = FakeEmbeddingServer::Reply;
using Clock = std::chrono::steady_clock;

RemoteEmbedderConfig config_for(RemoteProtocol protocol, const std::string& url) {
  RemoteEmbedderConfig c;
  c.protocol = protocol;
  c.url = url;
  c.timeout_seconds = 5;
  c.max_retries = 2;
  c.retry_backoff_seconds = 0.01;
  return c;
}

std::unique_ptr<RemoteEmbedder> make(const RemoteEmbedderConfig& c) {
  auto made = make_remote_embedder(c);
  EXPECT_TRUE(made.is_ok()) << made.status().to_string();
  return made ? std::move(made).value() : nullptr;
}

std::vector<std::string> numbered(size_t n, const std::string& stem = "text ") {
  std::vector<std::string> out;
  for (size_t i = 0; i < n; ++i) out.push_back(stem + std::to_string(i));
  return out;
}

// Each row must be the fake server's vector for what was sent, normalized.
void expect_rows(const Embeddings& e, const std::vector<std::string>& sent, int dimension) {
  ASSERT_EQ(e.dimension, dimension);
  ASSERT_EQ(e.rows(), sent.size());
  for (size_t i = 0; i < sent.size(); ++i) {
    std::vector<float> want = testing::fake_vector(sent[i], dimension);
    normalize_l2(want);
    double norm = 0;
    for (int k = 0; k < dimension; ++k) {
      EXPECT_NEAR(e.row(i)[static_cast<size_t>(k)], want[static_cast<size_t>(k)], 1e-6) << "row " << i;
      norm += static_cast<double>(e.row(i)[static_cast<size_t>(k)]) * e.row(i)[static_cast<size_t>(k)];
    }
    EXPECT_NEAR(norm, 1.0, 1e-5);
  }
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

bool contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

// ---- configuration and URLs ---------------------------------------------------------------

TEST(RemoteEmbedderConfig, ValidatesFieldsWithoutContactingTheServer) {
  auto c = config_for(RemoteProtocol::kOpenAI, "http://127.0.0.1:" + std::to_string(closed_port()));
  auto ok = make_remote_embedder(c);
  ASSERT_TRUE(ok.is_ok()) << ok.status().to_string();
  EXPECT_EQ((*ok)->info().dimension, 0);
  EXPECT_EQ((*ok)->info().model_id, (*ok)->endpoint_url());  // no model configured: the URL

  auto bad = [&](auto change) {
    RemoteEmbedderConfig b = c;
    change(b);
    auto r = make_remote_embedder(b);
    EXPECT_FALSE(r.is_ok());
    return r ? ErrorCode::kOk : r.status().code();
  };
  EXPECT_EQ(bad([](auto& b) { b.url = ""; }), ErrorCode::kInvalidArgument);
  EXPECT_EQ(bad([](auto& b) { b.url = "ftp://host/x"; }), ErrorCode::kInvalidArgument);
  EXPECT_EQ(bad([](auto& b) { b.url = "http://host:99999"; }), ErrorCode::kInvalidArgument);
  EXPECT_EQ(bad([](auto& b) { b.url = "http://host/v1?x=1"; }), ErrorCode::kInvalidArgument);
  EXPECT_EQ(bad([](auto& b) { b.batch_size = 0; }), ErrorCode::kInvalidArgument);
  EXPECT_EQ(bad([](auto& b) { b.timeout_seconds = 0; }), ErrorCode::kInvalidArgument);
  EXPECT_EQ(bad([](auto& b) { b.timeout_seconds = NAN; }), ErrorCode::kInvalidArgument);
  EXPECT_EQ(bad([](auto& b) { b.max_retries = -1; }), ErrorCode::kInvalidArgument);
  EXPECT_EQ(bad([](auto& b) { b.retry_backoff_seconds = -1; }), ErrorCode::kInvalidArgument);

  EXPECT_EQ(parse_remote_protocol("OpenAI").value(), RemoteProtocol::kOpenAI);
  EXPECT_EQ(parse_remote_protocol("tei").value(), RemoteProtocol::kTei);
  EXPECT_FALSE(parse_remote_protocol("grpc").is_ok());
  EXPECT_EQ(remote_protocol_name(RemoteProtocol::kTei), "tei");
}

TEST(RemoteEmbedderConfig, ResolvesEndpointUrls) {
  auto url = [](RemoteProtocol p, const std::string& u) { return make(config_for(p, u))->endpoint_url(); };
  using P = RemoteProtocol;
  EXPECT_EQ(url(P::kOpenAI, "http://vllm:8000"), "http://vllm:8000/v1/embeddings");
  EXPECT_EQ(url(P::kOpenAI, "http://vllm:8000/v1/"), "http://vllm:8000/v1/embeddings");
  EXPECT_EQ(url(P::kOpenAI, "http://vllm:8000/v1/embeddings"), "http://vllm:8000/v1/embeddings");
  EXPECT_EQ(url(P::kOpenAI, "https://gw.example.com/team/a"), "https://gw.example.com:443/team/a/v1/embeddings");
  EXPECT_EQ(url(P::kOpenAI, "localhost:11434"), "http://localhost:11434/v1/embeddings");
  EXPECT_EQ(url(P::kOpenAI, "http://[::1]:5000/v1"), "http://[::1]:5000/v1/embeddings");
  EXPECT_EQ(url(P::kTei, "http://tei:8080"), "http://tei:8080/embed");
  EXPECT_EQ(url(P::kTei, "http://tei:8080/"), "http://tei:8080/embed");
  EXPECT_EQ(url(P::kTei, "http://localhost:5000/embedding"), "http://localhost:5000/embedding");
}

// ---- OpenAI protocol ----------------------------------------------------------------------

TEST(RemoteEmbedderOpenAI, BatchesInOrderWithBearerAndModel) {
  FakeEmbeddingServer server;
  server.edit([](auto& s) { s.reverse_order = true; });  // "index" decides the order, not the list
  auto c = config_for(RemoteProtocol::kOpenAI, server.url() + "/v1");
  c.model = "bge-small-en-v1.5";
  c.api_key = "sk-test";
  c.batch_size = 3;
  auto e = make(c);
  const auto texts = numbered(10);
  auto out = e->embed(texts, InputKind::kPassage);
  ASSERT_TRUE(out.is_ok()) << out.status().to_string();
  expect_rows(*out, texts, 8);
  EXPECT_EQ(server.batch_sizes(), (std::vector<size_t>{3, 3, 3, 1}));
  EXPECT_EQ(server.last_authorization(), "Bearer sk-test");
  EXPECT_EQ(server.last_body().value("model", ""), "bge-small-en-v1.5");
  EXPECT_EQ(e->info().dimension, 8);
  EXPECT_EQ(e->info().model_id, "bge-small-en-v1.5");
}

TEST(RemoteEmbedderOpenAI, ModelFromServerAndPrefixesAndEmptyTexts) {
  FakeEmbeddingServer server("/gw");
  server.edit([](auto& s) { s.model = "served-e5"; });
  auto c = config_for(RemoteProtocol::kOpenAI, server.url());  // no /v1: added
  c.query_prefix = "query: ";
  c.passage_prefix = "passage: ";
  auto e = make(c);
  ASSERT_TRUE(e->probe().is_ok());
  EXPECT_FALSE(server.last_body().contains("model"));  // none configured: the server picks
  EXPECT_EQ(e->info().model_id, "served-e5");
  EXPECT_EQ(e->info().dimension, 8);

  auto q = e->embed(std::vector<std::string>{"what is kaito?"}, InputKind::kQuery);
  ASSERT_TRUE(q.is_ok()) << q.status().to_string();
  expect_rows(*q, {"query: what is kaito?"}, 8);
  auto p = e->embed(std::vector<std::string>{"KAITO runs models.", ""}, InputKind::kPassage);
  ASSERT_TRUE(p.is_ok()) << p.status().to_string();
  expect_rows(*p, {"passage: KAITO runs models.", "passage: "}, 8);

  // Without a prefix an empty text is sent as " " (servers reject "").
  auto plain = make(config_for(RemoteProtocol::kOpenAI, server.url()));
  auto blank = plain->embed(std::vector<std::string>{"", "x"}, InputKind::kPassage);
  ASSERT_TRUE(blank.is_ok()) << blank.status().to_string();
  expect_rows(*blank, {" ", "x"}, 8);
}

TEST(RemoteEmbedderOpenAI, EmptyInputMakesNoRequest) {
  FakeEmbeddingServer server;
  auto e = make(config_for(RemoteProtocol::kOpenAI, server.url()));
  auto out = e->embed({}, InputKind::kQuery);
  ASSERT_TRUE(out.is_ok());
  EXPECT_EQ(out->rows(), 0u);
  EXPECT_EQ(server.requests.load(), 0);
}

TEST(RemoteEmbedderOpenAI, RejectsBadIndices) {
  FakeEmbeddingServer server;
  auto e = make(config_for(RemoteProtocol::kOpenAI, server.url()));
  server.edit([](auto& s) {
    s.replies.push_back({200, R"({"data":[{"index":0,"embedding":[1,0]},{"index":0,"embedding":[0,1]}]})"});
    s.replies.push_back({200, R"({"data":[{"index":0,"embedding":[1,0]},{"index":5,"embedding":[0,1]}]})"});
    s.replies.push_back({200, R"({"object":"list"})"});
  });
  const std::vector<std::string> two = {"a", "b"};
  auto dup = e->embed(two, InputKind::kPassage);
  EXPECT_EQ(dup.status().code(), ErrorCode::kUnavailable);
  EXPECT_TRUE(contains(dup.status().message(), "twice")) << dup.status().message();
  auto range = e->embed(two, InputKind::kPassage);
  EXPECT_EQ(range.status().code(), ErrorCode::kUnavailable);
  EXPECT_TRUE(contains(range.status().message(), "invalid index")) << range.status().message();
  auto shape = e->embed(two, InputKind::kPassage);
  EXPECT_EQ(shape.status().code(), ErrorCode::kUnavailable);
  EXPECT_TRUE(contains(shape.status().message(), "\"data\"")) << shape.status().message();
}

// ---- TEI protocol -------------------------------------------------------------------------

TEST(RemoteEmbedderTei, PostsInputsToTheGivenPathInBatches) {
  FakeEmbeddingServer server("", "/embedding");  // KAITO RAGEngine's REMOTE_EMBEDDING_URL shape
  auto c = config_for(RemoteProtocol::kTei, server.tei_url());
  c.batch_size = 4;
  c.api_key = "hf-token";
  auto e = make(c);
  const auto texts = numbered(9);
  auto out = e->embed(texts, InputKind::kPassage);
  ASSERT_TRUE(out.is_ok()) << out.status().to_string();
  expect_rows(*out, texts, 8);
  EXPECT_EQ(server.batch_sizes(), (std::vector<size_t>{4, 4, 1}));
  EXPECT_EQ(server.last_body()["inputs"], nlohmann::json::array({"text 8"}));
  EXPECT_EQ(server.last_body().value("truncate", false), true);
  EXPECT_EQ(server.last_authorization(), "Bearer hf-token");
  EXPECT_EQ(e->info().model_id, e->endpoint_url());
}

TEST(RemoteEmbedderTei, DefaultPathObjectAnswerAndBareVector) {
  FakeEmbeddingServer server;
  server.edit([](auto& s) {
    s.tei_object = true;
    s.dimension = 5;
  });
  auto e = make(config_for(RemoteProtocol::kTei, server.origin()));  // no path: /embed
  EXPECT_EQ(e->endpoint_url(), server.tei_url());
  const auto texts = numbered(3);
  auto out = e->embed(texts, InputKind::kPassage);
  ASSERT_TRUE(out.is_ok()) << out.status().to_string();
  expect_rows(*out, texts, 5);

  server.edit([](auto& s) { s.replies.push_back({200, "[3, 4, 0, 0, 0]"}); });
  auto single = e->embed(std::vector<std::string>{"one"}, InputKind::kQuery);
  ASSERT_TRUE(single.is_ok()) << single.status().to_string();
  EXPECT_NEAR(single->row(0)[0], 0.6f, 1e-6);
  EXPECT_NEAR(single->row(0)[1], 0.8f, 1e-6);
}

TEST(RemoteEmbedderTei, LowersTheBatchSizeToTheServerLimit) {
  FakeEmbeddingServer server;
  server.edit([](auto& s) { s.max_batch = 4; });  // TEI's --max-client-batch-size
  auto c = config_for(RemoteProtocol::kTei, server.tei_url());
  c.batch_size = 10;
  auto e = make(c);
  const auto texts = numbered(10);
  auto out = e->embed(texts, InputKind::kPassage);
  ASSERT_TRUE(out.is_ok()) << out.status().to_string();
  expect_rows(*out, texts, 8);
  EXPECT_EQ(server.batch_sizes(), (std::vector<size_t>{4, 4, 2}));
  EXPECT_EQ(server.requests.load(), 4);  // one refused, then three
}

TEST(RemoteEmbedderTei, RejectsPerTokenVectors) {
  FakeEmbeddingServer server;
  server.edit([](auto& s) { s.replies.push_back({200, "[[[0.1,0.2],[0.3,0.4]]]"}); });
  auto e = make(config_for(RemoteProtocol::kTei, server.tei_url()));
  auto out = e->embed(std::vector<std::string>{"a"}, InputKind::kPassage);
  EXPECT_EQ(out.status().code(), ErrorCode::kUnavailable);
  EXPECT_TRUE(contains(out.status().message(), "per token")) << out.status().message();
}

// ---- retries and HTTP errors --------------------------------------------------------------

TEST(RemoteEmbedderErrors, RetriesServerErrorsThenSucceeds) {
  FakeEmbeddingServer server;
  server.edit([](auto& s) {
    s.replies.push_back({503, R"({"error":{"message":"loading"}})"});
    s.replies.push_back({502, "bad gateway"});
  });
  auto e = make(config_for(RemoteProtocol::kOpenAI, server.url()));
  auto out = e->embed(std::vector<std::string>{"a"}, InputKind::kPassage);
  ASSERT_TRUE(out.is_ok()) << out.status().to_string();
  EXPECT_EQ(server.requests.load(), 3);

  server.edit([](auto& s) {
    for (int i = 0; i < 3; ++i) s.replies.push_back({500, R"({"detail":"CUDA out of memory"})"});
  });
  auto failed = e->embed(std::vector<std::string>{"a"}, InputKind::kPassage);
  EXPECT_EQ(failed.status().code(), ErrorCode::kUnavailable);
  EXPECT_TRUE(contains(failed.status().message(), "CUDA out of memory")) << failed.status().message();
  EXPECT_TRUE(contains(failed.status().message(), "3 attempts")) << failed.status().message();
  EXPECT_EQ(server.requests.load(), 6);
}

TEST(RemoteEmbedderErrors, HonoursRetryAfterOn429) {
  FakeEmbeddingServer server;
  server.edit([](auto& s) { s.replies.push_back({429, R"({"error":"Model is overloaded"})", "1"}); });
  auto e = make(config_for(RemoteProtocol::kTei, server.tei_url()));
  const auto start = Clock::now();
  auto out = e->embed(std::vector<std::string>{"a"}, InputKind::kPassage);
  const double waited = std::chrono::duration<double>(Clock::now() - start).count();
  ASSERT_TRUE(out.is_ok()) << out.status().to_string();
  EXPECT_GE(waited, 0.9);
  EXPECT_EQ(server.requests.load(), 2);
}

TEST(RemoteEmbedderErrors, ClientErrorsAreNotRetriedAndCarryTheMessage) {
  FakeEmbeddingServer server;
  auto e = make(config_for(RemoteProtocol::kOpenAI, server.url()));
  const std::vector<std::string> one = {"a"};
  struct Case {
    std::string body;
    std::string message;
  };
  const std::vector<Case> cases = {
      {R"j({"error":{"message":"input is too long (600 > 512 tokens)","type":"BadRequestError"}})j",
       "input is too long (600 > 512 tokens)"},
      {R"({"error":"Input validation error: bad input","error_type":"Validation"})", "Input validation error"},
      {R"({"detail":[{"loc":["body","input"],"msg":"field required"}]})", "field required"},
      {"plain text failure", "plain text failure"},
  };
  int expected_requests = 0;
  for (const Case& c : cases) {
    server.edit([&](auto& s) { s.replies.push_back({400, c.body}); });
    auto out = e->embed(one, InputKind::kPassage);
    ++expected_requests;
    EXPECT_EQ(out.status().code(), ErrorCode::kInvalidArgument) << c.body;
    EXPECT_TRUE(contains(out.status().message(), c.message)) << out.status().message();
    EXPECT_TRUE(contains(out.status().message(), "(400)")) << out.status().message();
    EXPECT_EQ(server.requests.load(), expected_requests);
  }
}

TEST(RemoteEmbedderErrors, UnauthorizedSaysCheckTheKey) {
  FakeEmbeddingServer server;
  server.edit([](auto& s) { s.required_key = "right"; });
  auto c = config_for(RemoteProtocol::kOpenAI, server.url());
  c.api_key = "wrong";
  auto e = make(c);
  auto out = e->embed(std::vector<std::string>{"a"}, InputKind::kPassage);
  EXPECT_EQ(out.status().code(), ErrorCode::kUnauthenticated);
  EXPECT_TRUE(contains(out.status().message(), "check the API key")) << out.status().message();
  EXPECT_TRUE(contains(out.status().message(), "Invalid API key")) << out.status().message();
  EXPECT_EQ(server.requests.load(), 1);
}

// ---- malformed answers --------------------------------------------------------------------

TEST(RemoteEmbedderErrors, MalformedAnswersNameTheServer) {
  FakeEmbeddingServer server;
  auto e = make(config_for(RemoteProtocol::kOpenAI, server.url()));
  const std::vector<std::string> two = {"a", "b"};
  struct Case {
    std::string body;
    std::string message;
  };
  const std::vector<Case> cases = {
      {"<html>oops</html>", "not JSON"},
      {R"({"data":[{"index":0,"embedding":[1,2]}]})", "1 vectors for 2 texts"},
      {R"({"data":[{"index":0,"embedding":[1,2]},{"index":1,"embedding":[1,2,3]}]})", "different lengths"},
      {R"({"data":[{"index":0,"embedding":[NaN,2]},{"index":1,"embedding":[1,2]}]})", "NaN"},
      {R"({"data":[{"index":0,"embedding":[null,2]},{"index":1,"embedding":[1,2]}]})", "non-numeric"},
      {R"({"data":[{"index":0,"embedding":[1e300,2]},{"index":1,"embedding":[1,2]}]})", "non-finite"},
      {R"({"data":[{"index":0,"embedding":"AAAA"},{"index":1,"embedding":"AAAA"}]})", "base64"},
      {R"({"data":[{"index":0,"embedding":[]},{"index":1,"embedding":[]}]})", "empty vector"},
      {R"({"error":{"message":"engine dead"}})", "engine dead"},
  };
  for (const Case& c : cases) {
    server.edit([&](auto& s) { s.replies.push_back({200, c.body}); });
    auto out = e->embed(two, InputKind::kPassage);
    ASSERT_FALSE(out.is_ok()) << c.body;
    EXPECT_EQ(out.status().code(), ErrorCode::kUnavailable) << c.body;
    EXPECT_TRUE(contains(out.status().message(), c.message)) << out.status().message();
    EXPECT_TRUE(contains(out.status().message(), e->endpoint_url())) << out.status().message();
  }
  EXPECT_EQ(e->info().dimension, 0);  // nothing learned from bad answers
}

TEST(RemoteEmbedderErrors, TeiWrongCount) {
  FakeEmbeddingServer server;
  server.edit([](auto& s) { s.replies.push_back({200, "[[1,2],[3,4],[5,6]]"}); });
  auto e = make(config_for(RemoteProtocol::kTei, server.tei_url()));
  auto out = e->embed(std::vector<std::string>{"a", "b"}, InputKind::kPassage);
  EXPECT_EQ(out.status().code(), ErrorCode::kUnavailable);
  EXPECT_TRUE(contains(out.status().message(), "3 vectors for 2 texts")) << out.status().message();
}

TEST(RemoteEmbedderErrors, ModelSwapBehindTheUrlIsAFailedPrecondition) {
  FakeEmbeddingServer server;
  auto c = config_for(RemoteProtocol::kOpenAI, server.url());
  c.batch_size = 2;
  auto e = make(c);
  ASSERT_TRUE(e->probe().is_ok());
  EXPECT_EQ(e->info().dimension, 8);
  server.edit([](auto& s) {
    s.dimension = 16;
    s.model = "bge-base-en-v1.5";
  });
  auto out = e->embed(numbered(3), InputKind::kPassage);
  EXPECT_EQ(out.status().code(), ErrorCode::kFailedPrecondition);
  EXPECT_TRUE(contains(out.status().message(), "16-dimensional")) << out.status().message();
  EXPECT_TRUE(contains(out.status().message(), "bge-base-en-v1.5")) << out.status().message();
  EXPECT_EQ(e->info().dimension, 8);
  EXPECT_EQ(e->info().model_id, "bge-small-en-v1.5");
}

// ---- transport failures -------------------------------------------------------------------

TEST(RemoteEmbedderErrors, TimeoutIsDeadlineExceededWithoutRetry) {
  FakeEmbeddingServer server;
  server.edit([](auto& s) { s.slow_ms = 3000; });
  auto c = config_for(RemoteProtocol::kTei, server.tei_url());
  c.timeout_seconds = 0.3;
  auto e = make(c);
  const auto start = Clock::now();
  auto out = e->embed(std::vector<std::string>{"a"}, InputKind::kPassage);
  const double took = std::chrono::duration<double>(Clock::now() - start).count();
  EXPECT_EQ(out.status().code(), ErrorCode::kDeadlineExceeded) << out.status().to_string();
  EXPECT_TRUE(contains(out.status().message(), "did not answer within")) << out.status().message();
  EXPECT_LT(took, 1.5);
  EXPECT_EQ(server.requests.load(), 1);
}

TEST(RemoteEmbedderErrors, ConnectionRefusedIsUnavailable) {
  auto c = config_for(RemoteProtocol::kOpenAI, "http://127.0.0.1:" + std::to_string(closed_port()));
  auto e = make(c);
  auto out = e->embed(std::vector<std::string>{"a"}, InputKind::kPassage);
  EXPECT_EQ(out.status().code(), ErrorCode::kUnavailable);
  EXPECT_TRUE(contains(out.status().message(), "embedding server at " + e->endpoint_url() + " is unreachable"))
      << out.status().message();
  EXPECT_TRUE(contains(out.status().message(), "3 attempts")) << out.status().message();
  EXPECT_EQ(e->probe().code(), ErrorCode::kUnavailable);
}

// ---- concurrency --------------------------------------------------------------------------

TEST(RemoteEmbedder, ConcurrentCallsFromThreads) {
  FakeEmbeddingServer server;
  auto c = config_for(RemoteProtocol::kOpenAI, server.url());
  c.batch_size = 3;
  auto e = make(c);
  std::vector<std::thread> threads;
  // 4 threads: the fake server's listen backlog (httplib: 5) drops more simultaneous connects,
  // which the kernel retries only after 1 s.
  std::vector<Result<Embeddings>> results(4, Result<Embeddings>(Status(ErrorCode::kInternal, "not run")));
  std::vector<std::vector<std::string>> inputs;
  for (size_t t = 0; t < results.size(); ++t) inputs.push_back(numbered(15, "thread " + std::to_string(t) + " text "));
  for (size_t t = 0; t < results.size(); ++t) {
    threads.emplace_back([&, t] {
      (void)e->info().dimension;  // readable while another thread learns it
      results[t] = e->embed(inputs[t], InputKind::kPassage);
    });
  }
  for (auto& th : threads) th.join();
  for (size_t t = 0; t < results.size(); ++t) {
    ASSERT_TRUE(results[t].is_ok()) << results[t].status().to_string();
    expect_rows(*results[t], inputs[t], 8);
  }
  EXPECT_EQ(server.requests.load(), 4 * 5);
  EXPECT_EQ(e->info().dimension, 8);
}

}  // namespace
}  // namespace kr::embed
