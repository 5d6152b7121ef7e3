// BERT WordPiece, as Hugging Face `tokenizers` runs it:
//   added tokens ([CLS], [MASK], ... written in the text) are cut out of the raw text first;
//   BertNormalizer: clean_text -> handle_chinese_chars -> strip_accents (NFD, drop marks) -> lowercase;
//   BertPreTokenizer: split on whitespace (dropped) and punctuation (kept, one char per word);
//   WordPiece: greedy longest match first, "##" pieces, a word that does not match becomes [UNK].
// The normalizer and pre-tokenizer run fused, one code point at a time, straight into the current
// word; a word is looked up as soon as it ends, so nothing is allocated per character.
//
// HF classifies characters with Unicode tables of its own (older for categories and NFD, newer
// for lowercase), so the tables at the end of this file come from probing HF itself
// (scripts/golden/gen_wordpiece_golden.py --tables); utf8proc only supplies canonical
// decompositions, which Unicode never changes once assigned.
#include "embed/wordpiece.h"

#include <utf8proc.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <fstream>
#include <limits>
#include <nlohmann/json.hpp>
#include <span>
#include <sstream>
#include <utility>

#include "core/text.h"

namespace kr::embed {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

// ---- Character classes (tables at the end of the file) -------------------------------------

struct CpRange {
  char32_t first, last;
};
struct LowerRun {
  char32_t first, last;
  int stride, delta;
};
struct MultiMapping {
  char32_t cp;
  char32_t out[3];  // zero-terminated when shorter
};

enum CharFlag : uint8_t {
  kControl = 1,      // clean_text drops it
  kCleanSpace = 2,   // clean_text makes it ' '
  kChinese = 4,      // handle_chinese_chars isolates it
  kMark = 8,         // strip_accents drops it
  kSplitSpace = 16,  // the pre-tokenizer splits on it
  kPunct = 32,       // the pre-tokenizer isolates it
  kDecomposes = 64,  // NFD changes it
  kHasLower = 128,   // lowercase may change it
};

uint8_t compute_flags(char32_t cp);
int hf_lowercase(char32_t cp, char32_t* out);  // writes 1 or more code points, returns the count

// Flags of the Basic Multilingual Plane in a table, the rest by binary search.
const std::array<uint8_t, 0x10000>& bmp_flags() {
  static const auto table = [] {
    std::array<uint8_t, 0x10000> t{};
    for (char32_t cp = 0; cp < 0x10000; ++cp) t[cp] = compute_flags(cp);
    return t;
  }();
  return table;
}

inline uint8_t char_flags(char32_t cp) { return cp < 0x10000 ? bmp_flags()[cp] : compute_flags(cp); }

// ---- UTF-8 ---------------------------------------------------------------------------------

// Decodes the code point at s[i] and advances i; an invalid or truncated sequence reads as
// U+FFFD and consumes one byte.
inline char32_t decode_utf8(std::string_view s, size_t& i) {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  const size_t n = s.size();
  const unsigned b0 = p[i];
  if (b0 < 0x80) {
    ++i;
    return b0;
  }
  auto cont = [&](size_t k) { return i + k < n && (p[i + k] & 0xC0) == 0x80; };
  if (b0 >= 0xC2 && b0 <= 0xDF && cont(1)) {
    const char32_t c = ((b0 & 0x1Fu) << 6) | (p[i + 1] & 0x3Fu);
    i += 2;
    return c;
  }
  if (b0 >= 0xE0 && b0 <= 0xEF && cont(1) && cont(2)) {
    const char32_t c = ((b0 & 0x0Fu) << 12) | ((p[i + 1] & 0x3Fu) << 6) | (p[i + 2] & 0x3Fu);
    if (c >= 0x800 && (c < 0xD800 || c > 0xDFFF)) {
      i += 3;
      return c;
    }
  } else if (b0 >= 0xF0 && b0 <= 0xF4 && cont(1) && cont(2) && cont(3)) {
    const char32_t c = ((b0 & 0x07u) << 18) | ((p[i + 1] & 0x3Fu) << 12) | ((p[i + 2] & 0x3Fu) << 6) |
                       (p[i + 3] & 0x3Fu);
    if (c >= 0x10000 && c <= 0x10FFFF) {
      i += 4;
      return c;
    }
  }
  ++i;
  return 0xFFFD;
}

// The code point that ends s (U+FFFD if s does not end with a valid one); s must not be empty.
char32_t last_code_point(std::string_view s) {
  size_t start = s.size() - 1;
  while (start > 0 && s.size() - start < 4 && (static_cast<unsigned char>(s[start]) & 0xC0) == 0x80) --start;
  size_t i = start;
  const char32_t cp = decode_utf8(s, i);
  return i == s.size() ? cp : 0xFFFD;
}


inline bool is_continuation_byte(char c) { return (static_cast<unsigned char>(c) & 0xC0) == 0x80; }

// Regex \w as the single_word option of added tokens uses it (approximated with utf8proc's
// categories: letters, marks, decimal digits, connector punctuation, ZWNJ/ZWJ).
bool is_word_char(char32_t cp) {
  if (cp == 0x200C || cp == 0x200D) return true;
  switch (utf8proc_category(static_cast<utf8proc_int32_t>(cp))) {
    case UTF8PROC_CATEGORY_LU: case UTF8PROC_CATEGORY_LL: case UTF8PROC_CATEGORY_LT:
    case UTF8PROC_CATEGORY_LM: case UTF8PROC_CATEGORY_LO: case UTF8PROC_CATEGORY_NL:
    case UTF8PROC_CATEGORY_MN: case UTF8PROC_CATEGORY_MC: case UTF8PROC_CATEGORY_ME:
    case UTF8PROC_CATEGORY_ND: case UTF8PROC_CATEGORY_PC:
      return true;
    default:
      return false;
  }
}

// ---- Vocabulary lookup ---------------------------------------------------------------------

inline uint64_t hash_bytes(const char* p, size_t n) {
  uint64_t h = 0x9E3779B97F4A7C15ull ^ (n * 0xFF51AFD7ED558CCDull);
  while (n >= 8) {
    uint64_t v;
    std::memcpy(&v, p, 8);
    h = (h ^ v) * 0xBF58476D1CE4E5B9ull;
    h ^= h >> 31;
    p += 8;
    n -= 8;
  }
  if (n > 0) {
    uint64_t v = 0;
    std::memcpy(&v, p, n);
    h = (h ^ v) * 0x94D049BB133111EBull;
  }
  h ^= h >> 32;
  h *= 0xD6E8FEB86659FD93ull;
  h ^= h >> 32;
  return h;
}

// An open-addressing table from token text to id, the texts in one arena: a lookup takes a
// string_view, hashes it once and usually compares one slot.
class TokenTable {
 public:
  void build(const std::vector<std::pair<std::string_view, int32_t>>& entries) {
    size_t capacity = 16;
    while (capacity < entries.size() * 2) capacity *= 2;
    slots_.assign(capacity, Slot{});
    mask_ = capacity - 1;
    for (const auto& [text, id] : entries) insert(text, id);
  }

  int32_t find(std::string_view key) const {
    if (key.size() > max_len_) return -1;
    const uint64_t h = hash_bytes(key.data(), key.size());
    for (size_t i = h & mask_;; i = (i + 1) & mask_) {
      const Slot& s = slots_[i];
      if (s.id < 0) return -1;
      if (matches(s, h, key)) return s.id;
    }
  }
  size_t max_len() const { return max_len_; }

 private:
  struct Slot {
    uint32_t offset = 0, len = 0, tag = 0;  // tag: the hash's high bits
    int32_t id = -1;                        // -1: empty
  };

  bool matches(const Slot& s, uint64_t hash, std::string_view key) const {
    return s.tag == static_cast<uint32_t>(hash >> 32) && s.len == key.size() &&
           std::memcmp(arena_.data() + s.offset, key.data(), key.size()) == 0;
  }

  void insert(std::string_view text, int32_t id) {  // a later duplicate wins, as in HF
    const uint64_t h = hash_bytes(text.data(), text.size());
    for (size_t i = h & mask_;; i = (i + 1) & mask_) {
      Slot& s = slots_[i];
      if (s.id >= 0 && !matches(s, h, text)) continue;
      if (s.id < 0) {
        s = Slot{static_cast<uint32_t>(arena_.size()), static_cast<uint32_t>(text.size()),
                 static_cast<uint32_t>(h >> 32), id};
        arena_.append(text);
        max_len_ = std::max(max_len_, text.size());
      }
      s.id = id;
      return;
    }
  }

  std::vector<Slot> slots_;
  std::string arena_;
  size_t mask_ = 0;
  size_t max_len_ = 0;
};

struct Added {
  std::string content;
  int32_t id = 0;
  bool normalized = false, lstrip = false, rstrip = false, single_word = false;
};

// Added tokens to look for, longest first, and the bytes they can start with.
struct AddedSet {
  std::vector<Added> tokens;
  std::array<bool, 256> first_byte{};

