// Grounding check (see grounding.h).
#include "generate/grounding.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <regex>
#include <set>
#include <unordered_set>

#include "core/text.h"
#include "generate/answerability.h"
#include "generate/sentences.h"

namespace kr::generate {

namespace {

constexpr size_t kMaxEncodedSourceSentences = 128;  // bounds the encoder's work per answer

// Logistic weights over SupportFeatures (support = 1), fitted by bench/calibrate_grounding.py on the
// calibration part of tests/fixtures/eval/grounding-pubmedqa.jsonl only; the bias is shifted so that
// the threshold chosen there (<= 10 % of supported sentences flagged) is 0.5, the default
// grounding_threshold. BENCHMARKS.md "Grounding check" has the runs.
struct Weights {
  double bias, coverage, similarity, missing_numbers, negation_mismatch;
};
constexpr Weights kEncoded{-3.970, 2.189, 2.597, -4.020, -2.641};  // all-MiniLM-L6-v2
constexpr Weights kLexical{-2.770, 3.562, 0.0, -4.017, -2.718};

// A citation group: "[" digits, separators (, ; space - –) "]".
const std::regex& citation_group() {
  static const std::regex re(R"(\[[0-9][0-9,; \-\u2013]*\])");
  return re;
}

std::string without_citations(std::string_view text) {
  std::string out = std::regex_replace(std::string(text), std::regex(R"(\s*\[[0-9][0-9,; \-\u2013]*\])"), "");
  return std::string(trim(out));
}

// Numbers written in `text`, thousands separators and a trailing period dropped ("1,000." -> "1000").
std::set<std::string> numbers_of(std::string_view text) {
  std::set<std::string> out;
  size_t i = 0;
  while (i < text.size()) {
    if (!std::isdigit(static_cast<unsigned char>(text[i]))) {
      ++i;
      continue;
    }
    std::string number;
    while (i < text.size() && (std::isdigit(static_cast<unsigned char>(text[i])) ||
                               ((text[i] == ',' || text[i] == '.') && i + 1 < text.size() &&
                                std::isdigit(static_cast<unsigned char>(text[i + 1]))))) {
      if (text[i] != ',') number += text[i];
      ++i;
    }
    out.insert(number);
  }
  return out;
}

bool negated(std::string_view text) {
  static const std::unordered_set<std::string> cues = {"not", "no", "never", "none", "nothing", "neither",
                                                       "nor", "cannot", "without", "isn't", "aren't", "wasn't",
                                                       "weren't", "don't", "doesn't", "didn't", "won't", "can't"};
  std::string word;
  auto is_cue = [&]() {
    std::string w = word;
    for (char& c : w) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    // Curly apostrophes as straight ones.
    for (size_t p = w.find("\u2019"); p != std::string::npos; p = w.find("\u2019")) w.replace(p, 3, "'");
    word.clear();
    return cues.count(w) > 0 || (w.size() > 3 && w.compare(w.size() - 3, 3, "n't") == 0);
  };
  for (char c : text) {
    if (std::isalpha(static_cast<unsigned char>(c)) || c == '\'' || (static_cast<unsigned char>(c) >= 0x80)) {
      word += c;
    } else if (!word.empty() && is_cue()) {
      return true;
    }
  }
  return !word.empty() && is_cue();
}

// "I don't know based on the provided documents." and the decline sentence claim nothing.
bool says_not_found(std::string_view sentence) {
  std::string lower(sentence);
  for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  for (const char* phrase : {"don't know based on", "do not know based on", "could not find this in",
                             "not in the provided documents", "sources do not contain", "documents do not contain"}) {
    if (lower.find(phrase) != std::string::npos) return true;
  }
  return false;
}

double logistic(double x) { return 1.0 / (1.0 + std::exp(-x)); }

double dot(const std::vector<float>& a, const std::vector<float>& b) {
  double sum = 0;
  for (size_t i = 0; i < a.size() && i < b.size(); ++i) sum += static_cast<double>(a[i]) * b[i];
  return sum;
}

// A source split for scoring: its stems, numbers and sentences (with their embeddings when encoded).
struct SourceView {
  std::set<std::string> stems;
  std::set<std::string> numbers;
  std::vector<std::string> sentences;
  std::vector<bool> sentence_negated;
  std::vector<std::set<std::string>> sentence_stems;
  std::vector<size_t> vector_row;  // per sentence: row in the encoded batch, or npos
};

SupportFeatures features_against(const QuestionTerms& terms,
                                 const std::set<std::string>& claim_numbers, bool claim_negated,
                                 const std::vector<float>* claim_vector, const SourceView& source,
                                 const std::vector<std::vector<float>>& vectors) {
  SupportFeatures f;
  f.coverage = terms.total > 0 ? term_coverage(terms, source.stems) : 0;
  for (const std::string& n : claim_numbers) {
    if (!source.numbers.count(n)) f.missing_numbers = 1;
  }
  // The closest source sentence: by embedding when there is one, else by term coverage.
  double best = -1;
  size_t closest = source.sentences.size();
  if (claim_vector) f.similarity = 0;
  for (size_t i = 0; i < source.sentences.size(); ++i) {
    double closeness = term_coverage(terms, source.sentence_stems[i]);
    if (claim_vector && source.vector_row[i] != std::string::npos) {
      const double sim = std::max(0.0, dot(*claim_vector, vectors[source.vector_row[i]]));
      f.similarity = std::max(f.similarity, sim);
      closeness = sim;
    }
    if (closeness > best) {
      best = closeness;
      closest = i;
    }
  }
  if (closest < source.sentences.size() && source.sentence_negated[closest] != claim_negated) f.negation_mismatch = 1;
  return f;
}

}  // namespace

std::optional<GroundingPolicy> parse_grounding_policy(std::string_view name) {
  if (name == "flag") return GroundingPolicy::kFlag;
  if (name == "remove") return GroundingPolicy::kRemove;
  if (name == "replace") return GroundingPolicy::kReplace;
  return std::nullopt;
}

std::string_view grounding_policy_name(GroundingPolicy policy) {
  switch (policy) {
    case GroundingPolicy::kFlag: return "flag";
    case GroundingPolicy::kRemove: return "remove";
    case GroundingPolicy::kReplace: return "replace";
  }
  return "flag";
}

std::vector<AnswerSentence> split_answer(std::string_view answer) {
  // "… leave. [2] Next …": split after the citations that follow the end punctuation.
  static const std::regex trailing(R"(([.!?])((?:\s*\[[0-9][0-9,; \-\u2013]*\])+)\s+)");
  std::vector<AnswerSentence> out;
  for (const std::string_view piece : split_sentences(answer)) {
    std::string rest(piece);
    std::smatch m;
    while (std::regex_search(rest, m, trailing) && m.suffix().length() > 0) {
      const size_t end = static_cast<size_t>(m.position(0) + m.length(1) + m.length(2));
      out.push_back({std::string(trim(rest.substr(0, end))), {}});
      rest = std::string(trim(rest.substr(end)));
    }
    if (!trim(rest).empty()) out.push_back({std::string(trim(rest)), {}});
  }
  // A piece that is only citations ("[1]" on its own line) belongs to the sentence before.
  std::vector<AnswerSentence> merged;
  for (auto& s : out) {
    if (!merged.empty() && without_citations(s.text).empty()) {
      merged.back().text += " " + s.text;
    } else {
      merged.push_back(std::move(s));
    }
  }
  for (auto& s : merged) s.cited = extract_citations(s.text);
  return merged;
}

std::string drop_unknown_citations(std::string_view answer, int source_count) {
  std::string out;
  const std::string text(answer);
  size_t last = 0;
  for (auto it = std::sregex_iterator(text.begin(), text.end(), citation_group()); it != std::sregex_iterator(); ++it) {
    const std::smatch& m = *it;
    const size_t at = static_cast<size_t>(m.position(0));
    std::vector<int> kept;
    for (int n : extract_citations(m.str(0))) {
      if (n >= 1 && n <= source_count) kept.push_back(n);
    }
    std::string before = text.substr(last, at - last);
    const std::vector<int> all = extract_citations(m.str(0));
    // "[2019]" is a year, not a citation (extract_citations reads numbers up to 999 only).
    const bool not_citation = all.empty() && std::regex_search(m.str(0), std::regex("[0-9]{4}"));
    if (not_citation || (!all.empty() && kept.size() == all.size())) {  // as written
      out += before + m.str(0);
    } else if (kept.empty()) {
      while (!before.empty() && (before.back() == ' ' || before.back() == '\t')) before.pop_back();
      out += before;
    } else {
      std::string group = "[";
      for (size_t i = 0; i < kept.size(); ++i) group += (i ? ", " : "") + std::to_string(kept[i]);
      out += before + group + "]";
    }
    last = at + static_cast<size_t>(m.length(0));
  }
  out += text.substr(last);
  return out;
}

double support_score(const SupportFeatures& f) {
  const bool encoded = f.similarity >= 0;
  const Weights& w = encoded ? kEncoded : kLexical;
  double x = w.bias + w.coverage * f.coverage + w.missing_numbers * f.missing_numbers +
             w.negation_mismatch * f.negation_mismatch;
  if (encoded) x += w.similarity * f.similarity;
  return logistic(x);
}

GroundingReport check_grounding(std::string_view answer, const std::vector<Passage>& sources,
                                const SentenceEncoder& encoder, double threshold) {
  GroundingReport report;
  report.threshold = threshold;
  const std::vector<AnswerSentence> sentences = split_answer(answer);

  std::vector<SourceView> views(sources.size());
  std::vector<std::string> to_encode;
  for (size_t s = 0; s < sources.size(); ++s) {
    const std::string text = strip_markup(sources[s].text);
    SourceView& v = views[s];
    v.stems = content_stems(text + "\n" + sources[s].document_name);
    v.numbers = numbers_of(text);
    for (const std::string_view sentence : split_sentences(text)) {
      v.sentences.emplace_back(sentence);
      v.sentence_negated.push_back(negated(sentence));
      v.sentence_stems.push_back(content_stems(sentence));
      const bool room = encoder && to_encode.size() < kMaxEncodedSourceSentences;
      v.vector_row.push_back(room ? to_encode.size() : std::string::npos);
      if (room) to_encode.emplace_back(sentence);
    }
  }
  std::vector<std::string> claims;
  for (const auto& s : sentences) claims.push_back(without_citations(s.text));

  // One encoder call for the claims and the source sentences; a failure leaves the check lexical.
  std::vector<std::vector<float>> vectors;
  bool encoded = false;
  if (encoder && !claims.empty() && !to_encode.empty()) {
    std::vector<std::string> batch = to_encode;
    batch.insert(batch.end(), claims.begin(), claims.end());
    auto out = encoder(batch, false);
    encoded = out && out->size() == batch.size();
    if (encoded) vectors = std::move(*out);
  }

  for (size_t i = 0; i < sentences.size(); ++i) {
    GroundedSentence g;
    g.text = sentences[i].text;
    g.cited = sentences[i].cited;
    const QuestionTerms terms = question_terms(claims[i]);
    if (terms.total > 0 && !says_not_found(claims[i]) && sources.empty()) {
      g.supported = false;  // a claim with no sources at all
      g.score = 0;
    } else if (terms.total > 0 && !says_not_found(claims[i])) {
      std::vector<int> candidates;
      for (int n : g.cited) {
        if (n >= 1 && n <= static_cast<int>(sources.size())) candidates.push_back(n);
      }
      if (candidates.empty()) {
        for (int n = 1; n <= static_cast<int>(sources.size()); ++n) candidates.push_back(n);
      }
      const std::set<std::string> numbers = numbers_of(claims[i]);
      const bool claim_negated = negated(claims[i]);
      const std::vector<float>* claim_vector = encoded ? &vectors[to_encode.size() + i] : nullptr;
      g.score = -1;
      for (int n : candidates) {
        const SupportFeatures f =
            features_against(terms, numbers, claim_negated, claim_vector, views[n - 1], vectors);
        const double score = support_score(f);
        if (score > g.score) {
          g.score = score;
          g.source = n;
          g.features = f;
        }
      }
      g.supported = g.score >= threshold;
      if (!g.supported) g.source = 0;
    }
    (g.supported ? report.supported : report.unsupported)++;
    report.sentences.push_back(std::move(g));
  }
  return report;
}

std::string supported_text(const GroundingReport& report) {
  std::string out;
  for (const auto& s : report.sentences) {
    if (!s.supported) continue;
    if (!out.empty()) out += " ";
    out += s.text;
  }
  return out;
}

}  // namespace kr::generate
