#include "service/parse_runner.h"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <sstream>
#include <nlohmann/json.hpp>
#include <random>
#include <thread>

#include "core/log.h"
#include "service/input_file.h"

extern char** environ;

namespace kr::service {
namespace {

using nlohmann::json;

// The worker learns its parent's pid from here to notice a parent that died
// before PR_SET_PDEATHSIG was in place.
constexpr const char* kParentPidVariable = "KR_PARSE_PARENT_PID";
constexpr int64_t kDefaultWorkerMemory = 4ll << 30;

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

// A new file only this process can have made (O_EXCL, mode 0600).
Status write_new_file(const std::string& path, const std::string& bytes) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) return error(ErrorCode::kInternal, "cannot create scratch file " + path + ": " + std::strerror(errno));
  size_t written = 0;
  int failure = 0;
  while (written < bytes.size()) {
    const ssize_t n = ::write(fd, bytes.data() + written, bytes.size() - written);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      failure = n < 0 ? errno : ENOSPC;
      break;
    }
    written += static_cast<size_t>(n);
  }
  ::close(fd);
  if (failure == ENOSPC || failure == EDQUOT) {
    log::error("disk full on the data directory", {{"file", path}});
    return error(ErrorCode::kInsufficientStorage, "disk full on the data directory: cannot write the scratch file " + path);
  }
  if (failure) return error(ErrorCode::kInternal, "cannot write scratch file " + path + ": " + std::strerror(failure));
  return Status::ok();
}

// environ plus the parent pid for the worker.
std::vector<std::string> worker_environment() {
  std::vector<std::string> env;
  for (char** entry = environ; entry && *entry; ++entry) {
    if (std::string_view(*entry).rfind(kParentPidVariable, 0) != 0) env.emplace_back(*entry);
  }
  env.push_back(std::string(kParentPidVariable) + "=" + std::to_string(::getpid()));
  return env;
}

// Removes a scratch file whatever happens.
struct ScratchFile {
  std::string path;
  ~ScratchFile() {
    std::error_code ec;
    std::filesystem::remove(path, ec);
  }
};

#if defined(__SANITIZE_ADDRESS__)
constexpr bool kUnderSanitizer = true;
#else
constexpr bool kUnderSanitizer = false;
#endif

}  // namespace

ParseBudget parse_budget(std::optional<int64_t> cgroup_memory_limit, int cores, int configured_workers,
                         int64_t configured_memory_bytes) {
  ParseBudget budget{std::max(1, cores), kDefaultWorkerMemory};
  if (cgroup_memory_limit && *cgroup_memory_limit > 0) {
    budget.worker_memory_bytes = std::min(kDefaultWorkerMemory, *cgroup_memory_limit / 2);
  }
  if (configured_memory_bytes > 0) budget.worker_memory_bytes = configured_memory_bytes;
  if (cgroup_memory_limit && *cgroup_memory_limit > 0) {
    const int64_t fit = (*cgroup_memory_limit / 2) / std::max<int64_t>(1, budget.worker_memory_bytes);
    budget.max_workers = static_cast<int>(std::clamp<int64_t>(fit, 1, budget.max_workers));
  }
  if (configured_workers > 0) budget.max_workers = configured_workers;
  return budget;
}

std::optional<int64_t> read_cgroup_memory_limit(const std::string& path) {
  std::ifstream in(path);
  std::string text;
  if (!(in >> text) || text == "max") return std::nullopt;
  try {
    const long long limit = std::stoll(text);
    if (limit > 0) return limit;
  } catch (const std::exception&) {
  }
  return std::nullopt;
}

ParseRunner::ParseRunner(ParseRunnerOptions options)
    : options_(std::move(options)),
      budget_(parse_budget(read_cgroup_memory_limit(), static_cast<int>(std::thread::hardware_concurrency()),
                           options_.max_workers, options_.worker_memory_bytes)) {}

ParseRunner::~ParseRunner() {
  if (private_dir_.empty()) return;
  std::error_code ec;
  std::filesystem::remove_all(private_dir_, ec);
}

