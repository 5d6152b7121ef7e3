#include "api/upload_scratch.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "core/text.h"

namespace kr::api {
namespace {

namespace fs = std::filesystem;

std::string read_all(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

TEST(UploadScratchTest, WritesPrivateFileHashesAndRemovesIt) {
  const std::string dir = ::testing::TempDir();
  std::string path;
  {
    auto file = ScratchFile::create(dir);
    ASSERT_TRUE(file.is_ok()) << file.status().message();
    path = (*file)->path();
    struct stat st {};
    ASSERT_EQ(::stat(path.c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0600u);
    std::string expected;
    for (int i = 0; i < 1000; ++i) {
      const std::string piece = "piece " + std::to_string(i) + "\r\n";
      ASSERT_TRUE((*file)->append(piece).is_ok());
      expected += piece;
    }
    ASSERT_TRUE((*file)->close().is_ok());
    EXPECT_EQ((*file)->size(), static_cast<int64_t>(expected.size()));
    EXPECT_EQ((*file)->sha256_hex(), sha256_hex(expected));
    EXPECT_EQ(read_all(path), expected);
    EXPECT_FALSE((*file)->append("x").is_ok());
  }
  EXPECT_FALSE(fs::exists(path));  // removed with the object, closed or not
}

TEST(UploadScratchTest, RemovedWhenAbandonedMidWrite) {
  std::string path;
  {
    auto file = ScratchFile::create(::testing::TempDir());
    ASSERT_TRUE(file.is_ok());
    path = (*file)->path();
    ASSERT_TRUE((*file)->append("half an upload").is_ok());
  }
  EXPECT_FALSE(fs::exists(path));
}

TEST(UploadScratchTest, DiskFullIsInsufficientStorage) {
  const int fd = ::open("/dev/full", O_WRONLY | O_CLOEXEC);
  ASSERT_GE(fd, 0);
  Status status = write_all(fd, "bytes", "an uploaded file");
  ::close(fd);
  EXPECT_EQ(status.code(), ErrorCode::kInsufficientStorage);
  EXPECT_NE(status.message().find("no space left"), std::string::npos);
}

TEST(UploadScratchTest, MissingDirectoryIsAnError) {
  auto file = ScratchFile::create("/nonexistent-kr-dir/sub");
  ASSERT_FALSE(file.is_ok());
  EXPECT_EQ(file.status().code(), ErrorCode::kInternal);
}

}  // namespace
}  // namespace kr::api
