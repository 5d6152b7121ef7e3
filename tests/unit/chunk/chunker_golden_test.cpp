// Golden test: the sample handbook, chunked with default and with small budgets.
// Rewrite the expected files with KR_UPDATE_GOLDEN=1 and review the diff.
#include "chunk/chunker.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "core/text.h"

namespace kr::chunk {
namespace {

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

// The real Markdown parser lives in src/parse and is not a dependency of this
// module, so the fixture is turned into blocks here with the same conventions:
// heading text without '#', a heading's path holds its enclosing headings, body
// blocks carry every heading above them, one block per list item and table row.
parse::ParsedDocument blocks_from_markdown(const std::string& markdown) {
  parse::ParsedDocument doc;
  doc.format = parse::Format::kMarkdown;
  std::vector<std::string> path;
  std::string paragraph;
  const auto add = [&](std::string text, parse::BlockKind kind, std::vector<std::string> block_path) {
    parse::Block block;
    block.text = std::move(text);
    block.kind = kind;
    block.heading_path = std::move(block_path);
    doc.blocks.push_back(std::move(block));
  };
  const auto flush = [&] {
    if (!paragraph.empty()) add(paragraph, parse::BlockKind::kParagraph, path);
    paragraph.clear();
  };
  std::istringstream lines(markdown);
  for (std::string line; std::getline(lines, line);) {
    const std::string text(trim(line));
    if (text.empty()) {
      flush();
    } else if (text.starts_with('#')) {
      flush();
      const size_t level = text.find_first_not_of('#');
      const std::string title(trim(std::string_view(text).substr(level)));
      path.resize(std::min(path.size(), level - 1));
      add(title, parse::BlockKind::kHeading, path);
      path.push_back(title);
      if (doc.title.empty()) doc.title = title;
    } else if (text.starts_with("- ") || text.starts_with("* ")) {
      flush();
      add(text.substr(2), parse::BlockKind::kListItem, path);
    } else if (text.starts_with('|')) {
      flush();
      if (text.find_first_not_of("|-: ") != std::string::npos) add(text, parse::BlockKind::kTableRow, path);
    } else {
      paragraph += (paragraph.empty() ? "" : " ") + text;
    }
  }
  flush();
  parse::finalize_offsets(doc);
  return doc;
}

std::string render(const std::vector<Chunk>& chunks, const Options& options) {
  std::ostringstream out;
  out << "# chunker golden: samples/handbook/employee-handbook.md, max_tokens=" << options.max_tokens
      << " overlap_tokens=" << options.overlap_tokens << " min_tokens=" << options.min_tokens << "\n";
  for (const Chunk& chunk : chunks) {
    out << "\n## chunk " << chunk.ordinal << "  bytes [" << chunk.char_begin << ", " << chunk.char_end << ")  tokens "
        << chunk.token_estimate << "  pages " << chunk.page_start << "-" << chunk.page_end << "\n## path:";
    for (size_t i = 0; i < chunk.heading_path.size(); ++i) out << (i == 0 ? " " : " > ") << chunk.heading_path[i];
    out << "\n" << chunk.text << "\n";
  }
  return out.str();
}

void expect_golden(const std::string& name, const std::string& actual) {
  const std::string path = std::string(KR_GOLDEN_DIR) + "/chunk/" + name;
  const char* update = std::getenv("KR_UPDATE_GOLDEN");
  if (update != nullptr && std::string(update) == "1") {
    std::ofstream(path, std::ios::binary) << actual;
    return;
  }
  const std::string expected = read_file(path);
  ASSERT_FALSE(expected.empty()) << path << " is missing; run with KR_UPDATE_GOLDEN=1 to create it";
  EXPECT_EQ(actual, expected) << "chunking changed; review, then rerun with KR_UPDATE_GOLDEN=1 to accept";
}

class HandbookGolden : public ::testing::Test {
 protected:
  void SetUp() override {
    const std::string markdown = read_file(std::string(KR_SOURCE_DIR) + "/samples/handbook/employee-handbook.md");
    ASSERT_FALSE(markdown.empty()) << "samples/handbook/employee-handbook.md not found";
    doc_ = blocks_from_markdown(markdown);
    full_ = parse::full_text(doc_);
  }

  void check_slices(const std::vector<Chunk>& chunks) const {
    for (const Chunk& chunk : chunks) {
      EXPECT_EQ(chunk.text, full_.substr(chunk.char_begin, chunk.char_end - chunk.char_begin));
    }
  }

  parse::ParsedDocument doc_;
  std::string full_;
};

TEST_F(HandbookGolden, DefaultOptions) {
  const Options options;
  const std::vector<Chunk> chunks = chunk_document(doc_, options);
  check_slices(chunks);
  expect_golden("employee_handbook_default.txt", render(chunks, options));

  // The README demo question must be answerable from one chunk of one section.
  const std::string answer = "New employees receive 25 days of paid vacation per year.";
  int holders = 0;
  for (const Chunk& chunk : chunks) {
    if (chunk.text.find(answer) == std::string::npos) continue;
    ++holders;
    EXPECT_EQ(chunk.heading_path,
              (std::vector<std::string>{"Contoso Robotics Employee Handbook", "Vacation and leave"}));
    EXPECT_TRUE(chunk.text.starts_with("Vacation and leave\n\n"));
  }
  EXPECT_EQ(holders, 1);
}

TEST_F(HandbookGolden, SmallBudgetWithOverlap) {
  const Options options{.max_tokens = 90, .overlap_tokens = 30, .min_tokens = 15};
  const std::vector<Chunk> chunks = chunk_document(doc_, options);
  check_slices(chunks);
  expect_golden("employee_handbook_small.txt", render(chunks, options));
}

}  // namespace
}  // namespace kr::chunk
