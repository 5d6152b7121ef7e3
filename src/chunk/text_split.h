// Boundary finders the chunker uses to split a block that exceeds the budget:
// sentences first, then words, then UTF-8 code points.
#pragma once

#include <cstddef>
#include <string_view>
#include <vector>

namespace kr::chunk {

// A byte range [begin, end) relative to the string it was found in.
struct Span {
  size_t begin = 0;
  size_t end = 0;

  friend bool operator==(const Span&, const Span&) = default;
};

// Sentences of `text`, in order, each trimmed of ASCII whitespace. A sentence
// ends after . ! ? (plus closing quotes/brackets) followed by whitespace and not
// by a lower-case letter, after a CJK full stop (。！？), or at a line break.
// A dot after a single letter or a common abbreviation ("Dr.", "vs.") does not
// end a sentence. Whitespace-only text has no sentences.
std::vector<Span> split_sentences(std::string_view text);

// Maximal runs of non-whitespace (ASCII whitespace) bytes.
std::vector<Span> split_words(std::string_view text);

// True when `pos` is a UTF-8 code point boundary of `text` (0 and size() are).
bool is_code_point_boundary(std::string_view text, size_t pos);

}  // namespace kr::chunk
