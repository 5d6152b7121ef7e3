// Analyzer pipeline, chosen to track bm25s' default tokenizer (regex (?u)\b\w\w+\b,
// lower-casing, English stop words, Snowball English stemmer), since our relevance
// target is bm25s +-0.5 nDCG with the same parameters:
//   1. NFKC + Unicode case folding + removal of default-ignorable code points
//      (soft hyphen, zero-width space), i.e. roughly ICU's NFKC_Casefold.
//   2. Segmentation: a word is a run of letters (L*), digits (N*), '_' and the marks
//      (M*) that follow them, like Python's \w but keeping combining marks inside
//      words (Indic vowel signs). Words need >= 2 code points and at least one letter
//      or digit. CJK ideographs, kana and Hangul are one term per code point.
//   3. Diacritic folding for Latin and Greek letters ("café" -> "cafe"), like Lucene's
//      ASCIIFoldingFilter, so text typed with and without accents matches. Only for
//      Latin/Greek: marks that carry meaning elsewhere (Indic, Hebrew, Cyrillic й)
//      are kept. It runs before the stemmer because stemmers treat accented letters
//      inconsistently (Snowball English stems "ecole" but not "école"); the cost is
//      that French/German stemmers see unaccented words, which they handle nearly as
//      well. This is the one deliberate difference from bm25s on English text (bm25s
//      keeps "café"); it only affects words with accents.
//   4. Stop words (before stemming, like bm25s and Lucene), compared in folded form.
//   5. Snowball stemming (libstemmer) of word terms.
#include <libstemmer.h>
#include <utf8proc.h>

#include <algorithm>
#include <memory>
#include <new>
#include <unordered_map>
#include <unordered_set>

#include "core/text.h"
#include "index/stop_words.h"
#include "index/tokenizer.h"

