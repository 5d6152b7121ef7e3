#include "chunk/text_split.h"

#include <gtest/gtest.h>

#include <string>
#include <string_view>
#include <vector>

namespace kr::chunk {
namespace {

std::vector<std::string> sentences(std::string_view text) {
  std::vector<std::string> out;
  for (const Span& span : split_sentences(text)) out.emplace_back(text.substr(span.begin, span.end - span.begin));
  return out;
}

std::vector<std::string> words(std::string_view text) {
  std::vector<std::string> out;
  for (const Span& span : split_words(text)) out.emplace_back(text.substr(span.begin, span.end - span.begin));
  return out;
}

using Strings = std::vector<std::string>;

TEST(SplitSentences, EmptyAndWhitespaceHaveNone) {
  EXPECT_TRUE(split_sentences("").empty());
  EXPECT_TRUE(split_sentences(" \n\t ").empty());
}

TEST(SplitSentences, SplitsAtTerminatorsFollowedBySpace) {
  EXPECT_EQ(sentences("One. Two! Three? Four"), (Strings{"One.", "Two!", "Three?", "Four"}));
  EXPECT_EQ(sentences("  Wait...  Really?! Yes.  "), (Strings{"Wait...", "Really?!", "Yes."}));
}

TEST(SplitSentences, KeepsClosingQuotesWithTheirSentence) {
  EXPECT_EQ(sentences("He said \"Stop.\" Then left."), (Strings{"He said \"Stop.\"", "Then left."}));
  EXPECT_EQ(sentences("Sie sagte \u201EJa.\u201D Dann ging sie."),
            (Strings{"Sie sagte \u201EJa.\u201D", "Dann ging sie."}));
}

TEST(SplitSentences, DoesNotSplitAbbreviationsNumbersOrLowerCaseContinuations) {
  EXPECT_EQ(sentences("Ask Dr. Smith about it. Then go."), (Strings{"Ask Dr. Smith about it.", "Then go."}));
  EXPECT_EQ(sentences("Use e.g. Python. Version 2.5 works."), (Strings{"Use e.g. Python.", "Version 2.5 works."}));
  EXPECT_EQ(sentences("See fig. three for details."), (Strings{"See fig. three for details."}));
  EXPECT_EQ(sentences("J. R. Tolkien wrote it."), (Strings{"J. R. Tolkien wrote it."}));
}

TEST(SplitSentences, SplitsAtLineBreaksAndCjkFullStops) {
  EXPECT_EQ(sentences("line one\nline two\r\n\nline three"), (Strings{"line one", "line two", "line three"}));
  EXPECT_EQ(sentences("\u4ECA\u65E5\u306F\u3002\u660E\u65E5\uFF01\u305D\u3046\uFF1F"),
            (Strings{"\u4ECA\u65E5\u306F\u3002", "\u660E\u65E5\uFF01", "\u305D\u3046\uFF1F"}));
}

TEST(SplitSentences, SpansCoverEveryNonSpaceByte) {
  const std::string text = "  A b. C d!  e f\n\ng. H\u3002I ";
  std::string joined;
  for (const Span& span : split_sentences(text)) joined += text.substr(span.begin, span.end - span.begin);
  std::string expected;
  for (char c : text) {
    if (c != ' ' && c != '\n') expected += c;
  }
  std::string joined_no_space;
  for (char c : joined) {
    if (c != ' ' && c != '\n') joined_no_space += c;
  }
  EXPECT_EQ(joined_no_space, expected);
}

TEST(SplitWords, SplitsAtAsciiWhitespace) {
  EXPECT_EQ(words("  alpha beta\tgamma\n\ndelta  "), (Strings{"alpha", "beta", "gamma", "delta"}));
  EXPECT_EQ(words("caf\u00E9\u00A0noir"), (Strings{"caf\u00E9\u00A0noir"}));  // NBSP is not a break
  EXPECT_TRUE(split_words("   ").empty());
}

TEST(CodePointBoundary, RecognisesContinuationBytes) {
  const std::string text = "a\u00E9\U0001F600";  // 1 + 2 + 4 bytes
  const std::vector<bool> expected = {true, true, false, true, false, false, false, true};
  for (size_t i = 0; i <= text.size(); ++i) EXPECT_EQ(is_code_point_boundary(text, i), expected[i]) << i;
}

}  // namespace
}  // namespace kr::chunk
