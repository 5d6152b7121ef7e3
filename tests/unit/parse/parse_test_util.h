// Helpers shared by the parse tests.
#pragma once

#include <fstream>
#include <sstream>
#include <string>

namespace kr::parse::testing {

inline std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

inline std::string fixture_path(const std::string& name) { return std::string(KR_FIXTURE_DIR) + "/parse/" + name; }

inline std::string fixture(const std::string& name) { return read_file(fixture_path(name)); }

}  // namespace kr::parse::testing