  bool empty() const { return tokens.empty(); }
  void finish() {
    std::stable_sort(tokens.begin(), tokens.end(),
                     [](const Added& x, const Added& y) { return x.content.size() > y.content.size(); });
    for (const Added& a : tokens) first_byte[static_cast<unsigned char>(a.content[0])] = true;
  }
};

// What the fused normalizer + pre-tokenizer does with an ASCII byte.
enum class AsciiKind : uint8_t { kAppend, kDrop, kBoundary, kIsolate };
struct AsciiAction {
  AsciiKind kind = AsciiKind::kAppend;
  char out = 0;
};

}  // namespace

// ---- The tokenizer state -------------------------------------------------------------------

struct WordPieceTokenizer::State {
  WordPieceConfig config;
  bool strip_accents = false;
  TokenTable full;          // every token
  TokenTable continuation;  // tokens that start with the prefix, without it
  std::vector<std::string> id_to_token;
  AddedSet raw_added, normalized_added;
  std::vector<int32_t> prefix, suffix;              // put around the words by encode()
  int32_t unk = -1, cls = -1, sep = -1, pad = -1;
  std::array<AsciiAction, 128> ascii_normalize{}, ascii_plain{};

  // Collects the code points of the current word and turns each finished word into ids.
  struct Sink {
    const State& st;
    std::vector<int32_t>& out;
    size_t limit;  // stop once out has this many ids
    std::string word;
    size_t chars = 0;

    void boundary() {
      if (chars == 0) return;
      st.wordpiece(word, chars, out);
      word.clear();
      chars = 0;
    }
    void append(char32_t cp) {
      append_utf8(word, cp);
      ++chars;
    }
    void append_ascii(char c) {
      word.push_back(c);
      ++chars;
    }
    bool full() const { return out.size() >= limit; }
  };

  // Room for what one code point can become: a canonical decomposition has at most 16 code
  // points here (4 in practice), each lowercased into at most 3.
  static constexpr int kMaxExpansion = 48;

  // strip_accents and lowercase of one code point into out[kMaxExpansion]; returns the count.
  int transform(char32_t cp, uint8_t flags, char32_t* out) const {
    int n = 0;
    if (strip_accents && (flags & kDecomposes)) {
      utf8proc_int32_t buf[16];
      int boundclass = 0;
      const auto len = utf8proc_decompose_char(static_cast<utf8proc_int32_t>(cp), buf, 16, UTF8PROC_DECOMPOSE,
                                               &boundclass);
      if (len < 1 || len > 16) {
        out[n++] = cp;
      } else {
        for (utf8proc_ssize_t k = 0; k < len; ++k) {
          const auto d = static_cast<char32_t>(buf[k]);
          if (!(char_flags(d) & kMark)) out[n++] = d;
        }
      }
    } else if (!(strip_accents && (flags & kMark))) {
      out[n++] = cp;
    }
    if (!config.lowercase) return n;
    char32_t lowered[kMaxExpansion];
    int m = 0;
    for (int k = 0; k < n; ++k) {
      if (out[k] < 0x80) {
        lowered[m++] = (out[k] >= 'A' && out[k] <= 'Z') ? out[k] + 32 : out[k];
      } else if (char_flags(out[k]) & kHasLower) {
        m += hf_lowercase(out[k], lowered + m);
      } else {
        lowered[m++] = out[k];
      }
    }
    std::copy(lowered, lowered + m, out);
    return m;
  }

  // The pre-tokenizer's view of one normalized code point.
  void emit(char32_t cp, Sink& sink) const {
    if (cp < 0x80) {
      const AsciiAction a = ascii_plain[cp];
      if (a.kind == AsciiKind::kAppend) return sink.append_ascii(a.out);
      sink.boundary();
      if (a.kind == AsciiKind::kIsolate) {
        sink.append_ascii(a.out);
        sink.boundary();
      }
      return;
    }
    const uint8_t flags = char_flags(cp);
    if (flags & kSplitSpace) {
      sink.boundary();
    } else if (flags & kPunct) {
      sink.boundary();
      sink.append(cp);
      sink.boundary();
    } else {
      sink.append(cp);
    }
  }

  static AsciiAction ascii_plain_action(char c) {
    const auto u = static_cast<unsigned char>(c);
    const uint8_t flags = compute_flags(u);
    if (flags & kSplitSpace) return {AsciiKind::kBoundary, c};
    if (flags & kPunct) return {AsciiKind::kIsolate, c};
    return {AsciiKind::kAppend, c};
  }

  // BertNormalizer on one non-ASCII code point, fed to the pre-tokenizer.
  void normalize_into(char32_t cp, Sink& sink) const {
    const uint8_t flags = char_flags(cp);
    if (config.clean_text) {
      if (flags & kControl) return;
      if (flags & kCleanSpace) return sink.boundary();
    }
    char32_t buf[kMaxExpansion];
    const int n = transform(cp, flags, buf);
    const bool isolate = config.tokenize_chinese_chars && (flags & kChinese);
    if (isolate) sink.boundary();
    for (int k = 0; k < n; ++k) emit(buf[k], sink);
    if (isolate) sink.boundary();
  }

  // Normalizes (or not) and pre-tokenizes a piece of text with no added tokens in it.
  void tokenize_piece(std::string_view text, bool normalize, Sink& sink) const {
    const AsciiAction* ascii = normalize ? ascii_normalize.data() : ascii_plain.data();
    size_t i = 0;
    while (i < text.size()) {
      const auto b = static_cast<unsigned char>(text[i]);
      if (b < 0x80) {
        ++i;
        const AsciiAction a = ascii[b];
        if (a.kind == AsciiKind::kAppend) {
          sink.append_ascii(a.out);
          continue;
        }
        if (a.kind == AsciiKind::kDrop) continue;
        sink.boundary();
        if (a.kind == AsciiKind::kIsolate) {
          sink.append_ascii(a.out);
          sink.boundary();
        }
      } else {
        const char32_t cp = decode_utf8(text, i);
        if (normalize) {
          normalize_into(cp, sink);
        } else {
          emit(cp, sink);
        }
      }
      if (sink.full()) return;
    }
    sink.boundary();
  }

  // HF's WordPiece::tokenize on one word of `chars` code points.
  void wordpiece(std::string_view word, size_t chars, std::vector<int32_t>& out) const {
    if (chars > static_cast<size_t>(config.max_input_chars_per_word)) {
      out.push_back(unk);
      return;
    }
    const size_t mark = out.size();
    size_t start = 0;
    while (start < word.size()) {
      const TokenTable& table = start == 0 ? full : continuation;
      size_t end = std::min(word.size(), start + table.max_len());
      while (end > start && end < word.size() && is_continuation_byte(word[end])) --end;
      int32_t id = -1;
      while (end > start) {
        id = table.find(word.substr(start, end - start));
        if (id >= 0) break;
        do {
          --end;
        } while (end > start && is_continuation_byte(word[end]));
      }
      if (id < 0) {  // one piece does not match: the whole word is unknown
        out.resize(mark);
        out.push_back(unk);
        return;
      }
      out.push_back(id);
      start = end;
    }
  }

  // Cuts the added tokens out of `text` (HF's AddedVocabulary::find_matches: leftmost-longest,
  // non-overlapping); on_text gets the pieces between them, on_token their ids.
  template <typename OnText, typename OnToken>
  static void split_added(std::string_view text, const AddedSet& set, OnText&& on_text, OnToken&& on_token) {
    size_t done = 0;  // text[0, done) is handled
    size_t i = 0;
    while (i < text.size()) {
      if (!set.first_byte[static_cast<unsigned char>(text[i])]) {
        ++i;
        continue;
      }
      const Added* match = nullptr;
      for (const Added& t : set.tokens) {  // longest first
        if (text.substr(i).starts_with(t.content)) {
          match = &t;
          break;
        }
      }
      if (match == nullptr) {
        ++i;
        continue;
      }
      size_t start = i, stop = i + match->content.size();
      i = stop;
      if (match->single_word) {
        const bool word_before = start > 0 && is_word_char(last_code_point(text.substr(0, start)));
        size_t j = stop;
        const bool word_after = stop < text.size() && is_word_char(decode_utf8(text, j));
        if (word_before || word_after) continue;
      }
      if (match->lstrip) {
        size_t s = start;
        while (s > done) {
          const char32_t cp = last_code_point(text.substr(0, s));
          if (!(compute_flags(cp) & kSplitSpace)) break;
          size_t len = 1;
          while (len < s && is_continuation_byte(text[s - len])) ++len;
          s -= len;
        }
        start = s;
      }
      if (match->rstrip) {
        while (stop < text.size()) {
          size_t j = stop;
          if (!(compute_flags(decode_utf8(text, j)) & kSplitSpace)) break;
          stop = j;
        }
        i = stop;
      }
      if (done < start && !on_text(text.substr(done, start - done))) return;
      if (!on_token(match->id)) return;
      done = stop;
    }
    if (done < text.size()) on_text(text.substr(done));
  }