namespace kr::index {
namespace {

// Lucene's StandardTokenizer default maxTokenLength; longer runs are almost always
// garbage (base64, hashes glued together) and would bloat the vocabulary. We drop
// them rather than split them.
constexpr size_t kMaxTermCodePoints = 255;

struct StemmerDeleter {
  void operator()(sb_stemmer* s) const { sb_stemmer_delete(s); }
};
using StemmerPtr = std::unique_ptr<sb_stemmer, StemmerDeleter>;

// libstemmer stemmers keep state between calls, so every thread gets its own,
// created on first use. Bounded by the number of languages (~30).
sb_stemmer* thread_stemmer(const std::string& language) {
  thread_local std::unordered_map<std::string, StemmerPtr> stemmers;
  auto it = stemmers.find(language);
  if (it == stemmers.end()) {
    StemmerPtr stemmer(sb_stemmer_new(language.c_str(), "UTF_8"));
    // The language was validated in create(), so null here means out of memory.
    if (!stemmer) throw std::bad_alloc();
    it = stemmers.emplace(language, std::move(stemmer)).first;
  }
  return it->second.get();
}

bool is_letter_or_number(utf8proc_category_t cat) {
  return (cat >= UTF8PROC_CATEGORY_LU && cat <= UTF8PROC_CATEGORY_LO) ||
         (cat >= UTF8PROC_CATEGORY_ND && cat <= UTF8PROC_CATEGORY_NO);
}

bool is_mark(utf8proc_category_t cat) {
  return cat >= UTF8PROC_CATEGORY_MN && cat <= UTF8PROC_CATEGORY_ME;
}

// Scripts written without spaces between words: one term per code point.
bool is_cjk(int32_t cp) {
  return (cp >= 0x1100 && cp <= 0x11FF) ||    // Hangul Jamo
         (cp >= 0x3040 && cp <= 0x30FF) ||    // Hiragana, Katakana
         (cp >= 0x3130 && cp <= 0x318F) ||    // Hangul Compatibility Jamo
         (cp >= 0x31F0 && cp <= 0x31FF) ||    // Katakana Phonetic Extensions
         (cp >= 0x3400 && cp <= 0x4DBF) ||    // CJK Extension A
         (cp >= 0x4E00 && cp <= 0x9FFF) ||    // CJK Unified Ideographs
         (cp >= 0xA960 && cp <= 0xA97F) ||    // Hangul Jamo Extended-A
         (cp >= 0xAC00 && cp <= 0xD7FF) ||    // Hangul Syllables, Jamo Extended-B
         (cp >= 0xF900 && cp <= 0xFAFF) ||    // CJK Compatibility Ideographs
         (cp >= 0xFF66 && cp <= 0xFF9F) ||    // Halfwidth Katakana
         (cp >= 0x1B000 && cp <= 0x1B16F) ||  // Kana Supplement/Extended
         (cp >= 0x20000 && cp <= 0x323AF);    // CJK Extensions B..H, Compatibility Supplement
}

// Base letters whose diacritics we fold away (see step 3 above).
bool is_latin_or_greek(int32_t cp) {
  return cp < 0x02B0 ||                       // Basic Latin .. IPA Extensions
         (cp >= 0x0370 && cp <= 0x03FF) ||    // Greek
         (cp >= 0x1E00 && cp <= 0x1FFF) ||    // Latin Extended Additional, Greek Extended
         (cp >= 0x2C60 && cp <= 0x2C7F) ||    // Latin Extended-C
         (cp >= 0xA720 && cp <= 0xA7FF) ||    // Latin Extended-D
         (cp >= 0xAB30 && cp <= 0xAB6F);      // Latin Extended-E
}

// Latin letters with a stroke or ligatures have no Unicode decomposition;
// fold the common ones the way ASCIIFoldingFilter does.
const char* fold_special_letter(int32_t cp) {
  switch (cp) {
    case 0x00E6: return "ae";  // æ
    case 0x00F8: return "o";   // ø
    case 0x0111: return "d";   // đ
    case 0x0127: return "h";   // ħ
    case 0x0142: return "l";   // ł
    case 0x0153: return "oe";  // œ
    case 0x0167: return "t";   // ŧ
    default: return nullptr;
  }
}

// Runs utf8proc_decompose into `out`, growing it when the first guess is short.
bool decompose(std::string_view text, int options, std::vector<int32_t>& out) {
  out.resize(text.size() + 16);
  for (int attempt = 0; attempt < 2; ++attempt) {
    const utf8proc_ssize_t n = utf8proc_decompose(
        reinterpret_cast<const utf8proc_uint8_t*>(text.data()),
        static_cast<utf8proc_ssize_t>(text.size()), out.data(),
        static_cast<utf8proc_ssize_t>(out.size()), static_cast<utf8proc_option_t>(options));
    if (n < 0) return false;
    if (static_cast<size_t>(n) <= out.size()) {
      out.resize(static_cast<size_t>(n));
      return true;
    }
    out.resize(static_cast<size_t>(n));
  }
  return false;
}

// Canonical composition in place (NFC of an already decomposed, ordered buffer).
void compose(std::vector<int32_t>& cps) {
  if (cps.empty()) return;
  const utf8proc_ssize_t n = utf8proc_normalize_utf32(
      cps.data(), static_cast<utf8proc_ssize_t>(cps.size()), UTF8PROC_COMPOSE);
  if (n >= 0) cps.resize(static_cast<size_t>(n));
}

void append_utf8(int32_t cp, std::string& out) {
  utf8proc_uint8_t bytes[4];
  const utf8proc_ssize_t n = utf8proc_encode_char(cp, bytes);
  out.append(reinterpret_cast<const char*>(bytes), static_cast<size_t>(n));
}

// Step 1: NFKC + case folding + ignorables removed, as code points.
std::vector<int32_t> normalize(std::string_view text) {
  std::vector<int32_t> cps;
  const int options = UTF8PROC_DECOMPOSE | UTF8PROC_COMPAT | UTF8PROC_CASEFOLD | UTF8PROC_IGNORE;
  std::string sanitized;
  if (!is_valid_utf8(text)) {
    // Ill-formed bytes become U+FFFD (a separator) instead of failing the whole text.
    sanitized = sanitize_utf8(text);
    text = sanitized;
  }
  if (!decompose(text, options, cps)) return {};
  compose(cps);
  return cps;
}

// Step 3, in place. ASCII-only terms (the common case) are left untouched.
void fold_diacritics(std::string& term, std::vector<int32_t>& scratch) {
  if (std::all_of(term.begin(), term.end(), [](char c) { return (c & 0x80) == 0; })) return;
  if (!decompose(term, UTF8PROC_DECOMPOSE, scratch)) return;
  std::string folded;
  folded.reserve(term.size());
  std::vector<int32_t> kept;
  kept.reserve(scratch.size());
  bool base_foldable = false;
  for (int32_t cp : scratch) {
    const utf8proc_category_t cat = utf8proc_category(cp);
    if (is_mark(cat)) {
      if (cat == UTF8PROC_CATEGORY_MN && base_foldable) continue;
    } else {
      base_foldable = is_latin_or_greek(cp);
    }
    kept.push_back(cp);
  }
  compose(kept);
  for (int32_t cp : kept) {
    if (const char* ascii = fold_special_letter(cp)) {
      folded += ascii;
    } else {
      append_utf8(cp, folded);
    }
  }
  term = std::move(folded);
}

class SnowballAnalyzer final : public Analyzer {
 public:
  SnowballAnalyzer(AnalyzerOptions options, bool stem, std::unordered_set<std::string> stop_words)
      : options_(std::move(options)), stem_(stem), stop_words_(std::move(stop_words)) {}

