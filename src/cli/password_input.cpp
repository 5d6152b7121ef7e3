#include "cli/password_input.h"

#include <fcntl.h>
#include <termios.h>
#include <unistd.h>

#include <fstream>
#include <iostream>

namespace kr::cli {

namespace {

constexpr size_t kMaxPassword = 4096;  // what the parse worker accepts

Result<std::string> checked(std::string line, const std::string& from) {
  if (!line.empty() && line.back() == '\r') line.pop_back();
  if (line.empty()) return error(ErrorCode::kInvalidArgument, "the password from " + from + " is empty");
  if (line.size() > kMaxPassword) {
    return error(ErrorCode::kInvalidArgument, "the password from " + from + " is longer than 4096 bytes");
  }
  return line;
}

}  // namespace

Result<std::string> read_password_file(const std::string& path) {
  std::string line;
  if (path == "-") {
    std::getline(std::cin, line);
    return checked(std::move(line), "standard input");
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) return error(ErrorCode::kInvalidArgument, "cannot read --password-file " + path);
  std::getline(in, line);
  return checked(std::move(line), path);
}

Result<std::string> prompt_password(const std::string& prompt) {
  const int tty = ::open("/dev/tty", O_RDWR | O_CLOEXEC);
  if (tty < 0) {
    return error(ErrorCode::kInvalidArgument, "no terminal to ask for the password on: use --password-file FILE or -");
  }
  termios saved{};
  const bool is_terminal = ::tcgetattr(tty, &saved) == 0;
  if (is_terminal) {
    termios quiet = saved;
    quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
    ::tcsetattr(tty, TCSAFLUSH, &quiet);
  }
  (void)!::write(tty, prompt.data(), prompt.size());
  std::string line;
  char c = 0;
  while (line.size() <= kMaxPassword && ::read(tty, &c, 1) == 1 && c != '\n') line += c;
  if (is_terminal) ::tcsetattr(tty, TCSAFLUSH, &saved);
  (void)!::write(tty, "\n", 1);
  ::close(tty);
  return checked(std::move(line), "the prompt");
}

}  // namespace kr::cli
