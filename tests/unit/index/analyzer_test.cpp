#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "index/tokenizer.h"

namespace kr::index {
namespace {

using Terms = std::vector<std::string>;

std::shared_ptr<const Analyzer> make(AnalyzerOptions options = {}) {
  auto analyzer = Analyzer::create(options);
  EXPECT_TRUE(analyzer.is_ok()) << analyzer.status().to_string();
  return analyzer.value();
}

TEST(AnalyzerTest, DefaultIsEnglishWithStopWordsAndStemming) {
  auto a = make();
  EXPECT_EQ(a->options().language, "english");
  EXPECT_EQ(a->analyze("The runners were running in the park"),
            (Terms{"runner", "were", "run", "park"}));
}

TEST(AnalyzerTest, CaseAndAccentFolding) {
  auto a = make();
  EXPECT_EQ(a->analyze("ÉCOLE"), a->analyze("ecole"));
  EXPECT_EQ(a->analyze("École"), a->analyze("ECOLE"));
  EXPECT_EQ(a->analyze("café"), Terms{"cafe"});
  EXPECT_EQ(a->analyze("ÉCOLES"), Terms{"ecol"});
  EXPECT_EQ(a->analyze("cafe\xCC\x81"), Terms{"cafe"});  // decomposed e + U+0301
  EXPECT_EQ(a->analyze("Straße"), a->analyze("STRASSE"));
  EXPECT_EQ(a->analyze("Øresund"), a->analyze("oresund"));
}

TEST(AnalyzerTest, CompatibilityForms) {
  auto a = make({.language = "none"});
  EXPECT_EQ(a->analyze("ｆｕｌｌｗｉｄｔｈ"), Terms{"fullwidth"});  // NFKC
  EXPECT_EQ(a->analyze("ﬁnance"), Terms{"finance"});            // ligature
  EXPECT_EQ(a->analyze("hy\xC2\xADphen"), Terms{"hyphen"});     // soft hyphen is ignorable
}

TEST(AnalyzerTest, StopWordsRemovedBeforeStemming) {
  auto a = make();
  EXPECT_EQ(a->analyze("the cat and the hat"), (Terms{"cat", "hat"}));
  EXPECT_TRUE(a->analyze("to be or not to be").empty());
  auto keep = make({.remove_stop_words = false});
  EXPECT_EQ(keep->analyze("the cat"), (Terms{"the", "cat"}));
}

TEST(AnalyzerTest, StemmingCanBeDisabled) {
  EXPECT_EQ(make({.stem = false})->analyze("running dogs"), (Terms{"running", "dogs"}));
  EXPECT_EQ(make()->analyze("running dogs"), (Terms{"run", "dog"}));
}

TEST(AnalyzerTest, NoneLanguageKeepsWordsAsNormalized) {
  auto a = make({.language = "none"});
  EXPECT_EQ(a->analyze("The Running"), (Terms{"the", "running"}));
}

TEST(AnalyzerTest, OtherLanguages) {
  auto de = make({.language = "german"});
  EXPECT_EQ(de->analyze("für die Kinder"), Terms{"kind"});
  EXPECT_EQ(de->analyze("fur die Kinder"), Terms{"kind"});  // stop word typed without umlaut
  auto fr = make({.language = "french"});
  EXPECT_EQ(fr->analyze("les maisons été"), Terms{"maison"});
  auto es = make({.language = "spanish"});
  EXPECT_EQ(es->analyze("los gatos"), Terms{"gat"});
  // Russian has no built-in stop words here, only stemming; й is not folded.
  auto ru = make({.language = "russian"});
  EXPECT_EQ(ru->analyze("книги"), Terms{"книг"});
  EXPECT_EQ(ru->analyze("мой"), Terms{"мо"});
}

TEST(AnalyzerTest, DigitsKeptSingleLatinCharactersDropped) {
  auto a = make();
  EXPECT_EQ(a->analyze("version 42 of 7 x y z"), (Terms{"version", "42"}));
  EXPECT_EQ(a->analyze("ISO-8601 x86_64"), (Terms{"iso", "8601", "x86_64"}));
  EXPECT_EQ(a->analyze("don't"), Terms{"don"});  // like bm25s: "don" + dropped "t"
}

TEST(AnalyzerTest, CjkOneTermPerCodePoint) {
  auto a = make();
  EXPECT_EQ(a->analyze("東京タワー"), (Terms{"東", "京", "タ", "ワ", "ー"}));
  EXPECT_EQ(a->analyze("한국어"), (Terms{"한", "국", "어"}));
  EXPECT_EQ(a->analyze("ひらがな"), (Terms{"ひ", "ら", "が", "な"}));
  // Halfwidth katakana is normalized to fullwidth by NFKC.
  EXPECT_EQ(a->analyze("ｶﾀ"), (Terms{"カ", "タ"}));
}

TEST(AnalyzerTest, MixedScripts) {
  auto a = make();
  // The English stemmer leaves Cyrillic alone.
  EXPECT_EQ(a->analyze("Tokyo東京2024年 Москва"), (Terms{"tokyo", "東", "京", "2024", "年", "москва"}));
  // Indic vowel signs are marks inside the word and are kept.
  auto none = make({.language = "none"});
  EXPECT_EQ(none->analyze("हिन्दी"), Terms{"हिन्दी"});
}

TEST(AnalyzerTest, EmojiAndPunctuationSeparate) {
  auto a = make();
  EXPECT_EQ(a->analyze("I ❤️ pizza🍕pasta!!! ___ --"), (Terms{"pizza", "pasta"}));
}

TEST(AnalyzerTest, InvalidUtf8DoesNotCrash) {
  auto a = make();
  EXPECT_EQ(a->analyze("abc\xFF\xFE" "def"), (Terms{"abc", "def"}));
  EXPECT_EQ(a->analyze(std::string("ab\0cd", 5)), (Terms{"ab", "cd"}));
  EXPECT_EQ(a->analyze("\xC3"), Terms{});
  std::mt19937 rng(7);
  for (int i = 0; i < 2000; ++i) {
    std::string bytes(rng() % 64, '\0');
    for (char& c : bytes) c = static_cast<char>(rng());
    (void)a->analyze(bytes);
  }
}

TEST(AnalyzerTest, OverlongTokensDropped) {
  auto a = make({.language = "none"});
  EXPECT_EQ(a->analyze(std::string(300, 'x') + " ok"), Terms{"ok"});
  EXPECT_EQ(a->analyze(std::string(255, 'x')).size(), 1u);
}

TEST(AnalyzerTest, EmptyText) { EXPECT_TRUE(make()->analyze("").empty()); }

TEST(AnalyzerTest, LanguagesList) {
  const auto languages = available_languages();
  for (const char* name : {"english", "german", "french", "spanish", "russian", "porter", "none"}) {
    EXPECT_NE(std::find(languages.begin(), languages.end(), name), languages.end()) << name;
  }
  for (const std::string& name : languages) {
    EXPECT_TRUE(Analyzer::create({.language = name}).is_ok()) << name;
  }
}

TEST(AnalyzerTest, LanguageAliasesAndCase) {
  auto en = Analyzer::create({.language = "EN"});
  ASSERT_TRUE(en.is_ok());
  EXPECT_EQ(en.value()->options().language, "en");
  EXPECT_EQ(en.value()->analyze("the running"), Terms{"run"});
}

TEST(AnalyzerTest, UnknownLanguage) {
  auto result = Analyzer::create({.language = "klingon"});
  ASSERT_FALSE(result.is_ok());
  EXPECT_EQ(result.status().code(), ErrorCode::kInvalidArgument);
  EXPECT_NE(result.status().message().find("klingon"), std::string::npos);
  EXPECT_FALSE(Analyzer::create({.language = ""}).is_ok());
}

TEST(AnalyzerTest, ConcurrentUseGivesSameTerms) {
  auto a = make();
  const std::string text = "Connections connected connecting: the connective tissue of networks";
  const Terms expected = a->analyze(text);
  std::vector<std::thread> threads;
  std::vector<int> mismatches(4, 0);
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 500; ++i) {
        if (a->analyze(text) != expected) ++mismatches[t];
      }
    });
  }
  for (auto& th : threads) th.join();
  for (int m : mismatches) EXPECT_EQ(m, 0);
}

}  // namespace
}  // namespace kr::index
