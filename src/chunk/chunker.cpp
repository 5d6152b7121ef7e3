#include "chunk/chunker.h"

#include <algorithm>
#include <optional>
#include <string_view>

#include "chunk/text_split.h"
#include "core/text.h"

namespace kr::chunk {

Options clamp_options(const Options& options) {
  Options out = options;
  out.max_tokens = std::clamp(out.max_tokens, kMinMaxTokens, kMaxMaxTokens);
  out.overlap_tokens = std::clamp(out.overlap_tokens, 0, (out.max_tokens - 1) / 2);
  out.min_tokens = std::clamp(out.min_tokens, 0, out.max_tokens / 2);
  return out;
}

int max_chunk_tokens(const Options& options) {
  const int max_tokens = clamp_options(options).max_tokens;
  return max_tokens + max_tokens / 10;
}

namespace {

// A chunk while it is being built or after it was placed, as offsets in the full text.
struct Extent {
  size_t begin = 0;          // includes the overlap carried from the previous chunk
  size_t content_begin = 0;  // first byte that is new in this chunk
  size_t end = 0;
  size_t section = 0;
};

struct Section {
  size_t first_block = 0;  // [first_block, last_block) in doc.blocks
  size_t last_block = 0;
  std::vector<std::string> heading_path;
};

// A block's text as a range of the full text, trimmed.
struct Unit {
  Span span;
  bool heading = false;
};

class Chunker {
 public:
  Chunker(const parse::ParsedDocument& doc, const Options& options)
      : doc_(doc), options_(clamp_options(options)), text_(parse::full_text(doc)) {}

  std::vector<Chunk> run();

 private:
  void find_blocks_and_sections();
  void pack_section(size_t section);
  void add_pieces(const Unit& unit);
  void start(Span first, bool heading);
  void close_open();
  std::vector<Span> pieces_of(Span span) const;
  void split_code_points(Span word, std::vector<Span>& out) const;
  Chunk make_chunk(const Extent& extent, int ordinal) const;

  int tokens(size_t begin, size_t end) const {
    return estimate_tokens(std::string_view(text_).substr(begin, end - begin));
  }
  bool fits(size_t begin, size_t end, int budget) const {
    // estimate_tokens() is at least bytes / 3.6, so longer ranges cannot fit;
    // the shortcut keeps every check O(budget) however long the block is.
    if (end - begin > static_cast<size_t>(budget) * 4) return false;
    return tokens(begin, end) <= budget && fits_model(begin, end);
  }
  // The exact model limit (Options::max_model_tokens), on what the model will see.
  bool fits_model(size_t begin, size_t end) const {
    if (!options_.model_tokens || options_.max_model_tokens <= 0) return true;
    std::string embedded = model_prefix_;
    embedded.append(text_, begin, end - begin);
    return options_.model_tokens(embedded) <= options_.max_model_tokens;
  }
  void set_model_prefix(const std::vector<std::string>& heading_path) {
    model_prefix_.clear();
    if (!options_.model_tokens || options_.max_model_tokens <= 0) return;
    for (const auto& heading : heading_path) model_prefix_ += heading + "\n";
    if (options_.model_tokens(model_prefix_) > options_.max_model_tokens / 2) model_prefix_.clear();
  }
  bool fits(size_t begin, size_t end) const { return fits(begin, end, options_.max_tokens); }

  // How many of the units ending at end_of(0..count-1) fit after `begin`. The
  // token estimate only grows as a range grows, so gallop then bisect.
  template <typename EndOf>
  size_t count_fitting(size_t begin, size_t count, EndOf end_of) const {
    size_t good = 0, bad = count + 1;
    for (size_t probe = 1; probe <= count; probe *= 2) {
      if (!fits(begin, end_of(probe - 1))) {
        bad = probe;
        break;
      }
      good = probe;
    }
    if (bad > count) bad = count + 1;
    while (bad - good > 1) {
      const size_t mid = good + (bad - good) / 2;
      if (fits(begin, end_of(mid - 1))) good = mid; else bad = mid;
    }
    return good;
  }

  const parse::ParsedDocument& doc_;
  const Options options_;
  const std::string text_;
  std::vector<Span> block_spans_;  // untrimmed, parallel to doc_.blocks
  std::vector<Section> sections_;
  std::vector<Extent> placed_;