  // Word ids of `text` until there are `limit` of them (or more: the caller cuts).
  void words(std::string_view text, std::vector<int32_t>& out, size_t limit) const {
    Sink sink{*this, out, limit, {}, 0};
    auto on_token = [&](int32_t id) {
      out.push_back(id);
      return !sink.full();
    };
    auto on_normalized_piece = [&](std::string_view piece) {
      tokenize_piece(piece, false, sink);
      return !sink.full();
    };
    auto on_raw_piece = [&](std::string_view piece) {
      if (normalized_added.empty()) {
        tokenize_piece(piece, true, sink);
      } else {
        split_added(normalize(piece), normalized_added, on_normalized_piece, on_token);
      }
      return !sink.full();
    };
    if (raw_added.empty()) {
      on_raw_piece(text);
    } else {
      split_added(text, raw_added, on_raw_piece, on_token);
    }
  }

  std::string normalize(std::string_view text) const {
    std::string out;
    out.reserve(text.size());
    size_t i = 0;
    char32_t buf[kMaxExpansion];
    while (i < text.size()) {
      const char32_t cp = decode_utf8(text, i);
      const uint8_t flags = char_flags(cp);
      if (config.clean_text && (flags & kControl)) continue;
      if (config.clean_text && (flags & kCleanSpace)) {
        out.push_back(' ');
        continue;
      }
      const bool isolate = config.tokenize_chinese_chars && (flags & kChinese);
      if (isolate) out.push_back(' ');
      const int n = transform(cp, flags, buf);
      for (int k = 0; k < n; ++k) append_utf8(out, buf[k]);
      if (isolate) out.push_back(' ');
    }
    return out;
  }

  void init_ascii() {
    for (unsigned c = 0; c < 128; ++c) {
      const auto ch = static_cast<char>(c);
      ascii_plain[c] = ascii_plain_action(ch);
      const uint8_t flags = compute_flags(c);
      if (config.clean_text && (flags & kControl)) {
        ascii_normalize[c] = {AsciiKind::kDrop, ch};
      } else if (config.clean_text && (flags & kCleanSpace)) {
        ascii_normalize[c] = {AsciiKind::kBoundary, ' '};
      } else {
        const char lowered = config.lowercase && c >= 'A' && c <= 'Z' ? static_cast<char>(c + 32) : ch;
        ascii_normalize[c] = {ascii_plain_action(lowered).kind, lowered};
      }
    }
  }
};

namespace {

// ---- Loading -------------------------------------------------------------------------------

Result<std::string> read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return error(ErrorCode::kNotFound, path.string() + " cannot be read");
  std::ostringstream ss;
  ss << in.rdbuf();
  if (in.bad()) return error(ErrorCode::kInvalidArgument, path.string() + ": read error");
  return ss.str();
}

Result<json> read_json(const fs::path& path) {
  auto text = read_file(path);
  if (!text) return text.status();
  json j = json::parse(*text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return error(ErrorCode::kInvalidArgument, path.string() + ": malformed JSON");
  return j;
}

// A special token in tokenizer_config.json / special_tokens_map.json: "[CLS]" or {"content": "[CLS]", ...}.
std::optional<std::string> token_name(const json& obj, const char* key) {
  if (!obj.is_object() || !obj.contains(key)) return std::nullopt;
  const json& v = obj[key];
  if (v.is_string()) return v.get<std::string>();
  if (v.is_object() && v.contains("content") && v["content"].is_string()) return v["content"].get<std::string>();
  return std::nullopt;
}

// Everything the tokenizer is made of, before the lookup tables are built.
struct Spec {
  std::vector<std::pair<std::string, int32_t>> vocab;
  WordPieceConfig config;
  std::vector<Added> added;
  std::optional<std::pair<std::vector<int32_t>, std::vector<int32_t>>> template_ids;  // prefix, suffix
  std::optional<int32_t> pad_id;
  std::string source;  // for messages
};

// Parses the post-processor into the ids put before and after the words, and the cls/sep names.
Status read_post_processor(const json& pp, Spec& spec) {
  const std::string type = pp.value("type", "");
  std::vector<int32_t> prefix, suffix;
  if (type == "BertProcessing") {
    const json& cls = pp.at("cls");
    const json& sep = pp.at("sep");
    spec.config.cls_token = cls.at(0).get<std::string>();
    spec.config.sep_token = sep.at(0).get<std::string>();
    prefix.push_back(cls.at(1).get<int32_t>());
    suffix.push_back(sep.at(1).get<int32_t>());
  } else if (type == "TemplateProcessing") {
    const json& specials = pp.at("special_tokens");
    bool seen_sequence = false;
    for (const json& item : pp.at("single")) {
      if (item.contains("Sequence")) {
        seen_sequence = true;
        continue;
      }
      const std::string name = item.at("SpecialToken").at("id").get<std::string>();
      auto& ids = seen_sequence ? suffix : prefix;
      if (ids.empty()) (seen_sequence ? spec.config.sep_token : spec.config.cls_token) = name;
      for (const json& id : specials.at(name).at("ids")) ids.push_back(id.get<int32_t>());
    }
    if (!seen_sequence) {
      return error(ErrorCode::kInvalidArgument, spec.source + ": post_processor.single has no Sequence");
    }
  } else {
    return error(ErrorCode::kUnsupported, spec.source + ": post_processor type '" + type +
                                              "' is not supported (BertProcessing or TemplateProcessing)");
  }
  spec.template_ids.emplace(std::move(prefix), std::move(suffix));
  return Status::ok();
}

Result<Spec> read_tokenizer_json(const fs::path& path) {
  auto doc = read_json(path);
  if (!doc) return doc.status();
  Spec spec;
  spec.source = path.string();
  const json& j = *doc;
  try {
    if (!j.is_object()) return error(ErrorCode::kInvalidArgument, spec.source + ": not a JSON object");
    const json& model = j.at("model");
    const std::string type = model.value("type", "WordPiece");
    if (type != "WordPiece") {
      return error(ErrorCode::kUnsupported,
                   spec.source + ": model type '" + type + "' is not supported (only BERT WordPiece)");
    }
    if (!model.contains("vocab") || !model["vocab"].is_object()) {
      return error(ErrorCode::kInvalidArgument, spec.source + ": model.vocab must be an object of token -> id");
    }
    for (const auto& [token, id] : model["vocab"].items()) spec.vocab.emplace_back(token, id.get<int32_t>());
    WordPieceConfig& c = spec.config;
    c.unk_token = model.value("unk_token", c.unk_token);
    c.continuing_subword_prefix = model.value("continuing_subword_prefix", c.continuing_subword_prefix);
    c.max_input_chars_per_word = model.value("max_input_chars_per_word", c.max_input_chars_per_word);

    const json normalizer = j.value("normalizer", json());
    if (normalizer.is_null()) {
      c.clean_text = c.tokenize_chinese_chars = c.lowercase = false;
      c.strip_accents = false;
    } else if (normalizer.value("type", "") == "BertNormalizer") {
      c.clean_text = normalizer.value("clean_text", true);
      c.tokenize_chinese_chars = normalizer.value("handle_chinese_chars", true);
      c.lowercase = normalizer.value("lowercase", true);
      const json strip = normalizer.value("strip_accents", json());
      if (!strip.is_null()) c.strip_accents = strip.get<bool>();
    } else {
      return error(ErrorCode::kUnsupported, spec.source + ": normalizer type '" + normalizer.value("type", "") +
                                                "' is not supported (BertNormalizer or none)");
    }
    const json pre = j.value("pre_tokenizer", json());
    if (!pre.is_object() || pre.value("type", "") != "BertPreTokenizer") {
      return error(ErrorCode::kUnsupported, spec.source + ": pre_tokenizer " + pre.dump() +
                                                " is not supported (BertPreTokenizer)");
    }
    const json pp = j.value("post_processor", json());
    if (pp.is_null()) {
      return error(ErrorCode::kUnsupported, spec.source + ": no post_processor (expected [CLS] ... [SEP])");
    }
    KR_RETURN_IF_ERROR(read_post_processor(pp, spec));
    if (j.contains("padding") && j["padding"].is_object()) {
      const json& padding = j["padding"];
      c.pad_token = padding.value("pad_token", c.pad_token);
      if (padding.contains("pad_id")) spec.pad_id = padding["pad_id"].get<int32_t>();
    }
    for (const json& t : j.value("added_tokens", json::array())) {
      Added a;
      a.content = t.at("content").get<std::string>();
      a.id = t.at("id").get<int32_t>();
      a.normalized = t.value("normalized", !t.value("special", false));
      a.lstrip = t.value("lstrip", false);
      a.rstrip = t.value("rstrip", false);
      a.single_word = t.value("single_word", false);
      spec.added.push_back(std::move(a));
    }
  } catch (const json::exception& e) {
    return error(ErrorCode::kInvalidArgument, spec.source + ": " + e.what());
  }
  return spec;
}

Result<Spec> read_vocab_txt(const fs::path& dir) {
  Spec spec;
  const fs::path vocab_path = dir / "vocab.txt";
  spec.source = vocab_path.string();
  auto text = read_file(vocab_path);
  if (!text) return text.status();
  std::string_view rest = *text;
  int32_t id = 0;
  while (!rest.empty()) {
    const size_t nl = rest.find('\n');
    std::string_view line = rest.substr(0, nl);
    rest = nl == std::string_view::npos ? std::string_view() : rest.substr(nl + 1);
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ' || line.back() == '\t')) {
      line.remove_suffix(1);
    }
    spec.vocab.emplace_back(std::string(line), id++);
  }
  if (spec.vocab.empty()) return error(ErrorCode::kInvalidArgument, spec.source + " is empty");

  WordPieceConfig& c = spec.config;
  for (const char* file : {"tokenizer_config.json", "special_tokens_map.json"}) {
    const fs::path path = dir / file;
    std::error_code ec;
    if (!fs::exists(path, ec)) continue;
    auto doc = read_json(path);
    if (!doc) return doc.status();
    const json& j = *doc;
    if (!j.is_object()) return error(ErrorCode::kInvalidArgument, path.string() + ": not a JSON object");
    try {
      c.lowercase = j.value("do_lower_case", c.lowercase);
      c.tokenize_chinese_chars = j.value("tokenize_chinese_chars", c.tokenize_chinese_chars);
      if (j.contains("strip_accents")) {
        if (j["strip_accents"].is_null()) {
          c.strip_accents.reset();
        } else {
          c.strip_accents = j["strip_accents"].get<bool>();
        }
      }
    } catch (const json::exception& e) {
      return error(ErrorCode::kInvalidArgument, path.string() + ": " + e.what());
    }
    c.unk_token = token_name(j, "unk_token").value_or(c.unk_token);
    c.cls_token = token_name(j, "cls_token").value_or(c.cls_token);
    c.sep_token = token_name(j, "sep_token").value_or(c.sep_token);
    c.pad_token = token_name(j, "pad_token").value_or(c.pad_token);
    c.mask_token = token_name(j, "mask_token").value_or(c.mask_token);
  }
  return spec;
}

}  // namespace

