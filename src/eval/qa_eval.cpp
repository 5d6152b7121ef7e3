#include "eval/qa_eval.h"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>

#include "core/text.h"
#include "service/engine.h"

namespace kr::eval {
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

const std::string kCollection = "qa";

// docqa-dev README "Scoring": phrases that count as a decline.
constexpr const char* kDeclinePhrases[] = {
    "not_in_docs",   "cannot find",         "can't find",       "could not find", "couldn't find",
    "not found in the", "not in the documents", "not mentioned", "not specified",  "does not specify",
    "doesn't specify",  "no information",   "don't know",       "do not know"};

std::string replace_all(std::string text, std::string_view from, std::string_view to) {
  for (size_t at = text.find(from); at != std::string::npos; at = text.find(from, at + to.size())) {
    text.replace(at, from.size(), to);
  }
  return text;
}

std::string normalize(const std::string& text) {
  std::string s = text;
  for (const char* dash : {"\u2010", "\u2011", "\u2012", "\u2013", "\u2014", "\u2212"}) s = replace_all(s, dash, "-");
  for (const char* quote : {"\u2018", "\u2019"}) s = replace_all(s, quote, "'");
  for (const char* quote : {"\u201c", "\u201d"}) s = replace_all(s, quote, "\"");
  s = replace_all(s, "\u00a0", " ");
  auto digit = [&s](size_t k) { return k < s.size() && std::isdigit(static_cast<unsigned char>(s[k])); };
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    // 6,082 -> 6082: a comma between a digit and exactly three digits.
    if (c == ',' && i > 0 && digit(i - 1) && digit(i + 1) && digit(i + 2) && digit(i + 3) && !digit(i + 4)) continue;
    if (std::isspace(c)) {
      if (!out.empty() && out.back() != ' ') out += ' ';
      continue;
    }
    out += static_cast<char>(std::tolower(c));
  }
  return std::string(trim(out));
}

std::string base_name(const std::string& path) { return fs::path(path).filename().string(); }

int json_int(const json& j, const char* name) {
  auto it = j.find(name);
  return it != j.end() && it->is_number_integer() ? it->get<int>() : 0;
}

std::string json_string(const json& j, const char* name, const std::string& fallback = "") {
  auto it = j.find(name);
  return it != j.end() && it->is_string() ? it->get<std::string>() : fallback;
}

void add_score(QaScores& s, const QaOutcome& o) {
  if (o.negative) {
    ++s.negatives;
    s.declined += o.declined;
    return;
  }
  ++s.answerable;
  s.answered += !o.declined;
  s.answer_correct += o.answer_correct;
  s.citation_correct += o.citation_correct;
  s.both_correct += o.answer_correct && o.citation_correct;
}

}  // namespace

Result<std::vector<QaQuestion>> load_questions(const std::string& path) {
  std::ifstream in(path);
  if (!in) return error(ErrorCode::kInvalidArgument, "cannot read " + path);
  std::vector<QaQuestion> out;
  const std::string set = fs::path(path).stem().string();
  std::string line;
  for (size_t number = 1; std::getline(in, line); ++number) {
    if (trim(line).empty()) continue;
    const json j = json::parse(line, nullptr, false);
    const std::string where = path + ":" + std::to_string(number) + ": ";
    if (j.is_discarded() || !j.is_object()) return error(ErrorCode::kInvalidArgument, where + "not a JSON object");
    QaQuestion q;
    q.id = json_string(j, "id");
    q.question = json_string(j, "question");
    q.file = json_string(j, "file");
    q.page = json_int(j, "page");
    q.type = json_string(j, "type");
    q.split = json_string(j, "split", "dev");
    q.set = set;
    if (auto a = j.find("answers"); a != j.end() && a->is_array()) {
      for (const auto& v : *a) {
        if (v.is_string()) q.answers.push_back(v.get<std::string>());
      }
    }
    if (q.id.empty() || q.question.empty() || q.answers.empty()) {
      return error(ErrorCode::kInvalidArgument, where + "needs id, question and answers");
    }
    if (!q.negative() && q.file.empty()) return error(ErrorCode::kInvalidArgument, where + "an answerable question needs a file");
    out.push_back(std::move(q));
  }
  if (out.empty()) return error(ErrorCode::kInvalidArgument, path + " holds no questions");
  return out;
}

bool answer_matches(const std::string& answer, const std::vector<std::string>& expected) {
  const std::string a = normalize(answer);
  return std::any_of(expected.begin(), expected.end(), [&a](const std::string& e) {
    const std::string n = normalize(e);
    return !n.empty() && a.find(n) != std::string::npos;
  });
}

