#include "core/text.h"

#include <gtest/gtest.h>

#include <random>
#include <sstream>
#include <string>
#include <vector>

namespace kr {
namespace {

// --- is_valid_utf8 ---------------------------------------------------------

TEST(IsValidUtf8, AcceptsWellFormedText) {
  EXPECT_TRUE(is_valid_utf8(""));
  EXPECT_TRUE(is_valid_utf8("plain ASCII, with punctuation!"));
  EXPECT_TRUE(is_valid_utf8(std::string("nul\0inside", 10)));  // NUL is a valid code point
  EXPECT_TRUE(is_valid_utf8("caf\xC3\xA9"));                      // é
  EXPECT_TRUE(is_valid_utf8("\xE2\x82\xAC 100"));                 // €
  EXPECT_TRUE(is_valid_utf8("\xF0\x9F\x98\x80"));                 // 😀
  EXPECT_TRUE(is_valid_utf8("\xE6\x97\xA5\xE6\x9C\xAC\xE8\xAA\x9E"));  // 日本語
}

TEST(IsValidUtf8, AcceptsBoundaryCodePoints) {
  EXPECT_TRUE(is_valid_utf8("\x7F"));              // U+007F
  EXPECT_TRUE(is_valid_utf8("\xC2\x80"));          // U+0080
  EXPECT_TRUE(is_valid_utf8("\xDF\xBF"));          // U+07FF
  EXPECT_TRUE(is_valid_utf8("\xE0\xA0\x80"));      // U+0800
  EXPECT_TRUE(is_valid_utf8("\xED\x9F\xBF"));      // U+D7FF, just below the surrogates
  EXPECT_TRUE(is_valid_utf8("\xEE\x80\x80"));      // U+E000, just above the surrogates
  EXPECT_TRUE(is_valid_utf8("\xEF\xBF\xBD"));      // U+FFFD
  EXPECT_TRUE(is_valid_utf8("\xEF\xBF\xBF"));      // U+FFFF
  EXPECT_TRUE(is_valid_utf8("\xF0\x90\x80\x80"));  // U+10000
  EXPECT_TRUE(is_valid_utf8("\xF4\x8F\xBF\xBF"));  // U+10FFFF
}

TEST(IsValidUtf8, RejectsOverlongEncodings) {
  EXPECT_FALSE(is_valid_utf8("\xC0\x80"));          // NUL, 2 bytes
  EXPECT_FALSE(is_valid_utf8("\xC0\xAF"));          // '/', 2 bytes
  EXPECT_FALSE(is_valid_utf8("\xC1\xBF"));          // U+007F, 2 bytes
  EXPECT_FALSE(is_valid_utf8("\xE0\x80\xAF"));      // '/', 3 bytes
  EXPECT_FALSE(is_valid_utf8("\xE0\x9F\xBF"));      // U+07FF, 3 bytes
  EXPECT_FALSE(is_valid_utf8("\xF0\x80\x80\xAF"));  // '/', 4 bytes
  EXPECT_FALSE(is_valid_utf8("\xF0\x8F\xBF\xBF"));  // U+FFFF, 4 bytes
}

TEST(IsValidUtf8, RejectsSurrogates) {
  EXPECT_FALSE(is_valid_utf8("\xED\xA0\x80"));  // U+D800
  EXPECT_FALSE(is_valid_utf8("\xED\xAD\xBF"));  // U+DB7F
  EXPECT_FALSE(is_valid_utf8("\xED\xB0\x80"));  // U+DC00
  EXPECT_FALSE(is_valid_utf8("\xED\xBF\xBF"));  // U+DFFF
  // CESU-8 style pair for U+1F600.
  EXPECT_FALSE(is_valid_utf8("\xED\xA0\xBD\xED\xB8\x80"));
}

TEST(IsValidUtf8, RejectsCodePointsAboveU10FFFF) {
  EXPECT_FALSE(is_valid_utf8("\xF4\x90\x80\x80"));  // U+110000
  EXPECT_FALSE(is_valid_utf8("\xF7\xBF\xBF\xBF"));  // U+1FFFFF
  EXPECT_FALSE(is_valid_utf8("\xF8\x88\x80\x80\x80"));  // 5-byte form
  EXPECT_FALSE(is_valid_utf8("\xFC\x84\x80\x80\x80\x80"));  // 6-byte form
  EXPECT_FALSE(is_valid_utf8("\xFE"));
  EXPECT_FALSE(is_valid_utf8("\xFF"));
}

TEST(IsValidUtf8, RejectsTruncatedAndBrokenSequences) {
  EXPECT_FALSE(is_valid_utf8("\xC3"));               // lead byte at the end
  EXPECT_FALSE(is_valid_utf8("\xE2\x82"));           // 2 of 3
  EXPECT_FALSE(is_valid_utf8("\xF0\x9F\x98"));       // 3 of 4
  EXPECT_FALSE(is_valid_utf8("ab\xE2\x82"));         // truncated after text
  EXPECT_FALSE(is_valid_utf8("\xE2\x82" "A"));       // continuation replaced by ASCII
  EXPECT_FALSE(is_valid_utf8("\xC3 "));              // continuation replaced by space
  EXPECT_FALSE(is_valid_utf8("\x80"));               // lone continuation byte
  EXPECT_FALSE(is_valid_utf8("a\xBF" "b"));          // lone continuation inside ASCII
  EXPECT_FALSE(is_valid_utf8("\xC3\xA9\xA9"));       // extra continuation
  EXPECT_FALSE(is_valid_utf8("\xF0\x9F\x98\x80\x80"));
}

// --- sanitize_utf8 ---------------------------------------------------------

constexpr const char* kReplacement = "\xEF\xBF\xBD";

TEST(SanitizeUtf8, LeavesValidTextAlone) {
  const std::string text = "caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80 \xE6\x97\xA5";
  EXPECT_EQ(sanitize_utf8(text), text);
  EXPECT_EQ(sanitize_utf8(""), "");
}

TEST(SanitizeUtf8, ReplacesABadByteWithUFFFD) {
  EXPECT_EQ(sanitize_utf8("a\xFF" "b"), std::string("a") + kReplacement + "b");
  EXPECT_EQ(sanitize_utf8("\x80"), kReplacement);
  EXPECT_EQ(sanitize_utf8("x\xC3"), std::string("x") + kReplacement);
  // A lead byte followed by ASCII: the ASCII survives.
  EXPECT_EQ(sanitize_utf8("\xC3" "A"), std::string(kReplacement) + "A");
}

TEST(SanitizeUtf8, ReplacesOverlongsSurrogatesAndOutOfRange) {
  for (const std::string bad : {"\xC0\xAF", "\xED\xA0\x80", "\xF4\x90\x80\x80", "\xE0\x80\xAF"}) {
    const std::string out = sanitize_utf8("<" + bad + ">");
    EXPECT_TRUE(is_valid_utf8(out));
    EXPECT_EQ(out.front(), '<');
    EXPECT_EQ(out.back(), '>');
    EXPECT_NE(out.find(kReplacement), std::string::npos);
    // No byte of the bad sequence leaks through.
    for (char c : bad) EXPECT_EQ(out.find(std::string(1, c) + ">"), std::string::npos);
  }
}

TEST(SanitizeUtf8, DropsNulBytes) {
  EXPECT_EQ(sanitize_utf8(std::string("a\0b\0\0c", 6)), "abc");
  EXPECT_EQ(sanitize_utf8(std::string("\0", 1)), "");
}

TEST(SanitizeUtf8, OutputIsAlwaysValidAndNulFree) {
  std::mt19937 random(1234);
  for (int round = 0; round < 500; ++round) {
    std::string bytes(static_cast<size_t>(random() % 64), '\0');
    for (char& c : bytes) c = static_cast<char>(random() & 0xFF);
    const std::string out = sanitize_utf8(bytes);
    ASSERT_TRUE(is_valid_utf8(out)) << "round " << round;
    ASSERT_EQ(out.find('\0'), std::string::npos) << "round " << round;
    EXPECT_EQ(sanitize_utf8(out), out) << "sanitizing is idempotent";
  }
}

// --- sha256_hex ------------------------------------------------------------

TEST(Sha256Hex, KnownVectors) {
  EXPECT_EQ(sha256_hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(sha256_hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(sha256_hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  EXPECT_EQ(sha256_hex(std::string(1000000, 'a')),
            "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

TEST(Sha256Hex, HashesBinaryBytesIncludingNul) {
  const std::string with_nul("a\0b", 3);
  const std::string hex = sha256_hex(with_nul);
  EXPECT_EQ(hex.size(), 64u);
  EXPECT_NE(hex, sha256_hex("a"));
  EXPECT_NE(hex, sha256_hex("ab"));
  for (char c : hex) EXPECT_TRUE((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')) << hex;
}

// --- estimate_tokens -------------------------------------------------------

size_t count_words(const std::string& text) {
  std::istringstream in(text);
  std::string word;
  size_t n = 0;
  while (in >> word) ++n;
  return n;
}

// The reference: real BPE tokenizers (cl100k, Llama, Phi-3) average ~1.3 tokens
// per English word. The estimate must never be below it (prompt budgeting relies
// on over-estimating) but must not waste more than half of a window either.
TEST(EstimateTokens, CalibratedForEnglishProse) {
  const std::vector<std::string> paragraphs = {
      "The quick brown fox jumps over the lazy dog. It was a bright cold day in April, and the clocks "
      "were striking thirteen.",
      "Employees receive twenty-five days of paid vacation per year. Unused days may be carried over "
      "into the first quarter of the following year, after which they expire. Requests must be approved "
      "by your manager at least two weeks in advance.",
      "Kubernetes schedules pods onto nodes based on resource requests, affinity rules and taints. When a "
      "workspace is created, the controller provisions GPU nodes, downloads the model weights and starts an "
      "inference server that exposes an OpenAI-compatible API.",
      "In 2023, revenue grew by 12% to $4.5 billion, while operating costs (excluding one-off items) rose "
      "only 3%. The board proposed a dividend of $0.42 per share, payable on 15 May.",
      "She said, \"Don't worry; we'll fix it tomorrow.\" He wasn't convinced: the server had crashed three "
      "times already - twice during the night and once at noon.",
  };
  for (const auto& paragraph : paragraphs) {
    const size_t words = count_words(paragraph);
    const double reference = static_cast<double>(words) * 1.3;
    const int estimate = estimate_tokens(paragraph);
    EXPECT_GE(estimate, reference) << paragraph;
    EXPECT_LE(estimate, 2.0 * reference) << paragraph;
  }
}

TEST(EstimateTokens, EmptyAndWhitespace) {
  EXPECT_EQ(estimate_tokens(""), 0);
  EXPECT_GE(estimate_tokens("   \n\t "), 0);
  EXPECT_GE(estimate_tokens("a"), 1);
}

TEST(EstimateTokens, CountsNonAsciiPerCodePoint) {
  std::string e_acute, cjk, emoji;
  for (int i = 0; i < 100; ++i) {
    e_acute += "\xC3\xA9";          // 2 bytes each
    cjk += "\xE6\x97\xA5";          // 3 bytes each
    emoji += "\xF0\x9F\x98\x80";    // 4 bytes each
  }
  // One token per code point, whatever its byte length.
  EXPECT_GE(estimate_tokens(e_acute), 100);
  EXPECT_GE(estimate_tokens(cjk), 100);
  EXPECT_GE(estimate_tokens(emoji), 100);
  EXPECT_LT(estimate_tokens(e_acute), 150);
  EXPECT_LT(estimate_tokens(cjk), 150);
  // Code points, not bytes, for multi-byte scripts of the same length.
  EXPECT_EQ(estimate_tokens(e_acute), estimate_tokens(cjk));
}

TEST(EstimateTokens, MonotoneUnderConcatenation) {
  const std::string a = "Installing the operator requires cluster-admin rights.";
  const std::string b = "Die Installation erfordert Administratorrechte f\xC3\xBCr den Cluster.";
  EXPECT_GE(estimate_tokens(a + " " + b), estimate_tokens(a));
  EXPECT_GE(estimate_tokens(a + " " + b), estimate_tokens(b));
}

TEST(EstimateTokens, DigitsAndPunctuationCostMoreThanLetters) {
  // Numbers and symbols split finely in BPE; the estimate must not treat them as cheap.
  EXPECT_GE(estimate_tokens("3.14159, 2.71828, 1.41421, 1.73205"), 12);
  EXPECT_GT(estimate_tokens("{\"a\":[1,2,3],\"b\":{\"c\":null}}"), estimate_tokens("alpha beta gamma"));
}

// --- trim ------------------------------------------------------------------

TEST(Trim, RemovesAsciiWhitespaceAtBothEnds) {
  EXPECT_EQ(trim("  hello  "), "hello");
  EXPECT_EQ(trim("\t\r\n\f\vhello world\v\f\n\r\t"), "hello world");
  EXPECT_EQ(trim("inner  space"), "inner  space");
  EXPECT_EQ(trim(""), "");
  EXPECT_EQ(trim(" \t\n "), "");
  EXPECT_EQ(trim("x"), "x");
  // Non-ASCII whitespace (NBSP) is not trimmed.
  EXPECT_EQ(trim("\xC2\xA0x\xC2\xA0"), "\xC2\xA0x\xC2\xA0");
}

TEST(Trim, ReturnsAViewIntoTheInput) {
  const std::string text = "  abc  ";
  const std::string_view view = trim(text);
  EXPECT_EQ(view.data(), text.data() + 2);
  EXPECT_EQ(view.size(), 3u);
}

// --- utf8_prefix -----------------------------------------------------------

TEST(Utf8Prefix, ShortInputIsReturnedWhole) {
  EXPECT_EQ(utf8_prefix("abc", 3), "abc");
  EXPECT_EQ(utf8_prefix("abc", 100), "abc");
  EXPECT_EQ(utf8_prefix("", 0), "");
  EXPECT_EQ(utf8_prefix("abc", 0), "");
  EXPECT_EQ(utf8_prefix("abcdef", 4), "abcd");
}

TEST(Utf8Prefix, NeverSplitsACodePoint) {
  const std::string text = "a\xC3\xA9" "b\xE2\x82\xAC" "c\xF0\x9F\x98\x80" "d\xE6\x97\xA5\xE6\x9C\xAC";
  ASSERT_TRUE(is_valid_utf8(text));
  for (size_t max = 0; max <= text.size() + 1; ++max) {
    const std::string_view prefix = utf8_prefix(text, max);
    EXPECT_LE(prefix.size(), max);
    EXPECT_EQ(text.compare(0, prefix.size(), prefix), 0) << "not a prefix at max=" << max;
    EXPECT_TRUE(is_valid_utf8(prefix)) << "split a code point at max=" << max;
    // Drops at most the bytes of one partial code point.
    EXPECT_GE(prefix.size() + 3, std::min(max, text.size())) << "max=" << max;
  }
  EXPECT_EQ(utf8_prefix("\xC3\xA9", 1), "");
  EXPECT_EQ(utf8_prefix("\xF0\x9F\x98\x80", 3), "");
  EXPECT_EQ(utf8_prefix("x\xF0\x9F\x98\x80", 4), "x");
}

}  // namespace
}  // namespace kr
