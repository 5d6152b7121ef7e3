// The BERT WordPiece tokenizer, token-for-token identical to Hugging Face `tokenizers`
// (BertNormalizer -> BertPreTokenizer -> WordPiece -> [CLS] ... [SEP]), checked against golden
// files the Python package wrote (scripts/golden/gen_wordpiece_golden.py).
//
//   auto tok = WordPieceTokenizer::load("models/all-MiniLM-L6-v2");
//   std::vector<int32_t> ids = tok->encode("Hello, world!", 256);  // 101 7592 1010 2088 999 102
//
// Thread-safety: a loaded tokenizer is immutable; every const method may be called concurrently.
// Copies are cheap and share the vocabulary.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace kr::embed {

// The settings of Hugging Face's BertNormalizer and WordPiece model, and the special tokens.
struct WordPieceConfig {
  bool lowercase = true;
  std::optional<bool> strip_accents;  // unset = same as `lowercase` (as in HF)
  bool tokenize_chinese_chars = true;  // CJK ideographs become words of their own
  bool clean_text = true;              // drop control characters and U+FFFD, whitespace -> ' '
  int max_input_chars_per_word = 100;  // longer words (in code points) become [UNK]
  std::string unk_token = "[UNK]";
  std::string cls_token = "[CLS]";
  std::string sep_token = "[SEP]";
  std::string pad_token = "[PAD]";
  std::string mask_token = "[MASK]";   // optional: matched in the input only if in the vocabulary
  std::string continuing_subword_prefix = "##";
};

class WordPieceTokenizer {
 public:
  // An empty tokenizer: encode() returns nothing and the ids are -1. Use load() or from_vocab().
  WordPieceTokenizer() = default;

  // Reads a model folder: tokenizer.json when present (normalizer, pre-tokenizer, WordPiece model,
  // added tokens, post-processor), else vocab.txt with the optional tokenizer_config.json
  // (do_lower_case, strip_accents, tokenize_chinese_chars, special tokens) and
  // special_tokens_map.json. kNotFound when neither file exists, kInvalidArgument for a malformed
  // file and kUnsupported for a tokenizer that is not a BERT WordPiece one; messages name the file.
  static Result<WordPieceTokenizer> load(const std::filesystem::path& model_dir);
  // `vocab[i]` has id i (a later duplicate wins, as in HF). The config's special tokens present
  // in the vocabulary are matched in the input; unk, cls, sep and pad must be present.
  static Result<WordPieceTokenizer> from_vocab(std::vector<std::string> vocab, WordPieceConfig config);

  // [CLS] tokens... [SEP]. With max_length >= 2 the word tokens are cut from the end so the total
  // is <= max_length ([SEP] stays); max_length <= 0 (and, as in HF, 1) means no truncation.
  // Stops tokenizing once max_length is reached, so a long text costs only what is kept.
  // As in HF, special tokens written in the text ("[SEP]", "[MASK]") become those tokens.
  // Invalid UTF-8 never fails: each bad byte reads as U+FFFD (which clean_text drops).
  std::vector<int32_t> encode(std::string_view utf8, int max_length) const;
  // The word tokens alone: no special tokens, no truncation (for counting and prefixes).
  std::vector<int32_t> encode_words(std::string_view utf8) const;
  // The text after BertNormalizer, as HF's `normalizer.normalize_str` (for debugging and tests).
  std::string normalize(std::string_view utf8) const;

  int32_t pad_id() const;
  int32_t cls_id() const;
  int32_t sep_id() const;
  int32_t unk_id() const;
  // One past the largest id: every id encode() returns is < vocab_size().
  size_t vocab_size() const;
  std::optional<int32_t> token_to_id(std::string_view token) const;
  std::string_view id_to_token(int32_t id) const;  // "" for an unknown id
  const WordPieceConfig& config() const;  // as loaded (strip_accents may be unset)

  struct State;

 private:
  explicit WordPieceTokenizer(std::shared_ptr<const State> state) : state_(std::move(state)) {}
  std::shared_ptr<const State> state_;
};

}  // namespace kr::embed
