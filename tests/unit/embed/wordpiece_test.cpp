// The WordPiece tokenizer against Hugging Face `tokenizers`: golden texts and ids
// (tests/golden/embed/wordpiece_minilm.jsonl, needs the MiniLM model from scripts/fetch_models.sh),
// the normalizer and pre-tokenizer for every code point (wordpiece_unicode.txt, no model needed),
// and the behaviour on small vocabularies, bad input and bad files.
#include "embed/wordpiece.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <random>
#include <sstream>

#include "model_paths.h"

namespace kr::embed {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

std::string read_text(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void write_text(const fs::path& path, std::string_view text) {
  std::ofstream out(path, std::ios::binary);
  out << text;
}

// A fresh temporary folder, removed at the end of the test.
class TempDir {
 public:
  TempDir() {
    static int counter = 0;
    path_ = fs::temp_directory_path() /
            ("kr_wordpiece_test_" + std::to_string(::getpid()) + "_" + std::to_string(counter++));
    fs::remove_all(path_);
    fs::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

void append_utf8(std::string& s, char32_t cp) {
  char b[4];
  size_t n = 0;
  if (cp < 0x80) {
    b[n++] = static_cast<char>(cp);
  } else if (cp < 0x800) {
    b[n++] = static_cast<char>(0xC0 | (cp >> 6));
    b[n++] = static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    b[n++] = static_cast<char>(0xE0 | (cp >> 12));
    b[n++] = static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    b[n++] = static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    b[n++] = static_cast<char>(0xF0 | (cp >> 18));
    b[n++] = static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    b[n++] = static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    b[n++] = static_cast<char>(0x80 | (cp & 0x3F));
  }
  s.append(b, n);
}

std::string utf8(char32_t cp) {
  std::string s;
  append_utf8(s, cp);
  return s;
}

std::string show_ids(const std::vector<int32_t>& ids, size_t max = 40) {
  std::string s = "[";
  for (size_t i = 0; i < ids.size() && i < max; ++i) s += (i ? " " : "") + std::to_string(ids[i]);
  if (ids.size() > max) s += " ... (" + std::to_string(ids.size()) + " ids)";
  return s + "]";
}

// ---- Golden: every text of wordpiece_minilm.jsonl -------------------------------------------

struct GoldenCase {
  std::string text;
  int max_length = 0;  // 0: no truncation
  bool special = true;  // false: encode_words
  std::string config;
  std::vector<int32_t> ids;
};

struct Golden {
  json meta;
  std::vector<GoldenCase> cases;
};

const Golden& golden() {
  static const Golden g = [] {
    Golden out;
    const std::string text = read_text(fs::path(KR_GOLDEN_DIR) / "embed" / "wordpiece_minilm.jsonl");
    std::istringstream in(text);
    std::string line;
    while (std::getline(in, line)) {
      if (line.empty()) continue;
      json j = json::parse(line);
      if (j.contains("meta")) {
        out.meta = j["meta"];
        continue;
      }
      GoldenCase c;
      c.text = j["text"].get<std::string>();
      c.special = !j["max_length"].is_null();
      c.max_length = c.special ? j["max_length"].get<int>() : 0;
      c.config = j["config"].get<std::string>();
      c.ids = j["ids"].get<std::vector<int32_t>>();
      out.cases.push_back(std::move(c));
    }
    return out;
  }();
  return g;
}

// Runs the golden cases of `config` through `tok`; reports the first mismatches with their text.
void expect_golden(const WordPieceTokenizer& tok, const std::string& config) {
  size_t checked = 0, mismatches = 0;
  for (const GoldenCase& c : golden().cases) {
    if (c.config != config) continue;
    ++checked;
    const auto ids = c.special ? tok.encode(c.text, c.max_length) : tok.encode_words(c.text);
    if (ids == c.ids) continue;
    if (++mismatches <= 10) {
      ADD_FAILURE() << "config " << config << ", max_length "
                    << (c.special ? std::to_string(c.max_length) : "none (no special tokens)")
                    << "\n  text:     " << json(c.text).dump().substr(0, 300)
                    << "\n  normalized: " << json(tok.normalize(c.text)).dump().substr(0, 300)
                    << "\n  expected: " << show_ids(c.ids) << "\n  got:      " << show_ids(ids);
    }
  }
  EXPECT_GT(checked, 0u) << "no golden cases for config " << config;
  EXPECT_EQ(mismatches, 0u) << mismatches << " of " << checked << " golden texts differ (config " << config << ")";
  std::cout << "[ golden   ] " << config << ": " << checked - mismatches << " of " << checked
            << " texts identical to HF tokenizers " << golden().meta.value("tokenizers", "?") << "\n";
}

// The MiniLM vocabulary, id order, from a loaded tokenizer.
std::vector<std::string> vocab_of(const WordPieceTokenizer& tok) {
  std::vector<std::string> vocab;
  for (size_t id = 0; id < tok.vocab_size(); ++id) vocab.emplace_back(tok.id_to_token(static_cast<int32_t>(id)));
  return vocab;
}

WordPieceConfig config_named(const std::string& name) {
  const json& c = golden().meta.at("configs").at(name);
  WordPieceConfig config;
  config.clean_text = c.at("clean_text").get<bool>();
  config.tokenize_chinese_chars = c.at("handle_chinese_chars").get<bool>();
  config.lowercase = c.at("lowercase").get<bool>();
  if (!c.at("strip_accents").is_null()) config.strip_accents = c.at("strip_accents").get<bool>();
  return config;
}

#define KR_REQUIRE_MINILM_TOKENIZER()                                                               \
  do {                                                                                              \
    if (!fs::exists(testing::minilm_dir() / "tokenizer.json")) {                                    \
      GTEST_SKIP() << "all-MiniLM-L6-v2 not found in " << testing::model_cache()                    \
                   << " (KAITO_RAG_MODEL_CACHE); run scripts/fetch_models.sh";                      \
    }                                                                                               \
  } while (0)

TEST(WordPieceGoldenTest, TokenizerJsonMatchesHuggingFace) {
  KR_REQUIRE_MINILM_TOKENIZER();
  auto tok = WordPieceTokenizer::load(testing::minilm_dir());
  ASSERT_TRUE(tok) << tok.status().to_string();
  EXPECT_EQ(tok->vocab_size(), golden().meta.at("vocab_size").get<size_t>());
  EXPECT_EQ(tok->cls_id(), 101);
  EXPECT_EQ(tok->sep_id(), 102);
  EXPECT_EQ(tok->pad_id(), 0);
  EXPECT_EQ(tok->unk_id(), 100);
  EXPECT_GE(golden().cases.size(), 2500u);
  expect_golden(*tok, "uncased");
}

TEST(WordPieceGoldenTest, VocabTxtAndTokenizerConfigMatchHuggingFace) {
  KR_REQUIRE_MINILM_TOKENIZER();
  TempDir dir;
  for (const char* file : {"vocab.txt", "tokenizer_config.json", "special_tokens_map.json"}) {
    fs::copy_file(testing::minilm_dir() / file, dir.path() / file);
  }
  auto tok = WordPieceTokenizer::load(dir.path());
  ASSERT_TRUE(tok) << tok.status().to_string();
  EXPECT_EQ(tok->vocab_size(), 30522u);
  expect_golden(*tok, "uncased");
}

TEST(WordPieceGoldenTest, OtherNormalizerSettingsMatchHuggingFace) {
  KR_REQUIRE_MINILM_TOKENIZER();
  auto minilm = WordPieceTokenizer::load(testing::minilm_dir());
  ASSERT_TRUE(minilm) << minilm.status().to_string();
  for (const char* name : {"lower_only", "strip_only", "cased"}) {
    auto tok = WordPieceTokenizer::from_vocab(vocab_of(*minilm), config_named(name));
    ASSERT_TRUE(tok) << tok.status().to_string();
    expect_golden(*tok, name);
  }
}

TEST(WordPieceGoldenTest, AddedTokenOptionsMatchHuggingFace) {
  KR_REQUIRE_MINILM_TOKENIZER();
  // tokenizer.json plus the golden's extra added tokens (lstrip, rstrip, single_word, normalized).
  json spec = json::parse(read_text(testing::minilm_dir() / "tokenizer.json"));
  for (const json& t : golden().meta.at("added_tokens")) spec["added_tokens"].push_back(t);
  TempDir dir;
  write_text(dir.path() / "tokenizer.json", spec.dump());
  auto tok = WordPieceTokenizer::load(dir.path());
  ASSERT_TRUE(tok) << tok.status().to_string();
  expect_golden(*tok, "added");
}

// ---- Every code point: wordpiece_unicode.txt -------------------------------------------------

struct UnicodeGolden {
  struct Section {
    std::string name;
    WordPieceConfig config;
    std::vector<std::pair<char32_t, std::string>> changed;  // code point -> expected UTF-8
  };
  std::vector<Section> normalize;
  std::vector<std::pair<char32_t, std::string>> split;  // code point -> "space" | "punct"
};

const UnicodeGolden& unicode_golden() {
  static const UnicodeGolden g = [] {
    UnicodeGolden out;
    std::istringstream in(read_text(fs::path(KR_GOLDEN_DIR) / "embed" / "wordpiece_unicode.txt"));
    std::string line;
    bool in_split = false;
    while (std::getline(in, line)) {
      if (line.empty() || line[0] == '#') continue;
      std::istringstream ls(line);
      if (line[0] == '[') {
        std::string tag, name;
        ls >> tag;
        in_split = tag == "[split]";
        if (in_split) continue;
        int clean = 0, chinese = 0, strip = 0, lower = 0;
        ls >> name >> clean >> chinese >> strip >> lower;
        UnicodeGolden::Section s;
        s.name = name;
        s.config.clean_text = clean != 0;
        s.config.tokenize_chinese_chars = chinese != 0;
        s.config.strip_accents = strip != 0;
        s.config.lowercase = lower != 0;
        out.normalize.push_back(std::move(s));
        continue;
      }
      std::string range, token;
      ls >> range;
      const size_t dash = range.find('-');
      const auto first = static_cast<char32_t>(std::stoul(range.substr(0, dash), nullptr, 16));
      const auto last =
          dash == std::string::npos ? first : static_cast<char32_t>(std::stoul(range.substr(dash + 1), nullptr, 16));
      std::vector<std::string> tokens;
      while (ls >> token) tokens.push_back(token);
      for (char32_t cp = first; cp <= last; ++cp) {
        if (in_split) {
          out.split.emplace_back(cp, tokens.at(0));
          continue;
        }
        std::string expected;
        for (const std::string& t : tokens) {
          if (t == "-") break;
          if (t[0] == '=') {
            const long delta = t.size() == 1 ? 0 : std::stol(t.substr(2), nullptr, 16) * (t[1] == '-' ? -1 : 1);
            append_utf8(expected, static_cast<char32_t>(static_cast<long>(cp) + delta));
          } else {
            append_utf8(expected, static_cast<char32_t>(std::stoul(t, nullptr, 16)));
          }
        }
        out.normalize.back().changed.emplace_back(cp, std::move(expected));
      }
    }
    return out;
  }();
  return g;
}

const std::vector<std::string> kTinyVocab = {"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "a", "b"};

// All code points but the surrogates, in blocks: one call per block keeps the Debug build fast.
std::vector<std::vector<char32_t>> code_point_blocks() {
  std::vector<std::vector<char32_t>> blocks(1);
  for (char32_t cp = 0; cp < 0x110000; ++cp) {
    if (cp >= 0xD800 && cp <= 0xDFFF) continue;
    if (blocks.back().size() == 4096) blocks.emplace_back();
    blocks.back().push_back(cp);
  }
  return blocks;
}

TEST(WordPieceUnicodeTest, NormalizerMatchesHuggingFaceForEveryCodePoint) {
  const auto& g = unicode_golden();
  ASSERT_EQ(g.normalize.size(), 4u);
  const auto blocks = code_point_blocks();
  for (const auto& section : g.normalize) {
    auto tok = WordPieceTokenizer::from_vocab(kTinyVocab, section.config);
    ASSERT_TRUE(tok) << tok.status().to_string();
    size_t next = 0, mismatches = 0, checked = 0;  // section.changed is in code point order
    for (const auto& block : blocks) {
      // Code points separated by '|', which every setting leaves alone and no code point becomes.
      std::string text;
      for (char32_t cp : block) {
        append_utf8(text, cp);
        text += '|';
      }
      const std::string normalized = tok->normalize(text);
      size_t pos = 0;
      for (char32_t cp : block) {
        const size_t bar = normalized.find('|', cp == U'|' ? pos + 1 : pos);
        ASSERT_NE(bar, std::string::npos);
        const std::string got = normalized.substr(pos, bar - pos);
        pos = bar + 1;
        std::string expected = utf8(cp);
        if (next < section.changed.size() && section.changed[next].first == cp) expected = section.changed[next++].second;
        ++checked;
        if (got != expected && ++mismatches <= 10) {
          ADD_FAILURE() << section.name << ": U+" << std::hex << static_cast<uint32_t>(cp) << std::dec
                        << " normalizes to " << json(got).dump() << ", HF gives " << json(expected).dump();
        }
      }
    }
    EXPECT_EQ(checked, 0x110000u - 0x800u);
    EXPECT_EQ(next, section.changed.size());
    EXPECT_EQ(mismatches, 0u) << section.name << ": " << mismatches << " of " << checked << " code points differ";
  }
}

TEST(WordPieceUnicodeTest, PreTokenizerSplitsLikeHuggingFaceForEveryCodePoint) {
  // No normalization: "a" + cp + "b" is one word, two (cp is whitespace) or three (punctuation);
  // the [SEP]s between them are added tokens, which the pre-tokenizer never sees.
  WordPieceConfig raw;
  raw.clean_text = raw.tokenize_chinese_chars = raw.lowercase = false;
  auto tok = WordPieceTokenizer::from_vocab(kTinyVocab, raw);
  ASSERT_TRUE(tok) << tok.status().to_string();
  const auto& split = unicode_golden().split;
  ASSERT_GT(split.size(), 700u);
  auto kinds = split;
  std::sort(kinds.begin(), kinds.end());
  size_t next = 0, mismatches = 0;
  for (const auto& block : code_point_blocks()) {
    std::string text;
    for (char32_t cp : block) {
      text += 'a';
      append_utf8(text, cp);
      text += "b[SEP]";
    }
    const auto ids = tok->encode_words(text);
    size_t i = 0;
    for (char32_t cp : block) {
      size_t got = 0;
      while (i < ids.size() && ids[i] != tok->sep_id()) ++got, ++i;
      ++i;  // the [SEP]
      size_t expected = 1;
      if (next < kinds.size() && kinds[next].first == cp) expected = kinds[next++].second == "space" ? 2 : 3;
      if (got != expected && ++mismatches <= 10) {
        ADD_FAILURE() << "U+" << std::hex << static_cast<uint32_t>(cp) << std::dec << ": " << got
                      << " words, HF " << expected;
      }
    }
    ASSERT_EQ(i, ids.size());
  }
  EXPECT_EQ(mismatches, 0u);
}

// ---- Small vocabularies ----------------------------------------------------------------------

WordPieceTokenizer tiny(WordPieceConfig config = {}) {
  auto tok = WordPieceTokenizer::from_vocab({"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "un", "##aff", "##able",
                                             "want", "##want", "##ed", "runn", "##ing", ",", "x", "##x", "中", "e"},
                                            std::move(config));
  EXPECT_TRUE(tok) << tok.status().to_string();
  return std::move(tok).value();
}

TEST(WordPieceTest, GreedyLongestMatchFirst) {
  const auto tok = tiny();
  EXPECT_EQ(tok.encode_words("unwanted running"), (std::vector<int32_t>{5, 9, 10, 11, 12}));
  EXPECT_EQ(tok.encode_words("UNAFFABLE"), (std::vector<int32_t>{5, 6, 7}));
  EXPECT_EQ(tok.encode_words("unwantedX"), (std::vector<int32_t>{5, 9, 10, 15}));
  // One piece that does not match makes the whole word [UNK].
  EXPECT_EQ(tok.encode_words("unwantedy, want"), (std::vector<int32_t>{1, 13, 8}));
  EXPECT_EQ(tok.encode("want", 0), (std::vector<int32_t>{2, 8, 3}));
  EXPECT_EQ(tok.encode("", 0), (std::vector<int32_t>{2, 3}));
  EXPECT_EQ(tok.encode_words("  \t\n "), std::vector<int32_t>{});
}

TEST(WordPieceTest, WordsLongerThanTheLimitAreUnknown) {
  WordPieceConfig config;
  config.max_input_chars_per_word = 5;
  const auto tok = tiny(config);
  EXPECT_EQ(tok.encode_words("xxxxx"), (std::vector<int32_t>{14, 15, 15, 15, 15}));
  EXPECT_EQ(tok.encode_words("xxxxxx"), (std::vector<int32_t>{1}));
  EXPECT_EQ(tok.encode_words("\u00e9\u00e9\u00e9\u00e9\u00e9"), (std::vector<int32_t>{1}));  // "eeeee": no ##e
  EXPECT_EQ(tok.encode_words(std::string(1000, 'x')), (std::vector<int32_t>{1}));
}

TEST(WordPieceTest, TruncationKeepsSep) {
  const auto tok = tiny();
  const std::string text = "x , x , x";
  EXPECT_EQ(tok.encode(text, 0), (std::vector<int32_t>{2, 14, 13, 14, 13, 14, 3}));
  EXPECT_EQ(tok.encode(text, 7), (std::vector<int32_t>{2, 14, 13, 14, 13, 14, 3}));
  EXPECT_EQ(tok.encode(text, 4), (std::vector<int32_t>{2, 14, 13, 3}));
  EXPECT_EQ(tok.encode(text, 2), (std::vector<int32_t>{2, 3}));
  EXPECT_EQ(tok.encode(text, 1), tok.encode(text, 0));  // as HF: too short to truncate
  // A word's pieces are cut too, not just whole words.
  EXPECT_EQ(tok.encode("unaffable", 3), (std::vector<int32_t>{2, 5, 3}));
}

TEST(WordPieceTest, SpecialTokensInTheTextAreMatched) {
  const auto tok = tiny();
  EXPECT_EQ(tok.encode_words("x[MASK]x [SEP]"), (std::vector<int32_t>{14, 4, 14, 3}));
  EXPECT_EQ(tok.encode_words("[mask]"), (std::vector<int32_t>{1, 1, 1}));  // '[' 'mask' ']' are unknown
}

TEST(WordPieceTest, ChineseCharactersAreWordsOfTheirOwn) {
  const auto tok = tiny();
  EXPECT_EQ(tok.encode_words("x中x"), (std::vector<int32_t>{14, 16, 14}));
  WordPieceConfig config;
  config.tokenize_chinese_chars = false;
  EXPECT_EQ(tiny(config).encode_words("x中x"), (std::vector<int32_t>{1}));
}

TEST(WordPieceTest, NormalizerSteps) {
  const auto tok = tiny();
  EXPECT_EQ(tok.normalize("Ünïcödé\tTAB\u00a0x\u200by\x01z"), "unicode tab xyz");
  EXPECT_EQ(tok.normalize("\u0130"), "i");
  EXPECT_EQ(tok.normalize("a中b"), "a 中 b");
  WordPieceConfig lower_only;
  lower_only.strip_accents = false;
  EXPECT_EQ(tiny(lower_only).normalize("\u0130\u03a3\u00c9"), "i\u0307\u03c3\u00e9");  // full mapping, no final sigma
  WordPieceConfig cased;
  cased.lowercase = false;
  EXPECT_EQ(tiny(cased).normalize("\u00c9"), "\u00c9");
  EXPECT_FALSE(tiny(cased).config().strip_accents.value_or(false));
}

TEST(WordPieceTest, InvalidUtf8NeverCrashes) {
  const auto tok = tiny();
  // Invalid bytes read as U+FFFD, which clean_text drops.
  EXPECT_EQ(tok.encode_words("x\xff\xfex"), (std::vector<int32_t>{14, 15}));
  EXPECT_EQ(tok.encode_words("x\xc3"), (std::vector<int32_t>{14}));              // truncated sequence
  EXPECT_EQ(tok.encode_words("x\xe4\xb8"), (std::vector<int32_t>{14}));          // truncated 中
  EXPECT_EQ(tok.encode_words("\xc0\xaf x"), (std::vector<int32_t>{14}));         // overlong '/'
  EXPECT_EQ(tok.encode_words("\xed\xa0\x80 x"), (std::vector<int32_t>{14}));     // surrogate
  EXPECT_EQ(tok.encode_words("\xf4\x90\x80\x80 x"), (std::vector<int32_t>{14}));  // > U+10FFFF
  EXPECT_EQ(tok.encode_words(std::string_view("x\0x", 3)), (std::vector<int32_t>{14, 15}));
  EXPECT_EQ(tok.normalize("a\xff" "b"), "ab");
  WordPieceConfig raw;
  raw.clean_text = false;
  EXPECT_EQ(tiny(raw).encode_words("x \xff x"), (std::vector<int32_t>{14, 1, 14}));  // U+FFFD is unknown

  // Random bytes, random fragments of multi-byte sequences, and cuts at every byte.
  std::mt19937 rng(42);
  const std::string pieces[] = {"\xe4\xb8\xad", "\xc3\xa9", "\xf0\x9f\x98\x80", "x", " ", "[MASK]", "[MA", ",",
                                "\x80", "\xbf", "\xf8", "\xc0", "\xe0\x80", "e\xcc\x81", "\x00"};
  for (int round = 0; round < 2000; ++round) {
    std::string s;
    const int n = static_cast<int>(rng() % 40);
    for (int i = 0; i < n; ++i) {
      if (rng() % 3 == 0) {
        s += static_cast<char>(rng() % 256);
      } else {
        s += pieces[rng() % std::size(pieces)];
      }
    }
    for (size_t cut = 0; cut <= s.size(); cut += 1 + s.size() / 8) {
      const auto ids = tok.encode(std::string_view(s).substr(0, cut), 16);
      ASSERT_GE(ids.size(), 2u);
      ASSERT_LE(ids.size(), 16u);
      for (int32_t id : ids) ASSERT_TRUE(id >= 0 && static_cast<size_t>(id) < tok.vocab_size());
      (void)tok.normalize(std::string_view(s).substr(0, cut));
    }
  }
}

TEST(WordPieceTest, EmptyTokenizerIsHarmless) {
  const WordPieceTokenizer tok;
  EXPECT_TRUE(tok.encode("hello", 8).empty());
  EXPECT_TRUE(tok.encode_words("hello").empty());
  EXPECT_EQ(tok.vocab_size(), 0u);
  EXPECT_EQ(tok.cls_id(), -1);
  EXPECT_FALSE(tok.token_to_id("x").has_value());
}

TEST(WordPieceTest, TokenLookups) {
  const auto tok = tiny();
  EXPECT_EQ(tok.token_to_id("##able"), 7);
  EXPECT_EQ(tok.id_to_token(7), "##able");
  EXPECT_EQ(tok.id_to_token(999), "");
  EXPECT_EQ(tok.vocab_size(), 18u);
  EXPECT_EQ(tok.pad_id(), 0);
  EXPECT_EQ(tok.unk_id(), 1);
  EXPECT_EQ(tok.cls_id(), 2);
  EXPECT_EQ(tok.sep_id(), 3);
}

// ---- Bad files -------------------------------------------------------------------------------

TEST(WordPieceLoadTest, MissingFilesAreNotFound) {
  TempDir dir;
  auto tok = WordPieceTokenizer::load(dir.path());
  ASSERT_FALSE(tok);
  EXPECT_EQ(tok.status().code(), ErrorCode::kNotFound);
  EXPECT_NE(tok.status().message().find("tokenizer.json"), std::string::npos) << tok.status().message();
  EXPECT_FALSE(WordPieceTokenizer::load(dir.path() / "nope"));
}

TEST(WordPieceLoadTest, MalformedTokenizerJsonNamesTheFile) {
  TempDir dir;
  const fs::path file = dir.path() / "tokenizer.json";
  const std::pair<std::string, ErrorCode> cases[] = {
      {"{not json", ErrorCode::kInvalidArgument},
      {"[]", ErrorCode::kInvalidArgument},
      {R"({"model": {"type": "WordPiece"}})", ErrorCode::kInvalidArgument},
      {R"({"model": {"type": "WordPiece", "vocab": {"a": "zero"}}})", ErrorCode::kInvalidArgument},
      {R"({"model": {"type": "BPE", "vocab": {}, "merges": []}})", ErrorCode::kUnsupported},
      {R"({"model": {"type": "WordPiece", "vocab": {"[UNK]": 0}}, "normalizer": {"type": "NFKC"},
          "pre_tokenizer": {"type": "BertPreTokenizer"}})", ErrorCode::kUnsupported},
      {R"({"model": {"type": "WordPiece", "vocab": {"[UNK]": 0}}, "normalizer": null,
          "pre_tokenizer": {"type": "Whitespace"}})", ErrorCode::kUnsupported},
      // No [CLS] in the vocabulary.
      {R"({"model": {"type": "WordPiece", "vocab": {"[UNK]": 0, "[SEP]": 1, "[PAD]": 2}}, "normalizer": null,
          "pre_tokenizer": {"type": "BertPreTokenizer"},
          "post_processor": {"type": "BertProcessing", "sep": ["[SEP]", 1], "cls": ["[CLS]", 5]}})",
       ErrorCode::kInvalidArgument},
  };
  for (const auto& [text, code] : cases) {
    write_text(file, text);
    auto tok = WordPieceTokenizer::load(dir.path());
    ASSERT_FALSE(tok) << text;
    EXPECT_EQ(tok.status().code(), code) << text << " -> " << tok.status().to_string();
    EXPECT_NE(tok.status().message().find(file.string()), std::string::npos) << tok.status().message();
  }
}

TEST(WordPieceLoadTest, MinimalTokenizerJson) {
  TempDir dir;
  write_text(dir.path() / "tokenizer.json", R"({
    "added_tokens": [{"id": 1, "content": "[UNK]", "special": true, "normalized": false}],
    "normalizer": {"type": "BertNormalizer", "lowercase": false, "strip_accents": null},
    "pre_tokenizer": {"type": "BertPreTokenizer"},
    "post_processor": {"type": "BertProcessing", "sep": ["[SEP]", 3], "cls": ["[CLS]", 2]},
    "model": {"type": "WordPiece", "unk_token": "[UNK]", "continuing_subword_prefix": "##",
              "vocab": {"[PAD]": 0, "[UNK]": 1, "[CLS]": 2, "[SEP]": 3, "Ab": 4, "##c": 5}}})");
  auto tok = WordPieceTokenizer::load(dir.path());
  ASSERT_TRUE(tok) << tok.status().to_string();
  EXPECT_EQ(tok->encode("Abc ab", 0), (std::vector<int32_t>{2, 4, 5, 1, 3}));
  // [UNK] is an added token, [CLS] is not: '[' 'CLS' ']' are unknown words.
  EXPECT_EQ(tok->encode("[UNK][CLS]", 0), (std::vector<int32_t>{2, 1, 1, 1, 1, 3}));
}

