// kaito-rag ingest | search | ask | collections | delete-collection | documents | check | __parse-worker
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <mutex>
#include <nlohmann/json.hpp>
#include <thread>

#include "api/json_mapping.h"
#include "api/originals.h"
#include "cli/commands.h"
#include "cli/parse_worker_faults.h"
#include "cli/password_input.h"
#include "core/log.h"
#include "core/text.h"
#include "service/engine.h"
#include "service/parse_runner.h"
#include "store/original_store.h"

namespace kr::cli {
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

// Opens the data directory for a one-shot command.
// Commands that only read open without taking the data directory's lock, so
// they work next to a running server.
Result<std::unique_ptr<service::Engine>> open_engine(const Config& config, const std::string& self,
                                                     service::Engine::Access access) {
  auto engine = std::make_unique<service::Engine>(config, self);
  KR_RETURN_IF_ERROR(engine->open(access));
  return engine;
}

int fail(const Status& status) {
  std::cerr << "kaito-rag: " << status.message() << "\n";
  return 1;
}

// Files under each path, hidden entries skipped, sorted for a stable order.
Result<std::vector<std::string>> collect_files(const std::vector<std::string>& paths) {
  std::vector<std::string> files;
  for (const auto& path : paths) {
    std::error_code ec;
    const auto status = fs::status(path, ec);
    if (ec || !fs::exists(status)) return error(ErrorCode::kNotFound, "no such file or folder: " + path);
    if (fs::is_regular_file(status)) {
      files.push_back(path);
      continue;
    }
    for (auto it = fs::recursive_directory_iterator(path, fs::directory_options::skip_permission_denied, ec);
         it != fs::recursive_directory_iterator(); it.increment(ec)) {
      if (ec) break;
      const std::string name = it->path().filename().string();
      if (!name.empty() && name[0] == '.') {
        if (it->is_directory()) it.disable_recursion_pending();
        continue;
      }
      if (it->is_regular_file()) files.push_back(it->path().string());
    }
    if (ec) return error(ErrorCode::kUnavailable, "cannot read folder " + path + ": " + ec.message());
  }
  std::sort(files.begin(), files.end());
  return files;
}

// One status line, redrawn on a terminal, printed every few seconds otherwise.
class Progress {
 public:
  explicit Progress(size_t total) : total_(total), tty_(isatty(STDERR_FILENO)), start_(clock::now()), last_(start_) {}
  void update(size_t done, size_t failed, const std::string& current) {
    const auto now = clock::now();
    if (done != total_ && now - last_ < (tty_ ? std::chrono::milliseconds(100) : std::chrono::seconds(5))) return;
    last_ = now;
    const double seconds = std::chrono::duration<double>(now - start_).count();
    const double rate = seconds > 0 ? static_cast<double>(done) / seconds : 0;
    const int width = 24;
    const int filled = total_ ? static_cast<int>(width * done / total_) : width;
    std::ostringstream line;
    line << "[" << std::string(static_cast<size_t>(filled), '#') << std::string(static_cast<size_t>(width - filled), '.')
         << "] " << done << "/" << total_ << " files, " << std::fixed << std::setprecision(1) << rate << " files/s";
    if (failed) line << ", " << failed << " failed";
    if (tty_) {
      std::string name = current.size() > 40 ? "…" + current.substr(current.size() - 39) : current;
      std::cerr << "\r\033[K" << line.str() << "  " << name << std::flush;
    } else {
      std::cerr << line.str() << "\n";
    }
  }
  void finish() {
    if (tty_) std::cerr << "\n";
  }
  double seconds() const { return std::chrono::duration<double>(clock::now() - start_).count(); }

