// Sentences and content terms of passage text (see sentences.cpp).
#pragma once

#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace kr::generate {

// Case-folded words of >= 3 code points minus stop words, cut to 5 code points (a prefix
// stands in for a stemmer): "configuration" and "configure" share "confi".
std::set<std::string> content_stems(std::string_view text);

// Sentences end at newlines, and at . ! ? (plus closing quotes) followed by whitespace and an
// upper-case letter, a digit or a non-ASCII character; abbreviations ("e.g.", "Dr.") do not end one.
std::vector<std::string_view> split_sentences(std::string_view text);

// Text without markup a parser left in: XML/HTML tags, character entities, Markdown emphasis
// and heading marks; whitespace collapsed. "<capital>Ottawa</capital>" -> "Ottawa".
std::string strip_markup(std::string_view text);

}  // namespace kr::generate
