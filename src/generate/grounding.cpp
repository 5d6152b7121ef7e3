// Grounding check (see grounding.h).
#include "generate/grounding.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <regex>
#include <set>

#include "core/text.h"
#include "generate/answerability.h"
#include "generate/evidence.h"
#include "generate/grounding_alignment.h"
#include "generate/sentences.h"

namespace kr::generate {

namespace {

constexpr size_t kMaxEncodedSourceSentences = 128;  // bounds the encoder's work per answer
constexpr double kUnmatchedCap = 3;                 // three missing words are as bad as it gets

// Logistic weights over SupportFeatures (support = 1), fitted by bench/calibrate_grounding.py on the
// calibration part of tests/fixtures/eval/grounding-pubmedqa.jsonl only; the bias is shifted so that
// the threshold chosen there (<= 10 % of supported sentences flagged) is 0.5, the default
// grounding_threshold. BENCHMARKS.md "Grounding check" has the runs.
struct Weights {
  double bias, coverage, similarity, missing_numbers, negation_mismatch, unmatched;
};
constexpr Weights kEncoded{-3.208, 1.819, 1.712, -4.789, -4.637, -8.881};  // all-MiniLM-L6-v2
constexpr Weights kLexical{-2.091, 2.091, 0.0, -4.513, -3.491, -8.482};

// A citation group: "[" digits, separators (, ; space - –) "]".
const std::regex& citation_group() {
  static const std::regex re(R"(\[[0-9][0-9,; \-\u2013]*\])");
  return re;
}

std::string without_citations(std::string_view text) {
  std::string out = std::regex_replace(std::string(text), std::regex(R"(\s*\[[0-9][0-9,; \-\u2013]*\])"), "");
  return std::string(trim(out));
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
  std::vector<std::set<std::string>> sentence_negated;  // negated_stems of each sentence
  std::vector<std::set<std::string>> sentence_stems;
  std::vector<size_t> vector_row;  // per sentence: row in the encoded batch, or npos
};

// What a claim is compared with: its terms, numbers, negation, embedding and content words.
struct Claim {
  std::string text;
  QuestionTerms terms;
  std::set<std::string> numbers;
  std::set<std::string> stems;
  std::set<std::string> negated;  // negated_stems
  const std::vector<float>* vector = nullptr;  // null without an encoder
  std::vector<ClaimWord> words;
};

// Features of a claim against one source, but `unmatched`: that needs word vectors, which are
// encoded once for all claims, so this returns the source sentences it is to be measured on
// (the closest by terms and the closest by embedding).
SupportFeatures features_against(const Claim& claim, const SourceView& source,
                                 const std::vector<std::vector<float>>& vectors, std::vector<size_t>& closest) {
  SupportFeatures f;
  f.coverage = claim.terms.total > 0 ? term_coverage(claim.terms, source.stems) : 0;
  for (const std::string& n : claim.numbers) {
    if (!source.numbers.count(n)) f.missing_numbers = 1;
  }
  // The closest source sentence: by embedding when there is one, else by term coverage.
  double best = -1, best_terms = -1;
  size_t nearest = source.sentences.size(), by_terms = nearest;
  if (claim.vector) f.similarity = 0;
  for (size_t i = 0; i < source.sentences.size(); ++i) {
    const double coverage = term_coverage(claim.terms, source.sentence_stems[i]);
    double closeness = coverage;
    if (claim.vector && source.vector_row[i] != std::string::npos) {
      const double sim = std::max(0.0, dot(*claim.vector, vectors[source.vector_row[i]]));
      f.similarity = std::max(f.similarity, sim);
      closeness = sim;
    }
    if (closeness > best) {
      best = closeness;
      nearest = i;
    }
    if (coverage > best_terms) {
      best_terms = coverage;
      by_terms = i;
    }
  }
  closest.clear();
  if (by_terms < source.sentences.size()) closest.push_back(by_terms);
  if (nearest != by_terms && nearest < source.sentences.size()) closest.push_back(nearest);
  // A term both state, negated in only one of them ("did not reach" vs "reached"); with two
  // closest sentences, both must disagree.
  if (!closest.empty()) f.negation_mismatch = 1;
  for (size_t k : closest) {
    bool mismatch = false;
    for (const std::string& stem : claim.stems) {
      const bool both = source.sentence_stems[k].count(stem) > 0;
      if (both && claim.negated.count(stem) != source.sentence_negated[k].count(stem)) mismatch = true;
    }
    if (!mismatch) f.negation_mismatch = 0;
  }
  return f;
}

// One source a sentence is checked against, with the source sentences `unmatched` is measured on.
struct Candidate {
  int source = 0;
  SupportFeatures features;
  std::vector<size_t> closest;
};

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
             w.negation_mismatch * f.negation_mismatch + w.unmatched * f.unmatched;
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
    v.numbers = numbers_in(text);
    for (const std::string_view sentence : split_sentences(text)) {
      v.sentences.emplace_back(sentence);
      v.sentence_negated.push_back(negated_stems(sentence));
      v.sentence_stems.push_back(content_stems(sentence));
      const bool room = encoder && to_encode.size() < kMaxEncodedSourceSentences;
      v.vector_row.push_back(room ? to_encode.size() : std::string::npos);
      if (room) to_encode.emplace_back(sentence);
    }
  }
  std::vector<Claim> claims(sentences.size());
  for (size_t i = 0; i < sentences.size(); ++i) {
    Claim& c = claims[i];
    c.text = strip_attribution(without_citations(sentences[i].text));
    c.terms = question_terms(c.text);
    c.numbers = numbers_in(c.text);
    for (const auto& [stem, weight] : c.terms.weights) c.stems.insert(stem);
    c.negated = negated_stems(c.text);
    c.words = claim_words(c.text, c.terms);
  }

