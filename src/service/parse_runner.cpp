#include "service/parse_runner.h"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <sstream>
#include <nlohmann/json.hpp>
#include <random>
#include <thread>

#include "core/log.h"

extern char** environ;

namespace kr::service {
namespace {

using nlohmann::json;

json document_to_json(const parse::ParsedDocument& doc) {
  json blocks = json::array();
  for (const auto& block : doc.blocks) {
    blocks.push_back({{"t", block.text},
                      {"k", static_cast<int>(block.kind)},
                      {"p", block.page},
                      {"h", block.heading_path}});
  }
  return {{"format", static_cast<int>(doc.format)}, {"title", doc.title},
          {"page_count", doc.page_count},           {"ocr", doc.pages_needing_ocr},
          {"warnings", doc.warnings},               {"blocks", std::move(blocks)}};
}

parse::ParsedDocument document_from_json(const json& j) {
  parse::ParsedDocument doc;
  doc.format = static_cast<parse::Format>(j.at("format").get<int>());
  doc.title = j.at("title").get<std::string>();
  doc.page_count = j.at("page_count").get<int>();
  doc.pages_needing_ocr = j.at("ocr").get<std::vector<int>>();
  doc.warnings = j.at("warnings").get<std::vector<std::string>>();
  for (const auto& b : j.at("blocks")) {
    parse::Block block;
    block.text = b.at("t").get<std::string>();
    block.kind = static_cast<parse::BlockKind>(b.at("k").get<int>());
    block.page = b.at("p").get<int>();
    block.heading_path = b.at("h").get<std::vector<std::string>>();
    doc.blocks.push_back(std::move(block));
  }
  parse::finalize_offsets(doc);
  return doc;
}

std::string unique_suffix() {
  static std::atomic<uint64_t> counter{0};
  std::random_device random;
  return std::to_string(::getpid()) + "-" + std::to_string(counter++) + "-" + std::to_string(random());
}

bool write_file(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  return static_cast<bool>(out);
}

// Removes the scratch files whatever happens.
struct ScratchFiles {
  std::string input, output;
  ~ScratchFiles() {
    std::error_code ec;
    std::filesystem::remove(input, ec);
    std::filesystem::remove(output, ec);
  }
};

#if defined(__SANITIZE_ADDRESS__)
constexpr bool kUnderSanitizer = true;
#else
constexpr bool kUnderSanitizer = false;
#endif

}  // namespace

std::vector<std::string> limits_to_args(const parse::Limits& limits) {
  const auto exact = [](double value) {
    std::ostringstream out;
    out << std::setprecision(17) << value;
    return out.str();
  };
  return {std::to_string(limits.max_file_bytes), std::to_string(limits.max_zip_total_bytes),
          exact(limits.max_zip_ratio),           std::to_string(limits.max_xml_depth),
          std::to_string(limits.max_pages),      exact(limits.max_seconds_per_file)};
}

parse::Limits limits_from_args(const std::vector<std::string>& args) {
  parse::Limits limits;
  if (args.size() < 6) return limits;
  limits.max_file_bytes = std::stoull(args[0]);
  limits.max_zip_total_bytes = std::stoull(args[1]);
  limits.max_zip_ratio = std::stod(args[2]);
  limits.max_xml_depth = std::stoi(args[3]);
  limits.max_pages = std::stoi(args[4]);
  limits.max_seconds_per_file = std::stod(args[5]);
  return limits;
}

bool parses_in_process(parse::Format format) {
  return format == parse::Format::kText || format == parse::Format::kMarkdown || format == parse::Format::kCsv;
}

Result<parse::ParsedDocument> ParseRunner::parse(const std::string& bytes, const std::string& file_name) const {
  if (options_.worker_executable.empty() ||
      (options_.text_formats_in_process && parses_in_process(parse::detect_format(bytes, file_name)))) {
    return parse::parse_document(bytes, file_name, options_.limits);
  }
  return parse_in_child(bytes, file_name);
}

Result<parse::ParsedDocument> ParseRunner::parse_in_child(const std::string& bytes,
                                                          const std::string& file_name) const {
  std::error_code ec;
  std::filesystem::create_directories(options_.scratch_dir, ec);
  ScratchFiles files{options_.scratch_dir + "/parse-in-" + unique_suffix(),
                     options_.scratch_dir + "/parse-out-" + unique_suffix()};
  if (!write_file(files.input, bytes)) {
    return error(ErrorCode::kResourceExhausted, "cannot write scratch file in " + options_.scratch_dir);
  }

  std::vector<std::string> args = {options_.worker_executable, "__parse-worker", files.input, files.output,
                                   file_name};
  for (auto& arg : limits_to_args(options_.limits)) args.push_back(std::move(arg));
  if (!kUnderSanitizer) args.push_back(std::to_string(options_.worker_memory_bytes));
  std::vector<char*> argv;
  for (auto& arg : args) argv.push_back(arg.data());
  argv.push_back(nullptr);

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
  pid_t pid = 0;
  const int rc = posix_spawn(&pid, argv[0], &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) {
    return error(ErrorCode::kInternal, std::string("cannot start the parse worker: ") + std::strerror(rc));
  }

  // The worker checks the time limit itself between pages; this is the backstop
  // for a parser stuck inside one page.
  const auto deadline = std::chrono::steady_clock::now() +
                        std::chrono::duration<double>(options_.limits.max_seconds_per_file * 1.5 + 5.0);
  int wstatus = 0;
  auto sleep = std::chrono::milliseconds(1);
  for (;;) {
    const pid_t done = ::waitpid(pid, &wstatus, WNOHANG);
    if (done == pid) break;
    if (done < 0 && errno != EINTR) return error(ErrorCode::kInternal, "lost the parse worker");
    if (std::chrono::steady_clock::now() > deadline) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, &wstatus, 0);
      return error(ErrorCode::kDeadlineExceeded,
                   "parsing took longer than " + std::to_string(static_cast<int>(options_.limits.max_seconds_per_file)) +
                       " s and was stopped; the file may be malformed or very large (raise parse_max_seconds to allow more)");
    }
    std::this_thread::sleep_for(sleep);
    sleep = std::min(sleep * 2, std::chrono::milliseconds(50));
  }
  if (WIFSIGNALED(wstatus)) {
    const int signal_number = WTERMSIG(wstatus);
    log::warn("parse worker crashed", {{"file", file_name}, {"signal", std::to_string(signal_number)}});
    if (signal_number == SIGKILL || signal_number == SIGSEGV || signal_number == SIGABRT || signal_number == SIGBUS) {
      return error(ErrorCode::kCorruptInput, "the parser crashed on this file (signal " + std::to_string(signal_number) +
                                                 "); it is probably corrupt — re-save or re-export it and upload again");
    }
    return error(ErrorCode::kInternal, "the parse worker was stopped by signal " + std::to_string(signal_number));
  }

  std::ifstream in(files.output, std::ios::binary);
  if (!in) {
    return error(ErrorCode::kCorruptInput,
                 "the parser stopped without a result (exit code " + std::to_string(WEXITSTATUS(wstatus)) +
                     "); the file may be corrupt or need more memory than allowed");
  }
  try {
    const json result = json::parse(in);
    if (result.contains("error")) {
      return error(static_cast<ErrorCode>(result["error"]["code"].get<int>()),
                   result["error"]["message"].get<std::string>());
    }
    return document_from_json(result["document"]);
  } catch (const std::exception& e) {
    return error(ErrorCode::kInternal, std::string("unreadable parse worker result: ") + e.what());
  }
}

int run_parse_worker(const std::string& input_path, const std::string& output_path, const std::string& file_name,
                     const parse::Limits& limits) {
  std::ifstream in(input_path, std::ios::binary);
  if (!in) return 2;
  const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  auto parsed = parse::parse_document(bytes, file_name, limits);
  json result;
  if (parsed) {
    result["document"] = document_to_json(*parsed);
  } else {
    result["error"] = {{"code", static_cast<int>(parsed.status().code())}, {"message", parsed.status().message()}};
  }
  const std::string tmp = output_path + ".tmp";
  if (!write_file(tmp, result.dump(-1, ' ', false, json::error_handler_t::replace))) return 3;
  // Rename: the parent never reads a half-written result.
  if (std::rename(tmp.c_str(), output_path.c_str()) != 0) return 3;
  return 0;
}

}  // namespace kr::service