  std::vector<std::string> analyze(std::string_view text) const override {
    const std::vector<int32_t> cps = normalize(text);
    std::vector<std::string> terms;
    std::vector<int32_t> scratch;
    enum class Kind { kNone, kWord, kCjk };
    Kind kind = Kind::kNone;
    size_t start = 0;
    bool has_alnum = false;
    const auto flush = [&](size_t end) {
      if (kind == Kind::kWord) {
        const size_t length = end - start;
        if (length >= 2 && length <= kMaxTermCodePoints && has_alnum) {
          emit_word(cps.data() + start, length, terms, scratch);
        }
      } else if (kind == Kind::kCjk) {
        std::string term;
        for (size_t i = start; i < end; ++i) append_utf8(cps[i], term);
        terms.push_back(std::move(term));
      }
      kind = Kind::kNone;
    };
    for (size_t i = 0; i < cps.size(); ++i) {
      const int32_t cp = cps[i];
      const utf8proc_category_t cat = utf8proc_category(cp);
      const bool alnum = is_letter_or_number(cat);
      if (alnum || cp == '_') {
        if (alnum && is_cjk(cp)) {
          flush(i);
          kind = Kind::kCjk;
          start = i;
        } else if (kind != Kind::kWord) {
          flush(i);
          kind = Kind::kWord;
          start = i;
          has_alnum = alnum;
        } else {
          has_alnum = has_alnum || alnum;
        }
      } else if (is_mark(cat)) {
        // A mark extends the current term; one with nothing before it is dropped.
      } else {
        flush(i);
      }
    }
    flush(cps.size());
    return terms;
  }

  const AnalyzerOptions& options() const override { return options_; }

 private:
  void emit_word(const int32_t* cps, size_t length, std::vector<std::string>& terms,
                 std::vector<int32_t>& scratch) const {
    std::string term;
    term.reserve(length);
    for (size_t i = 0; i < length; ++i) append_utf8(cps[i], term);
    fold_diacritics(term, scratch);
    if (stop_words_.count(term) != 0) return;
    if (stem_) {
      sb_stemmer* stemmer = thread_stemmer(options_.language);
      const sb_symbol* stemmed = sb_stemmer_stem(
          stemmer, reinterpret_cast<const sb_symbol*>(term.data()), static_cast<int>(term.size()));
      if (stemmed == nullptr) throw std::bad_alloc();
      term.assign(reinterpret_cast<const char*>(stemmed),
                  static_cast<size_t>(sb_stemmer_length(stemmer)));
    }
    if (!term.empty()) terms.push_back(std::move(term));
  }

  AnalyzerOptions options_;
  bool stem_;
  // Stop words after steps 1 and 3 ("für" is stored as "fur").
  std::unordered_set<std::string> stop_words_;
};

std::string ascii_lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

std::string to_utf8(const std::vector<int32_t>& cps) {
  std::string out;
  for (int32_t cp : cps) append_utf8(cp, out);
  return out;
}

}  // namespace

std::vector<std::string> available_languages() {
  std::vector<std::string> names;
  for (const char** name = sb_stemmer_list(); *name != nullptr; ++name) names.emplace_back(*name);
  names.emplace_back("none");
  return names;
}

Result<std::shared_ptr<const Analyzer>> Analyzer::create(const AnalyzerOptions& options) {
  AnalyzerOptions normalized = options;
  normalized.language = ascii_lower(trim(options.language));
  const bool none = normalized.language == "none";
  if (!none) {
    // libstemmer knows its canonical names and ISO 639 aliases ("en", "deu").
    StemmerPtr probe(sb_stemmer_new(normalized.language.c_str(), "UTF_8"));
    if (!probe) {
      std::string known;
      for (const std::string& name : available_languages()) known += (known.empty() ? "" : ", ") + name;
      return error(ErrorCode::kInvalidArgument,
                   "unknown analyzer language '" + options.language + "' (known: " + known + ")");
    }
  }
  std::unordered_set<std::string> stop_words;
  if (normalized.remove_stop_words && !none) {
    std::vector<int32_t> scratch;
    for (std::string_view word : builtin_stop_words(normalized.language)) {
      std::string term = to_utf8(normalize(word));
      fold_diacritics(term, scratch);
      stop_words.insert(std::move(term));
    }
  }
  const bool stem = normalized.stem && !none;
  return std::shared_ptr<const Analyzer>(
      std::make_shared<SnowballAnalyzer>(std::move(normalized), stem, std::move(stop_words)));
}

}  // namespace kr::index
