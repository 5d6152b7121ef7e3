// Where the tests find real embedding models: scripts/fetch_models.sh puts them in the model
// cache (KAITO_RAG_MODEL_CACHE, default ~/.cache/kaito-rag/models); CI runs it before the tests.
#pragma once

#include <cstdlib>
#include <filesystem>
#include <string>

namespace kr::embed::testing {

inline std::filesystem::path model_cache() {
  if (const char* dir = std::getenv("KAITO_RAG_MODEL_CACHE"); dir != nullptr && *dir != '\0') return dir;
  const char* home = std::getenv("HOME");
  return std::filesystem::path(home != nullptr ? home : "/root") / ".cache" / "kaito-rag" / "models";
}

inline std::filesystem::path minilm_dir() { return model_cache() / "all-MiniLM-L6-v2"; }

}  // namespace kr::embed::testing

// Skips the test when the model is missing, saying how to get it.
#define KR_REQUIRE_MINILM()                                                                        \
  do {                                                                                             \
    if (!std::filesystem::exists(::kr::embed::testing::minilm_dir() / "model.safetensors")) {      \
      GTEST_SKIP() << "all-MiniLM-L6-v2 not found in " << ::kr::embed::testing::model_cache()      \
                   << "; run scripts/fetch_models.sh";                                             \
    }                                                                                              \
  } while (0)
