#include "store/original_store.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>

namespace kr::store {
namespace {

namespace fs = std::filesystem;

const std::string kHashA(64, 'a');
const std::string kHashB(64, 'b');

std::string scratch_dir() {
  const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
  const fs::path dir = fs::path(::testing::TempDir()) / ("kr_originals_" + std::string(info->name()) + "_" + std::to_string(::getpid()));
  fs::remove_all(dir);
  return dir.string();
}

TEST(OriginalStore, KeepsReadsSweepsAndCounts) {
  const std::string root = scratch_dir();
  fs::create_directories(root + "/hr");  // the collection's folder
  FileOriginalStore store(root);
  ASSERT_TRUE(store.keep("hr", kHashA, std::string("%PDF-1.7\0binary", 15)));
  ASSERT_TRUE(store.keep("hr", kHashA, "ignored: same hash, same bytes"));
  ASSERT_TRUE(store.keep("hr", kHashB, "hello"));
  auto bytes = store.read("hr", kHashA);
  ASSERT_TRUE(bytes);
  EXPECT_EQ(*bytes, std::string("%PDF-1.7\0binary", 15));
  EXPECT_EQ(store.bytes("hr"), 15 + 5);
  EXPECT_EQ(store.bytes("other"), 0);
  ASSERT_TRUE(store.sweep("hr", {kHashB}));
  EXPECT_EQ(store.read("hr", kHashA).status().code(), ErrorCode::kNotFound);
  ASSERT_TRUE(store.release("hr", kHashB));
  EXPECT_EQ(store.bytes("hr"), 0);
}

// An upload that committed just before its collection was deleted must not bring the
// collection's folder back: it would block creating a collection of that name.
TEST(OriginalStore, NeverRecreatesADeletedCollectionsFolder) {
  const std::string root = scratch_dir();
  fs::create_directories(root);
  FileOriginalStore store(root);
  EXPECT_EQ(store.keep("gone", kHashA, "bytes").code(), ErrorCode::kNotFound);
  EXPECT_FALSE(fs::exists(root + "/gone"));
}

TEST(OriginalStore, RefusesAnythingButAHexDigestAsAName) {
  FileOriginalStore store(scratch_dir());
  EXPECT_EQ(store.keep("hr", "../../etc/passwd", "x").code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(store.read("hr", "../" + kHashA.substr(3)).status().code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(store.keep("hr", std::string(64, 'G'), "x").code(), ErrorCode::kInvalidArgument);
}

}  // namespace
}  // namespace kr::store
