// Unicode-aware analyzer for the lexical index: NFKC + case folding (utf8proc),
// word segmentation, stop words and Snowball stemming (libstemmer).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/status.h"

namespace kr::index {

struct AnalyzerOptions {
  std::string language = "english";  // any libstemmer algorithm name; "none" disables stemming
  bool remove_stop_words = true;      // built-in list for the language when one exists
  bool stem = true;
};

// Thread-safety: analyze() may be called concurrently (stemmers are per thread).
class Analyzer {
 public:
  // Fails with kInvalidArgument for a language libstemmer does not know.
  static Result<std::shared_ptr<const Analyzer>> create(const AnalyzerOptions& options);
  virtual ~Analyzer() = default;

  // Terms in text order. Letters and digits form words; CJK ideographs, Hiragana,
  // Katakana and Hangul syllables become one term each; everything else separates.
  virtual std::vector<std::string> analyze(std::string_view text) const = 0;
  virtual const AnalyzerOptions& options() const = 0;
};

// libstemmer's algorithm names (sb_stemmer_list()) plus "none", for configuration
// help and validation messages. create() also accepts libstemmer's ISO 639 aliases.
std::vector<std::string> available_languages();

// A chunk's terms as (term, frequency) pairs, sorted by term.
using TermFreqs = std::vector<std::pair<std::string, uint32_t>>;
TermFreqs count_terms(const std::vector<std::string>& terms);

// Compact, versioned binary form of TermFreqs, stored with each chunk so the
// in-memory index can be rebuilt at start-up without re-analyzing text.
// Input that is not strictly sorted is sorted first (duplicate terms are summed)
// and zero frequencies are dropped, so the output always decodes.
// decode_term_freqs() fails with kDataCorruption on any malformed input.
std::string encode_term_freqs(const TermFreqs& tf);
Result<TermFreqs> decode_term_freqs(std::string_view bytes);

}  // namespace kr::index