// ---- Building ------------------------------------------------------------------------------

namespace {

// As transformers' BertTokenizerFast: the special tokens in the vocabulary are matched in the raw text.
void add_special_tokens(Spec& spec) {
  const WordPieceConfig& c = spec.config;
  for (const std::string* name : {&c.unk_token, &c.cls_token, &c.sep_token, &c.pad_token, &c.mask_token}) {
    if (name->empty()) continue;
    int32_t id = -1;
    for (const auto& [token, i] : spec.vocab) {
      if (token == *name) id = i;  // the last duplicate, as the vocabulary lookup
    }
    if (id >= 0) spec.added.push_back(Added{*name, id});
  }
}

Status build_state(Spec spec, WordPieceTokenizer::State& st) {
  WordPieceConfig& c = spec.config;
  if (c.max_input_chars_per_word < 0) {
    return error(ErrorCode::kInvalidArgument, spec.source + ": max_input_chars_per_word must be >= 0");
  }
  st.strip_accents = c.strip_accents.value_or(c.lowercase);

  int32_t max_id = -1;
  for (const auto& [token, id] : spec.vocab) {
    if (id < 0) return error(ErrorCode::kInvalidArgument, spec.source + ": negative id for '" + token + "'");
    max_id = std::max(max_id, id);
  }
  for (const Added& a : spec.added) {
    if (a.id < 0) return error(ErrorCode::kInvalidArgument, spec.source + ": negative id for '" + a.content + "'");
    max_id = std::max(max_id, a.id);
  }
  if (max_id >= (1 << 24)) return error(ErrorCode::kInvalidArgument, spec.source + ": ids are too large");
  st.id_to_token.assign(static_cast<size_t>(max_id + 1), std::string());
  std::vector<std::pair<std::string_view, int32_t>> full, continuation;
  full.reserve(spec.vocab.size());
  for (const auto& [token, id] : spec.vocab) {
    st.id_to_token[static_cast<size_t>(id)] = token;
    full.emplace_back(token, id);
    if (std::string_view(token).starts_with(c.continuing_subword_prefix)) {
      continuation.emplace_back(std::string_view(token).substr(c.continuing_subword_prefix.size()), id);
    }
  }
  st.full.build(full);
  st.continuation.build(continuation);
  for (const Added& a : spec.added) {
    std::string& text = st.id_to_token[static_cast<size_t>(a.id)];
    if (text.empty()) text = a.content;
  }

  auto lookup = [&](const std::string& token, const char* what) -> Result<int32_t> {
    const int32_t id = st.full.find(token);
    if (id >= 0) return id;
    for (const Added& a : spec.added) {
      if (a.content == token) return a.id;
    }
    return error(ErrorCode::kInvalidArgument,
                 spec.source + ": the " + what + " token '" + token + "' is not in the vocabulary");
  };
  auto unk = lookup(c.unk_token, "unknown");
  if (!unk) return unk.status();
  auto cls = lookup(c.cls_token, "CLS");
  if (!cls) return cls.status();
  auto sep = lookup(c.sep_token, "SEP");
  if (!sep) return sep.status();
  st.unk = *unk;
  st.cls = *cls;
  st.sep = *sep;
  if (spec.pad_id) {
    st.pad = *spec.pad_id;
  } else {
    auto pad = lookup(c.pad_token, "padding");
    if (!pad) return pad.status();
    st.pad = *pad;
  }
  if (spec.template_ids) {
    st.prefix = spec.template_ids->first;
    st.suffix = spec.template_ids->second;
  } else {
    st.prefix = {st.cls};
    st.suffix = {st.sep};
  }
  st.config = std::move(spec.config);
  st.init_ascii();

  for (Added& a : spec.added) {
    if (a.content.empty()) continue;
    // HF gives an added token that is also in the vocabulary the vocabulary's id.
    if (const int32_t id = st.full.find(a.content); id >= 0) a.id = id;
    if (a.normalized) {
      a.content = st.normalize(a.content);  // HF matches these in the normalized text
      if (a.content.empty()) continue;
      st.normalized_added.tokens.push_back(std::move(a));
    } else {
      st.raw_added.tokens.push_back(std::move(a));
    }
  }
  st.raw_added.finish();
  st.normalized_added.finish();
  return Status::ok();
}

}  // namespace

Result<WordPieceTokenizer> WordPieceTokenizer::load(const std::filesystem::path& model_dir) {
  std::error_code ec;
  Result<Spec> spec = error(ErrorCode::kNotFound, "no tokenizer.json or vocab.txt in " + model_dir.string());
  if (fs::exists(model_dir / "tokenizer.json", ec)) {
    spec = read_tokenizer_json(model_dir / "tokenizer.json");
  } else if (fs::exists(model_dir / "vocab.txt", ec)) {
    spec = read_vocab_txt(model_dir);
    if (spec) add_special_tokens(*spec);
  }
  if (!spec) return spec.status();
  auto st = std::make_shared<State>();
  KR_RETURN_IF_ERROR(build_state(std::move(spec).value(), *st));
  return WordPieceTokenizer(std::move(st));
}

Result<WordPieceTokenizer> WordPieceTokenizer::from_vocab(std::vector<std::string> vocab, WordPieceConfig config) {
  Spec spec;
  spec.source = "WordPiece vocabulary";
  spec.config = std::move(config);
  spec.vocab.reserve(vocab.size());
  for (size_t i = 0; i < vocab.size(); ++i) spec.vocab.emplace_back(std::move(vocab[i]), static_cast<int32_t>(i));
  add_special_tokens(spec);
  auto st = std::make_shared<State>();
  KR_RETURN_IF_ERROR(build_state(std::move(spec), *st));
  return WordPieceTokenizer(std::move(st));
}

// ---- Public methods ------------------------------------------------------------------------

