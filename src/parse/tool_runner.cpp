#include "parse/tool_runner.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <cstring>

extern char** environ;

namespace kr::parse::internal {
namespace {

// Deletes the temporary input file and closes descriptors on every path.
struct TempInput {
  std::string path;
  ~TempInput() {
    if (!path.empty()) ::unlink(path.c_str());
  }
};

struct Fd {
  int fd = -1;
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
};

Status write_all(int fd, std::string_view bytes) {
  while (!bytes.empty()) {
    const ssize_t n = ::write(fd, bytes.data(), bytes.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return error(ErrorCode::kResourceExhausted, std::string("cannot write a temporary file: ") + std::strerror(errno));
    bytes.remove_prefix(static_cast<size_t>(n));
  }
  return Status::ok();
}

}  // namespace

Result<std::string> run_tool(const ToolRun& run, std::string_view input) {
  const char* tmp = std::getenv("TMPDIR");
  TempInput file{std::string(tmp != nullptr && *tmp != '\0' ? tmp : "/tmp") + "/kaito-rag-tool-XXXXXX"};
  {
    Fd fd{::mkstemp(file.path.data())};
    if (fd.fd < 0) {
      file.path.clear();
      return error(ErrorCode::kResourceExhausted, std::string("cannot create a temporary file: ") + std::strerror(errno));
    }
    KR_RETURN_IF_ERROR(write_all(fd.fd, input));
  }
  std::vector<std::string> args = run.argv;
  for (auto& arg : args) {
    if (arg == "{input}") arg = file.path;
  }
  std::vector<char*> argv;
  for (auto& arg : args) argv.push_back(arg.data());
  argv.push_back(nullptr);

  int pipe_fds[2];
  if (::pipe2(pipe_fds, O_CLOEXEC) != 0) return error(ErrorCode::kResourceExhausted, "cannot create a pipe");
  Fd read_end{pipe_fds[0]};
  Fd write_end{pipe_fds[1]};
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&actions, write_end.fd, STDOUT_FILENO);
  posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, "/dev/null", O_WRONLY, 0);
  pid_t pid = 0;
  const int rc = ::posix_spawnp(&pid, argv[0], &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  ::close(write_end.fd);
  write_end.fd = -1;
  if (rc != 0) {
    return error(ErrorCode::kUnsupported, "reading this format needs '" + run.argv[0] + "', which is not installed (Debian package " +
                                              run.debian_package + ")");
  }

  std::string out;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(run.seconds);
  Status overran = Status::ok();
  char buf[65536];
  for (;;) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      overran = error(ErrorCode::kDeadlineExceeded, run.argv[0] + " took longer than " +
                                                        std::to_string(static_cast<int>(run.seconds)) + " s and was stopped");
      break;
    }
    pollfd p{read_end.fd, POLLIN, 0};
    const int ready = ::poll(&p, 1, static_cast<int>(std::min<long long>(left.count(), 1000)));
    if (ready < 0 && errno != EINTR) break;
    if (ready <= 0) continue;
    const ssize_t n = ::read(read_end.fd, buf, sizeof(buf));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;  // end of output
    out.append(buf, static_cast<size_t>(n));
    if (out.size() > run.max_output_bytes) {
      overran = error(ErrorCode::kTooLarge, run.argv[0] + " produced more than " +
                                                std::to_string(run.max_output_bytes >> 20) + " MiB of text");
      break;
    }
  }
  if (!overran.is_ok()) ::kill(pid, SIGKILL);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (!overran.is_ok()) return overran;
  if (WIFSIGNALED(status)) {
    return error(ErrorCode::kCorruptInput, run.argv[0] + " crashed on this file (signal " +
                                               std::to_string(WTERMSIG(status)) + "); it is probably damaged");
  }
  if (WEXITSTATUS(status) == 127) {
    return error(ErrorCode::kUnsupported, "reading this format needs '" + run.argv[0] +
                                              "', which is not installed (Debian package " + run.debian_package + ")");
  }
  if (WEXITSTATUS(status) != 0 && out.empty()) {
    return error(ErrorCode::kCorruptInput, run.argv[0] + " could not read the file (exit code " +
                                               std::to_string(WEXITSTATUS(status)) + "); it may be damaged or an unsupported version");
  }
  return out;
}

}  // namespace kr::parse::internal
