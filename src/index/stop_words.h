// Built-in stop-word lists (internal to the index module).
#pragma once

#include <string_view>
#include <vector>

namespace kr::index {

// The stop words for a libstemmer language name or alias ("english", "en", "eng",
// "porter", ...); empty when we ship no list for it. Words are lower-case UTF-8 as
// written in the language (accents included); the analyzer normalizes them.
std::vector<std::string_view> builtin_stop_words(std::string_view language);

}  // namespace kr::index