std::vector<int32_t> WordPieceTokenizer::encode(std::string_view utf8, int max_length) const {
  if (!state_) return {};
  const State& st = *state_;
  const size_t specials = st.prefix.size() + st.suffix.size();
  // As HF: a max_length that cannot even hold the special tokens does not truncate.
  const bool truncate = max_length > 0 && static_cast<size_t>(max_length) >= specials;
  const size_t limit = truncate ? static_cast<size_t>(max_length) : std::numeric_limits<size_t>::max();
  std::vector<int32_t> ids;
  ids.reserve(std::min<size_t>(limit, utf8.size() / 4 + 8));
  ids = st.prefix;
  st.words(utf8, ids, truncate ? limit - st.suffix.size() : limit);
  if (truncate && ids.size() > limit - st.suffix.size()) ids.resize(limit - st.suffix.size());
  ids.insert(ids.end(), st.suffix.begin(), st.suffix.end());
  return ids;
}

std::vector<int32_t> WordPieceTokenizer::encode_words(std::string_view utf8) const {
  std::vector<int32_t> ids;
  if (state_) state_->words(utf8, ids, std::numeric_limits<size_t>::max());
  return ids;
}

std::string WordPieceTokenizer::normalize(std::string_view utf8) const {
  return state_ ? state_->normalize(utf8) : std::string(utf8);
}

int32_t WordPieceTokenizer::pad_id() const { return state_ ? state_->pad : -1; }
int32_t WordPieceTokenizer::cls_id() const { return state_ ? state_->cls : -1; }
int32_t WordPieceTokenizer::sep_id() const { return state_ ? state_->sep : -1; }
int32_t WordPieceTokenizer::unk_id() const { return state_ ? state_->unk : -1; }
size_t WordPieceTokenizer::vocab_size() const { return state_ ? state_->id_to_token.size() : 0; }

std::optional<int32_t> WordPieceTokenizer::token_to_id(std::string_view token) const {
  if (!state_) return std::nullopt;
  const int32_t id = state_->full.find(token);
  if (id >= 0) return id;
  for (const auto* set : {&state_->raw_added, &state_->normalized_added}) {
    for (const Added& a : set->tokens) {
      if (a.content == token) return a.id;
    }
  }
  return std::nullopt;
}

std::string_view WordPieceTokenizer::id_to_token(int32_t id) const {
  if (!state_ || id < 0 || static_cast<size_t>(id) >= state_->id_to_token.size()) return {};
  return state_->id_to_token[static_cast<size_t>(id)];
}

const WordPieceConfig& WordPieceTokenizer::config() const {
  static const WordPieceConfig kEmpty;
  return state_ ? state_->config : kEmpty;
}

// ---- HF's Unicode tables -------------------------------------------------------------------

