// Structure-aware, token-budgeted chunking. Pure and deterministic.
// Thread-safety: chunk_document() keeps no state; call it from any thread.
#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "parse/document.h"

namespace kr::chunk {

// Bounds clamp_options() enforces; below 16 tokens a chunk cannot hold a sentence.
inline constexpr int kMinMaxTokens = 16;
inline constexpr int kMaxMaxTokens = 1 << 20;

struct Options {
  // Sized for small-context models: a 4k-token Phi-3 fits ~8 chunks of 300
  // estimated tokens plus instructions, question and a 512-token answer.
  int max_tokens = 300;
  int overlap_tokens = 40;   // carried from the end of the previous chunk of the same section
  int min_tokens = 20;       // a smaller trailing piece is merged into its neighbour when it fits
  // A second, exact limit: the embedding model's maximum sequence length. When both are set,
  // model_tokens(heading lines + text) <= max_model_tokens for every chunk, where the heading
  // lines are the section's heading path, each followed by "\n" (what gets embedded), and
  // model_tokens counts what the model runs (e.g. word pieces with [CLS]/[SEP] and prefix).
  // A section whose headings alone take over half the budget is checked on its text only.
  int max_model_tokens = 0;
  std::function<int(std::string_view)> model_tokens;
};

struct Chunk {
  std::string text;
  int ordinal = 0;                        // position in the document, from 0
  int page_start = 0;                     // 1-based; 0 when the format has no pages
  int page_end = 0;
  std::vector<std::string> heading_path;  // of the chunk's section (see chunk_document())
  size_t char_begin = 0;                  // byte offsets in parse::full_text(doc)
  size_t char_end = 0;
  int token_estimate = 0;                 // kr::estimate_tokens(text)

  friend bool operator==(const Chunk&, const Chunk&) = default;
};

// The options chunk_document() really uses; it never rejects options:
//   max_tokens     clamped to [kMinMaxTokens, kMaxMaxTokens]
//   overlap_tokens clamped to [0, (max_tokens - 1) / 2], i.e. below half a chunk
//   min_tokens     clamped to [0, max_tokens / 2]
Options clamp_options(const Options& options);

// Hard ceiling on Chunk::token_estimate: max_tokens, plus 10% (rounded down)
// that only a merged tiny tail may use (see chunk_document()).
int max_chunk_tokens(const Options& options);

// Never crosses documents (one call = one document). Prefers section, then
// paragraph, then sentence, then word boundaries; a single over-long word is
// split at UTF-8 boundaries. Same input and options => same output.
//
// Guarantees, for every chunk c of the result:
//   - c.text == full_text(doc).substr(c.char_begin, c.char_end - c.char_begin),
//     never empty and never starting or ending with whitespace;
//   - c.token_estimate == estimate_tokens(c.text) <= max_chunk_tokens(options),
//     and <= max_tokens unless a tiny piece (< min_tokens) was merged into it;
//   - with options.model_tokens set, c also fits max_model_tokens (see Options), unless
//     a single code point does not;
//   - c covers blocks of one section only. A section is a run of consecutive
//     blocks with the same heading_path; a heading block opens a new section,
//     and a run of heading blocks stays with the body that follows them.
//     c.heading_path is the section's path: the heading_path of its first
//     non-heading block (for a section of headings only, the last heading's
//     path ending with that heading's text);
//   - the next chunk of the same section starts with up to overlap_tokens of
//     whole trailing sentences of c (chunks of different sections never overlap);
//   - page_start/page_end are the min/max non-zero page of the blocks c touches.
std::vector<Chunk> chunk_document(const parse::ParsedDocument& doc, const Options& options = {});

}  // namespace kr::chunk