 private:
  using clock = std::chrono::steady_clock;
  size_t total_;
  bool tty_;
  clock::time_point start_, last_;
};

Result<MetadataFilter> parse_filter(const std::string& text) {
  if (text.empty()) return MetadataFilter{};
  json value = json::parse(text, nullptr, false);
  if (value.is_discarded()) return error(ErrorCode::kInvalidArgument, "--filter is not valid JSON");
  return api::filter_from_json(value);
}

std::string pages_label(int start, int end) {
  if (start <= 0) return "";
  return start == end ? ", page " + std::to_string(start) : ", pages " + std::to_string(start) + "-" + std::to_string(end);
}

// Keeps the files of [begin, end) that are now documents, content-addressed like uploads, so that
// "Open original" and the web UI's PDF pages work for CLI-ingested files too. Returns how many
// could not be kept (the documents are searchable either way).
size_t keep_originals(const service::Engine& engine, const std::string& collection, const std::vector<std::string>& files,
                      const std::vector<service::IngestResult>& results, size_t begin, size_t end) {
  const auto store = api::original_store(engine);
  size_t not_kept = 0;
  for (size_t i = begin; i < end; ++i) {
    if (results[i].outcome == service::IngestOutcome::kFailed) continue;
    std::ifstream in(files[i], std::ios::binary);
    std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    Status kept = !in.is_open() || in.bad() ? error(ErrorCode::kUnavailable, "cannot read the file again")
                                            : store->keep(collection, sha256_hex(bytes), bytes);
    if (!kept) {
      log::warn("cannot keep the original file", {{"file", files[i]}, {"error", kept.message()}});
      ++not_kept;
    }
  }
  return not_kept;
}

}  // namespace

std::string self_executable(const char* argv0) {
  std::error_code ec;
  const auto path = fs::read_symlink("/proc/self/exe", ec);
  return ec ? std::string(argv0) : path.string();
}

int ingest(const Config& config, const std::string& self, const IngestArgs& args) {
  Metadata metadata;
  if (!args.metadata_json.empty()) {
    json value = json::parse(args.metadata_json, nullptr, false);
    if (value.is_discarded()) return fail(error(ErrorCode::kInvalidArgument, "--metadata is not valid JSON"));
    auto parsed = api::metadata_from_json(value);
    if (!parsed) return fail(parsed.status());
    metadata = *parsed;
  }
  if (!service::valid_collection_name(args.collection)) {
    return fail(error(ErrorCode::kInvalidArgument, "invalid collection name '" + args.collection + "'"));
  }
  auto files = collect_files(args.paths);
  if (!files) return fail(files.status());
  // For every file of this run, as an upload's password is for its files; never stored or logged.
  std::string password;
  if (!args.password_file.empty() || args.ask_password) {
    auto given = args.ask_password ? prompt_password("Password for the protected files: ")
                                   : read_password_file(args.password_file);
    if (!given) return fail(given.status());
    password = std::move(*given);
  }
  auto engine = open_engine(config, self, service::Engine::Access::kReadWrite);
  if (!engine) return fail(engine.status());

  std::vector<service::IngestResult> results(files->size());
  std::atomic<size_t> next{0}, done{0}, failed{0}, not_kept{0};
  std::mutex progress_mutex;
  Status fatal;
  Progress progress(files->size());
  const int jobs = args.jobs > 0 ? args.jobs : std::max(1u, std::thread::hardware_concurrency());
  // Each worker hands the pipeline a group of files at a time: their documents are committed
  // in batches (one embedding call, one transaction) while other workers parse the next group.
  const size_t group = static_cast<size_t>(std::max(1, config.ingest_batch_documents));
  auto worker = [&] {
    for (size_t begin = next.fetch_add(group); begin < files->size(); begin = next.fetch_add(group)) {
      const size_t end = std::min(files->size(), begin + group);
      std::vector<service::IngestInput> inputs;
      for (size_t i = begin; i < end; ++i) {
        service::IngestInput input;
        input.path = (*files)[i];
        input.source = fs::absolute((*files)[i]).lexically_normal().string();
        input.metadata = metadata;
        input.password = password;
        inputs.push_back(std::move(input));
      }
      auto ingested = (*engine)->ingest_many(
          args.collection, std::move(inputs), /*create_collection=*/true,
          [&](size_t index, const Result<service::IngestResult>& result) {
            std::lock_guard lock(progress_mutex);
            if (!result) {
              if (fatal.is_ok()) fatal = result.status();
              return;
            }
            if (result->outcome == service::IngestOutcome::kFailed) failed++;
            results[begin + index] = *result;
            progress.update(++done, failed, (*files)[begin + index]);
          });
      {
        std::lock_guard lock(progress_mutex);
        if (!ingested && fatal.is_ok()) fatal = ingested.status();
        if (!fatal.is_ok()) {
          next = files->size();
          return;
        }
      }
      // The group's results are final (their callbacks ran under the lock above).
      if (args.keep_originals) not_kept += keep_originals(**engine, args.collection, *files, results, begin, end);
    }
  };
  std::vector<std::thread> threads;
  const size_t groups = (files->size() + group - 1) / group;
  for (size_t t = 0; t < std::min<size_t>(static_cast<size_t>(jobs), groups); ++t) threads.emplace_back(worker);
  for (auto& thread : threads) thread.join();
  progress.finish();
  if (!fatal.is_ok()) return fail(fatal);

  // Originals of updated documents' old content are no longer referenced: drop them.
  const bool any_updated = std::any_of(results.begin(), results.end(),
                                      [](const auto& r) { return r.outcome == service::IngestOutcome::kUpdated; });
  if (args.keep_originals && any_updated) api::sweep_originals(**engine, args.collection);
  if (not_kept > 0) std::cerr << not_kept << " originals could not be kept (see the warnings); \"Open original\" will not work for them.\n";

  std::map<std::string, int> by_outcome;
  int chunks = 0;
  for (const auto& r : results) {
    by_outcome[std::string(service::ingest_outcome_name(r.outcome))]++;
    chunks += r.outcome == service::IngestOutcome::kAdded || r.outcome == service::IngestOutcome::kUpdated ? r.chunks : 0;
  }
  std::cerr << "Ingested into '" << args.collection << "' in " << std::fixed << std::setprecision(1)
            << progress.seconds() << " s: " << by_outcome["added"] << " added, " << by_outcome["updated"]
            << " updated, " << by_outcome["unchanged"] << " unchanged, " << by_outcome["duplicate"] << " duplicate, "
            << by_outcome["failed"] << " failed; " << chunks << " chunks written.\n";
  if (failed) {
    std::cerr << "Files that could not be ingested:\n";
    for (size_t i = 0; i < results.size(); ++i) {
      if (results[i].outcome != service::IngestOutcome::kFailed) continue;
      std::cerr << "  " << (*files)[i] << ": [" << error_code_name(results[i].error.code()) << "] "
                << results[i].error.message() << "\n";
    }
  }
  return 0;
}