bool is_decline(const std::string& answer) {
  const std::string a = normalize(answer);
  return std::any_of(std::begin(kDeclinePhrases), std::end(kDeclinePhrases),
                     [&a](const char* phrase) { return a.find(phrase) != std::string::npos; });
}

Result<QaReport> evaluate_qa(const Config& config, const std::vector<QaQuestion>& questions, const QaOptions& options) {
  std::string dir = options.index_dir;
  if (dir.empty()) {
    std::string pattern = (fs::temp_directory_path() / "kaito-rag-qa-XXXXXX").string();
    if (!::mkdtemp(pattern.data())) return error(ErrorCode::kUnavailable, "cannot create a scratch directory");
    dir = pattern;
  }
  struct Cleanup {
    std::string dir;
    bool owned;
    ~Cleanup() {
      std::error_code ec;
      if (owned) fs::remove_all(dir, ec);
    }
  } cleanup{dir, options.index_dir.empty()};
  Config scratch = config;
  scratch.data_dir = dir;
  scratch.parse_isolation = "inline";  // our own files, one at a time
  service::Engine engine(scratch, "");
  KR_RETURN_IF_ERROR(engine.open());

  std::set<std::string> files;
  for (const auto& q : questions) {
    if (!q.file.empty()) files.insert(q.file);
  }
  QaReport report;
  report.documents = files.size();
  auto existing = engine.get_collection(kCollection);
  const auto started = std::chrono::steady_clock::now();
  if (!existing || existing->documents != static_cast<int64_t>(files.size())) {
    size_t done = 0;
    for (const std::string& file : files) {
      service::IngestInput input;
      input.path = (fs::path(options.corpus_dir) / file).string();
      input.name = base_name(file);
      input.source = file;
      if (!fs::exists(input.path)) return error(ErrorCode::kInvalidArgument, "question file not found: " + input.path);
      auto result = engine.ingest(kCollection, std::move(input), true);
      if (!result) return result.status();
      if (result->outcome == service::IngestOutcome::kFailed) {
        return error(ErrorCode::kInvalidArgument, file + " did not ingest: " + result->error.message());
      }
      if (options.progress) options.progress("ingest", ++done, files.size());
    }
  }
  auto info = engine.get_collection(kCollection);
  if (!info) return info.status();
  report.chunks = static_cast<size_t>(info->chunks);
  report.ingest_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();

  const auto answering = std::chrono::steady_clock::now();
  for (size_t i = 0; i < questions.size(); ++i) {
    const QaQuestion& q = questions[i];
    const auto asked = std::chrono::steady_clock::now();
    service::AskRequest request;
    request.question = q.question;
    request.top_k = options.top_k;
    auto answer = engine.ask(kCollection, request);
    if (!answer) return error(answer.status().code(), "question " + q.id + ": " + answer.status().message());
    if (!answer->model.empty()) report.model = answer->model;
    QaOutcome o;
    o.id = q.id;
    o.set = q.set;
    o.split = q.split;
    o.type = q.type;
    o.negative = q.negative();
    o.answer = answer->text;
    o.mode = answer->extractive ? "extractive" : "generative";
    o.prompt_style = answer->prompt_style;
    if (answer->grounding) o.grounding_action = answer->grounding->action;
    for (const auto& source : answer->sources) {
      const auto& hit = source.hit;
      o.sources.push_back(hit.document_name + (hit.page_start > 0 ? "#" + std::to_string(hit.page_start) : "") +
                          ": " + hit.text);
    }
    o.declined = is_decline(answer->text);
    o.has_answerability = answer->answerability.has_value();
    if (answer->answerability) o.answerability = *answer->answerability;
    for (const auto& source : answer->sources) {
      if (!source.cited) continue;
      const auto& hit = source.hit;
      o.cited.push_back(hit.document_name + (hit.page_start > 0 ? "#" + std::to_string(hit.page_start) : ""));
      const bool same_file = hit.document_name == base_name(q.file);
      const bool same_page = q.page == 0 || (hit.page_start <= q.page && q.page <= std::max(hit.page_end, hit.page_start));
      o.citation_correct = o.citation_correct || (!o.negative && same_file && same_page);
    }
    o.answer_correct = !o.negative && !o.declined && answer_matches(answer->text, q.answers);
    o.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - asked).count();
    add_score(report.by_group["all"], o);
    add_score(report.by_group[q.set + "/" + q.split], o);
    report.outcomes.push_back(std::move(o));
    if (options.progress) options.progress("answer", i + 1, questions.size());
  }
  report.answer_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - answering).count();
  report.mode = config.search_mode;
  return report;
}

}  // namespace kr::eval
