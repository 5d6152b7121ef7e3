// Collection internals: indexed_text, make_snippet, and a Collection used directly.
#include "service/collection.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include "core/text.h"
#include "index/tokenizer.h"

namespace kr::service {
namespace {

namespace fs = std::filesystem;

constexpr const char* kEllipsis = "\xE2\x80\xA6";  // …

bool starts_with(const std::string& s, const std::string& prefix) { return s.rfind(prefix, 0) == 0; }
bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

TEST(IndexedText, PrependsTheHeadingPath) {
  EXPECT_EQ(indexed_text({}, "body"), "body");
  EXPECT_EQ(indexed_text({"Guide", "Install"}, "Run make."), "Guide\nInstall\nRun make.");
}

TEST(MakeSnippet, ShortTextIsReturnedUnchanged) {
  EXPECT_EQ(make_snippet("short text", {"text"}), "short text");
  const std::string exactly(240, 'a');
  EXPECT_EQ(make_snippet(exactly, {"zzz"}), exactly);
}

std::string long_text_with(const std::string& word, size_t filler_words_before, size_t filler_words_after) {
  std::string text;
  for (size_t i = 0; i < filler_words_before; ++i) text += "lorem" + std::to_string(i % 10) + " ";
  text += word;
  for (size_t i = 0; i < filler_words_after; ++i) text += " ipsum" + std::to_string(i % 10);
  return text;
}

TEST(MakeSnippet, WindowAroundTheQueryWordWithEllipses) {
  const std::string text = long_text_with("Zeppelin", 100, 100);
  const std::string snippet = make_snippet(text, {"zeppelin"}, 120);
  EXPECT_NE(snippet.find("Zeppelin"), std::string::npos) << snippet;
  EXPECT_TRUE(starts_with(snippet, kEllipsis)) << snippet;
  EXPECT_TRUE(ends_with(snippet, kEllipsis)) << snippet;
  EXPECT_LE(snippet.size(), 120u + 2 * std::string(kEllipsis).size());
  EXPECT_TRUE(is_valid_utf8(snippet));
  // Starts at a word boundary: the first word after the ellipsis is a whole filler word.
  const std::string body = snippet.substr(std::string(kEllipsis).size());
  EXPECT_TRUE(starts_with(body, "lorem")) << snippet;
  // The snippet body is a contiguous piece of the text.
  const std::string inner = body.substr(0, body.size() - std::string(kEllipsis).size());
  EXPECT_NE(text.find(inner), std::string::npos);
}

TEST(MakeSnippet, WordNearTheStartHasNoLeadingEllipsis) {
  const std::string text = long_text_with("Zeppelin", 2, 200);
  const std::string snippet = make_snippet(text, {"zeppelin"}, 100);
  EXPECT_FALSE(starts_with(snippet, kEllipsis)) << snippet;
  EXPECT_TRUE(starts_with(snippet, "lorem0"));
  EXPECT_TRUE(ends_with(snippet, kEllipsis));
  EXPECT_NE(snippet.find("Zeppelin"), std::string::npos);
}

TEST(MakeSnippet, WordAtTheEndHasNoTrailingEllipsis) {
  const std::string text = long_text_with("Zeppelin", 200, 0);
  const std::string snippet = make_snippet(text, {"zeppelin"}, 100);
  EXPECT_TRUE(starts_with(snippet, kEllipsis)) << snippet;
  EXPECT_FALSE(ends_with(snippet, kEllipsis)) << snippet;
  EXPECT_TRUE(ends_with(snippet, "Zeppelin")) << snippet;
}

TEST(MakeSnippet, NoMatchGivesTheBeginning) {
  const std::string text = long_text_with("middle", 100, 100);
  const std::string snippet = make_snippet(text, {"absent"}, 80);
  EXPECT_TRUE(starts_with(snippet, "lorem0 lorem1")) << snippet;
  EXPECT_TRUE(ends_with(snippet, kEllipsis));
  const std::string no_words = make_snippet(text, {}, 80);
  EXPECT_EQ(no_words, snippet);
}

TEST(MakeSnippet, EarliestOfSeveralQueryWords) {
  const std::string text = long_text_with("alpha", 150, 20) + long_text_with(" beta", 0, 150);
  const std::string snippet = make_snippet(text, {"beta", "alpha"}, 100);
  EXPECT_NE(snippet.find("alpha"), std::string::npos) << snippet;
}

TEST(MakeSnippet, Utf8SafeForEveryWindow) {
  // Multi-byte text around the word: no window may split a code point.
  std::string text;
  for (int i = 0; i < 60; ++i) text += "caf\xC3\xA9 \xE6\x97\xA5\xE6\x9C\xAC \xF0\x9F\x98\x80 ";
  text += "zeppelin ";
  for (int i = 0; i < 60; ++i) text += "\xC3\xBC\xC3\xB6 \xE2\x82\xAC\xE2\x82\xAC ";
  ASSERT_TRUE(is_valid_utf8(text));
  for (size_t max = 20; max <= 300; max += 7) {
    const std::string snippet = make_snippet(text, {"zeppelin"}, max);
    ASSERT_TRUE(is_valid_utf8(snippet)) << "max=" << max;
    EXPECT_NE(snippet.find("zeppelin"), std::string::npos) << "max=" << max << ": " << snippet;
  }
  // Multi-byte characters without spaces near the cut.
  std::string dense;
  for (int i = 0; i < 200; ++i) dense += "\xE6\x97\xA5";
  dense += "target";
  for (int i = 0; i < 200; ++i) dense += "\xE6\x9C\xAC";
  for (size_t max = 1; max <= 200; max += 1) {
    const std::string snippet = make_snippet(dense, {"target"}, max);
    ASSERT_TRUE(is_valid_utf8(snippet)) << "max=" << max;
    if (max >= 60) {
      EXPECT_NE(snippet.find("target"), std::string::npos) << "max=" << max;
    }
  }
}

TEST(MakeSnippet, SmallWindowWithoutSpacesStillContainsTheWord) {
  // No space within 20 bytes before the match: there is no word start to move to,
  // so the window should stay where the match puts it.
  std::string dense;
  for (int i = 0; i < 200; ++i) dense += "\xE6\x97\xA5";
  dense += "target";
  for (int i = 0; i < 200; ++i) dense += "\xE6\x9C\xAC";
  const std::string snippet = make_snippet(dense, {"target"}, 36);
  ASSERT_TRUE(is_valid_utf8(snippet));
  EXPECT_NE(snippet.find("target"), std::string::npos);
}

TEST(MakeSnippet, CaseInsensitiveMatch) {
  const std::string text = long_text_with("KUBERNETES", 120, 120);
  EXPECT_NE(make_snippet(text, {"kubernetes"}, 100).find("KUBERNETES"), std::string::npos);
}

// --- Collection used directly -------------------------------------------------------

class CollectionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    static std::atomic<int> counter{0};
    dir_ = (fs::path(::testing::TempDir()) /
            ("kr_collection_" + std::to_string(::getpid()) + "_" + std::to_string(counter++)))
               .string();
    fs::create_directories(dir_);
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
  std::string dir_;
};

chunk::Chunk make_chunk(int ordinal, std::string text, std::vector<std::string> headings) {
  chunk::Chunk c;
  c.ordinal = ordinal;
  c.text = std::move(text);
  c.heading_path = std::move(headings);
  c.char_begin = 0;
  c.char_end = c.text.size();
  c.token_estimate = estimate_tokens(c.text);
  return c;
}

TEST_F(CollectionTest, CreateStoresSettingsAndOpenReadsThem) {
  CollectionSettings settings;
  settings.language = "english";
  settings.bm25_k1 = 1.7;
  settings.bm25_b = 0.3;
  settings.chunk_max_tokens = 123;
  settings.chunk_overlap_tokens = 12;
  settings.description = "Descr \xE2\x80\x94 with unicode";
  int64_t created_at = 0;
  {
    auto created = Collection::create("c1", dir_, settings);
    ASSERT_TRUE(created.is_ok()) << created.status().to_string();
    EXPECT_EQ((*created)->name(), "c1");
    EXPECT_EQ((*created)->directory(), dir_);
    created_at = (*created)->created_at();
    EXPECT_GT(created_at, 0);
  }
  auto opened = Collection::open("c1", dir_);
  ASSERT_TRUE(opened.is_ok()) << opened.status().to_string();
  const CollectionSettings& s = (*opened)->settings();
  EXPECT_EQ(s.language, "english");
  EXPECT_NEAR(s.bm25_k1, 1.7, 1e-9);
  EXPECT_NEAR(s.bm25_b, 0.3, 1e-9);
  EXPECT_EQ(s.chunk_max_tokens, 123);
  EXPECT_EQ(s.chunk_overlap_tokens, 12);
  EXPECT_EQ(s.description, "Descr \xE2\x80\x94 with unicode");
  EXPECT_EQ((*opened)->created_at(), created_at);
}

TEST_F(CollectionTest, OpenWithoutStoreIsNotFound) {
  auto opened = Collection::open("c1", dir_ + "/missing");
  ASSERT_FALSE(opened.is_ok());
  EXPECT_EQ(opened.status().code(), ErrorCode::kNotFound);
}

TEST_F(CollectionTest, UnreadableSettingIsDataCorruption) {
  {
    auto created = Collection::create("c1", dir_, CollectionSettings{});
    ASSERT_TRUE(created.is_ok());
    ASSERT_TRUE((*created)->store().set_setting("bm25_k1", "not-a-number").is_ok());
  }
  auto opened = Collection::open("c1", dir_);
  ASSERT_FALSE(opened.is_ok());
  EXPECT_EQ(opened.status().code(), ErrorCode::kDataCorruption);
  EXPECT_NE(opened.status().message().find("bm25_k1"), std::string::npos);
}

TEST_F(CollectionTest, StoreChunksIndexTheHeadingPath) {
  auto created = Collection::create("c1", dir_, CollectionSettings{});
  ASSERT_TRUE(created.is_ok());
  Collection& c = **created;
  const auto records = c.to_store_chunks({make_chunk(0, "Spaces are assigned.", {"Parking garage"})});
  ASSERT_EQ(records.size(), 1u);
  EXPECT_EQ(records[0].text, "Spaces are assigned.");
  EXPECT_EQ(records[0].heading_path, (std::vector<std::string>{"Parking garage"}));
  const auto expected_terms = c.analyzer().analyze(indexed_text({"Parking garage"}, "Spaces are assigned."));
  EXPECT_EQ(records[0].term_count, expected_terms.size());
  EXPECT_GT(records[0].term_count, c.analyzer().analyze("Spaces are assigned.").size());

  store::DocumentRecord doc;
  doc.doc_id = "d1";
  doc.name = "d1.md";
  doc.source = "d1.md";
  doc.content_hash = "h";
  doc.format = "markdown";
  auto put = c.put(doc, records);
  ASSERT_TRUE(put.is_ok()) << put.status().to_string();
  auto found = c.search(SearchRequest{"garage", 5, {}});
  ASSERT_TRUE(found.is_ok());
  ASSERT_EQ(found->hits.size(), 1u);
  EXPECT_EQ(found->hits[0].chunk_id, "d1:0");
  EXPECT_EQ(found->hits[0].document_name, "d1.md");

  ASSERT_TRUE(c.remove("d1").is_ok());
  found = c.search(SearchRequest{"garage", 5, {}});
  ASSERT_TRUE(found.is_ok());
  EXPECT_TRUE(found->hits.empty());
  EXPECT_EQ(c.remove("d1").code(), ErrorCode::kNotFound);
  auto info = c.info();
  ASSERT_TRUE(info.is_ok());
  EXPECT_EQ(info->documents, 0);
  EXPECT_EQ(info->index_postings, 0u);
}

TEST_F(CollectionTest, SearchSkipsChunksWhoseStoreRowsAreGone) {
  // A hit whose chunk disappeared between the index lookup and the read is skipped, not an error.
  auto created = Collection::create("c1", dir_, CollectionSettings{});
  ASSERT_TRUE(created.is_ok());
  Collection& c = **created;
  store::DocumentRecord doc;
  doc.doc_id = "d1";
  doc.name = doc.source = doc.content_hash = doc.format = "x";
  ASSERT_TRUE(c.put(doc, c.to_store_chunks({make_chunk(0, "walrus one", {}), make_chunk(1, "walrus two", {})})).is_ok());
  // Remove directly from the store so that the in-memory index still has the chunks.
  ASSERT_TRUE(c.store().delete_document("d1").is_ok());
  auto found = c.search(SearchRequest{"walrus", 5, {}});
  ASSERT_TRUE(found.is_ok()) << found.status().to_string();
  EXPECT_TRUE(found->hits.empty());
}


TEST_F(CollectionTest, HybridOnTheSearchPoolEqualsHybridOnOneThread) {
  // The dense side runs on a helper thread: the fused ranking, scores and hits must be exactly
  // those of the sequential search, with and without a metadata filter.
  auto created = Collection::create("c1", dir_, CollectionSettings{});
  ASSERT_TRUE(created.is_ok());
  Collection& c = **created;
  ASSERT_TRUE(c.adopt_embedding_space({"test-model", 8}).is_ok());
  std::mt19937 random(3);
  std::normal_distribution<float> normal;
  const auto unit_vector = [&] {
    std::vector<float> v(8);
    for (float& x : v) x = normal(random);
    index::l2_normalize(v);
    return v;
  };
  const char* words[] = {"walrus", "tusk", "arctic", "ice", "seal", "krill", "whale", "floe"};
  for (int d = 0; d < 60; ++d) {
    store::DocumentRecord doc;
    doc.doc_id = "d" + std::to_string(d);
    doc.name = doc.source = doc.doc_id + ".txt";
    doc.content_hash = doc.doc_id;
    doc.format = "text";
    doc.metadata = {{"half", d % 2 == 0 ? "\"even\"" : "\"odd\""}};
    std::vector<chunk::Chunk> chunks;
    for (int k = 0; k < 3; ++k) {
      std::string text;
      for (int w = 0; w < 12; ++w) text += std::string(words[random() % 8]) + " ";
      chunks.push_back(make_chunk(k, text, {}));
    }
    auto records = c.to_store_chunks(chunks);
    for (auto& record : records) record.vector = unit_vector();
    ASSERT_TRUE(c.put(doc, std::move(records)).is_ok());
  }
  retrieve::SearchPool pool({.threads = 1, .queue_max = 4, .nice = 0});
  MetadataFilter even;
  even.any_of["half"] = {"\"even\""};
  int searches = 0;
  for (const auto& filter : {MetadataFilter{}, even}) {
    for (const char* query : {"walrus tusk", "krill whale floe", "seal"}) {
      SearchPlan plan;
      plan.mode = retrieve::SearchMode::kHybrid;
      plan.candidates = 20;
      plan.query_vector = unit_vector();
      auto sequential = c.search(SearchRequest{query, 10, filter}, plan);
      plan.pool = &pool;
      auto parallel = c.search(SearchRequest{query, 10, filter}, plan);
      ++searches;
      ASSERT_TRUE(sequential.is_ok() && parallel.is_ok());
      ASSERT_EQ(sequential->hits.size(), 10u);
      ASSERT_EQ(parallel->hits.size(), sequential->hits.size());
      for (size_t i = 0; i < sequential->hits.size(); ++i) {
        EXPECT_EQ(parallel->hits[i].chunk_id, sequential->hits[i].chunk_id) << query << " #" << i;
        EXPECT_EQ(parallel->hits[i].score, sequential->hits[i].score);
        EXPECT_EQ(parallel->hits[i].bm25_score, sequential->hits[i].bm25_score);
        EXPECT_EQ(parallel->hits[i].dense_score, sequential->hits[i].dense_score);
        if (!filter.empty()) {
          EXPECT_EQ(parallel->hits[i].metadata.at("half"), "\"even\"");
        }
      }
    }
  }
  EXPECT_EQ(pool.run_by_helpers() + pool.run_by_callers(), static_cast<uint64_t>(searches));
}

}  // namespace
}  // namespace kr::service