int search(const Config& config, const std::string& self, const QueryArgs& args) {
  auto filter = parse_filter(args.filter_json);
  if (!filter) return fail(filter.status());
  auto engine = open_engine(config, self, service::Engine::Access::kReadOnly);
  if (!engine) return fail(engine.status());
  service::SearchRequest request{args.text, args.top_k > 0 ? args.top_k : config.default_top_k, *filter};
  if (!args.mode.empty()) request.mode = retrieve::parse_search_mode(args.mode);
  auto found = (*engine)->search(args.collection, request);
  if (!found) return fail(found.status());
  if (args.json) {
    std::cout << api::to_json(*found, args.text).dump(2) << "\n";
    return 0;
  }
  for (const auto& warning : found->warnings) std::cerr << "note: " << warning << "\n";
  if (found->hits.empty()) std::cout << "No matches.\n";
  int rank = 1;
  for (const auto& hit : found->hits) {
    std::cout << rank++ << ". " << hit.document_name << pages_label(hit.page_start, hit.page_end) << "  (score "
              << std::fixed << std::setprecision(3) << hit.score << ")\n   " << hit.snippet << "\n\n";
  }
  return 0;
}

int ask(const Config& config, const std::string& self, const QueryArgs& args) {
  auto filter = parse_filter(args.filter_json);
  if (!filter) return fail(filter.status());
  auto engine = open_engine(config, self, service::Engine::Access::kReadOnly);
  if (!engine) return fail(engine.status());
  service::AskRequest request{args.text, args.top_k > 0 ? args.top_k : config.default_top_k, *filter};
  if (!args.mode.empty()) request.mode = retrieve::parse_search_mode(args.mode);
  service::AnswerSink sink;
  if (!args.json) {
    sink = [](const std::string& delta) {
      std::cout << delta << std::flush;
      return true;
    };
  }
  auto answer = (*engine)->ask(args.collection, request, sink);
  if (!answer) {
    if (!args.json) std::cout << "\n";
    return fail(answer.status());
  }
  if (args.json) {
    std::cout << api::to_json(*answer).dump(2) << "\n";
    return 0;
  }
  std::cout << "\n\n";
  if (answer->extractive) std::cout << "(extractive answer: no language model configured — set --llm-url)\n";
  else std::cout << "(answered by " << answer->model << ")\n";
  std::cout << "Sources:\n";
  for (const auto& source : answer->sources) {
    std::cout << "  [" << source.number << "] " << source.hit.document_name
              << pages_label(source.hit.page_start, source.hit.page_end);
    if (!source.hit.heading_path.empty()) std::cout << " — " << source.hit.heading_path.back();
    std::cout << (source.cited ? "" : "  (not cited)") << "\n";
  }
  return 0;
}