namespace {

// BEGIN GENERATED UNICODE TABLES
// Generated by scripts/golden/gen_wordpiece_golden.py --tables from tokenizers 0.23.3: do not edit.
// clean_text drops these (Cc, Cf, Co in HF's Unicode tables) (137681 code points)
constexpr CpRange kHfControl[] = {
    {0x0, 0x8}, {0xB, 0xC}, {0xE, 0x1F}, {0x7F, 0x9F}, {0xAD, 0xAD}, {0x600, 0x605},
    {0x61C, 0x61C}, {0x6DD, 0x6DD}, {0x70F, 0x70F}, {0x180E, 0x180E}, {0x200B, 0x200F},
    {0x202A, 0x202E}, {0x2060, 0x2064}, {0x2066, 0x206F}, {0xE000, 0xF8FF}, {0xFEFF, 0xFEFF},
    {0xFFF9, 0xFFFB}, {0xFFFD, 0xFFFD}, {0x110BD, 0x110BD}, {0x1BCA0, 0x1BCA3}, {0x1D173, 0x1D17A},
    {0xE0001, 0xE0001}, {0xE0020, 0xE007F}, {0xF0000, 0xFFFFD}, {0x100000, 0x10FFFD},
};
// clean_text turns these into ' ' (21 code points)
constexpr CpRange kHfCleanSpace[] = {
    {0x9, 0xA}, {0xD, 0xD}, {0xA0, 0xA0}, {0x1680, 0x1680}, {0x2000, 0x200A}, {0x2028, 0x2029},
    {0x202F, 0x202F}, {0x205F, 0x205F}, {0x3000, 0x3000},
};
// handle_chinese_chars isolates these (81264 code points)
constexpr CpRange kHfChinese[] = {
    {0x3400, 0x4DBF}, {0x4E00, 0x9FFF}, {0xF900, 0xFAFF}, {0x20000, 0x2A6DF}, {0x2A700, 0x2B81F},
    {0x2B920, 0x2CEAF}, {0x2F800, 0x2FA1F},
};
// strip_accents drops these after NFD (1567 code points)
constexpr CpRange kHfMark[] = {
    {0x300, 0x36F}, {0x483, 0x487}, {0x591, 0x5BD}, {0x5BF, 0x5BF}, {0x5C1, 0x5C2}, {0x5C4, 0x5C5},
    {0x5C7, 0x5C7}, {0x610, 0x61A}, {0x64B, 0x65F}, {0x670, 0x670}, {0x6D6, 0x6DC}, {0x6DF, 0x6E4},
    {0x6E7, 0x6E8}, {0x6EA, 0x6ED}, {0x711, 0x711}, {0x730, 0x74A}, {0x7A6, 0x7B0}, {0x7EB, 0x7F3},
    {0x816, 0x819}, {0x81B, 0x823}, {0x825, 0x827}, {0x829, 0x82D}, {0x859, 0x85B}, {0x8E3, 0x902},
    {0x93A, 0x93A}, {0x93C, 0x93C}, {0x941, 0x948}, {0x94D, 0x94D}, {0x951, 0x957}, {0x962, 0x963},
    {0x981, 0x981}, {0x9BC, 0x9BC}, {0x9C1, 0x9C4}, {0x9CD, 0x9CD}, {0x9E2, 0x9E3}, {0xA01, 0xA02},
    {0xA3C, 0xA3C}, {0xA41, 0xA42}, {0xA47, 0xA48}, {0xA4B, 0xA4D}, {0xA51, 0xA51}, {0xA70, 0xA71},
    {0xA75, 0xA75}, {0xA81, 0xA82}, {0xABC, 0xABC}, {0xAC1, 0xAC5}, {0xAC7, 0xAC8}, {0xACD, 0xACD},
    {0xAE2, 0xAE3}, {0xB01, 0xB01}, {0xB3C, 0xB3C}, {0xB3F, 0xB3F}, {0xB41, 0xB44}, {0xB4D, 0xB4D},
    {0xB56, 0xB56}, {0xB62, 0xB63}, {0xB82, 0xB82}, {0xBC0, 0xBC0}, {0xBCD, 0xBCD}, {0xC00, 0xC00},
    {0xC3E, 0xC40}, {0xC46, 0xC48}, {0xC4A, 0xC4D}, {0xC55, 0xC56}, {0xC62, 0xC63}, {0xC81, 0xC81},
    {0xCBC, 0xCBC}, {0xCBF, 0xCBF}, {0xCC6, 0xCC6}, {0xCCC, 0xCCD}, {0xCE2, 0xCE3}, {0xD01, 0xD01},
    {0xD41, 0xD44}, {0xD4D, 0xD4D}, {0xD62, 0xD63}, {0xDCA, 0xDCA}, {0xDD2, 0xDD4}, {0xDD6, 0xDD6},
    {0xE31, 0xE31}, {0xE34, 0xE3A}, {0xE47, 0xE4E}, {0xEB1, 0xEB1}, {0xEB4, 0xEB9}, {0xEBB, 0xEBC},
    {0xEC8, 0xECD}, {0xF18, 0xF19}, {0xF35, 0xF35}, {0xF37, 0xF37}, {0xF39, 0xF39}, {0xF71, 0xF7E},
    {0xF80, 0xF84}, {0xF86, 0xF87}, {0xF8D, 0xF97}, {0xF99, 0xFBC}, {0xFC6, 0xFC6},
    {0x102D, 0x1030}, {0x1032, 0x1037}, {0x1039, 0x103A}, {0x103D, 0x103E}, {0x1058, 0x1059},
    {0x105E, 0x1060}, {0x1071, 0x1074}, {0x1082, 0x1082}, {0x1085, 0x1086}, {0x108D, 0x108D},
    {0x109D, 0x109D}, {0x135D, 0x135F}, {0x1712, 0x1714}, {0x1732, 0x1734}, {0x1752, 0x1753},
    {0x1772, 0x1773}, {0x17B4, 0x17B5}, {0x17B7, 0x17BD}, {0x17C6, 0x17C6}, {0x17C9, 0x17D3},
    {0x17DD, 0x17DD}, {0x180B, 0x180D}, {0x18A9, 0x18A9}, {0x1920, 0x1922}, {0x1927, 0x1928},
    {0x1932, 0x1932}, {0x1939, 0x193B}, {0x1A17, 0x1A18}, {0x1A1B, 0x1A1B}, {0x1A56, 0x1A56},
    {0x1A58, 0x1A5E}, {0x1A60, 0x1A60}, {0x1A62, 0x1A62}, {0x1A65, 0x1A6C}, {0x1A73, 0x1A7C},
    {0x1A7F, 0x1A7F}, {0x1AB0, 0x1ABD}, {0x1B00, 0x1B03}, {0x1B34, 0x1B34}, {0x1B36, 0x1B3A},
    {0x1B3C, 0x1B3C}, {0x1B42, 0x1B42}, {0x1B6B, 0x1B73}, {0x1B80, 0x1B81}, {0x1BA2, 0x1BA5},
    {0x1BA8, 0x1BA9}, {0x1BAB, 0x1BAD}, {0x1BE6, 0x1BE6}, {0x1BE8, 0x1BE9}, {0x1BED, 0x1BED},
    {0x1BEF, 0x1BF1}, {0x1C2C, 0x1C33}, {0x1C36, 0x1C37}, {0x1CD0, 0x1CD2}, {0x1CD4, 0x1CE0},
    {0x1CE2, 0x1CE8}, {0x1CED, 0x1CED}, {0x1CF4, 0x1CF4}, {0x1CF8, 0x1CF9}, {0x1DC0, 0x1DF5},
    {0x1DFC, 0x1DFF}, {0x20D0, 0x20DC}, {0x20E1, 0x20E1}, {0x20E5, 0x20F0}, {0x2CEF, 0x2CF1},
    {0x2D7F, 0x2D7F}, {0x2DE0, 0x2DFF}, {0x302A, 0x302D}, {0x3099, 0x309A}, {0xA66F, 0xA66F},
    {0xA674, 0xA67D}, {0xA69E, 0xA69F}, {0xA6F0, 0xA6F1}, {0xA802, 0xA802}, {0xA806, 0xA806},
    {0xA80B, 0xA80B}, {0xA825, 0xA826}, {0xA8C4, 0xA8C4}, {0xA8E0, 0xA8F1}, {0xA926, 0xA92D},
    {0xA947, 0xA951}, {0xA980, 0xA982}, {0xA9B3, 0xA9B3}, {0xA9B6, 0xA9B9}, {0xA9BC, 0xA9BC},
    {0xA9E5, 0xA9E5}, {0xAA29, 0xAA2E}, {0xAA31, 0xAA32}, {0xAA35, 0xAA36}, {0xAA43, 0xAA43},
    {0xAA4C, 0xAA4C}, {0xAA7C, 0xAA7C}, {0xAAB0, 0xAAB0}, {0xAAB2, 0xAAB4}, {0xAAB7, 0xAAB8},
    {0xAABE, 0xAABF}, {0xAAC1, 0xAAC1}, {0xAAEC, 0xAAED}, {0xAAF6, 0xAAF6}, {0xABE5, 0xABE5},
    {0xABE8, 0xABE8}, {0xABED, 0xABED}, {0xFB1E, 0xFB1E}, {0xFE00, 0xFE0F}, {0xFE20, 0xFE2F},
    {0x101FD, 0x101FD}, {0x102E0, 0x102E0}, {0x10376, 0x1037A}, {0x10A01, 0x10A03},
    {0x10A05, 0x10A06}, {0x10A0C, 0x10A0F}, {0x10A38, 0x10A3A}, {0x10A3F, 0x10A3F},
    {0x10AE5, 0x10AE6}, {0x11001, 0x11001}, {0x11038, 0x11046}, {0x1107F, 0x11081},
    {0x110B3, 0x110B6}, {0x110B9, 0x110BA}, {0x11100, 0x11102}, {0x11127, 0x1112B},
    {0x1112D, 0x11134}, {0x11173, 0x11173}, {0x11180, 0x11181}, {0x111B6, 0x111BE},
    {0x111CA, 0x111CC}, {0x1122F, 0x11231}, {0x11234, 0x11234}, {0x11236, 0x11237},
    {0x112DF, 0x112DF}, {0x112E3, 0x112EA}, {0x11300, 0x11301}, {0x1133C, 0x1133C},
    {0x11340, 0x11340}, {0x11366, 0x1136C}, {0x11370, 0x11374}, {0x114B3, 0x114B8},
    {0x114BA, 0x114BA}, {0x114BF, 0x114C0}, {0x114C2, 0x114C3}, {0x115B2, 0x115B5},
    {0x115BC, 0x115BD}, {0x115BF, 0x115C0}, {0x115DC, 0x115DD}, {0x11633, 0x1163A},
    {0x1163D, 0x1163D}, {0x1163F, 0x11640}, {0x116AB, 0x116AB}, {0x116AD, 0x116AD},
    {0x116B0, 0x116B5}, {0x116B7, 0x116B7}, {0x1171D, 0x1171F}, {0x11722, 0x11725},
    {0x11727, 0x1172B}, {0x16AF0, 0x16AF4}, {0x16B30, 0x16B36}, {0x16F8F, 0x16F92},
    {0x1BC9D, 0x1BC9E}, {0x1D167, 0x1D169}, {0x1D17B, 0x1D182}, {0x1D185, 0x1D18B},
    {0x1D1AA, 0x1D1AD}, {0x1D242, 0x1D244}, {0x1DA00, 0x1DA36}, {0x1DA3B, 0x1DA6C},
    {0x1DA75, 0x1DA75}, {0x1DA84, 0x1DA84}, {0x1DA9B, 0x1DA9F}, {0x1DAA1, 0x1DAAF},
    {0x1E8D0, 0x1E8D6}, {0xE0100, 0xE01EF},
};
// BertPreTokenizer splits on and drops these (char::is_whitespace) (25 code points)
constexpr CpRange kHfSplitSpace[] = {
    {0x9, 0xD}, {0x20, 0x20}, {0x85, 0x85}, {0xA0, 0xA0}, {0x1680, 0x1680}, {0x2000, 0x200A},
    {0x2028, 0x2029}, {0x202F, 0x202F}, {0x205F, 0x205F}, {0x3000, 0x3000},
};
// BertPreTokenizer isolates these (ASCII punctuation, Unicode P*) (726 code points)
constexpr CpRange kHfPunct[] = {
    {0x21, 0x2F}, {0x3A, 0x40}, {0x5B, 0x60}, {0x7B, 0x7E}, {0xA1, 0xA1}, {0xA7, 0xA7},
    {0xAB, 0xAB}, {0xB6, 0xB7}, {0xBB, 0xBB}, {0xBF, 0xBF}, {0x37E, 0x37E}, {0x387, 0x387},
    {0x55A, 0x55F}, {0x589, 0x58A}, {0x5BE, 0x5BE}, {0x5C0, 0x5C0}, {0x5C3, 0x5C3}, {0x5C6, 0x5C6},
    {0x5F3, 0x5F4}, {0x609, 0x60A}, {0x60C, 0x60D}, {0x61B, 0x61B}, {0x61E, 0x61F}, {0x66A, 0x66D},
    {0x6D4, 0x6D4}, {0x700, 0x70D}, {0x7F7, 0x7F9}, {0x830, 0x83E}, {0x85E, 0x85E}, {0x964, 0x965},
    {0x970, 0x970}, {0xAF0, 0xAF0}, {0xDF4, 0xDF4}, {0xE4F, 0xE4F}, {0xE5A, 0xE5B}, {0xF04, 0xF12},
    {0xF14, 0xF14}, {0xF3A, 0xF3D}, {0xF85, 0xF85}, {0xFD0, 0xFD4}, {0xFD9, 0xFDA},
    {0x104A, 0x104F}, {0x10FB, 0x10FB}, {0x1360, 0x1368}, {0x1400, 0x1400}, {0x166D, 0x166E},
    {0x169B, 0x169C}, {0x16EB, 0x16ED}, {0x1735, 0x1736}, {0x17D4, 0x17D6}, {0x17D8, 0x17DA},
    {0x1800, 0x180A}, {0x1944, 0x1945}, {0x1A1E, 0x1A1F}, {0x1AA0, 0x1AA6}, {0x1AA8, 0x1AAD},
    {0x1B5A, 0x1B60}, {0x1BFC, 0x1BFF}, {0x1C3B, 0x1C3F}, {0x1C7E, 0x1C7F}, {0x1CC0, 0x1CC7},
    {0x1CD3, 0x1CD3}, {0x2010, 0x2027}, {0x2030, 0x2043}, {0x2045, 0x2051}, {0x2053, 0x205E},
    {0x207D, 0x207E}, {0x208D, 0x208E}, {0x2308, 0x230B}, {0x2329, 0x232A}, {0x2768, 0x2775},
    {0x27C5, 0x27C6}, {0x27E6, 0x27EF}, {0x2983, 0x2998}, {0x29D8, 0x29DB}, {0x29FC, 0x29FD},
    {0x2CF9, 0x2CFC}, {0x2CFE, 0x2CFF}, {0x2D70, 0x2D70}, {0x2E00, 0x2E2E}, {0x2E30, 0x2E42},
    {0x3001, 0x3003}, {0x3008, 0x3011}, {0x3014, 0x301F}, {0x3030, 0x3030}, {0x303D, 0x303D},
    {0x30A0, 0x30A0}, {0x30FB, 0x30FB}, {0xA4FE, 0xA4FF}, {0xA60D, 0xA60F}, {0xA673, 0xA673},
    {0xA67E, 0xA67E}, {0xA6F2, 0xA6F7}, {0xA874, 0xA877}, {0xA8CE, 0xA8CF}, {0xA8F8, 0xA8FA},
    {0xA8FC, 0xA8FC}, {0xA92E, 0xA92F}, {0xA95F, 0xA95F}, {0xA9C1, 0xA9CD}, {0xA9DE, 0xA9DF},
    {0xAA5C, 0xAA5F}, {0xAADE, 0xAADF}, {0xAAF0, 0xAAF1}, {0xABEB, 0xABEB}, {0xFD3E, 0xFD3F},
    {0xFE10, 0xFE19}, {0xFE30, 0xFE52}, {0xFE54, 0xFE61}, {0xFE63, 0xFE63}, {0xFE68, 0xFE68},
    {0xFE6A, 0xFE6B}, {0xFF01, 0xFF03}, {0xFF05, 0xFF0A}, {0xFF0C, 0xFF0F}, {0xFF1A, 0xFF1B},
    {0xFF1F, 0xFF20}, {0xFF3B, 0xFF3D}, {0xFF3F, 0xFF3F}, {0xFF5B, 0xFF5B}, {0xFF5D, 0xFF5D},
    {0xFF5F, 0xFF65}, {0x10100, 0x10102}, {0x1039F, 0x1039F}, {0x103D0, 0x103D0},
    {0x1056F, 0x1056F}, {0x10857, 0x10857}, {0x1091F, 0x1091F}, {0x1093F, 0x1093F},
    {0x10A50, 0x10A58}, {0x10A7F, 0x10A7F}, {0x10AF0, 0x10AF6}, {0x10B39, 0x10B3F},
    {0x10B99, 0x10B9C}, {0x11047, 0x1104D}, {0x110BB, 0x110BC}, {0x110BE, 0x110C1},
    {0x11140, 0x11143}, {0x11174, 0x11175}, {0x111C5, 0x111C9}, {0x111CD, 0x111CD},
    {0x111DB, 0x111DB}, {0x111DD, 0x111DF}, {0x11238, 0x1123D}, {0x112A9, 0x112A9},
    {0x114C6, 0x114C6}, {0x115C1, 0x115D7}, {0x11641, 0x11643}, {0x1173C, 0x1173E},
    {0x12470, 0x12474}, {0x16A6E, 0x16A6F}, {0x16AF5, 0x16AF5}, {0x16B37, 0x16B3B},
    {0x16B44, 0x16B44}, {0x1BC9F, 0x1BC9F}, {0x1DA87, 0x1DA8B},
};
// lowercase: code points first..last (every stride-th) map to cp + delta (185 runs)
constexpr LowerRun kHfLower[] = {
    {0x41, 0x5A, 1, 32}, {0xC0, 0xD6, 1, 32}, {0xD8, 0xDE, 1, 32}, {0x100, 0x12E, 2, 1},
    {0x132, 0x136, 2, 1}, {0x139, 0x147, 2, 1}, {0x14A, 0x176, 2, 1}, {0x178, 0x178, 1, -121},
    {0x179, 0x17D, 2, 1}, {0x181, 0x181, 1, 210}, {0x182, 0x184, 2, 1}, {0x186, 0x186, 1, 206},
    {0x187, 0x187, 1, 1}, {0x189, 0x18A, 1, 205}, {0x18B, 0x18B, 1, 1}, {0x18E, 0x18E, 1, 79},
    {0x18F, 0x18F, 1, 202}, {0x190, 0x190, 1, 203}, {0x191, 0x191, 1, 1}, {0x193, 0x193, 1, 205},
    {0x194, 0x194, 1, 207}, {0x196, 0x196, 1, 211}, {0x197, 0x197, 1, 209}, {0x198, 0x198, 1, 1},
    {0x19C, 0x19C, 1, 211}, {0x19D, 0x19D, 1, 213}, {0x19F, 0x19F, 1, 214}, {0x1A0, 0x1A4, 2, 1},
    {0x1A6, 0x1A6, 1, 218}, {0x1A7, 0x1A7, 1, 1}, {0x1A9, 0x1A9, 1, 218}, {0x1AC, 0x1AC, 1, 1},
    {0x1AE, 0x1AE, 1, 218}, {0x1AF, 0x1AF, 1, 1}, {0x1B1, 0x1B2, 1, 217}, {0x1B3, 0x1B5, 2, 1},
    {0x1B7, 0x1B7, 1, 219}, {0x1B8, 0x1B8, 1, 1}, {0x1BC, 0x1BC, 1, 1}, {0x1C4, 0x1C4, 1, 2},
    {0x1C5, 0x1C5, 1, 1}, {0x1C7, 0x1C7, 1, 2}, {0x1C8, 0x1C8, 1, 1}, {0x1CA, 0x1CA, 1, 2},
    {0x1CB, 0x1DB, 2, 1}, {0x1DE, 0x1EE, 2, 1}, {0x1F1, 0x1F1, 1, 2}, {0x1F2, 0x1F4, 2, 1},
    {0x1F6, 0x1F6, 1, -97}, {0x1F7, 0x1F7, 1, -56}, {0x1F8, 0x21E, 2, 1}, {0x220, 0x220, 1, -130},
    {0x222, 0x232, 2, 1}, {0x23A, 0x23A, 1, 10795}, {0x23B, 0x23B, 1, 1}, {0x23D, 0x23D, 1, -163},
    {0x23E, 0x23E, 1, 10792}, {0x241, 0x241, 1, 1}, {0x243, 0x243, 1, -195}, {0x244, 0x244, 1, 69},
    {0x245, 0x245, 1, 71}, {0x246, 0x24E, 2, 1}, {0x370, 0x372, 2, 1}, {0x376, 0x376, 1, 1},
    {0x37F, 0x37F, 1, 116}, {0x386, 0x386, 1, 38}, {0x388, 0x38A, 1, 37}, {0x38C, 0x38C, 1, 64},
    {0x38E, 0x38F, 1, 63}, {0x391, 0x3A1, 1, 32}, {0x3A3, 0x3AB, 1, 32}, {0x3CF, 0x3CF, 1, 8},
    {0x3D8, 0x3EE, 2, 1}, {0x3F4, 0x3F4, 1, -60}, {0x3F7, 0x3F7, 1, 1}, {0x3F9, 0x3F9, 1, -7},
    {0x3FA, 0x3FA, 1, 1}, {0x3FD, 0x3FF, 1, -130}, {0x400, 0x40F, 1, 80}, {0x410, 0x42F, 1, 32},
    {0x460, 0x480, 2, 1}, {0x48A, 0x4BE, 2, 1}, {0x4C0, 0x4C0, 1, 15}, {0x4C1, 0x4CD, 2, 1},
    {0x4D0, 0x52E, 2, 1}, {0x531, 0x556, 1, 48}, {0x10A0, 0x10C5, 1, 7264},
    {0x10C7, 0x10C7, 1, 7264}, {0x10CD, 0x10CD, 1, 7264}, {0x13A0, 0x13EF, 1, 38864},
    {0x13F0, 0x13F5, 1, 8}, {0x1C89, 0x1C89, 1, 1}, {0x1C90, 0x1CBA, 1, -3008},
    {0x1CBD, 0x1CBF, 1, -3008}, {0x1E00, 0x1E94, 2, 1}, {0x1E9E, 0x1E9E, 1, -7615},
    {0x1EA0, 0x1EFE, 2, 1}, {0x1F08, 0x1F0F, 1, -8}, {0x1F18, 0x1F1D, 1, -8},
    {0x1F28, 0x1F2F, 1, -8}, {0x1F38, 0x1F3F, 1, -8}, {0x1F48, 0x1F4D, 1, -8},
    {0x1F59, 0x1F5F, 2, -8}, {0x1F68, 0x1F6F, 1, -8}, {0x1F88, 0x1F8F, 1, -8},
    {0x1F98, 0x1F9F, 1, -8}, {0x1FA8, 0x1FAF, 1, -8}, {0x1FB8, 0x1FB9, 1, -8},
    {0x1FBA, 0x1FBB, 1, -74}, {0x1FBC, 0x1FBC, 1, -9}, {0x1FC8, 0x1FCB, 1, -86},
    {0x1FCC, 0x1FCC, 1, -9}, {0x1FD8, 0x1FD9, 1, -8}, {0x1FDA, 0x1FDB, 1, -100},
    {0x1FE8, 0x1FE9, 1, -8}, {0x1FEA, 0x1FEB, 1, -112}, {0x1FEC, 0x1FEC, 1, -7},
    {0x1FF8, 0x1FF9, 1, -128}, {0x1FFA, 0x1FFB, 1, -126}, {0x1FFC, 0x1FFC, 1, -9},
    {0x2126, 0x2126, 1, -7517}, {0x212A, 0x212A, 1, -8383}, {0x212B, 0x212B, 1, -8262},
    {0x2132, 0x2132, 1, 28}, {0x2160, 0x216F, 1, 16}, {0x2183, 0x2183, 1, 1},
    {0x24B6, 0x24CF, 1, 26}, {0x2C00, 0x2C2F, 1, 48}, {0x2C60, 0x2C60, 1, 1},
    {0x2C62, 0x2C62, 1, -10743}, {0x2C63, 0x2C63, 1, -3814}, {0x2C64, 0x2C64, 1, -10727},
    {0x2C67, 0x2C6B, 2, 1}, {0x2C6D, 0x2C6D, 1, -10780}, {0x2C6E, 0x2C6E, 1, -10749},
    {0x2C6F, 0x2C6F, 1, -10783}, {0x2C70, 0x2C70, 1, -10782}, {0x2C72, 0x2C72, 1, 1},
    {0x2C75, 0x2C75, 1, 1}, {0x2C7E, 0x2C7F, 1, -10815}, {0x2C80, 0x2CE2, 2, 1},
    {0x2CEB, 0x2CED, 2, 1}, {0x2CF2, 0x2CF2, 1, 1}, {0xA640, 0xA66C, 2, 1}, {0xA680, 0xA69A, 2, 1},
    {0xA722, 0xA72E, 2, 1}, {0xA732, 0xA76E, 2, 1}, {0xA779, 0xA77B, 2, 1},
    {0xA77D, 0xA77D, 1, -35332}, {0xA77E, 0xA786, 2, 1}, {0xA78B, 0xA78B, 1, 1},
    {0xA78D, 0xA78D, 1, -42280}, {0xA790, 0xA792, 2, 1}, {0xA796, 0xA7A8, 2, 1},
    {0xA7AA, 0xA7AA, 1, -42308}, {0xA7AB, 0xA7AB, 1, -42319}, {0xA7AC, 0xA7AC, 1, -42315},
    {0xA7AD, 0xA7AD, 1, -42305}, {0xA7AE, 0xA7AE, 1, -42308}, {0xA7B0, 0xA7B0, 1, -42258},
    {0xA7B1, 0xA7B1, 1, -42282}, {0xA7B2, 0xA7B2, 1, -42261}, {0xA7B3, 0xA7B3, 1, 928},
    {0xA7B4, 0xA7C2, 2, 1}, {0xA7C4, 0xA7C4, 1, -48}, {0xA7C5, 0xA7C5, 1, -42307},
    {0xA7C6, 0xA7C6, 1, -35384}, {0xA7C7, 0xA7C9, 2, 1}, {0xA7CB, 0xA7CB, 1, -42343},
    {0xA7CC, 0xA7DA, 2, 1}, {0xA7DC, 0xA7DC, 1, -42561}, {0xA7F5, 0xA7F5, 1, 1},
    {0xFF21, 0xFF3A, 1, 32}, {0x10400, 0x10427, 1, 40}, {0x104B0, 0x104D3, 1, 40},
    {0x10570, 0x1057A, 1, 39}, {0x1057C, 0x1058A, 1, 39}, {0x1058C, 0x10592, 1, 39},
    {0x10594, 0x10595, 1, 39}, {0x10C80, 0x10CB2, 1, 64}, {0x10D50, 0x10D65, 1, 32},
    {0x118A0, 0x118BF, 1, 32}, {0x16E40, 0x16E5F, 1, 32}, {0x16EA0, 0x16EB8, 1, 27},
    {0x1E900, 0x1E921, 1, 34},
};
// lowercase mappings to more than one code point
constexpr MultiMapping kHfLowerMulti[] = {
    {0x130, {0x69, 0x307}},
};
// strip_accents leaves these alone although utf8proc decomposes them (HF's NFD is older)
constexpr char32_t kHfNoDecomposition[] = {
    0x11938,
};
// END GENERATED UNICODE TABLES

bool in_ranges(std::span<const CpRange> ranges, char32_t cp) {
  size_t lo = 0, hi = ranges.size();  // first range with first > cp
  while (lo < hi) {
    const size_t mid = (lo + hi) / 2;
    if (ranges[mid].first <= cp) {
      lo = mid + 1;
    } else {
      hi = mid;
    }
  }
  return lo > 0 && cp <= ranges[lo - 1].last;
}

const LowerRun* find_lower_run(char32_t cp) {
  const std::span<const LowerRun> runs(kHfLower);
  size_t lo = 0, hi = runs.size();
  while (lo < hi) {
    const size_t mid = (lo + hi) / 2;
    if (runs[mid].first <= cp) {
      lo = mid + 1;
    } else {
      hi = mid;
    }
  }
  if (lo == 0) return nullptr;
  const LowerRun& r = runs[lo - 1];
  if (cp > r.last || (cp - r.first) % static_cast<char32_t>(r.stride) != 0) return nullptr;
  return &r;
}

bool decomposes(char32_t cp) {
  utf8proc_int32_t buf[16];
  int boundclass = 0;
  const auto n = utf8proc_decompose_char(static_cast<utf8proc_int32_t>(cp), buf, 16, UTF8PROC_DECOMPOSE, &boundclass);
  if (n == 1 && buf[0] == static_cast<utf8proc_int32_t>(cp)) return false;
  return std::find(std::begin(kHfNoDecomposition), std::end(kHfNoDecomposition), cp) == std::end(kHfNoDecomposition);
}

// All the range tables merged into disjoint intervals carrying their flags (kHasLower marks a
// whole lowercase run, stride or not: hf_lowercase has the last word).
struct FlagInterval {
  char32_t first, last;
  uint8_t flags;
};

const std::vector<FlagInterval>& flag_intervals() {
  static const auto intervals = [] {
    const std::pair<std::span<const CpRange>, uint8_t> tables[] = {
        {kHfControl, kControl}, {kHfCleanSpace, kCleanSpace}, {kHfChinese, kChinese},
        {kHfMark, kMark},       {kHfSplitSpace, kSplitSpace}, {kHfPunct, kPunct},
    };
    std::vector<CpRange> lower;
    for (const LowerRun& r : kHfLower) lower.push_back({r.first, r.last});
    for (const MultiMapping& m : kHfLowerMulti) lower.push_back({m.cp, m.cp});
    std::sort(lower.begin(), lower.end(), [](const CpRange& x, const CpRange& y) { return x.first < y.first; });
    std::vector<char32_t> cuts = {0, 0x110000};
    for (const auto& [ranges, flag] : tables) {
      for (const CpRange& r : ranges) cuts.insert(cuts.end(), {r.first, r.last + 1});
    }
    for (const CpRange& r : lower) cuts.insert(cuts.end(), {r.first, r.last + 1});
    std::sort(cuts.begin(), cuts.end());
    cuts.erase(std::unique(cuts.begin(), cuts.end()), cuts.end());
    std::vector<FlagInterval> out;
    for (size_t i = 0; i + 1 < cuts.size(); ++i) {
      uint8_t flags = 0;
      for (const auto& [ranges, flag] : tables) {
        if (in_ranges(ranges, cuts[i])) flags |= flag;
      }
      if (in_ranges(lower, cuts[i])) flags |= kHasLower;
      if (!out.empty() && out.back().flags == flags) {
        out.back().last = cuts[i + 1] - 1;
      } else {
        out.push_back({cuts[i], cuts[i + 1] - 1, flags});
      }
    }
    return out;
  }();
  return intervals;
}

uint8_t compute_flags(char32_t cp) {
  const auto& intervals = flag_intervals();
  size_t lo = 0, hi = intervals.size();
  while (lo < hi) {
    const size_t mid = (lo + hi) / 2;
    if (intervals[mid].first <= cp) {
      lo = mid + 1;
    } else {
      hi = mid;
    }
  }
  uint8_t flags = lo > 0 && cp <= intervals[lo - 1].last ? intervals[lo - 1].flags : 0;
  if (cp >= 0x80 && decomposes(cp)) flags |= kDecomposes;
  return flags;
}

int hf_lowercase(char32_t cp, char32_t* out) {
  for (const MultiMapping& m : kHfLowerMulti) {
    if (m.cp != cp) continue;
    int n = 0;
    for (char32_t c : m.out) {
      if (c != 0) out[n++] = c;
    }
    return n;
  }
  const LowerRun* r = find_lower_run(cp);
  out[0] = r != nullptr ? static_cast<char32_t>(static_cast<int64_t>(cp) + r->delta) : cp;
  return 1;
}

}  // namespace

}  // namespace kr::embed