  // One encoder call for the claims and the source sentences; a failure leaves the check lexical.
  std::vector<std::vector<float>> vectors;
  bool encoded = false;
  if (encoder && !claims.empty() && !to_encode.empty()) {
    std::vector<std::string> batch = to_encode;
    for (const Claim& c : claims) batch.push_back(c.text);
    auto out = encoder(batch, false);
    encoded = out && out->size() == batch.size();
    if (encoded) vectors = std::move(*out);
  }

  // Lexical and sentence features of every (sentence, candidate source); the words that
  // `unmatched` may have to align are gathered for one more encoder call.
  std::vector<std::vector<Candidate>> candidates(sentences.size());
  WordVectors words;
  for (size_t i = 0; i < sentences.size(); ++i) {
    Claim& c = claims[i];
    if (c.terms.total <= 0 || says_not_found(c.text) || sources.empty()) continue;
    c.vector = encoded ? &vectors[to_encode.size() + i] : nullptr;
    std::vector<int> numbers;
    for (int n : sentences[i].cited) {
      if (n >= 1 && n <= static_cast<int>(sources.size())) numbers.push_back(n);
    }
    if (numbers.empty()) {
      for (int n = 1; n <= static_cast<int>(sources.size()); ++n) numbers.push_back(n);
    }
    for (int n : numbers) {
      Candidate candidate{n, {}, {}};
      candidate.features = features_against(c, views[n - 1], vectors, candidate.closest);
      if (encoded) {
        for (size_t k : candidate.closest) {
          const auto& stems = views[n - 1].sentence_stems[k];
          bool missing = false;
          for (const ClaimWord& w : c.words) {
            if (w.alignable && !stems.count(w.stem)) {
              words.request(w.word);
              missing = true;
            }
          }
          if (missing) {
            for (const std::string& w : content_words(views[n - 1].sentences[k])) words.request(w);
          }
        }
      }
      candidates[i].push_back(std::move(candidate));
    }
  }
  if (encoded) words.encode(encoder);

  for (size_t i = 0; i < sentences.size(); ++i) {
    GroundedSentence g;
    g.text = sentences[i].text;
    g.cited = sentences[i].cited;
    const Claim& c = claims[i];
    if (c.terms.total > 0 && !says_not_found(c.text) && sources.empty()) {
      g.supported = false;  // a claim with no sources at all
      g.score = 0;
    } else if (!candidates[i].empty()) {
      g.score = -1;
      for (Candidate& candidate : candidates[i]) {
        const SourceView& view = views[candidate.source - 1];
        double missing = kUnmatchedCap, synonyms = 0;
        for (size_t k : candidate.closest) {
          const std::vector<std::string> sentence_words = content_words(view.sentences[k]);
          missing = std::min(missing, unmatched_weight(c.words, view.sentence_stems[k], sentence_words, words));
          synonyms = std::max(synonyms, aligned_weight(c.words, view.stems, sentence_words, words));
        }
        candidate.features.unmatched = std::min(missing, kUnmatchedCap) / kUnmatchedCap;
        // Words the encoder aligns are covered: a faithful paraphrase is not short of terms.
        if (c.terms.total > 0) {
          candidate.features.coverage = std::min(1.0, candidate.features.coverage + synonyms / c.terms.total);
        }
        const double score = support_score(candidate.features);
        if (score > g.score) {
          g.score = score;
          g.source = candidate.source;
          g.features = candidate.features;
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