int list_collections(const Config& config, const std::string& self, bool as_json) {
  auto engine = open_engine(config, self, service::Engine::Access::kReadOnly);
  if (!engine) return fail(engine.status());
  auto all = (*engine)->list_collections();
  if (!all) return fail(all.status());
  json list = json::array();
  for (const auto& c : *all) {
    if (as_json) list.push_back(api::to_json(c));
    else std::cout << c.name << "\t" << c.documents << " documents\t" << c.chunks << " chunks\n";
  }
  if (as_json) std::cout << list.dump(2) << "\n";
  return 0;
}

int reembed(const Config& config, const std::string& self, const std::string& collection) {
  auto engine = open_engine(config, self, service::Engine::Access::kReadWrite);
  if (!engine) return fail(engine.status());
  const auto started = std::chrono::steady_clock::now();
  Status status = (*engine)->reembed(collection, [&](size_t done, size_t total) {
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    std::cerr << "\rre-embedding '" << collection << "': " << done << "/" << total << " chunks ("
              << static_cast<int>(seconds > 0 ? static_cast<double>(done) / seconds : 0) << " chunks/s)" << std::flush;
  });
  std::cerr << "\n";
  if (!status) return fail(status);
  auto info = (*engine)->get_collection(collection);
  if (!info) return fail(info.status());
  std::cout << "Collection '" << collection << "' now holds " << info->vectors << " vectors of '"
            << info->embedding_model << "' (" << info->embedding_dimension << " dimensions).\n";
  return 0;
}

int delete_collection(const Config& config, const std::string& self, const std::string& name) {
  auto engine = open_engine(config, self, service::Engine::Access::kReadWrite);
  if (!engine) return fail(engine.status());
  Status status = (*engine)->delete_collection(name);
  if (!status) return fail(status);
  std::cout << "Deleted collection '" << name << "'.\n";
  return 0;
}

int list_documents(const Config& config, const std::string& self, const std::string& collection, bool as_json) {
  auto engine = open_engine(config, self, service::Engine::Access::kReadOnly);
  if (!engine) return fail(engine.status());
  json list = json::array();
  for (int64_t offset = 0;; offset += 1000) {
    int64_t total = 0;
    auto page = (*engine)->list_documents(collection, offset, 1000, {}, &total);
    if (!page) return fail(page.status());
    for (const auto& d : *page) {
      if (as_json) list.push_back(api::to_json(d));
      else std::cout << d.doc_id << "\t" << d.format << "\t" << d.chunk_count << " chunks\t" << d.name << "\n";
    }
    if (offset + 1000 >= total) break;
  }
  if (as_json) std::cout << list.dump(2) << "\n";
  return 0;
}

int check(const Config& config, const std::string& self) {
  auto engine = open_engine(config, self, service::Engine::Access::kReadOnly);
  if (!engine) return fail(engine.status());
  Status status = (*engine)->check();
  if (!status) return fail(status);
  std::cout << "ok\n";
  return 0;
}

int parse_worker(const std::vector<std::string>& args) {
  constexpr size_t kFirstLimit = 3, kMemoryArg = kFirstLimit + service::kLimitArgs;
  if (args.size() < kMemoryArg) {
    std::cerr << "usage: kaito-rag __parse-worker IN OUT NAME LIMITS... [MEMORY_BYTES]\n";
    return 2;
  }
  const parse::Limits limits =
      service::limits_from_args(std::vector<std::string>(args.begin() + kFirstLimit, args.begin() + kMemoryArg));
  if (args.size() > kMemoryArg) {
    const rlim_t memory = std::stoull(args[kMemoryArg]);
    rlimit limit{memory, memory};
    setrlimit(RLIMIT_AS, &limit);
  }
  // Backstop for the CPU time; the parent's wall-clock deadline is the main guard.
  const rlim_t cpu = static_cast<rlim_t>(limits.max_seconds_per_file * 2 + 5);
  rlimit cpu_limit{cpu, cpu + 1};
  setrlimit(RLIMIT_CPU, &cpu_limit);
  try {
    apply_test_parse_fault(args[2]);
    return service::run_parse_worker(args[0], args[1], args[2], limits, service::read_worker_password());
  } catch (const std::bad_alloc&) {
    return service::kParseWorkerOutOfMemory;  // the parent reports the memory limit
  }
}

}  // namespace kr::cli