Result<std::string> ParseRunner::private_scratch_dir() const {
  std::lock_guard lock(mutex_);
  if (!private_dir_.empty()) return private_dir_;
  std::error_code ec;
  std::filesystem::create_directories(options_.scratch_dir, ec);
  // mkdtemp: a fresh 0700 directory per runner, so a worker of an earlier server
  // (or another process) never writes where this one reads.
  std::string pattern = options_.scratch_dir + "/parse-" + std::to_string(::getpid()) + "-XXXXXX";
  if (!::mkdtemp(pattern.data())) {
    if (errno == ENOSPC || errno == EDQUOT) {
      log::error("disk full on the data directory", {{"directory", pattern}});
      return error(ErrorCode::kInsufficientStorage, "disk full on the data directory: cannot create " + pattern);
    }
    return error(ErrorCode::kInternal, "cannot create a scratch directory in " + options_.scratch_dir + ": " +
                                           std::strerror(errno));
  }
  private_dir_ = pattern;
  return private_dir_;
}

std::vector<std::string> limits_to_args(const parse::Limits& limits) {
  const auto exact = [](double value) {
    std::ostringstream out;
    out << std::setprecision(17) << value;
    return out.str();
  };
  return {std::to_string(limits.max_file_bytes), std::to_string(limits.max_zip_total_bytes),
          exact(limits.max_zip_ratio),           std::to_string(limits.max_xml_depth),
          std::to_string(limits.max_pages),      exact(limits.max_seconds_per_file),
          limits.ocr_enabled ? limits.ocr_language : "off", exact(limits.ocr_seconds_per_page),
          std::to_string(limits.ocr_dpi)};
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
  if (args.size() < kLimitArgs) return limits;
  limits.ocr_enabled = args[6] != "off";
  if (limits.ocr_enabled) limits.ocr_language = args[6];
  limits.ocr_seconds_per_page = std::stod(args[7]);
  limits.ocr_dpi = std::stoi(args[8]);
  return limits;
}

bool parses_in_process(parse::Format format) {
  return format == parse::Format::kText || format == parse::Format::kMarkdown || format == parse::Format::kCsv;
}

parse::Limits ParseRunner::limits_for(const ParseRequest& request) const {
  parse::Limits limits = options_.limits;
  if (request.ocr_language.empty()) return limits;
  limits.ocr_enabled = request.ocr_language != "off";
  if (limits.ocr_enabled) limits.ocr_language = request.ocr_language;
  return limits;
}

Result<parse::ParsedDocument> ParseRunner::parse(const std::string& bytes, const std::string& file_name,
                                                 const ParseRequest& request) const {
  if (options_.worker_executable.empty() ||
      (options_.text_formats_in_process && parses_in_process(parse::detect_format(bytes, file_name)))) {
    return parse::parse_document(bytes, file_name, limits_for(request), request.password);
  }
  auto dir = private_scratch_dir();
  if (!dir) return dir.status();
  const ScratchFile input{*dir + "/in-" + unique_suffix()};
  KR_RETURN_IF_ERROR(write_new_file(input.path, bytes));
  return parse_in_child(input.path, file_name, request);
}

Result<parse::ParsedDocument> ParseRunner::parse_file(const std::string& path, int64_t size,
                                                      const std::string& file_name,
                                                      const ParseRequest& request) const {
  if (size > static_cast<int64_t>(options_.limits.max_file_bytes)) {
    return error(ErrorCode::kTooLarge, "file is " + std::to_string(size) + " bytes, over the limit of " +
                                           std::to_string(options_.limits.max_file_bytes) + " (parse_max_file_bytes)");
  }
  bool in_process = options_.worker_executable.empty();
  if (!in_process && options_.text_formats_in_process) {
    auto head = read_file_head(path, kDetectHeadBytes);
    if (!head) return head.status();
    in_process = parses_in_process(parse::detect_format(*head, file_name));
  }
  if (!in_process) return parse_in_child(path, file_name, request);
  auto bytes = read_whole_file(path, static_cast<int64_t>(options_.limits.max_file_bytes), "parse_max_file_bytes");
  if (!bytes) return bytes.status();
  return parse::parse_document(*bytes, file_name, limits_for(request), request.password);
}

