#include "chunk/chunker.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "chunk/text_split.h"
#include "core/text.h"

namespace kr::chunk {
namespace {

using parse::Block;
using parse::BlockKind;
using parse::ParsedDocument;
using Path = std::vector<std::string>;

Block make_block(std::string text, BlockKind kind = BlockKind::kParagraph, Path path = {}, int page = 0) {
  Block block;
  block.text = std::move(text);
  block.kind = kind;
  block.heading_path = std::move(path);
  block.page = page;
  return block;
}

ParsedDocument make_doc(std::vector<Block> blocks) {
  ParsedDocument doc;
  doc.format = parse::Format::kText;
  doc.blocks = std::move(blocks);
  parse::finalize_offsets(doc);
  return doc;
}

// "Sentence 7 of the robot manual is here." and so on: ~10 estimated tokens each.
std::string sentences(int first, int count) {
  std::string out;
  for (int i = first; i < first + count; ++i) {
    if (!out.empty()) out += ' ';
    out += "Sentence " + std::to_string(i) + " of the robot manual is here.";
  }
  return out;
}

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; }

// Blocks of `doc` whose non-empty text intersects [begin, end).
std::vector<size_t> touched_blocks(const ParsedDocument& doc, size_t begin, size_t end) {
  std::vector<size_t> out;
  for (size_t i = 0; i < doc.blocks.size(); ++i) {
    const Block& block = doc.blocks[i];
    if (block.char_begin < block.char_end && block.char_begin < end && block.char_end > begin) out.push_back(i);
  }
  return out;
}

// Offsets in the full text where a sentence of some block starts.
std::set<size_t> sentence_starts(const ParsedDocument& doc) {
  std::set<size_t> out;
  for (const Block& block : doc.blocks) {
    for (const Span& span : split_sentences(block.text)) out.insert(block.char_begin + span.begin);
  }
  return out;
}

// Every property chunk_document() promises, checked on one result.
void check_invariants(const ParsedDocument& doc, const Options& requested, const std::vector<Chunk>& chunks) {
  const Options options = clamp_options(requested);
  const std::string full = parse::full_text(doc);
  const std::string_view view(full);
  const std::set<size_t> starts = sentence_starts(doc);

  const bool has_content = std::any_of(full.begin(), full.end(), [](char c) { return !is_space(c); });
  ASSERT_EQ(chunks.empty(), !has_content);

  for (size_t i = 0; i < chunks.size(); ++i) {
    SCOPED_TRACE("chunk " + std::to_string(i));
    const Chunk& chunk = chunks[i];
    EXPECT_EQ(chunk.ordinal, static_cast<int>(i));
    ASSERT_LT(chunk.char_begin, chunk.char_end);
    ASSERT_LE(chunk.char_end, full.size());
    // The citation invariant: the chunk is an exact slice of the document.
    ASSERT_EQ(chunk.text, view.substr(chunk.char_begin, chunk.char_end - chunk.char_begin));
    EXPECT_FALSE(is_space(chunk.text.front()));
    EXPECT_FALSE(is_space(chunk.text.back()));
    EXPECT_TRUE(is_valid_utf8(chunk.text));
    EXPECT_EQ(chunk.token_estimate, estimate_tokens(chunk.text));
    EXPECT_LE(chunk.token_estimate, max_chunk_tokens(options));

    // One section per chunk: headings only at the top, one heading_path for the body.
    bool seen_body = false;
    int page_start = 0, page_end = 0;
    for (size_t b : touched_blocks(doc, chunk.char_begin, chunk.char_end)) {
      const Block& block = doc.blocks[b];
      if (block.kind == BlockKind::kHeading) {
        EXPECT_FALSE(seen_body) << "heading inside a chunk after body text";
      } else {
        seen_body = true;
        EXPECT_EQ(block.heading_path, chunk.heading_path);
      }
      if (block.page > 0) {
        page_start = page_start == 0 ? block.page : std::min(page_start, block.page);
        page_end = std::max(page_end, block.page);
      }
    }
    EXPECT_EQ(chunk.page_start, page_start);
    EXPECT_EQ(chunk.page_end, page_end);

    if (i == 0) {
      EXPECT_TRUE(std::all_of(full.begin(), full.begin() + static_cast<long>(chunk.char_begin), is_space));
      continue;
    }
    const Chunk& previous = chunks[i - 1];
    EXPECT_GT(chunk.char_begin, previous.char_begin);
    EXPECT_GT(chunk.char_end, previous.char_end);
    if (chunk.char_begin < previous.char_end) {
      // Overlap: same section, starts at a sentence start, within budget.
      EXPECT_EQ(chunk.heading_path, previous.heading_path);
      EXPECT_TRUE(starts.contains(chunk.char_begin));
      EXPECT_LE(estimate_tokens(view.substr(chunk.char_begin, previous.char_end - chunk.char_begin)),
                options.overlap_tokens);
    } else {
      // No overlap: nothing but whitespace was left out between the chunks.
      const std::string_view gap = view.substr(previous.char_end, chunk.char_begin - previous.char_end);
      EXPECT_TRUE(std::all_of(gap.begin(), gap.end(), is_space)) << gap;
    }
  }
  if (!chunks.empty()) {
    EXPECT_TRUE(std::all_of(full.begin() + static_cast<long>(chunks.back().char_end), full.end(), is_space));
  }
}

std::vector<Chunk> chunk_and_check(const ParsedDocument& doc, const Options& options = {}) {
  std::vector<Chunk> chunks = chunk_document(doc, options);
  check_invariants(doc, options, chunks);
  return chunks;
}

TEST(ChunkOptions, AreClampedToDocumentedRanges) {
  const Options tiny = clamp_options({.max_tokens = 1, .overlap_tokens = 100, .min_tokens = 50});
  EXPECT_EQ(tiny.max_tokens, kMinMaxTokens);
  EXPECT_EQ(tiny.overlap_tokens, 7);  // below half of 16
  EXPECT_EQ(tiny.min_tokens, 8);
  const Options negative = clamp_options({.max_tokens = 100, .overlap_tokens = -3, .min_tokens = -1});
  EXPECT_EQ(negative.overlap_tokens, 0);
  EXPECT_EQ(negative.min_tokens, 0);
  const Options defaults = clamp_options({});
  EXPECT_EQ(defaults.max_tokens, 300);
  EXPECT_EQ(defaults.overlap_tokens, 40);
  EXPECT_EQ(defaults.min_tokens, 20);
  EXPECT_EQ(clamp_options({.max_tokens = 1 << 30}).max_tokens, kMaxMaxTokens);
  EXPECT_EQ(max_chunk_tokens({.max_tokens = 300}), 330);
  EXPECT_EQ(max_chunk_tokens({.max_tokens = 1}), 17);
}

TEST(ChunkDocument, EmptyDocumentHasNoChunks) {
  EXPECT_TRUE(chunk_document(make_doc({})).empty());
  EXPECT_TRUE(chunk_and_check(make_doc({make_block(""), make_block(""), make_block("", BlockKind::kHeading)})).empty());
}

TEST(ChunkDocument, SmallSectionIsOneChunkOfJoinedBlocks) {
  const ParsedDocument doc = make_doc({make_block("Alpha one.", BlockKind::kParagraph, {"Intro"}),
                                       make_block("Beta two.", BlockKind::kListItem, {"Intro"}),
                                       make_block("Gamma three.", BlockKind::kParagraph, {"Intro"})});
  const std::vector<Chunk> chunks = chunk_and_check(doc);
  ASSERT_EQ(chunks.size(), 1u);
  EXPECT_EQ(chunks[0].text, "Alpha one.\n\nBeta two.\n\nGamma three.");
  EXPECT_EQ(chunks[0].heading_path, (Path{"Intro"}));
  EXPECT_EQ(chunks[0].char_begin, 0u);
  EXPECT_EQ(chunks[0].char_end, parse::full_text(doc).size());
  EXPECT_EQ(chunks[0].page_start, 0);
  EXPECT_EQ(chunks[0].page_end, 0);
}

TEST(ChunkDocument, HeadingOpensSectionAndLeadsItsFirstChunk) {
  const ParsedDocument doc = make_doc({
      make_block("Vacation", BlockKind::kHeading, {"Handbook"}),
      make_block("New employees receive 25 days.", BlockKind::kParagraph, {"Handbook", "Vacation"}),
      make_block("Expenses", BlockKind::kHeading, {"Handbook"}),
      make_block("Keep receipts.", BlockKind::kParagraph, {"Handbook", "Expenses"}),
  });
  const std::vector<Chunk> chunks = chunk_and_check(doc);
  ASSERT_EQ(chunks.size(), 2u);
  EXPECT_EQ(chunks[0].text, "Vacation\n\nNew employees receive 25 days.");
  EXPECT_EQ(chunks[0].heading_path, (Path{"Handbook", "Vacation"}));
  EXPECT_EQ(chunks[1].text, "Expenses\n\nKeep receipts.");
  EXPECT_EQ(chunks[1].heading_path, (Path{"Handbook", "Expenses"}));
}

TEST(ChunkDocument, RunOfHeadingsStaysWithTheBodyBelow) {
  const ParsedDocument doc = make_doc({
      make_block("Handbook", BlockKind::kHeading, {}),
      make_block("Mission", BlockKind::kHeading, {"Handbook"}),
      make_block("We build robots.", BlockKind::kParagraph, {"Handbook", "Mission"}),
  });
  const std::vector<Chunk> chunks = chunk_and_check(doc);
  ASSERT_EQ(chunks.size(), 1u);
  EXPECT_EQ(chunks[0].text, "Handbook\n\nMission\n\nWe build robots.");
  EXPECT_EQ(chunks[0].heading_path, (Path{"Handbook", "Mission"}));
}

TEST(ChunkDocument, TrailingHeadingWithoutBodyGetsItsOwnPath) {
  const ParsedDocument doc = make_doc({
      make_block("Body.", BlockKind::kParagraph, {"A"}),
      make_block("Appendix", BlockKind::kHeading, {"A"}),
  });
  const std::vector<Chunk> chunks = chunk_and_check(doc);
  ASSERT_EQ(chunks.size(), 2u);
  EXPECT_EQ(chunks[1].text, "Appendix");
  EXPECT_EQ(chunks[1].heading_path, (Path{"A", "Appendix"}));
}

TEST(ChunkDocument, PathChangeWithoutHeadingOpensSection) {
  // xlsx: the sheet name is the path and there are no heading blocks.
  const ParsedDocument doc = make_doc({
      make_block("a | b", BlockKind::kTableRow, {"Sheet1"}, 1),
      make_block("c | d", BlockKind::kTableRow, {"Sheet2"}, 2),
  });
  const std::vector<Chunk> chunks = chunk_and_check(doc);
  ASSERT_EQ(chunks.size(), 2u);
  EXPECT_EQ(chunks[0].text, "a | b");
  EXPECT_EQ(chunks[1].text, "c | d");
  EXPECT_EQ(chunks[1].page_start, 2);
}

TEST(ChunkDocument, PageChangesDoNotBreakButAreRecorded) {
  const ParsedDocument doc = make_doc({
      make_block("Page one text.", BlockKind::kParagraph, {}, 1),
      make_block("Page two text.", BlockKind::kParagraph, {}, 2),
      make_block("More page two.", BlockKind::kParagraph, {}, 2),
      make_block("Page three text.", BlockKind::kParagraph, {}, 3),
  });
  const std::vector<Chunk> chunks = chunk_and_check(doc);
  ASSERT_EQ(chunks.size(), 1u);
  EXPECT_EQ(chunks[0].page_start, 1);
  EXPECT_EQ(chunks[0].page_end, 3);

  std::vector<Block> blocks;
  for (int page = 1; page <= 6; ++page) blocks.push_back(make_block(sentences(page * 10, 4), BlockKind::kParagraph, {}, page));
  const ParsedDocument paged = make_doc(blocks);
  const std::vector<Chunk> small = chunk_and_check(paged, {.max_tokens = 60, .overlap_tokens = 0, .min_tokens = 0});
  ASSERT_GT(small.size(), 3u);
  for (const Chunk& chunk : small) {
    EXPECT_GE(chunk.page_start, 1);
    EXPECT_LE(chunk.page_start, chunk.page_end);
  }
  EXPECT_EQ(small.front().page_start, 1);
  EXPECT_EQ(small.back().page_end, 6);
}

TEST(ChunkDocument, PacksWholeBlocksUpToTheBudget) {
  std::vector<Block> blocks;
  for (int i = 0; i < 12; ++i) blocks.push_back(make_block(sentences(i * 3, 3)));
  const ParsedDocument doc = make_doc(blocks);
  const std::vector<Chunk> chunks = chunk_and_check(doc, {.max_tokens = 100, .overlap_tokens = 0, .min_tokens = 0});
  ASSERT_GT(chunks.size(), 1u);
  std::set<size_t> begins, ends;
  for (const Block& block : doc.blocks) {
    begins.insert(block.char_begin);
    ends.insert(block.char_end);
  }
  for (size_t i = 0; i < chunks.size(); ++i) {
    EXPECT_TRUE(begins.contains(chunks[i].char_begin));
    EXPECT_TRUE(ends.contains(chunks[i].char_end));
    // Greedy: the next block would not have fit.
    if (i + 1 < chunks.size()) {
      const size_t next_end = doc.blocks[static_cast<size_t>(std::distance(ends.begin(), ends.find(chunks[i].char_end))) + 1].char_end;
      const std::string full = parse::full_text(doc);
      EXPECT_GT(estimate_tokens(std::string_view(full).substr(chunks[i].char_begin, next_end - chunks[i].char_begin)), 100);
    }
  }
}

TEST(ChunkDocument, TableRowsArePackedAndNeverSplit) {
  std::vector<Block> blocks;
  blocks.push_back(make_block("Per diem rates", BlockKind::kHeading, {}));
  for (int i = 0; i < 40; ++i) {
    blocks.push_back(make_block("City " + std::to_string(i) + " | EUR " + std::to_string(40 + i) + " | hotel cap " +
                                    std::to_string(150 + i),
                                BlockKind::kTableRow, {"Per diem rates"}));
  }
  const ParsedDocument doc = make_doc(blocks);
  const std::vector<Chunk> chunks = chunk_and_check(doc, {.max_tokens = 64, .overlap_tokens = 12, .min_tokens = 5});
  ASSERT_GT(chunks.size(), 3u);
  std::set<size_t> begins, ends;
  for (const Block& block : doc.blocks) {
    begins.insert(block.char_begin);
    ends.insert(block.char_end);
  }
  bool overlapped = false;
  for (size_t i = 0; i < chunks.size(); ++i) {
    EXPECT_TRUE(begins.contains(chunks[i].char_begin)) << chunks[i].text;
    EXPECT_TRUE(ends.contains(chunks[i].char_end)) << chunks[i].text;
    if (i > 0 && chunks[i].char_begin < chunks[i - 1].char_end) overlapped = true;
  }
  EXPECT_TRUE(overlapped) << "the last row of a chunk should be repeated in the next";
}

TEST(ChunkDocument, OversizedRowIsSplitAtWords) {
  std::string row = "Huge";
  for (int i = 0; i < 120; ++i) row += " | cell" + std::to_string(i);
  const ParsedDocument doc = make_doc({make_block(row, BlockKind::kTableRow)});
  const std::vector<Chunk> chunks = chunk_and_check(doc, {.max_tokens = 50, .overlap_tokens = 10, .min_tokens = 0});
  ASSERT_GT(chunks.size(), 3u);
  const std::string full = parse::full_text(doc);
  for (const Chunk& chunk : chunks) {
    EXPECT_LE(chunk.token_estimate, 50);
    EXPECT_TRUE(chunk.char_begin == 0 || full[chunk.char_begin - 1] == ' ');
    EXPECT_TRUE(chunk.char_end == full.size() || full[chunk.char_end] == ' ');
  }
}

TEST(ChunkDocument, LongParagraphIsSplitAtSentences) {
  const ParsedDocument doc = make_doc({make_block(sentences(0, 60), BlockKind::kParagraph, {"S"})});
  const std::vector<Chunk> chunks = chunk_and_check(doc, {.max_tokens = 60, .overlap_tokens = 0, .min_tokens = 0});
  ASSERT_GT(chunks.size(), 5u);
  for (const Chunk& chunk : chunks) {
    EXPECT_TRUE(chunk.text.starts_with("Sentence ")) << chunk.text;
    EXPECT_TRUE(chunk.text.ends_with("is here.")) << chunk.text;
    EXPECT_LE(chunk.token_estimate, 60);
  }
}

TEST(ChunkDocument, LongSentenceIsSplitAtWords) {
  std::string sentence = "Start";
  for (int i = 0; i < 400; ++i) sentence += " word" + std::to_string(i % 7);
  const ParsedDocument doc = make_doc({make_block(sentence)});
  const std::vector<Chunk> chunks = chunk_and_check(doc, {.max_tokens = 40, .overlap_tokens = 10, .min_tokens = 0});
  ASSERT_GT(chunks.size(), 10u);
  std::string rebuilt;
  for (const Chunk& chunk : chunks) {
    EXPECT_LE(chunk.token_estimate, 40);
    EXPECT_TRUE(chunk.char_begin == 0 || sentence[chunk.char_begin - 1] == ' ');
    EXPECT_TRUE(chunk.char_end == sentence.size() || sentence[chunk.char_end] == ' ');
    // One sentence: no sentence starts to overlap from, so the chunks partition it.
    rebuilt += (rebuilt.empty() ? "" : " ") + chunk.text;
  }
  EXPECT_EQ(rebuilt, sentence);
}

TEST(ChunkDocument, GiantWordIsSplitAtCodePoints) {
  std::string word;
  for (int i = 0; i < 900; ++i) word += (i % 3 == 0) ? "\u00E9" : (i % 3 == 1 ? "\U0001F916" : "\u65E5");
  const ParsedDocument doc = make_doc({make_block("Intro text. " + word + " tail.")});
  const std::vector<Chunk> chunks = chunk_and_check(doc, {.max_tokens = 32, .overlap_tokens = 8, .min_tokens = 4});
  ASSERT_GT(chunks.size(), 10u);
  for (const Chunk& chunk : chunks) {
    EXPECT_TRUE(is_valid_utf8(chunk.text));
    EXPECT_LE(chunk.token_estimate, max_chunk_tokens({.max_tokens = 32}));
  }
}

TEST(ChunkDocument, OverlapRepeatsTrailingSentencesWithinTheSection) {
  const ParsedDocument doc = make_doc({
      make_block("First", BlockKind::kHeading, {}),
      make_block(sentences(0, 30), BlockKind::kParagraph, {"First"}),
      make_block("Second", BlockKind::kHeading, {}),
      make_block(sentences(100, 30), BlockKind::kParagraph, {"Second"}),
  });
  const Options options{.max_tokens = 80, .overlap_tokens = 25, .min_tokens = 0};
  const std::vector<Chunk> chunks = chunk_and_check(doc, options);
  int overlaps = 0;
  for (size_t i = 1; i < chunks.size(); ++i) {
    const Chunk& previous = chunks[i - 1];
    const Chunk& chunk = chunks[i];
    if (chunk.heading_path != previous.heading_path) {
      EXPECT_GE(chunk.char_begin, previous.char_end) << "overlap across sections";
      EXPECT_TRUE(chunk.text.starts_with("Second"));
      continue;
    }
    ASSERT_LT(chunk.char_begin, previous.char_end) << "no overlap inside a section";
    const std::string carried = previous.text.substr(chunk.char_begin - previous.char_begin);
    EXPECT_TRUE(chunk.text.starts_with(carried));
    EXPECT_TRUE(carried.starts_with("Sentence ")) << carried;  // whole sentences only
    EXPECT_GE(estimate_tokens(carried), 10);                    // at least one sentence fits in 25
    ++overlaps;
  }
  EXPECT_GE(overlaps, 4);
}

TEST(ChunkDocument, ZeroOverlapPartitionsTheText) {
  const ParsedDocument doc = make_doc({make_block(sentences(0, 40)), make_block(sentences(40, 40))});
  const std::vector<Chunk> chunks = chunk_and_check(doc, {.max_tokens = 70, .overlap_tokens = 0, .min_tokens = 0});
  for (size_t i = 1; i < chunks.size(); ++i) EXPECT_GE(chunks[i].char_begin, chunks[i - 1].char_end);
}

TEST(ChunkDocument, TinyTailIsMergedIntoThePreviousChunk) {
  // Two blocks that only fit one per chunk, then a three-token block.
  const std::string a = sentences(0, 5), b = sentences(5, 5);
  const ParsedDocument doc = make_doc({make_block(a), make_block(b), make_block("Done.")});
  const int budget = estimate_tokens(b) + 1;
  const std::vector<Chunk> merged = chunk_and_check(doc, {.max_tokens = budget, .overlap_tokens = 0, .min_tokens = 5});
  ASSERT_EQ(merged.size(), 2u);
  EXPECT_EQ(merged[1].text, b + "\n\nDone.");
  EXPECT_GT(merged[1].token_estimate, budget);
  EXPECT_LE(merged[1].token_estimate, max_chunk_tokens({.max_tokens = budget}));

  const std::vector<Chunk> kept = chunk_and_check(doc, {.max_tokens = budget, .overlap_tokens = 0, .min_tokens = 0});
  ASSERT_EQ(kept.size(), 3u);
  EXPECT_EQ(kept[2].text, "Done.");
}

TEST(ChunkDocument, TinySectionIsNotMergedIntoAnotherSection) {
  const ParsedDocument doc = make_doc({
      make_block(sentences(0, 3), BlockKind::kParagraph, {"A"}),
      make_block("Tiny.", BlockKind::kParagraph, {"B"}),
  });
  const std::vector<Chunk> chunks = chunk_and_check(doc, {.max_tokens = 300, .overlap_tokens = 40, .min_tokens = 20});
  ASSERT_EQ(chunks.size(), 2u);
  EXPECT_EQ(chunks[1].text, "Tiny.");
  EXPECT_EQ(chunks[1].heading_path, (Path{"B"}));
}

TEST(ChunkDocument, HeadingIsKeptWithTheStartOfAnOversizedBody) {
  const ParsedDocument doc = make_doc({
      make_block("Remote work", BlockKind::kHeading, {}),
      make_block(sentences(0, 20), BlockKind::kParagraph, {"Remote work"}),
  });
  const std::vector<Chunk> chunks = chunk_and_check(doc, {.max_tokens = 60, .overlap_tokens = 0, .min_tokens = 0});
  ASSERT_GT(chunks.size(), 2u);
  EXPECT_TRUE(chunks[0].text.starts_with("Remote work\n\nSentence 0 ")) << chunks[0].text;
  for (const Chunk& chunk : chunks) EXPECT_EQ(chunk.heading_path, (Path{"Remote work"}));
}

TEST(ChunkDocument, HeadingIsKeptWithABodyThatOnlyFitsAlone) {
  const std::string body = sentences(0, 5);
  const ParsedDocument doc = make_doc({
      make_block("A heading of several words", BlockKind::kHeading, {}),
      make_block(body, BlockKind::kParagraph, {"A heading of several words"}),
  });
  const std::vector<Chunk> chunks =
      chunk_and_check(doc, {.max_tokens = estimate_tokens(body), .overlap_tokens = 0, .min_tokens = 0});
  ASSERT_EQ(chunks.size(), 2u);
  EXPECT_TRUE(chunks[0].text.starts_with("A heading of several words\n\nSentence 0 "));
}

TEST(ChunkDocument, HandlesUntrimmedAndWhitespaceBlocks) {
  // Parsers promise trimmed text; the chunker still never emits edge whitespace.
  const ParsedDocument doc = make_doc({make_block("  padded  "), make_block(" \n "), make_block("\tnext\n")});
  const std::vector<Chunk> chunks = chunk_and_check(doc);
  ASSERT_EQ(chunks.size(), 1u);
  EXPECT_EQ(chunks[0].text, "padded  \n\n \n \n\n\tnext");
}

// Random documents: blocks of every kind, headings that change the path, pages,
// multi-byte text, line breaks, giant words, empty blocks.
std::string random_text(std::mt19937& rng, bool allow_giant) {
  static const std::vector<std::string> kWords = {
      "the", "robot", "arm", "calibration", "Contoso", "e.g.", "Dr.", "v2.0", "(see", "note)", "\u201Cquoted\u201D",
      "na\u00EFve", "\u00E9t\u00E9", "\u65E5\u672C\u8A9E", "\U0001F916", "\u03A9mega", "\u0661\u0662\u0663",
      "e\u0301", "x", "42", "\u4E2D\u6587\u3002", "end.", "why?", "wow!", "data-set", "\u0416\u0438\u0437\u043D\u044C"};
  std::uniform_int_distribution<int> pick(0, static_cast<int>(kWords.size()) - 1);
  std::uniform_int_distribution<int> percent(0, 99);
  const int sentence_count = std::uniform_int_distribution<int>(1, 12)(rng);
  std::string out;
  for (int s = 0; s < sentence_count; ++s) {
    const int word_count = std::uniform_int_distribution<int>(1, 40)(rng);
    for (int w = 0; w < word_count; ++w) {
      if (!out.empty()) out += percent(rng) < 3 ? "\n" : " ";
      if (allow_giant && percent(rng) < 1) {
        const std::string& unit = kWords[static_cast<size_t>(pick(rng))];
        const int repeat = std::uniform_int_distribution<int>(50, 700)(rng);
        for (int r = 0; r < repeat; ++r) out += unit;
      } else {
        out += kWords[static_cast<size_t>(pick(rng))];
      }
    }
    const int end = percent(rng);
    out += end < 60 ? "." : end < 70 ? "!" : end < 80 ? "?" : end < 85 ? "\u3002" : "";
  }
  return std::string(trim(out));
}

ParsedDocument random_document(std::mt19937& rng) {
  std::uniform_int_distribution<int> percent(0, 99);
  const bool paged = percent(rng) < 50;
  const int block_count = std::uniform_int_distribution<int>(0, 60)(rng);
  std::vector<Block> blocks;
  Path path;
  int page = paged ? 1 : 0;
  for (int i = 0; i < block_count; ++i) {
    if (paged && percent(rng) < 20) ++page;
    const int roll = percent(rng);
    if (roll < 15) {
      const size_t level = static_cast<size_t>(std::uniform_int_distribution<int>(1, 3)(rng));
      if (path.size() >= level) path.resize(level - 1);
      std::string title = "Heading " + std::to_string(i);
      blocks.push_back(make_block(title, BlockKind::kHeading, path, page));
      path.push_back(title);
    } else if (roll < 20) {
      blocks.push_back(make_block(percent(rng) < 50 ? "" : random_text(rng, false), BlockKind::kNote, path, page));
    } else if (roll < 35) {
      blocks.push_back(make_block("cell " + std::to_string(i) + " | " + random_text(rng, false), BlockKind::kTableRow,
                                  path, page));
    } else if (roll < 45) {
      blocks.push_back(make_block(random_text(rng, false), BlockKind::kListItem, path, page));
    } else if (roll < 50) {
      blocks.push_back(make_block("int main() {\n  return 0;\n}", BlockKind::kCode, path, page));
    } else {
      blocks.push_back(make_block(random_text(rng, true), BlockKind::kParagraph, path, page));
    }
  }
  return make_doc(blocks);
}

TEST(ChunkDocumentProperties, InvariantsHoldOnRandomDocuments) {
  std::mt19937 rng(20240611);
  for (int round = 0; round < 150; ++round) {
    SCOPED_TRACE("round " + std::to_string(round));
    const ParsedDocument doc = random_document(rng);
    Options options;
    options.max_tokens = std::uniform_int_distribution<int>(-5, 500)(rng);
    options.overlap_tokens = std::uniform_int_distribution<int>(-5, 300)(rng);
    options.min_tokens = std::uniform_int_distribution<int>(-5, 100)(rng);
    const std::vector<Chunk> chunks = chunk_and_check(doc, options);
    if (::testing::Test::HasFailure()) break;  // one failing document is enough to debug
    EXPECT_EQ(chunks, chunk_document(doc, options)) << "not deterministic";
  }
}

TEST(ChunkDocumentProperties, DefaultOptionsOnRandomDocuments) {
  std::mt19937 rng(7);
  for (int round = 0; round < 60; ++round) {
    const ParsedDocument doc = random_document(rng);
    chunk_and_check(doc);
    if (::testing::Test::HasFailure()) break;
  }
}

TEST(ChunkDocumentProperties, LargeDocumentIsChunkedQuickly) {
  // 1 MB of short words in one block: pieces are packed by galloping search.
  std::string text;
  while (text.size() < (1u << 20)) text += "ab cd ";
  const ParsedDocument doc = make_doc({make_block(std::string(trim(text)))});
  const std::vector<Chunk> chunks = chunk_document(doc, {.max_tokens = 300, .overlap_tokens = 40, .min_tokens = 20});
  ASSERT_FALSE(chunks.empty());
  EXPECT_EQ(chunks.back().char_end, doc.blocks[0].text.size());
  for (const Chunk& chunk : chunks) EXPECT_LE(chunk.token_estimate, 300);
}

}  // namespace
}  // namespace kr::chunk
