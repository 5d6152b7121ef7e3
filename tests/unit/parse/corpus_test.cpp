// Robustness over the shared real-world corpus: every file is parsed in a
// fork()ed child with a 60 s alarm, so a crash or hang fails the test and names
// the file instead of taking the test runner down. Clean errors are fine.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>

#include "parse/parser.h"
#include "parse_test_util.h"

namespace kr::parse {
namespace {

namespace fs = std::filesystem;

constexpr unsigned kTimeoutSeconds = 60;

fs::path corpus_dir() {
  if (const char* env = std::getenv("KR_CORPUS_DIR")) return env;
  return fs::path(KR_SOURCE_DIR) / ".." / "shared" / "corpus";
}

bool is_metadata(const fs::path& path, const fs::path& root) {
  const std::string name = path.filename().string();
  if (name == "SOURCE.md" || name == "MANIFEST.tsv" || name.rfind("LICENSE", 0) == 0 || name.rfind("NOTICE", 0) == 0) {
    return true;
  }
  return name == "README.md" && path.parent_path() == root;
}

struct Outcome {
  bool ok = false;
  bool crashed = false;  // signal or timeout
  std::string format;    // detected format, or "unknown(.ext)"
  std::string detail;    // blocks/pages on success, "Code: message" on error, signal on crash
  ErrorCode code = ErrorCode::kOk;
};

// Child: parse and write one line "ok|err <code-int> <format> <detail>" to `fd`.
[[noreturn]] void run_child(const fs::path& path, int fd) {
  alarm(kTimeoutSeconds);
  std::string line;
  const std::string bytes = testing::read_file(path.string());
  const std::string name = path.filename().string();
  std::string format(format_name(detect_format(bytes, name)));
  if (format == "unknown") format += "(" + path.extension().string() + ")";
  const auto result = parse_document(bytes, name);
  if (result.is_ok()) {
    line = "0 " + format + " blocks=" + std::to_string(result->blocks.size()) +
           " pages=" + std::to_string(result->page_count) + " ocr=" + std::to_string(result->pages_needing_ocr.size());
  } else {
    line = std::to_string(static_cast<int>(result.status().code())) + " " + format + " " + result.status().to_string();
  }
  size_t off = 0;
  while (off < line.size()) {
    const ssize_t n = write(fd, line.data() + off, line.size() - off);
    if (n <= 0) break;
    off += static_cast<size_t>(n);
  }
  _exit(0);  // skip destructors and leak checks of the parent's state
}

Outcome run_isolated(const fs::path& path) {
  int fds[2];
  if (pipe(fds) != 0) return {false, true, "?", "pipe failed"};
  const pid_t pid = fork();
  if (pid < 0) return {false, true, "?", "fork failed"};
  if (pid == 0) {
    close(fds[0]);
    run_child(path, fds[1]);
  }
  close(fds[1]);
  std::string out;
  char buf[4096];
  ssize_t n;
  while ((n = read(fds[0], buf, sizeof(buf))) > 0) out.append(buf, static_cast<size_t>(n));
  close(fds[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  Outcome outcome;
  if (WIFSIGNALED(status)) {
    outcome.crashed = true;
    outcome.format = "?";
    outcome.detail = WTERMSIG(status) == SIGALRM ? "timeout after " + std::to_string(kTimeoutSeconds) + " s"
                                                 : std::string("killed by signal ") + strsignal(WTERMSIG(status));
    return outcome;
  }
  const size_t sp1 = out.find(' ');
  const size_t sp2 = sp1 == std::string::npos ? std::string::npos : out.find(' ', sp1 + 1);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0 || sp2 == std::string::npos) {
    outcome.crashed = true;
    outcome.format = "?";
    outcome.detail = "child exited abnormally (status " + std::to_string(status) + ")";
    return outcome;
  }
  outcome.code = static_cast<ErrorCode>(std::stoi(out.substr(0, sp1)));
  outcome.ok = outcome.code == ErrorCode::kOk;
  outcome.format = out.substr(sp1 + 1, sp2 - sp1 - 1);
  outcome.detail = out.substr(sp2 + 1);
  return outcome;
}

// Files the corpus README lists as needing a password.
const std::set<std::string>& encrypted_files() {
  static const std::set<std::string> files = {
      "005-libreoffice-writer-password__libreoffice-writer-password.pdf",
      "issue6010_1.pdf", "issue6010_2.pdf", "issue21579.pdf", "saslprep-r6.pdf", "issue3371.pdf",
      "testWORD_protected_passtika.docx", "testEXCEL_protected_passtika.xlsx", "testPPT_protected_passtika.pptx",
      "testWORD_protected_passtika.doc", "pdf__password.pdf", "password_protected.xlsx"};
  return files;
}

TEST(ParseCorpus, EveryFileParsesOrFailsCleanly) {
  const fs::path root = corpus_dir();
  if (!fs::is_directory(root)) GTEST_SKIP() << root.string() << " (…/shared/corpus) not present";
  std::vector<fs::path> files;
  for (const auto& entry : fs::recursive_directory_iterator(root)) {
    if (entry.is_regular_file() && !is_metadata(entry.path(), root)) files.push_back(entry.path());
  }
  std::sort(files.begin(), files.end());

  const fs::path log_path = fs::read_symlink("/proc/self/exe").parent_path() / "parse_corpus.log";
  std::ofstream log(log_path);
  struct Counts { int ok = 0; int failed = 0; };
  std::map<std::string, Counts> by_format;
  std::map<std::string, int> reasons;
  for (const auto& path : files) {
    const Outcome o = run_isolated(path);
    const std::string rel = fs::relative(path, root).string();
    log << (o.crashed ? "CRASH" : o.ok ? "OK   " : "ERROR") << "\t" << o.format << "\t" << rel << "\t" << o.detail << "\n";
    EXPECT_FALSE(o.crashed) << rel << ": " << o.detail;
    if (encrypted_files().count(path.filename().string()) > 0) {
      EXPECT_EQ(o.code, ErrorCode::kEncrypted) << rel << " must be reported as encrypted: " << o.detail;
    }
    Counts& c = by_format[o.format];
    (o.ok ? c.ok : c.failed)++;
    if (!o.ok && !o.crashed) reasons[o.format + " " + std::string(error_code_name(o.code))]++;
  }
  std::printf("parse corpus: %zu files, log in %s\n", files.size(), log_path.c_str());
  for (const auto& [format, c] : by_format) std::printf("  %-16s ok %4d  clean error %4d\n", format.c_str(), c.ok, c.failed);
  for (const auto& [reason, n] : reasons) std::printf("  error: %-40s %d\n", reason.c_str(), n);
}

}  // namespace
}  // namespace kr::parse