TEST(WordPieceLoadTest, VocabTxtErrors) {
  TempDir dir;
  write_text(dir.path() / "vocab.txt", "[PAD]\n[UNK]\n[CLS]\nhello\n");  // no [SEP]
  auto tok = WordPieceTokenizer::load(dir.path());
  ASSERT_FALSE(tok);
  EXPECT_EQ(tok.status().code(), ErrorCode::kInvalidArgument);
  EXPECT_NE(tok.status().message().find("[SEP]"), std::string::npos) << tok.status().message();

  write_text(dir.path() / "vocab.txt", "[PAD]\r\n[UNK]\r\n[CLS]\r\n[SEP]\r\nhello\r\n");
  write_text(dir.path() / "tokenizer_config.json", "{\"do_lower_case\": ");
  tok = WordPieceTokenizer::load(dir.path());
  ASSERT_FALSE(tok);
  EXPECT_EQ(tok.status().code(), ErrorCode::kInvalidArgument);
  EXPECT_NE(tok.status().message().find("tokenizer_config.json"), std::string::npos) << tok.status().message();

  write_text(dir.path() / "tokenizer_config.json", R"({"do_lower_case": "yes"})");
  tok = WordPieceTokenizer::load(dir.path());
  ASSERT_FALSE(tok);
  EXPECT_NE(tok.status().message().find("tokenizer_config.json"), std::string::npos) << tok.status().message();

  write_text(dir.path() / "tokenizer_config.json", R"({"do_lower_case": false, "unk_token": {"content": "[UNK]"}})");
  tok = WordPieceTokenizer::load(dir.path());
  ASSERT_TRUE(tok) << tok.status().to_string();
  EXPECT_EQ(tok->encode("hello Hello", 0), (std::vector<int32_t>{2, 4, 1, 3}));

  write_text(dir.path() / "vocab.txt", "");
  tok = WordPieceTokenizer::load(dir.path());
  ASSERT_FALSE(tok);
  EXPECT_NE(tok.status().message().find("vocab.txt"), std::string::npos) << tok.status().message();
}

TEST(WordPieceLoadTest, FromVocabNeedsTheSpecialTokens) {
  auto tok = WordPieceTokenizer::from_vocab({"[PAD]", "[UNK]", "[SEP]"}, {});
  ASSERT_FALSE(tok);
  EXPECT_EQ(tok.status().code(), ErrorCode::kInvalidArgument);
  EXPECT_NE(tok.status().message().find("[CLS]"), std::string::npos);
  WordPieceConfig config;
  config.max_input_chars_per_word = -1;
  EXPECT_FALSE(WordPieceTokenizer::from_vocab({"[PAD]", "[UNK]", "[CLS]", "[SEP]"}, config));
}

}  // namespace
}  // namespace kr::embed
