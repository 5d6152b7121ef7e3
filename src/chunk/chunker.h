// Structure-aware, token-budgeted chunking. Pure and deterministic.
#pragma once

#include <string>
#include <vector>

#include "parse/document.h"

namespace kr::chunk {

struct Options {
  // Sized for small-context models: a 4k-token Phi-3 fits ~8 chunks of 300
  // estimated tokens plus instructions, question and a 512-token answer.
  int max_tokens = 300;
  int overlap_tokens = 40;   // carried from the end of the previous chunk of the same section
  int min_tokens = 20;       // a smaller trailing piece is merged into its neighbour when it fits
};

struct Chunk {
  std::string text;
  int ordinal = 0;                        // position in the document, from 0
  int page_start = 0;                     // 1-based; 0 when the format has no pages
  int page_end = 0;
  std::vector<std::string> heading_path;  // of the first block in the chunk
  size_t char_begin = 0;                  // byte offsets in parse::full_text(doc)
  size_t char_end = 0;
  int token_estimate = 0;                 // kr::estimate_tokens(text)
};

// Never crosses documents (one call = one document). Prefers section, then
// paragraph, then sentence, then word boundaries; a single over-long word is
// split at UTF-8 boundaries. Same input and options => same output.
std::vector<Chunk> chunk_document(const parse::ParsedDocument& doc, const Options& options = {});

}  // namespace kr::chunk
