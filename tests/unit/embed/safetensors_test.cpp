#include "embed/safetensors.h"

#include <gtest/gtest.h>

#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>

namespace kr::embed {
namespace {

class SafeTensorsTest : public ::testing::Test {
 protected:
  std::filesystem::path dir_ = std::filesystem::temp_directory_path() /
                               ("kr-safetensors-" + std::to_string(::testing::UnitTest::GetInstance()->random_seed()) +
                                "-" + ::testing::UnitTest::GetInstance()->current_test_info()->name());
  void SetUp() override { std::filesystem::create_directories(dir_); }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  // Writes a file from a header and a data section, optionally cutting `truncate` bytes off.
  std::filesystem::path write(const nlohmann::json& header, const std::string& data, size_t truncate = 0) {
    const std::string text = header.dump();
    std::string bytes(8, '\0');
    const uint64_t size = text.size();
    std::memcpy(bytes.data(), &size, 8);
    bytes += text + data;
    bytes.resize(bytes.size() - truncate);
    const auto path = dir_ / "model.safetensors";
    std::ofstream(path, std::ios::binary) << bytes;
    return path;
  }
};

std::string raw(const void* data, size_t n) { return {static_cast<const char*>(data), n}; }

TEST_F(SafeTensorsTest, ReadsF32F16AndBf16AsFloat) {
  const float f32[] = {1.5f, -2.0f};
  const uint16_t f16[] = {0x3c00, 0xc000, 0x0001};  // 1, -2, smallest subnormal
  const uint16_t bf16[] = {0x3fc0};                  // 1.5
  std::string data = raw(f32, 8) + raw(f16, 6) + raw(bf16, 2);
  nlohmann::json header = {{"__metadata__", {{"format", "pt"}}},
                           {"a", {{"dtype", "F32"}, {"shape", {2}}, {"data_offsets", {0, 8}}}},
                           {"b", {{"dtype", "F16"}, {"shape", {1, 3}}, {"data_offsets", {8, 14}}}},
                           {"c", {{"dtype", "BF16"}, {"shape", {1}}, {"data_offsets", {14, 16}}}}};
  auto file = SafeTensorsFile::open(write(header, data));
  ASSERT_TRUE(file) << file.status().to_string();
  EXPECT_EQ(file->tensors().size(), 3u);
  auto a = file->read_float("a", {2});
  ASSERT_TRUE(a);
  EXPECT_EQ(*a, (std::vector<float>{1.5f, -2.0f}));
  auto b = file->read_float("b", {1, 3});
  ASSERT_TRUE(b);
  EXPECT_EQ((*b)[0], 1.0f);
  EXPECT_EQ((*b)[1], -2.0f);
  EXPECT_FLOAT_EQ((*b)[2], 5.9604645e-8f);
  auto c = file->read_float("c", {1});
  ASSERT_TRUE(c);
  EXPECT_EQ((*c)[0], 1.5f);
}

TEST_F(SafeTensorsTest, ShapeMismatchAndMissingTensorNameTheTensor) {
  const float f32[] = {1, 2};
  auto file = SafeTensorsFile::open(
      write({{"w", {{"dtype", "F32"}, {"shape", {2}}, {"data_offsets", {0, 8}}}}}, raw(f32, 8)));
  ASSERT_TRUE(file);
  auto wrong = file->read_float("w", {3});
  EXPECT_EQ(wrong.status().code(), ErrorCode::kInvalidArgument);
  EXPECT_NE(wrong.status().message().find("'w'"), std::string::npos);
  EXPECT_EQ(file->read_float("missing", {2}).status().code(), ErrorCode::kInvalidArgument);
}

TEST_F(SafeTensorsTest, DamagedFilesAreCorruptInputNotCrashes) {
  const float f32[] = {1, 2};
  nlohmann::json good = {{"w", {{"dtype", "F32"}, {"shape", {2}}, {"data_offsets", {0, 8}}}}};
  // Truncated data: the tensor's range runs past the end.
  EXPECT_EQ(SafeTensorsFile::open(write(good, raw(f32, 8), 4)).status().code(), ErrorCode::kCorruptInput);
  // Size that does not match the shape.
  nlohmann::json bad_size = {{"w", {{"dtype", "F32"}, {"shape", {3}}, {"data_offsets", {0, 8}}}}};
  EXPECT_EQ(SafeTensorsFile::open(write(bad_size, raw(f32, 8))).status().code(), ErrorCode::kCorruptInput);
  // Header length larger than the file.
  const auto path = dir_ / "model.safetensors";
  std::string bytes(8, '\0');
  const uint64_t huge = 1ull << 40;
  std::memcpy(bytes.data(), &huge, 8);
  std::ofstream(path, std::ios::binary) << bytes << "{}";
  EXPECT_EQ(SafeTensorsFile::open(path).status().code(), ErrorCode::kCorruptInput);
  // Not JSON.
  const uint64_t three = 3;
  std::memcpy(bytes.data(), &three, 8);
  std::ofstream(path, std::ios::binary | std::ios::trunc) << bytes << "{x}";
  EXPECT_EQ(SafeTensorsFile::open(path).status().code(), ErrorCode::kCorruptInput);
  // Too short, and missing.
  std::ofstream(path, std::ios::binary | std::ios::trunc) << "abc";
  EXPECT_EQ(SafeTensorsFile::open(path).status().code(), ErrorCode::kCorruptInput);
  EXPECT_EQ(SafeTensorsFile::open(dir_ / "nope.safetensors").status().code(), ErrorCode::kNotFound);
}

TEST_F(SafeTensorsTest, UnsupportedDtypeIsReportedOnRead) {
  const int64_t ids[] = {0, 1};
  auto file = SafeTensorsFile::open(
      write({{"ids", {{"dtype", "I64"}, {"shape", {2}}, {"data_offsets", {0, 16}}}}}, raw(ids, 16)));
  ASSERT_TRUE(file);
  EXPECT_EQ(file->read_float("ids", {2}).status().code(), ErrorCode::kUnsupported);
}

}  // namespace
}  // namespace kr::embed
