// The WordPiece tokenizer with the real all-MiniLM-L6-v2 vocabulary (scripts/fetch_models.sh; the
// fuzz runner refuses to start without it): any bytes give [CLS] ... [SEP], ids inside the
// vocabulary, truncation obeyed, and the word tokens equal to the untruncated encoding.
#include <cstdlib>
#include <filesystem>

#include "embed/wordpiece.h"
#include "fuzz_common.h"

namespace {

const kr::embed::WordPieceTokenizer& tokenizer() {
  static const kr::embed::WordPieceTokenizer tok = [] {
    const char* cache = std::getenv("KAITO_RAG_MODEL_CACHE");
    const char* home = std::getenv("HOME");
    const std::filesystem::path dir = std::filesystem::path(cache && *cache ? cache
                                                            : std::string(home ? home : "/root") + "/.cache/kaito-rag/models") /
                                      "all-MiniLM-L6-v2";
    auto loaded = kr::embed::WordPieceTokenizer::load(dir);
    if (!loaded) {
      std::fprintf(stderr, "cannot load the tokenizer from %s: %s (run scripts/fetch_models.sh)\n", dir.c_str(),
                   loaded.status().message().c_str());
      std::exit(1);
    }
    return *loaded;
  }();
  return tok;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const auto& tok = tokenizer();
  const int max_length = data[0] % 64;  // 0 and 1 mean no truncation
  const std::string_view text = kr::fuzz::as_view(data + 1, size - 1);
  const std::vector<int32_t> ids = tok.encode(text, max_length);
  const std::vector<int32_t> words = tok.encode_words(text);
  KR_FUZZ_CHECK(ids.size() >= 2);
  KR_FUZZ_CHECK(ids.front() == tok.cls_id() && ids.back() == tok.sep_id());
  for (int32_t id : ids) KR_FUZZ_CHECK(id >= 0 && static_cast<size_t>(id) < tok.vocab_size());
  if (max_length >= 2) KR_FUZZ_CHECK(ids.size() <= static_cast<size_t>(max_length));
  // The kept word tokens are a prefix of the untruncated ones.
  KR_FUZZ_CHECK(ids.size() - 2 <= words.size());
  KR_FUZZ_CHECK(std::equal(ids.begin() + 1, ids.end() - 1, words.begin()));
  if (max_length < 2) KR_FUZZ_CHECK(ids.size() - 2 == words.size());
  KR_FUZZ_CHECK(kr::fuzz::valid_utf8(tok.normalize(text)));
  return 0;
}