Result<parse::ParsedDocument> ParseRunner::parse_in_child(const std::string& input_path, const std::string& file_name,
                                                          const ParseRequest& request) const {
  const std::string& password = request.password;
  auto dir = private_scratch_dir();
  if (!dir) return dir.status();
  // At most budget_.max_workers children at once: each may use worker_memory_bytes.
  {
    std::unique_lock lock(mutex_);
    worker_freed_.wait(lock, [this] { return running_ < budget_.max_workers; });
    ++running_;
  }
  struct WorkerSlot {
    const ParseRunner& runner;
    ~WorkerSlot() {
      {
        std::lock_guard lock(runner.mutex_);
        --runner.running_;
      }
      runner.worker_freed_.notify_one();
    }
  } slot{*this};
  const ScratchFile output{*dir + "/out-" + unique_suffix()};

  std::vector<std::string> args = {options_.worker_executable, "__parse-worker", input_path, output.path,
                                   file_name};
  for (auto& arg : limits_to_args(limits_for(request))) args.push_back(std::move(arg));
  if (!kUnderSanitizer) args.push_back(std::to_string(budget_.worker_memory_bytes));
  std::vector<char*> argv;
  for (auto& arg : args) argv.push_back(arg.data());
  argv.push_back(nullptr);

  // The password goes through a pipe on the worker's stdin: command lines are visible to every user.
  int password_pipe[2] = {-1, -1};
  if (!password.empty()) {
    // Written before the worker starts (far below the pipe's capacity, so it cannot
    // block), and while our read end is open, so it cannot raise SIGPIPE.
    const size_t length = std::min<size_t>(password.size(), 4096);
    if (::pipe2(password_pipe, O_CLOEXEC) != 0) return error(ErrorCode::kInternal, "cannot create a pipe for the parse worker");
    const bool written = ::write(password_pipe[1], password.data(), length) == static_cast<ssize_t>(length);
    ::close(password_pipe[1]);
    if (!written) {
      ::close(password_pipe[0]);
      return error(ErrorCode::kInternal, "cannot hand the password to the parse worker");
    }
  }
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  if (password.empty()) {
    posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  } else {
    posix_spawn_file_actions_adddup2(&actions, password_pipe[0], STDIN_FILENO);
  }
  posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
  pid_t pid = 0;
  std::vector<std::string> env = worker_environment();
  std::vector<char*> envp;
  for (auto& entry : env) envp.push_back(entry.data());
  envp.push_back(nullptr);
  const int rc = posix_spawn(&pid, argv[0], &actions, nullptr, argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&actions);
  if (!password.empty()) ::close(password_pipe[0]);
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

  if (WIFEXITED(wstatus) && WEXITSTATUS(wstatus) == kParseWorkerOutOfMemory) {
    return error(ErrorCode::kResourceExhausted,
                 "parsing this file needed more than the parse worker's memory limit (" +
                     std::to_string(options_.worker_memory_bytes >> 20) +
                     " MiB) and was stopped; the file may be malformed or too large to parse");
  }
  std::ifstream in(output.path, std::ios::binary);
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

std::string read_worker_password() {
  std::string password;
  char buf[4096];
  for (ssize_t n; (n = ::read(STDIN_FILENO, buf, sizeof(buf))) != 0;) {
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 || password.size() > 4096) break;
    password.append(buf, static_cast<size_t>(n));
  }
  return password;
}

int run_parse_worker(const std::string& input_path, const std::string& output_path, const std::string& file_name,
                     const parse::Limits& limits, const std::string& password) {
  // Die with the server. The signal follows the spawning thread, which waits for
  // us; a parent already gone before prctl shows as a different getppid().
  ::prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (const char* parent = std::getenv(kParentPidVariable); parent && std::to_string(::getppid()) != parent) return 4;
  // Bounded like every read of an input: a file over the limit is an error result, not a read.
  auto bytes = read_whole_file(input_path, static_cast<int64_t>(limits.max_file_bytes), "parse_max_file_bytes");
  if (!bytes && bytes.status().code() == ErrorCode::kNotFound) return 2;
  auto parsed = bytes ? parse::parse_document(*bytes, file_name, limits, password)
                      : Result<parse::ParsedDocument>(bytes.status());
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
