#include "core/log.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "core/text.h"

namespace kr {
namespace {

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) lines.push_back(line);
  return lines;
}

class LogTest : public ::testing::Test {
 protected:
  void TearDown() override { log::configure("info", false); }
};

TEST_F(LogTest, JsonLineIsValidJsonWithEscaping) {
  log::configure("debug", true);
  const std::string message = "he said \"hi\"\n\tback\\slash\r and a bell \x07 and \x1f";
  ::testing::internal::CaptureStderr();
  log::info(message, {{"path", "/v1/a\"b"}, {"ctl", std::string("x\x01y")}, {"utf8", "caf\xC3\xA9 \xE2\x82\xAC"}});
  const std::string captured = ::testing::internal::GetCapturedStderr();

  const auto lines = lines_of(captured);
  ASSERT_EQ(lines.size(), 1u) << captured;  // escaping keeps it on one line
  ASSERT_EQ(captured.back(), '\n');
  const auto j = nlohmann::json::parse(lines[0], nullptr, false);
  ASSERT_FALSE(j.is_discarded()) << lines[0];
  ASSERT_TRUE(j.is_object());
  EXPECT_EQ(j.at("level"), "info");
  EXPECT_EQ(j.at("msg"), message);
  EXPECT_EQ(j.at("path"), "/v1/a\"b");
  EXPECT_EQ(j.at("ctl"), std::string("x\x01y"));
  EXPECT_EQ(j.at("utf8"), "caf\xC3\xA9 \xE2\x82\xAC");
  // ISO-8601 UTC timestamp with milliseconds.
  const std::string ts = j.at("ts");
  ASSERT_EQ(ts.size(), 24u) << ts;
  EXPECT_EQ(ts[4], '-');
  EXPECT_EQ(ts[10], 'T');
  EXPECT_EQ(ts[19], '.');
  EXPECT_EQ(ts.back(), 'Z');
  // Key order: ts, level, msg first.
  EXPECT_EQ(lines[0].rfind("{\"ts\":", 0), 0u);
}

TEST_F(LogTest, JsonLevelsAndEmptyFields) {
  log::configure("debug", true);
  ::testing::internal::CaptureStderr();
  log::debug("d");
  log::info("i");
  log::warn("w");
  log::error("e", {{"", ""}});
  const auto lines = lines_of(::testing::internal::GetCapturedStderr());
  ASSERT_EQ(lines.size(), 4u);
  const char* levels[] = {"debug", "info", "warn", "error"};
  for (size_t i = 0; i < lines.size(); ++i) {
    const auto j = nlohmann::json::parse(lines[i], nullptr, false);
    ASSERT_FALSE(j.is_discarded()) << lines[i];
    EXPECT_EQ(j.at("level"), levels[i]);
  }
}

TEST_F(LogTest, JsonLineStaysValidWithInvalidUtf8) {
  // Log fields can carry bytes from the outside (e.g. a percent-decoded request
  // path "/v1/collections/%FF" in the access log); the line must remain JSON.
  log::configure("info", true);
  ::testing::internal::CaptureStderr();
  log::info("request", {{"path", "/v1/collections/\xFF\xFE"}, {"name", "trunc\xE2\x82"}});
  const std::string captured = ::testing::internal::GetCapturedStderr();
  const auto lines = lines_of(captured);
  ASSERT_EQ(lines.size(), 1u);
  const auto j = nlohmann::json::parse(lines[0], nullptr, false);
  ASSERT_FALSE(j.is_discarded()) << lines[0];
  EXPECT_TRUE(is_valid_utf8(lines[0]));
  EXPECT_EQ(j.at("msg"), "request");
}

TEST_F(LogTest, LevelFiltering) {
  log::configure("warn", false);
  EXPECT_FALSE(log::enabled(log::Level::kDebug));
  EXPECT_FALSE(log::enabled(log::Level::kInfo));
  EXPECT_TRUE(log::enabled(log::Level::kWarn));
  EXPECT_TRUE(log::enabled(log::Level::kError));
  ::testing::internal::CaptureStderr();
  log::debug("hidden-debug");
  log::info("hidden-info");
  log::warn("shown-warn");
  log::error("shown-error");
  const std::string captured = ::testing::internal::GetCapturedStderr();
  EXPECT_EQ(captured.find("hidden"), std::string::npos) << captured;
  EXPECT_NE(captured.find("shown-warn"), std::string::npos);
  EXPECT_NE(captured.find("shown-error"), std::string::npos);

  log::configure("error", false);
  EXPECT_FALSE(log::enabled(log::Level::kWarn));
  EXPECT_TRUE(log::enabled(log::Level::kError));
  log::configure("debug", false);
  EXPECT_TRUE(log::enabled(log::Level::kDebug));
  log::configure("nonsense", false);  // unknown level: info
  EXPECT_FALSE(log::enabled(log::Level::kDebug));
  EXPECT_TRUE(log::enabled(log::Level::kInfo));
}

TEST_F(LogTest, TextFormat) {
  log::configure("info", false);
  ::testing::internal::CaptureStderr();
  log::warn("disk almost full", {{"free", "3%"}, {"dir", "/data"}});
  const std::string captured = ::testing::internal::GetCapturedStderr();
  const auto lines = lines_of(captured);
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_NE(lines[0].find(" warn disk almost full free=3% dir=/data"), std::string::npos) << lines[0];
  EXPECT_EQ(lines[0].back(), 'a');
  EXPECT_EQ(lines[0].find('{'), std::string::npos);
}

TEST_F(LogTest, ConcurrentWritersProduceWholeLines) {
  log::configure("info", true);
  ::testing::internal::CaptureStderr();
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([t] {
      for (int i = 0; i < 50; ++i) log::info("event", {{"thread", std::to_string(t)}, {"i", std::to_string(i)}});
    });
  }
  for (auto& thread : threads) thread.join();
  const auto lines = lines_of(::testing::internal::GetCapturedStderr());
  ASSERT_EQ(lines.size(), 200u);
  for (const auto& line : lines) {
    const auto j = nlohmann::json::parse(line, nullptr, false);
    ASSERT_FALSE(j.is_discarded()) << line;
    EXPECT_EQ(j.at("msg"), "event");
  }
}

}  // namespace
}  // namespace kr