  // State of the section being packed.
  size_t section_ = 0;
  std::vector<size_t> sentence_starts_;
  std::optional<Extent> open_;
  bool open_heading_only_ = false;
  std::vector<size_t> overlap_starts_;  // where the next chunk may begin, longest overlap first
  std::string model_prefix_;            // the section's heading lines, as embedded
};

void Chunker::find_blocks_and_sections() {
  size_t offset = 0;
  for (size_t i = 0; i < doc_.blocks.size(); ++i) {
    if (i > 0) offset += 2;  // the "\n\n" full_text() puts between blocks
    block_spans_.push_back({offset, offset + doc_.blocks[i].text.size()});
    offset += doc_.blocks[i].text.size();
  }

  bool headings_only = false;
  for (size_t i = 0; i < doc_.blocks.size(); ++i) {
    const parse::Block& block = doc_.blocks[i];
    const bool heading = block.kind == parse::BlockKind::kHeading;
    bool opens = i == 0;
    if (!opens && heading) opens = !headings_only;  // a run of headings stays together
    if (!opens && !heading) opens = !headings_only && block.heading_path != doc_.blocks[i - 1].heading_path;
    if (opens) {
      if (!sections_.empty()) sections_.back().last_block = i;
      sections_.push_back({i, i, {}});
      headings_only = true;
    }
    headings_only = headings_only && heading;
  }
  if (!sections_.empty()) sections_.back().last_block = doc_.blocks.size();

  for (Section& section : sections_) {
    const parse::Block* body = nullptr;
    for (size_t i = section.first_block; i < section.last_block && body == nullptr; ++i) {
      if (doc_.blocks[i].kind != parse::BlockKind::kHeading) body = &doc_.blocks[i];
    }
    if (body != nullptr) {
      section.heading_path = body->heading_path;
    } else {
      // Headings only: parsers differ on whether a heading's path includes itself.
      const parse::Block& last = doc_.blocks[section.last_block - 1];
      section.heading_path = last.heading_path;
      if (!last.text.empty() && (section.heading_path.empty() || section.heading_path.back() != last.text)) {
        section.heading_path.push_back(last.text);
      }
    }
  }
}

void Chunker::pack_section(size_t section) {
  section_ = section;
  set_model_prefix(sections_[section].heading_path);
  open_.reset();
  overlap_starts_.clear();
  sentence_starts_.clear();

  std::vector<Unit> units;
  for (size_t i = sections_[section].first_block; i < sections_[section].last_block; ++i) {
    const Span block = block_spans_[i];
    const std::string_view view = std::string_view(text_).substr(block.begin, block.end - block.begin);
    const std::vector<Span> sentences = split_sentences(view);
    if (sentences.empty()) continue;  // empty or whitespace-only block
    for (const Span& sentence : sentences) sentence_starts_.push_back(block.begin + sentence.begin);
    units.push_back({{block.begin + sentences.front().begin, block.begin + sentences.back().end},
                     doc_.blocks[i].kind == parse::BlockKind::kHeading});
  }

  size_t i = 0;
  while (i < units.size()) {
    if (open_) {
      const size_t taken = count_fitting(open_->begin, units.size() - i,
                                         [&](size_t k) { return units[i + k].span.end; });
      if (taken > 0) {
        open_->end = units[i + taken - 1].span.end;
        for (size_t k = i; k < i + taken; ++k) open_heading_only_ = open_heading_only_ && units[k].heading;
        i += taken;
      } else if (open_heading_only_) {
        add_pieces(units[i++]);  // keep a heading with the start of its first block
      } else {
        close_open();
      }
    } else if (fits(units[i].span.begin, units[i].span.end)) {
      start(units[i].span, units[i].heading);
      ++i;
    } else {
      add_pieces(units[i++]);
    }
  }
  if (open_) close_open();
}

// Packs a block piece by piece; used when it cannot be taken whole.
void Chunker::add_pieces(const Unit& unit) {
  const std::vector<Span> pieces = pieces_of(unit.span);
  size_t i = 0;
  while (i < pieces.size()) {
    if (!open_) {
      start(pieces[i++], unit.heading);
      continue;
    }
    const size_t taken = count_fitting(open_->begin, pieces.size() - i,
                                       [&](size_t k) { return pieces[i + k].end; });
    if (taken == 0) {
      close_open();
      continue;
    }
    open_->end = pieces[i + taken - 1].end;
    open_heading_only_ = open_heading_only_ && unit.heading;
    i += taken;
  }
}

// Opens a chunk at `first`, carrying the longest overlap that still fits with it.
void Chunker::start(Span first, bool heading) {
  size_t begin = first.begin;
  for (size_t candidate : overlap_starts_) {
    if (fits(candidate, first.end)) {
      begin = candidate;
      break;
    }
  }
  overlap_starts_.clear();
  open_ = Extent{begin, first.begin, first.end, section_};
  open_heading_only_ = heading;
}

void Chunker::close_open() {
  const Extent extent = *open_;
  open_.reset();

  // A tiny piece joins the previous chunk of its section when that stays
  // within the 10% tolerance; otherwise it stands alone.
  Extent* previous = placed_.empty() || placed_.back().section != section_ ? nullptr : &placed_.back();
  if (previous != nullptr && tokens(extent.content_begin, extent.end) < options_.min_tokens &&
      fits(previous->begin, extent.end, max_chunk_tokens(options_))) {
    previous->end = extent.end;
  } else {
    placed_.push_back(extent);
  }

  // The next chunk of this section may start at any whole trailing sentence
  // of this one whose tail is within the overlap budget.
  overlap_starts_.clear();
  if (options_.overlap_tokens == 0) return;
  const Extent& last = placed_.back();
  auto it = std::upper_bound(sentence_starts_.begin(), sentence_starts_.end(), last.begin);
  for (; it != sentence_starts_.end() && *it < last.end; ++it) {
    if (fits(*it, last.end, options_.overlap_tokens)) overlap_starts_.push_back(*it);
  }
}

// Pieces of an over-long block, each within max_tokens on its own: sentences,
// else the words of a sentence, else the code points of a word.
std::vector<Span> Chunker::pieces_of(Span span) const {
  std::vector<Span> out;
  const std::string_view view = std::string_view(text_).substr(span.begin, span.end - span.begin);
  for (Span sentence : split_sentences(view)) {
    sentence = {span.begin + sentence.begin, span.begin + sentence.end};
    if (fits(sentence.begin, sentence.end)) {
      out.push_back(sentence);
      continue;
    }
    const std::string_view words = std::string_view(text_).substr(sentence.begin, sentence.end - sentence.begin);
    for (Span word : split_words(words)) {
      word = {sentence.begin + word.begin, sentence.begin + word.end};
      if (fits(word.begin, word.end)) {
        out.push_back(word);
      } else {
        split_code_points(word, out);
      }
    }
  }
  return out;
}

void Chunker::split_code_points(Span word, std::vector<Span>& out) const {
  const std::string_view text(text_);
  size_t begin = word.begin;
  while (begin < word.end) {
    // Longest byte prefix within budget, then back to a code point boundary.
    size_t good = begin, bad = std::min(word.end, begin + static_cast<size_t>(options_.max_tokens) * 4) + 1;
    while (bad - good > 1) {
      const size_t mid = good + (bad - good) / 2;
      if (fits(begin, mid)) good = mid; else bad = mid;
    }
    size_t end = good;
    while (end > begin && end < word.end && !is_code_point_boundary(text, end)) --end;
    if (end == begin) {  // cannot happen for valid UTF-8 and max_tokens >= 16; still make progress
      end = begin + 1;
      while (end < word.end && !is_code_point_boundary(text, end)) ++end;
    }
    out.push_back({begin, end});
    begin = end;
  }
}

Chunk Chunker::make_chunk(const Extent& extent, int ordinal) const {
  Chunk chunk;
  chunk.text = text_.substr(extent.begin, extent.end - extent.begin);
  chunk.ordinal = ordinal;
  chunk.heading_path = sections_[extent.section].heading_path;
  chunk.char_begin = extent.begin;
  chunk.char_end = extent.end;
  chunk.token_estimate = estimate_tokens(chunk.text);
  // Blocks touched by [begin, end): block spans are sorted and disjoint.
  auto first = std::lower_bound(block_spans_.begin(), block_spans_.end(), extent.begin,
                                [](const Span& span, size_t pos) { return span.end <= pos; });
  for (auto it = first; it != block_spans_.end() && it->begin < extent.end; ++it) {
    const int page = doc_.blocks[static_cast<size_t>(it - block_spans_.begin())].page;
    if (page <= 0 || it->begin == it->end) continue;
    chunk.page_start = chunk.page_start == 0 ? page : std::min(chunk.page_start, page);
    chunk.page_end = std::max(chunk.page_end, page);
  }
  return chunk;
}

std::vector<Chunk> Chunker::run() {
  find_blocks_and_sections();
  for (size_t section = 0; section < sections_.size(); ++section) pack_section(section);
  std::vector<Chunk> out;
  out.reserve(placed_.size());
  for (const Extent& extent : placed_) out.push_back(make_chunk(extent, static_cast<int>(out.size())));
  return out;
}

}  // namespace

std::vector<Chunk> chunk_document(const parse::ParsedDocument& doc, const Options& options) {
  return Chunker(doc, options).run();
}

}  // namespace kr::chunk
