// ParseRunner: the inline path, the worker's result file, the limits' round trip,
// and the isolated path driven with stand-in worker scripts.
#include "service/parse_runner.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>
#include <sstream>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "core/log.h"
#include "service/input_file.h"

namespace kr::service {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

const char* kMarkdown = "# Guide\n\nIntro text here.\n\n## Install\n\nRun make install.\n";

std::string read_all(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

class ParseRunnerTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { log::configure("error", false); }
  static void TearDownTestSuite() { log::configure("info", false); }
  void SetUp() override {
    static std::atomic<int> counter{0};
    dir_ = (fs::path(::testing::TempDir()) /
            ("kr_parse_runner_" + std::to_string(::getpid()) + "_" + std::to_string(counter++)))
               .string();
    fs::create_directories(dir_);
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }

  std::string write(const std::string& name, const std::string& bytes) {
    const std::string path = dir_ + "/" + name;
    std::ofstream(path, std::ios::binary) << bytes;
    return path;
  }

  // A stand-in for "kaito-rag __parse-worker IN OUT NAME limits..." as a shell script.
  std::string script(const std::string& name, const std::string& body) {
    const std::string path = write(name, "#!/bin/sh\n" + body + "\n");
    ::chmod(path.c_str(), 0755);
    return path;
  }

  ParseRunner runner(const std::string& worker) const {
    ParseRunnerOptions options;
    options.worker_executable = worker;
    options.scratch_dir = dir_ + "/scratch";
    options.limits.max_seconds_per_file = 5;
    return ParseRunner(options);
  }

  std::string dir_;
};

TEST_F(ParseRunnerTest, InlineParse) {
  const ParseRunner inline_runner(ParseRunnerOptions{});
  EXPECT_TRUE(inline_runner.options().worker_executable.empty());
  auto doc = inline_runner.parse(kMarkdown, "guide.md");
  ASSERT_TRUE(doc.is_ok()) << doc.status().to_string();
  EXPECT_EQ(doc->format, parse::Format::kMarkdown);
  ASSERT_FALSE(doc->blocks.empty());
  bool found_install = false;
  for (const auto& block : doc->blocks) {
    if (block.text == "Run make install.") {
      found_install = true;
      EXPECT_EQ(block.heading_path, (std::vector<std::string>{"Guide", "Install"}));
    }
  }
  EXPECT_TRUE(found_install);
}

TEST_F(ParseRunnerTest, InlineErrors) {
  const ParseRunner inline_runner(ParseRunnerOptions{});
  auto empty = inline_runner.parse("", "empty.txt");
  ASSERT_FALSE(empty.is_ok());
  EXPECT_EQ(empty.status().code(), ErrorCode::kInvalidArgument);

  std::mt19937 random(5);
  std::string garbage(2048, '\0');
  for (char& c : garbage) c = static_cast<char>(random() & 0xFF);
  auto bad = inline_runner.parse(garbage, "blob.bin");
  ASSERT_FALSE(bad.is_ok());
  EXPECT_EQ(bad.status().code(), ErrorCode::kUnsupported);

  ParseRunnerOptions small;
  small.limits.max_file_bytes = 10;
  auto too_large = ParseRunner(small).parse(kMarkdown, "guide.md");
  ASSERT_FALSE(too_large.is_ok());
  EXPECT_EQ(too_large.status().code(), ErrorCode::kTooLarge);
}

TEST(LimitsArgs, RoundTrip) {
  parse::Limits limits;
  limits.max_file_bytes = 123456789012ull;
  limits.max_zip_total_bytes = 987654321ull;
  limits.max_zip_ratio = 123.5;
  limits.max_xml_depth = 77;
  limits.max_pages = 9;
  limits.max_seconds_per_file = 2.25;
  limits.ocr_language = "eng+deu";
  limits.ocr_seconds_per_page = 7.5;
  limits.ocr_dpi = 150;
  const auto args = limits_to_args(limits);
  ASSERT_EQ(args.size(), kLimitArgs);
  const parse::Limits back = limits_from_args(args);
  EXPECT_EQ(back.max_file_bytes, limits.max_file_bytes);
  EXPECT_EQ(back.max_zip_total_bytes, limits.max_zip_total_bytes);
  EXPECT_DOUBLE_EQ(back.max_zip_ratio, limits.max_zip_ratio);
  EXPECT_EQ(back.max_xml_depth, limits.max_xml_depth);
  EXPECT_EQ(back.max_pages, limits.max_pages);
  EXPECT_DOUBLE_EQ(back.max_seconds_per_file, limits.max_seconds_per_file);
  EXPECT_TRUE(back.ocr_enabled);
  EXPECT_EQ(back.ocr_language, "eng+deu");
  EXPECT_DOUBLE_EQ(back.ocr_seconds_per_page, 7.5);
  EXPECT_EQ(back.ocr_dpi, 150);
  limits.ocr_enabled = false;
  EXPECT_FALSE(limits_from_args(limits_to_args(limits)).ocr_enabled);
}

TEST(LimitsArgs, DefaultsRoundTrip) {
  const parse::Limits defaults;
  const parse::Limits back = limits_from_args(limits_to_args(defaults));
  EXPECT_EQ(back.max_file_bytes, defaults.max_file_bytes);
  EXPECT_EQ(back.max_zip_total_bytes, defaults.max_zip_total_bytes);
  EXPECT_DOUBLE_EQ(back.max_zip_ratio, defaults.max_zip_ratio);
  EXPECT_EQ(back.max_xml_depth, defaults.max_xml_depth);
  EXPECT_EQ(back.max_pages, defaults.max_pages);
  EXPECT_DOUBLE_EQ(back.max_seconds_per_file, defaults.max_seconds_per_file);
}

TEST(LimitsArgs, TooFewArgumentsGiveDefaults) {
  const parse::Limits defaults;
  const parse::Limits back = limits_from_args({"1", "2"});
  EXPECT_EQ(back.max_file_bytes, defaults.max_file_bytes);
  EXPECT_EQ(back.max_pages, defaults.max_pages);
  const parse::Limits none = limits_from_args({});
  EXPECT_EQ(none.max_xml_depth, defaults.max_xml_depth);
}

TEST_F(ParseRunnerTest, WorkerWritesADocumentResult) {
  const std::string in = write("in.md", kMarkdown);
  const std::string out = dir_ + "/out.json";
  ASSERT_EQ(run_parse_worker(in, out, "guide.md", parse::Limits{}), 0);
  EXPECT_FALSE(fs::exists(out + ".tmp"));
  const json result = json::parse(read_all(out), nullptr, false);
  ASSERT_FALSE(result.is_discarded());
  ASSERT_TRUE(result.contains("document")) << result.dump();
  EXPECT_FALSE(result.contains("error"));
  const json& doc = result["document"];
  EXPECT_EQ(doc.at("format").get<int>(), static_cast<int>(parse::Format::kMarkdown));
  EXPECT_TRUE(doc.at("title").is_string());
  EXPECT_TRUE(doc.at("page_count").is_number_integer());
  EXPECT_TRUE(doc.at("ocr").is_array());
  EXPECT_TRUE(doc.at("warnings").is_array());
  ASSERT_TRUE(doc.at("blocks").is_array());
  ASSERT_FALSE(doc["blocks"].empty());
  for (const auto& block : doc["blocks"]) {
    EXPECT_TRUE(block.at("t").is_string());
    EXPECT_TRUE(block.at("k").is_number_integer());
    EXPECT_TRUE(block.at("p").is_number_integer());
    EXPECT_TRUE(block.at("h").is_array());
  }
  // Same blocks as an inline parse.
  auto inline_doc = parse::parse_document(kMarkdown, "guide.md");
  ASSERT_TRUE(inline_doc.is_ok());
  ASSERT_EQ(doc["blocks"].size(), inline_doc->blocks.size());
  for (size_t i = 0; i < inline_doc->blocks.size(); ++i) {
    EXPECT_EQ(doc["blocks"][i]["t"], inline_doc->blocks[i].text);
    EXPECT_EQ(doc["blocks"][i]["h"].get<std::vector<std::string>>(), inline_doc->blocks[i].heading_path);
  }
}

TEST_F(ParseRunnerTest, WorkerWritesAnErrorResult) {
  std::mt19937 random(9);
  std::string garbage(2048, '\0');
  for (char& c : garbage) c = static_cast<char>(random() & 0xFF);
  const std::string in = write("in.bin", garbage);
  const std::string out = dir_ + "/out.json";
  ASSERT_EQ(run_parse_worker(in, out, "blob.bin", parse::Limits{}), 0);
  const json result = json::parse(read_all(out), nullptr, false);
  ASSERT_FALSE(result.is_discarded());
  ASSERT_TRUE(result.contains("error")) << result.dump();
  EXPECT_FALSE(result.contains("document"));
  EXPECT_EQ(result["error"].at("code").get<int>(), static_cast<int>(ErrorCode::kUnsupported));
  EXPECT_FALSE(result["error"].at("message").get<std::string>().empty());
}

TEST_F(ParseRunnerTest, WorkerHonoursLimitsAndReportsMissingInput) {
  const std::string in = write("in.md", kMarkdown);
  const std::string out = dir_ + "/out.json";
  parse::Limits limits;
  limits.max_file_bytes = 8;
  ASSERT_EQ(run_parse_worker(in, out, "guide.md", limits), 0);
  const json result = json::parse(read_all(out), nullptr, false);
  ASSERT_TRUE(result.contains("error"));
  EXPECT_EQ(result["error"]["code"].get<int>(), static_cast<int>(ErrorCode::kTooLarge));

  EXPECT_NE(run_parse_worker(dir_ + "/missing", dir_ + "/out2.json", "x.md", parse::Limits{}), 0);
  EXPECT_FALSE(fs::exists(dir_ + "/out2.json"));
}

TEST_F(ParseRunnerTest, PasswordReachesTheWorkerOnStdinNotItsCommandLine) {
  const std::string in = write("src.md", kMarkdown);
  const std::string result = dir_ + "/prepared.json";
  ASSERT_EQ(run_parse_worker(in, result, "guide.md", parse::Limits{}), 0);
  const std::string seen = dir_ + "/stdin.txt", argv = dir_ + "/argv.txt";
  const std::string worker = script("worker.sh", "cat > '" + seen + "'\necho \"$@\" > '" + argv + "'\ncp '" + result + "' \"$3\"");
  ASSERT_TRUE(runner(worker).parse(kMarkdown, "guide.md", {.password = "s3cret pw"}).is_ok());
  EXPECT_EQ(read_all(seen), "s3cret pw");
  EXPECT_EQ(read_all(argv).find("s3cret"), std::string::npos) << read_all(argv);
  ASSERT_TRUE(runner(worker).parse(kMarkdown, "guide.md").is_ok());
  EXPECT_EQ(read_all(seen), "");  // no password: /dev/null
}

TEST_F(ParseRunnerTest, IsolatedPathReadsTheWorkersDocument) {
  // Produce a genuine worker result, then let a stand-in worker copy it to OUT ($3).
  const std::string in = write("src.md", kMarkdown);
  const std::string result = dir_ + "/prepared.json";
  ASSERT_EQ(run_parse_worker(in, result, "guide.md", parse::Limits{}), 0);
  const std::string worker = script("worker.sh", "[ \"$1\" = \"__parse-worker\" ] || exit 9\ncp '" + result + "' \"$3\"");
  auto doc = runner(worker).parse(kMarkdown, "guide.md");
  ASSERT_TRUE(doc.is_ok()) << doc.status().to_string();
  auto inline_doc = parse::parse_document(kMarkdown, "guide.md");
  ASSERT_TRUE(inline_doc.is_ok());
  EXPECT_EQ(doc->format, inline_doc->format);
  ASSERT_EQ(doc->blocks.size(), inline_doc->blocks.size());
  for (size_t i = 0; i < doc->blocks.size(); ++i) {
    EXPECT_EQ(doc->blocks[i].text, inline_doc->blocks[i].text);
    EXPECT_EQ(doc->blocks[i].kind, inline_doc->blocks[i].kind);
    EXPECT_EQ(doc->blocks[i].heading_path, inline_doc->blocks[i].heading_path);
    EXPECT_EQ(doc->blocks[i].char_begin, inline_doc->blocks[i].char_begin);  // offsets recomputed
    EXPECT_EQ(doc->blocks[i].char_end, inline_doc->blocks[i].char_end);
  }
  // Scratch files are removed afterwards.
  size_t leftovers = 0;
  for (const auto& entry : fs::directory_iterator(dir_ + "/scratch")) {
    (void)entry;
    ++leftovers;
  }
  EXPECT_EQ(leftovers, 0u);
}

TEST_F(ParseRunnerTest, IsolatedPathPassesTheInputAndLimits) {
  // The stand-in worker checks its arguments: IN holds the bytes, NAME and the limits follow.
  const std::string worker = script(
      "args.sh",
      "[ \"$(cat \"$2\")\" = 'hello bytes' ] || exit 3\n"
      "[ \"$4\" = 'file name.txt' ] || exit 4\n"
      "[ \"$9\" = '42' ] || exit 5\n"
      "printf '{\"error\":{\"code\":%d,\"message\":\"checked\"}}' 7 > \"$3\"");
  ParseRunnerOptions options;
  options.worker_executable = worker;
  options.scratch_dir = dir_ + "/scratch";
  options.limits.max_pages = 42;  // the 5th limit: argument 9
  auto result = ParseRunner(options).parse("hello bytes", "file name.txt");
  ASSERT_FALSE(result.is_ok());
  EXPECT_EQ(result.status().code(), static_cast<ErrorCode>(7)) << result.status().to_string();
  EXPECT_EQ(result.status().message(), "checked");
}

TEST_F(ParseRunnerTest, IsolatedPathWorkerCrash) {
  const std::string worker = script("crash.sh", "kill -SEGV $$");
  auto result = runner(worker).parse(kMarkdown, "guide.md");
  ASSERT_FALSE(result.is_ok());
  EXPECT_EQ(result.status().code(), ErrorCode::kCorruptInput) << result.status().to_string();
  EXPECT_NE(result.status().message().find("crashed"), std::string::npos);
}

TEST_F(ParseRunnerTest, IsolatedPathWorkerWithoutResult) {
  const std::string worker = script("silent.sh", "exit 1");
  auto result = runner(worker).parse(kMarkdown, "guide.md");
  ASSERT_FALSE(result.is_ok());
  EXPECT_EQ(result.status().code(), ErrorCode::kCorruptInput) << result.status().to_string();
  EXPECT_NE(result.status().message().find("exit code 1"), std::string::npos) << result.status().message();
}

TEST_F(ParseRunnerTest, IsolatedPathUnreadableResult) {
  const std::string worker = script("bad.sh", "echo 'not json' > \"$3\"");
  auto result = runner(worker).parse(kMarkdown, "guide.md");
  ASSERT_FALSE(result.is_ok());
  EXPECT_EQ(result.status().code(), ErrorCode::kInternal) << result.status().to_string();
}

TEST_F(ParseRunnerTest, IsolatedPathMissingExecutable) {
  auto result = runner(dir_ + "/no-such-binary").parse(kMarkdown, "guide.md");
  ASSERT_FALSE(result.is_ok());
  EXPECT_NE(result.status().code(), ErrorCode::kOk);
}

TEST(ParseBudget, NoCgroupLimit) {
  const ParseBudget budget = parse_budget(std::nullopt, 8, 0, 0);
  EXPECT_EQ(budget.max_workers, 8);
  EXPECT_EQ(budget.worker_memory_bytes, 4ll << 30);
}

TEST(ParseBudget, TwoGibPodRunsOneWorkerOfOneGib) {
  const ParseBudget budget = parse_budget(2ll << 30, 8, 0, 0);
  EXPECT_EQ(budget.worker_memory_bytes, 1ll << 30);
  EXPECT_EQ(budget.max_workers, 1);
}

TEST(ParseBudget, LargeLimitIsCappedByCoresAndFourGib) {
  const ParseBudget budget = parse_budget(64ll << 30, 4, 0, 0);
  EXPECT_EQ(budget.worker_memory_bytes, 4ll << 30);
  EXPECT_EQ(budget.max_workers, 4);  // 32 GiB would fit 8; 4 cores
}

TEST(ParseBudget, ExplicitValuesWin) {
  const ParseBudget budget = parse_budget(2ll << 30, 8, 3, 256ll << 20);
  EXPECT_EQ(budget.max_workers, 3);
  EXPECT_EQ(budget.worker_memory_bytes, 256ll << 20);
  // Memory set, workers derived: 1 GiB of the 2 GiB limit / 256 MiB = 4.
  EXPECT_EQ(parse_budget(2ll << 30, 8, 0, 256ll << 20).max_workers, 4);
}

TEST_F(ParseRunnerTest, CgroupMemoryLimitFile) {
  EXPECT_EQ(read_cgroup_memory_limit(write("memory.max", "2147483648\n")), std::optional<int64_t>(2147483648ll));
  EXPECT_EQ(read_cgroup_memory_limit(write("unlimited", "max\n")), std::nullopt);
  EXPECT_EQ(read_cgroup_memory_limit(dir_ + "/absent"), std::nullopt);
  EXPECT_EQ(read_cgroup_memory_limit(write("junk", "lots\n")), std::nullopt);
}

TEST_F(ParseRunnerTest, ScratchFilesLiveInAPrivateDirectoryPerRunner) {
  // The stand-in worker reports the directory of its input file.
  const std::string worker = script("where.sh", "printf '{\"error\":{\"code\":7,\"message\":\"%s\"}}' \"$(dirname \"$2\")\" > \"$3\"");
  ParseRunner first = runner(worker);
  ParseRunner second = runner(worker);
  const std::string dir_a = first.parse("x", "a.txt").status().message();
  const std::string dir_b = second.parse("x", "b.txt").status().message();
  EXPECT_EQ(first.parse("y", "c.txt").status().message(), dir_a);  // stable for one runner
  EXPECT_NE(dir_a, dir_b);
  EXPECT_EQ(fs::path(dir_a).parent_path(), fs::path(dir_ + "/scratch"));
  EXPECT_EQ(fs::status(dir_a).permissions() & fs::perms::all, fs::perms::owner_all);  // 0700
}

TEST_F(ParseRunnerTest, ConcurrentParsesAreBoundedByMaxWorkers) {
  // mkdir is atomic: a second worker running at the same time fails it and exits 7.
  const std::string lock = dir_ + "/running";
  const std::string worker = script(
      "one.sh", "mkdir '" + lock + "' || exit 7\nsleep 0.2\nrmdir '" + lock + "'\n"
                "printf '{\"error\":{\"code\":7,\"message\":\"alone\"}}' > \"$3\"");
  ParseRunnerOptions options;
  options.worker_executable = worker;
  options.scratch_dir = dir_ + "/scratch";
  options.max_workers = 1;
  ParseRunner shared(options);
  std::vector<std::string> messages(3);
  std::vector<std::thread> threads;
  for (size_t i = 0; i < messages.size(); ++i) {
    threads.emplace_back([&, i] { messages[i] = shared.parse("x", "f.txt").status().message(); });
  }
  for (auto& thread : threads) thread.join();
  for (const auto& message : messages) EXPECT_EQ(message, "alone");
}

// --- parse_file: a file on disk is never copied whole into the server ---------------------

TEST_F(ParseRunnerTest, BinaryFileGoesToTheWorkerByItsOwnPath) {
  const std::string pdf = write("report.pdf", "%PDF-1.7\n" + std::string(100000, 'x'));
  const std::string seen = dir_ + "/seen.txt";
  const std::string worker = script("path.sh", "echo \"$2\" > '" + seen + "'\n"
                                               "printf '{\"error\":{\"code\":%d,\"message\":\"by path\"}}' 7 > \"$3\"");
  ParseRunnerOptions options;
  options.worker_executable = worker;
  options.scratch_dir = dir_ + "/scratch";
  options.text_formats_in_process = true;
  auto result = ParseRunner(options).parse_file(pdf, static_cast<int64_t>(fs::file_size(pdf)), "report.pdf");
  ASSERT_FALSE(result.is_ok());
  EXPECT_EQ(result.status().message(), "by path");
  EXPECT_EQ(read_all(seen), pdf + "\n");  // the file itself, no scratch copy of it
  EXPECT_TRUE(fs::exists(pdf));          // the caller's file is the caller's to remove
}

TEST_F(ParseRunnerTest, TextFileIsParsedInProcessWithoutAWorker) {
  const std::string guide = write("guide.md", kMarkdown);
  ParseRunnerOptions options;
  options.worker_executable = script("refuse.sh", "exit 9");  // would fail the parse if started
  options.scratch_dir = dir_ + "/scratch";
  options.text_formats_in_process = true;
  auto doc = ParseRunner(options).parse_file(guide, static_cast<int64_t>(fs::file_size(guide)), "guide.md");
  ASSERT_TRUE(doc.is_ok()) << doc.status().to_string();
  auto inline_doc = parse::parse_document(kMarkdown, "guide.md");
  ASSERT_TRUE(inline_doc.is_ok());
  EXPECT_EQ(doc->format, parse::Format::kMarkdown);
  ASSERT_EQ(doc->blocks.size(), inline_doc->blocks.size());
  for (size_t i = 0; i < doc->blocks.size(); ++i) EXPECT_EQ(doc->blocks[i].text, inline_doc->blocks[i].text);
}

TEST_F(ParseRunnerTest, TextDecisionLooksOnlyAtTheHead) {
  // Text for the first 64 KiB, then binary junk: the in-process parser gets it (and copes),
  // exactly as detection on the whole file would decide for a text-like head.
  std::string mixed(kDetectHeadBytes, 'a');
  for (size_t i = 80; i < mixed.size(); i += 81) mixed[i] = '\n';
  mixed += std::string(4096, '\0');
  const std::string path = write("notes.txt", mixed);
  ParseRunnerOptions options;
  options.worker_executable = script("refuse.sh", "exit 9");
  options.scratch_dir = dir_ + "/scratch";
  options.text_formats_in_process = true;
  auto doc = ParseRunner(options).parse_file(path, static_cast<int64_t>(mixed.size()), "notes.txt");
  ASSERT_TRUE(doc.is_ok()) << doc.status().to_string();
  EXPECT_EQ(doc->format, parse::Format::kText);
}

TEST_F(ParseRunnerTest, FileOverTheLimitIsRefusedBeforeAnyRead) {
  ParseRunnerOptions options;  // inline
  options.limits.max_file_bytes = 16;
  auto by_size = ParseRunner(options).parse_file(dir_ + "/not-even-there", 17, "big.txt");
  ASSERT_FALSE(by_size.is_ok());
  EXPECT_EQ(by_size.status().code(), ErrorCode::kTooLarge);
  EXPECT_NE(by_size.status().message().find("parse_max_file_bytes"), std::string::npos);
  // A file that grew past the limit after the caller measured it is still refused by the read.
  const std::string grown = write("grown.txt", std::string(64, 'a'));
  auto by_read = ParseRunner(options).parse_file(grown, 8, "grown.txt");
  ASSERT_FALSE(by_read.is_ok());
  EXPECT_EQ(by_read.status().code(), ErrorCode::kTooLarge);
}

TEST_F(ParseRunnerTest, MissingFileIsNotFound) {
  auto result = ParseRunner(ParseRunnerOptions{}).parse_file(dir_ + "/gone.txt", 10, "gone.txt");
  ASSERT_FALSE(result.is_ok());
  EXPECT_EQ(result.status().code(), ErrorCode::kNotFound);
}

}  // namespace
}  // namespace kr::service
