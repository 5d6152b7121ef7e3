#include <gtest/gtest.h>

#include <random>
#include <string>

#include "index/tokenizer.h"

namespace kr::index {
namespace {

TEST(CountTermsTest, SortedWithFrequencies) {
  EXPECT_EQ(count_terms({"b", "a", "b", "c", "b"}),
            (TermFreqs{{"a", 1}, {"b", 3}, {"c", 1}}));
  EXPECT_TRUE(count_terms({}).empty());
}

TEST(TermFreqsCodecTest, RoundTrip) {
  const TermFreqs tf = count_terms({"connect", "connect", "connection", "東", "zebra", "a", "café",
                                    std::string(300, 'q')});
  const std::string bytes = encode_term_freqs(tf);
  auto decoded = decode_term_freqs(bytes);
  ASSERT_TRUE(decoded.is_ok()) << decoded.status().to_string();
  EXPECT_EQ(decoded.value(), tf);
}

TEST(TermFreqsCodecTest, EmptyAndLargeFrequencies) {
  auto empty = decode_term_freqs(encode_term_freqs({}));
  ASSERT_TRUE(empty.is_ok());
  EXPECT_TRUE(empty->empty());
  const TermFreqs big{{"x", 0xFFFFFFFFu}, {"y", 128}};
  auto decoded = decode_term_freqs(encode_term_freqs(big));
  ASSERT_TRUE(decoded.is_ok());
  EXPECT_EQ(decoded.value(), big);
}

TEST(TermFreqsCodecTest, PrefixCompressionIsCompact) {
  const TermFreqs tf{{"international", 1}, {"internationalization", 2}, {"internationally", 3}};
  // version + count + 3 x (prefix, suffix len, tf) + "international" + "ization" + "ly"
  EXPECT_EQ(encode_term_freqs(tf).size(), 2u + 9u + 13u + 7u + 2u);
}

TEST(TermFreqsCodecTest, UnsortedInputIsCanonicalized) {
  const TermFreqs messy{{"b", 1}, {"a", 2}, {"b", 3}, {"z", 0}};
  auto decoded = decode_term_freqs(encode_term_freqs(messy));
  ASSERT_TRUE(decoded.is_ok());
  EXPECT_EQ(decoded.value(), (TermFreqs{{"a", 2}, {"b", 4}}));
}

TEST(TermFreqsCodecTest, EveryTruncationFails) {
  const std::string bytes = encode_term_freqs(count_terms({"alpha", "alphabet", "beta", "beta", "東京"}));
  for (size_t n = 0; n < bytes.size(); ++n) {
    auto r = decode_term_freqs(std::string_view(bytes).substr(0, n));
    ASSERT_FALSE(r.is_ok()) << "prefix " << n;
    EXPECT_EQ(r.status().code(), ErrorCode::kDataCorruption);
  }
}

TEST(TermFreqsCodecTest, SpecificCorruptions) {
  const auto code = [](std::string s) { return decode_term_freqs(s).status().code(); };
  EXPECT_EQ(code(std::string("\x02\x00", 2)), ErrorCode::kDataCorruption);          // version
  EXPECT_EQ(code(std::string("\x01\x00\x00", 3)), ErrorCode::kDataCorruption);      // trailing
  EXPECT_EQ(code(std::string("\x01\xFF\xFF\xFF\xFF\x0F", 6)), ErrorCode::kDataCorruption);  // count
  EXPECT_EQ(code(std::string("\x01\x01\x00\x01" "a\x00", 6)), ErrorCode::kDataCorruption);  // tf 0
  EXPECT_EQ(code(std::string("\x01\x01\x01\x01" "a\x01", 6)), ErrorCode::kDataCorruption);  // prefix
  EXPECT_EQ(code(std::string("\x01\x01\x00\x05" "a\x01", 6)), ErrorCode::kDataCorruption);  // length
  // Two entries "b" then "a": not increasing.
  EXPECT_EQ(code(std::string("\x01\x02\x00\x01" "b\x01\x00\x01" "a\x01", 10)), ErrorCode::kDataCorruption);
  // Duplicate term.
  EXPECT_EQ(code(std::string("\x01\x02\x00\x01" "b\x01\x01\x00\x01", 9)), ErrorCode::kDataCorruption);
  // tf above uint32 range, and an 11-byte varint.
  EXPECT_EQ(code(std::string("\x01\x01\x00\x01" "a\x80\x80\x80\x80\x10", 10)), ErrorCode::kDataCorruption);
  EXPECT_EQ(code("\x01\x01\x00\x01" "a" + std::string(10, '\x80') + "\x01"), ErrorCode::kDataCorruption);
}

TEST(TermFreqsCodecTest, RandomBytesNeverCrash) {
  std::mt19937_64 rng(42);
  int accepted = 0;
  for (int i = 0; i < 200000; ++i) {
    std::string bytes(rng() % 40, '\0');
    for (char& c : bytes) c = static_cast<char>(rng() % 8 == 0 ? rng() : rng() % 4);
    if (!bytes.empty() && rng() % 2) bytes[0] = '\x01';
    auto r = decode_term_freqs(bytes);
    if (r.is_ok()) {
      ++accepted;
      // Whatever decodes must survive a re-encode unchanged.
      auto again = decode_term_freqs(encode_term_freqs(r.value()));
      ASSERT_TRUE(again.is_ok());
      EXPECT_EQ(again.value(), r.value());
    } else {
      EXPECT_EQ(r.status().code(), ErrorCode::kDataCorruption);
    }
  }
  EXPECT_GT(accepted, 0);  // the generator does reach valid inputs
}

TEST(TermFreqsCodecTest, BitFlipsNeverCrash) {
  const std::string bytes = encode_term_freqs(count_terms({"alpha", "alphabet", "beta", "gamma", "東京"}));
  for (size_t i = 0; i < bytes.size(); ++i) {
    for (int bit = 0; bit < 8; ++bit) {
      std::string mutated = bytes;
      mutated[i] = static_cast<char>(mutated[i] ^ (1 << bit));
      auto r = decode_term_freqs(mutated);
      if (!r.is_ok()) {
        EXPECT_EQ(r.status().code(), ErrorCode::kDataCorruption);
      }
    }
  }
}

}  // namespace
}  // namespace kr::index
