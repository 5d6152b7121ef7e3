#include "core/file_hash.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <random>

#include "core/text.h"

namespace kr {
namespace {

TEST(Sha256FileHex, MatchesTheInMemoryHashAcrossReadBuffers) {
  const auto path = std::filesystem::temp_directory_path() / ("kr-sha256-" + std::to_string(::getpid()));
  std::string bytes(3 * (1 << 20) + 17, '\0');  // several 1 MiB reads, the last one short
  std::mt19937 random(7);
  for (char& c : bytes) c = static_cast<char>(random());
  std::ofstream(path, std::ios::binary).write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  EXPECT_EQ(sha256_file_hex(path.string()), sha256_hex(bytes));

  std::ofstream(path, std::ios::binary | std::ios::trunc).flush();
  EXPECT_EQ(sha256_file_hex(path.string()), sha256_hex(""));

  std::filesystem::remove(path);
  EXPECT_EQ(sha256_file_hex(path.string()), std::nullopt);
}

}  // namespace
}  // namespace kr
