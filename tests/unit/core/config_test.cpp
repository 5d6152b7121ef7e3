#include "core/config.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <set>
#include <string>

namespace kr {
namespace {

namespace fs = std::filesystem;

// A fake environment for ConfigSources::getenv.
class FakeEnv {
 public:
  std::map<std::string, std::string> vars;
  std::function<const char*(const char*)> getenv() {
    return [this](const char* name) -> const char* {
      auto it = vars.find(name);
      return it == vars.end() ? nullptr : it->second.c_str();
    };
  }
};

class ConfigTest : public ::testing::Test {
 protected:
  void SetUp() override {
    static std::atomic<int> counter{0};
    dir_ = fs::path(::testing::TempDir()) /
           ("kr_config_" + std::to_string(::getpid()) + "_" + std::to_string(counter++));
    fs::create_directories(dir_);
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }

  std::string write_file(const std::string& content) {
    const std::string path = (dir_ / ("config" + std::to_string(files_++) + ".conf")).string();
    std::ofstream(path) << content;
    return path;
  }

  ConfigSources sources(const std::string& file = "") {
    ConfigSources s;
    s.config_file = file;
    s.getenv = env_.getenv();
    return s;
  }

  FakeEnv env_;
  fs::path dir_;
  int files_ = 0;
};

TEST_F(ConfigTest, DefaultsWithNoSources) {
  auto config = load_config(sources());
  ASSERT_TRUE(config.is_ok()) << config.status().to_string();
  const Config defaults;
  EXPECT_EQ(config->data_dir, "./data");
  EXPECT_EQ(config->host, "127.0.0.1");
  EXPECT_EQ(config->port, 8080);
  EXPECT_EQ(config->http_threads, 8);
  EXPECT_EQ(config->max_upload_bytes, 256ll << 20);
  EXPECT_EQ(config->max_json_bytes, 8ll << 20);
  EXPECT_TRUE(config->api_keys.empty());
  EXPECT_EQ(config->llm_url, "");
  EXPECT_EQ(config->llm_context_window, 0);
  EXPECT_EQ(config->answer_max_tokens, 512);
  EXPECT_EQ(config->chunk_max_tokens, 300);
  EXPECT_EQ(config->chunk_overlap_tokens, 40);
  EXPECT_EQ(config->parse_isolation, "process");
  EXPECT_EQ(config->language, "english");
  EXPECT_DOUBLE_EQ(config->bm25_k1, 1.2);
  EXPECT_DOUBLE_EQ(config->bm25_b, 0.75);
  EXPECT_EQ(config->default_top_k, 8);
  EXPECT_EQ(config->log_level, "info");
  EXPECT_EQ(config->log_format, "text");
  // Every option reads back the same as a default-constructed Config.
  for (const auto& spec : option_specs()) EXPECT_EQ(spec.get(*config), spec.get(defaults)) << spec.name;
  EXPECT_TRUE(validate_config(defaults).is_ok());
}

TEST_F(ConfigTest, OptionSpecsAreWellFormed) {
  std::set<std::string> names, envs;
  for (const auto& spec : option_specs()) {
    EXPECT_TRUE(names.insert(spec.name).second) << "duplicate option " << spec.name;
    EXPECT_TRUE(envs.insert(spec.env).second) << "duplicate env " << spec.env;
    EXPECT_EQ(spec.env.rfind("KAITO_RAG_", 0), 0u) << spec.env;
    EXPECT_FALSE(spec.help.empty()) << spec.name;
    ASSERT_TRUE(spec.set) << spec.name;
    ASSERT_TRUE(spec.get) << spec.name;
    // get() output is accepted by set() and round-trips.
    Config config;
    const std::string value = spec.get(config);
    Config copy;
    EXPECT_TRUE(spec.set(copy, value).is_ok()) << spec.name << " = " << value;
    EXPECT_EQ(spec.get(copy), value) << spec.name;
  }
  for (const char* expected : {"data_dir", "port", "api_keys", "llm_url", "llm_api_key", "parse_isolation",
                               "chunk_max_tokens", "log_format"}) {
    EXPECT_TRUE(names.count(expected)) << expected;
  }
}

TEST_F(ConfigTest, SecretsAreMarked) {
  std::map<std::string, bool> secret;
  for (const auto& spec : option_specs()) secret[spec.name] = spec.secret;
  EXPECT_TRUE(secret["api_keys"]);
  EXPECT_TRUE(secret["llm_api_key"]);
  EXPECT_FALSE(secret["llm_url"]);
  EXPECT_FALSE(secret["port"]);
}

TEST_F(ConfigTest, PrecedenceDefaultsFileEnvFlags) {
  const std::string file = write_file("port = 1000\nhost = 10.0.0.1\nllm_model = from-file\nlanguage = german\n");
  env_.vars["KAITO_RAG_PORT"] = "2000";
  env_.vars["KAITO_RAG_LLM_MODEL"] = "from-env";

  ConfigSources s = sources(file);
  s.flags["port"] = "3000";
  auto config = load_config(s);
  ASSERT_TRUE(config.is_ok()) << config.status().to_string();
  EXPECT_EQ(config->port, 3000);               // flag beats env and file
  EXPECT_EQ(config->llm_model, "from-env");    // env beats file
  EXPECT_EQ(config->host, "10.0.0.1");         // file beats default
  EXPECT_EQ(config->language, "german");
  EXPECT_EQ(config->data_dir, "./data");       // default

  s.flags.clear();
  config = load_config(s);
  ASSERT_TRUE(config.is_ok());
  EXPECT_EQ(config->port, 2000);

  env_.vars.erase("KAITO_RAG_PORT");
  config = load_config(s);
  ASSERT_TRUE(config.is_ok());
  EXPECT_EQ(config->port, 1000);
}

TEST_F(ConfigTest, IdentityOptions) {
  auto config = load_config(sources());
  ASSERT_TRUE(config.is_ok());
  EXPECT_FALSE(config->allow_unauthenticated);
  EXPECT_TRUE(config->private_collections);
  EXPECT_FALSE(config->metrics_collection_labels);
  EXPECT_EQ(config->oidc_roles_claim, "roles");

  env_.vars["KAITO_RAG_ALLOW_UNAUTHENTICATED"] = "yes";
  env_.vars["KAITO_RAG_OIDC_ISSUER"] = "https://login.microsoftonline.com/t/v2.0";
  env_.vars["KAITO_RAG_OIDC_AUDIENCE"] = "api://kaito-rag, 1111-2222";
  ConfigSources s = sources();
  s.flags["private_collections"] = "off";
  config = load_config(s);
  ASSERT_TRUE(config.is_ok()) << config.status().to_string();
  EXPECT_TRUE(config->allow_unauthenticated);
  EXPECT_FALSE(config->private_collections);
  EXPECT_EQ(config->oidc_audience, (std::vector<std::string>{"api://kaito-rag", "1111-2222"}));

  s.flags["metrics_require_auth"] = "maybe";
  EXPECT_EQ(load_config(s).status().code(), ErrorCode::kInvalidArgument);
  s.flags.erase("metrics_require_auth");
  env_.vars.erase("KAITO_RAG_OIDC_AUDIENCE");  // an issuer without an audience would accept any token of it
  auto missing = load_config(s);
  ASSERT_FALSE(missing.is_ok());
  EXPECT_NE(missing.status().message().find("oidc_audience"), std::string::npos);
}

TEST_F(ConfigTest, EmptyEnvironmentValueIsIgnored) {
  env_.vars["KAITO_RAG_HOST"] = "";
  auto config = load_config(sources());
  ASSERT_TRUE(config.is_ok());
  EXPECT_EQ(config->host, "127.0.0.1");
}

TEST_F(ConfigTest, EnvironmentValuesOfEveryType) {
  env_.vars["KAITO_RAG_DATA_DIR"] = "/var/lib/kaito";
  env_.vars["KAITO_RAG_MAX_UPLOAD_BYTES"] = "1048576";
  env_.vars["KAITO_RAG_LLM_TEMPERATURE"] = "0.5";
  env_.vars["KAITO_RAG_API_KEYS"] = " k1 , ,k2,";
  env_.vars["KAITO_RAG_PARSE_ISOLATION"] = "inline";
  auto config = load_config(sources());
  ASSERT_TRUE(config.is_ok()) << config.status().to_string();
  EXPECT_EQ(config->data_dir, "/var/lib/kaito");
  EXPECT_EQ(config->max_upload_bytes, 1048576);
  EXPECT_DOUBLE_EQ(config->llm_temperature, 0.5);
  EXPECT_EQ(config->api_keys, (std::vector<std::string>{"k1", "k2"}));
  EXPECT_EQ(config->parse_isolation, "inline");
}

TEST_F(ConfigTest, BadEnvironmentValueNamesTheVariable) {
  env_.vars["KAITO_RAG_PORT"] = "eighty";
  auto config = load_config(sources());
  ASSERT_FALSE(config.is_ok());
  EXPECT_EQ(config.status().code(), ErrorCode::kInvalidArgument);
  EXPECT_NE(config.status().message().find("KAITO_RAG_PORT"), std::string::npos) << config.status().message();
  EXPECT_NE(config.status().message().find("eighty"), std::string::npos);
}

TEST_F(ConfigTest, ConfigFileSyntax) {
  const std::string file = write_file(
      "# a comment line\n"
      "\n"
      "   # an indented comment\n"
      "port=9090\n"
      "  host   =   0.0.0.0   \n"
      "llm_model = \"phi 3 mini\"\n"
      "data_dir = \"/tmp/with # hash\"\n"
      "llm_temperature = 0.25\n"
      "\t\n");
  auto config = load_config(sources(file));
  ASSERT_TRUE(config.is_ok()) << config.status().to_string();
  EXPECT_EQ(config->port, 9090);
  EXPECT_EQ(config->host, "0.0.0.0");
  EXPECT_EQ(config->llm_model, "phi 3 mini");  // quotes removed, inner spaces kept
  EXPECT_EQ(config->data_dir, "/tmp/with # hash");  // '#' inside a value is not a comment
  EXPECT_DOUBLE_EQ(config->llm_temperature, 0.25);
}

TEST_F(ConfigTest, ConfigFileEmptyQuotedValue) {
  const std::string file = write_file("llm_url = \"\"\n");
  auto config = load_config(sources(file));
  ASSERT_TRUE(config.is_ok()) << config.status().to_string();
  EXPECT_EQ(config->llm_url, "");
}

TEST_F(ConfigTest, ConfigFileUnknownKeyReportsLineNumber) {
  const std::string file = write_file("# header\nport = 8081\nbogus_option = 1\n");
  auto config = load_config(sources(file));
  ASSERT_FALSE(config.is_ok());
  EXPECT_EQ(config.status().code(), ErrorCode::kInvalidArgument);
  const std::string message = config.status().message();
  EXPECT_NE(message.find(file + ":3:"), std::string::npos) << message;
  EXPECT_NE(message.find("unknown option 'bogus_option'"), std::string::npos) << message;
}

TEST_F(ConfigTest, ConfigFileBadIntReportsLineAndOption) {
  for (const std::string bad : {"abc", "12abc", "1.5", "", "99999999999999999999"}) {
    const std::string file = write_file("\nport = " + bad + "\n");
    auto config = load_config(sources(file));
    ASSERT_FALSE(config.is_ok()) << "port = '" << bad << "' was accepted";
    EXPECT_EQ(config.status().code(), ErrorCode::kInvalidArgument);
    const std::string message = config.status().message();
    EXPECT_NE(message.find(file + ":2:"), std::string::npos) << message;
    EXPECT_NE(message.find("port"), std::string::npos) << message;
    EXPECT_NE(message.find("integer"), std::string::npos) << message;
  }
}

TEST_F(ConfigTest, ConfigFileBadDouble) {
  const std::string file = write_file("llm_temperature = warm\n");
  auto config = load_config(sources(file));
  ASSERT_FALSE(config.is_ok());
  EXPECT_NE(config.status().message().find(":1:"), std::string::npos);
  EXPECT_NE(config.status().message().find("number"), std::string::npos) << config.status().message();
}

TEST_F(ConfigTest, ConfigFileLineWithoutEquals) {
  const std::string file = write_file("port = 1\njust some words\n");
  auto config = load_config(sources(file));
  ASSERT_FALSE(config.is_ok());
  EXPECT_NE(config.status().message().find(file + ":2:"), std::string::npos) << config.status().message();
  EXPECT_NE(config.status().message().find("key = value"), std::string::npos);
}

TEST_F(ConfigTest, MissingConfigFile) {
  auto config = load_config(sources((dir_ / "missing.conf").string()));
  ASSERT_FALSE(config.is_ok());
  EXPECT_EQ(config.status().code(), ErrorCode::kInvalidArgument);
  EXPECT_NE(config.status().message().find("missing.conf"), std::string::npos);
}

TEST_F(ConfigTest, UnknownAndBadFlags) {
  ConfigSources s = sources();
  s.flags["no_such_flag"] = "1";
  auto config = load_config(s);
  ASSERT_FALSE(config.is_ok());
  EXPECT_NE(config.status().message().find("no_such_flag"), std::string::npos);

  s.flags.clear();
  s.flags["http_threads"] = "many";
  config = load_config(s);
  ASSERT_FALSE(config.is_ok());
  EXPECT_NE(config.status().message().find("http_threads"), std::string::npos);
}

TEST_F(ConfigTest, LoadConfigValidates) {
  ConfigSources s = sources();
  s.flags["port"] = "70000";
  auto config = load_config(s);
  ASSERT_FALSE(config.is_ok());
  EXPECT_EQ(config.status().code(), ErrorCode::kInvalidArgument);
  EXPECT_NE(config.status().message().find("port"), std::string::npos);
}

struct Rule {
  const char* what;
  std::function<void(Config&)> breaks;
  const char* message_part;
};

TEST(ValidateConfig, EachRule) {
  const std::vector<Rule> rules = {
      {"empty data_dir", [](Config& c) { c.data_dir = ""; }, "data_dir"},
      {"negative port", [](Config& c) { c.port = -1; }, "port"},
      {"port too big", [](Config& c) { c.port = 65536; }, "port"},
      {"no http threads", [](Config& c) { c.http_threads = 0; }, "http_threads"},
      {"too many http threads", [](Config& c) { c.http_threads = 257; }, "http_threads"},
      {"tiny upload limit", [](Config& c) { c.max_upload_bytes = 1023; }, "max_upload_bytes"},
      {"tiny json limit", [](Config& c) { c.max_json_bytes = 1023; }, "max_json_bytes"},
      {"zero request timeout", [](Config& c) { c.request_timeout_seconds = 0; }, "request_timeout_seconds"},
      {"zero llm timeout", [](Config& c) { c.llm_timeout_seconds = 0; }, "llm_timeout_seconds"},
      {"negative retries", [](Config& c) { c.llm_max_retries = -1; }, "llm_max_retries"},
      {"too many retries", [](Config& c) { c.llm_max_retries = 11; }, "llm_max_retries"},
      {"negative window", [](Config& c) { c.llm_context_window = -1; }, "llm_context_window"},
      {"tiny answer", [](Config& c) { c.answer_max_tokens = 15; }, "answer_max_tokens"},
      {"answer fills window",
       [](Config& c) {
         c.llm_context_window = 512;
         c.answer_max_tokens = 512;
       },
       "smaller than llm_context_window"},
      {"tiny chunks", [](Config& c) { c.chunk_max_tokens = 15; }, "chunk_max_tokens"},
      {"huge chunks", [](Config& c) { c.chunk_max_tokens = 8193; }, "chunk_max_tokens"},
      {"negative overlap", [](Config& c) { c.chunk_overlap_tokens = -1; }, "chunk_overlap_tokens"},
      {"overlap half a chunk",
       [](Config& c) {
         c.chunk_max_tokens = 100;
         c.chunk_overlap_tokens = 50;
       },
       "chunk_overlap_tokens"},
      {"zero parse bytes", [](Config& c) { c.parse_max_file_bytes = 0; }, "parse_max_file_bytes"},
      {"zero parse seconds", [](Config& c) { c.parse_max_seconds = 0; }, "parse_max_seconds"},
      {"zero parse pages", [](Config& c) { c.parse_max_pages = 0; }, "parse_max_pages"},
      {"unknown isolation", [](Config& c) { c.parse_isolation = "thread"; }, "parse_isolation"},
      {"negative k1", [](Config& c) { c.bm25_k1 = -0.1; }, "bm25_k1"},
      {"negative b", [](Config& c) { c.bm25_b = -0.1; }, "bm25_b"},
      {"b above one", [](Config& c) { c.bm25_b = 1.01; }, "bm25_b"},
      {"zero top_k", [](Config& c) { c.default_top_k = 0; }, "default_top_k"},
      {"huge top_k", [](Config& c) { c.default_top_k = 1001; }, "default_top_k"},
      {"unknown log level", [](Config& c) { c.log_level = "trace"; }, "log_level"},
      {"unknown log format", [](Config& c) { c.log_format = "xml"; }, "log_format"},
  };
  for (const auto& rule : rules) {
    Config config;
    rule.breaks(config);
    Status status = validate_config(config);
    ASSERT_FALSE(status.is_ok()) << rule.what << " was accepted";
    EXPECT_EQ(status.code(), ErrorCode::kInvalidArgument) << rule.what;
    EXPECT_NE(status.message().find(rule.message_part), std::string::npos)
        << rule.what << ": " << status.message();
  }
}

TEST(ValidateConfig, AcceptsBoundaryValues) {
  Config c;
  c.port = 0;
  c.http_threads = 256;
  c.max_upload_bytes = 1024;
  c.max_json_bytes = 1024;
  c.request_timeout_seconds = 1;
  c.llm_max_retries = 10;
  c.llm_context_window = 17;
  c.answer_max_tokens = 16;
  c.chunk_max_tokens = 16;
  c.chunk_overlap_tokens = 7;
  c.bm25_k1 = 0;
  c.bm25_b = 1;
  c.default_top_k = 1000;
  c.log_level = "debug";
  c.log_format = "json";
  c.parse_isolation = "inline";
  EXPECT_TRUE(validate_config(c).is_ok()) << validate_config(c).to_string();
  for (const char* level : {"debug", "info", "warn", "error"}) {
    c.log_level = level;
    EXPECT_TRUE(validate_config(c).is_ok()) << level;
  }
}

TEST_F(ConfigTest, ConfigFileWithCrlfLineEndings) {
  const std::string file = write_file("# windows file\r\nport = 7070\r\nllm_model = \"m\"\r\n");
  auto config = load_config(sources(file));
  ASSERT_TRUE(config.is_ok()) << config.status().to_string();
  EXPECT_EQ(config->port, 7070);
  EXPECT_EQ(config->llm_model, "m");
}

TEST_F(ConfigTest, LaterLinesOfTheFileWin) {
  const std::string file = write_file("port = 1\nport = 2\n");
  auto config = load_config(sources(file));
  ASSERT_TRUE(config.is_ok());
  EXPECT_EQ(config->port, 2);
}

TEST_F(ConfigTest, NotANumberIsRejected) {
  // strtod accepts "nan"; every range check of validate_config is false for NaN.
  std::vector<std::string> accepted;
  for (const char* option : {"bm25_k1", "bm25_b", "llm_timeout_seconds", "parse_max_seconds"}) {
    ConfigSources s = sources();
    s.flags[option] = "nan";
    auto config = load_config(s);
    if (config.is_ok()) accepted.push_back(option);
    else EXPECT_EQ(config.status().code(), ErrorCode::kInvalidArgument);
  }
  EXPECT_TRUE(accepted.empty()) << "NaN accepted for " << accepted.size() << " options";
}

TEST_F(ConfigTest, DescribeConfigMasksSecretsAndShowsOrigins) {
  const std::string file = write_file("host = 10.1.2.3\n");
  env_.vars["KAITO_RAG_LLM_API_KEY"] = "sk-very-secret";
  env_.vars["KAITO_RAG_LLM_URL"] = "http://model/v1";
  ConfigSources s = sources(file);
  s.flags["api_keys"] = "key-one,key-two";
  s.flags["port"] = "9000";
  auto config = load_config(s);
  ASSERT_TRUE(config.is_ok()) << config.status().to_string();
  const std::string text = describe_config(*config);

  EXPECT_EQ(text.find("sk-very-secret"), std::string::npos) << text;
  EXPECT_EQ(text.find("key-one"), std::string::npos) << text;
  EXPECT_EQ(text.find("key-two"), std::string::npos) << text;
  EXPECT_NE(text.find("llm_api_key = ********  # env KAITO_RAG_LLM_API_KEY\n"), std::string::npos) << text;
  EXPECT_NE(text.find("api_keys = ********  # flag\n"), std::string::npos) << text;
  EXPECT_NE(text.find("llm_url = http://model/v1  # env KAITO_RAG_LLM_URL\n"), std::string::npos) << text;
  EXPECT_NE(text.find("port = 9000  # flag\n"), std::string::npos) << text;
  EXPECT_NE(text.find("host = 10.1.2.3  # file\n"), std::string::npos) << text;
  EXPECT_NE(text.find("data_dir = ./data  # default\n"), std::string::npos) << text;
  // One line per option.
  size_t lines = 0;
  for (char c : text) lines += c == '\n';
  EXPECT_EQ(lines, option_specs().size());
}

TEST_F(ConfigTest, DescribeConfigLeavesEmptySecretsEmpty) {
  auto config = load_config(sources());
  ASSERT_TRUE(config.is_ok());
  const std::string text = describe_config(*config);
  EXPECT_NE(text.find("llm_api_key =   # default\n"), std::string::npos) << text;
  EXPECT_EQ(text.find("********"), std::string::npos) << text;
}

}  // namespace
}  // namespace kr

namespace kr {
namespace {

// The PostgreSQL store (issue 14): its URL may carry a password and is required with --store postgres.
TEST(PgStoreConfig, UrlIsSecretAndRequiredByThePostgresStore) {
  for (const auto& spec : option_specs()) {
    if (spec.name == "pg_url") {
      EXPECT_TRUE(spec.secret);
    }
  }
  Config config;
  EXPECT_TRUE(validate_config(config).is_ok());
  config.store = "postgres";
  Status missing = validate_config(config);
  EXPECT_EQ(missing.code(), ErrorCode::kInvalidArgument);
  EXPECT_NE(missing.message().find("--pg-url"), std::string::npos) << missing.message();
  config.pg_url = "postgresql://kaito:secret@db/rag";
  EXPECT_TRUE(validate_config(config).is_ok());
  config.store = "mysql";
  EXPECT_EQ(validate_config(config).code(), ErrorCode::kInvalidArgument);
  config.store = "postgres";
  const std::string described = describe_config(config);
  EXPECT_EQ(described.find("secret"), std::string::npos) << described;
}

}  // namespace
}  // namespace kr

namespace kr {
namespace {

// Issue 10: how the model is prompted.
TEST(PromptStyleConfig, AutoByDefaultAndOnlyKnownStyles) {
  Config config;
  EXPECT_EQ(config.llm_prompt_style, "auto");
  for (const char* style : {"auto", "chat", "completion"}) {
    config.llm_prompt_style = style;
    EXPECT_TRUE(validate_config(config).is_ok()) << style;
  }
  config.llm_prompt_style = "instruct";
  const Status bad = validate_config(config);
  EXPECT_EQ(bad.code(), ErrorCode::kInvalidArgument);
  EXPECT_NE(bad.message().find("auto, chat or completion"), std::string::npos) << bad.message();
}

}  // namespace
}  // namespace kr
