// The subcommands, each a function over a loaded configuration. Internal to cli/.
#pragma once

#include <string>
#include <vector>

#include "core/config.h"

namespace kr::cli {

struct IngestArgs {
  std::vector<std::string> paths;
  std::string collection = "default";
  std::string metadata_json;  // applied to every file
  int jobs = 0;               // 0 = number of cores
  bool keep_originals = true; // keep each file's bytes, as uploads do ("Open original", PDF pages)
  std::string password_file;  // password-protected files: the password's file, "-" = stdin
  bool ask_password = false;  // ... or asked on the terminal
};

struct QueryArgs {
  std::string text;
  std::string collection = "default";
  int top_k = 0;              // 0 = config default
  std::string filter_json;
  bool json = false;
  std::string mode;           // bm25 | dense | hybrid; empty = the collection's / configured default
};

// Re-embeds every chunk of a collection with the configured embedding model.
int reembed(const Config& config, const std::string& self, const std::string& collection);

struct EvalArgs {
  std::string beir_dir;
  std::string index_dir;     // kept scratch index (EvalOptions::scratch_dir)
  std::string mode = "bm25";
  std::string run_file;       // TREC run output
  bool json = false;
  bool answers = false;       // also score answers with the configured model
  size_t limit = 0;           // answers: first N queries (0 = all)
  int top_k = 5;              // answers: passages per question
  std::vector<std::string> qa_files;  // --qa: docqa-style question sets (eval_qa)
  std::string corpus_dir;             // --corpus: their files' root
  std::string dump_file;              // --dump: one JSON line per question (answers, answerability signals)
  std::string grounding_file;         // --grounding: a labelled grounding set (eval_grounding)
  bool misses = false;                // --grounding: list the missed and falsely flagged sentences
};

// kaito-rag sources (commands_sources.cpp).
struct SourcesArgs {
  std::string action;  // add | list | sync | remove
  std::string collection = "default";
  std::string id;      // sync, remove
  std::string kind;    // add: folder | url | azure_blob
  std::string location;
  double interval_seconds = 0;
  std::vector<std::string> extensions;
  int crawl_depth = 0;  // add url: same-site links followed this deep
  int max_pages = 0;
  std::string account_key;
  std::string sas_token;
  std::string auth;  // "" | workload_identity
  bool keep_documents = false;
  bool json = false;
};
int sources_command(const Config& config, const std::string& self, const SourcesArgs& args);
// kaito-rag sync <collection>: every source of the collection, one after another (commands_sources.cpp).
int sync_collection(const Config& config, const std::string& self, const std::string& collection, bool json);

int serve(const Config& config, const std::string& self);
int eval(const Config& config, const EvalArgs& args);
int eval_qa(const Config& config, const EvalArgs& args);  // commands_eval_qa.cpp
int eval_grounding(const Config& config, const EvalArgs& args);  // commands_eval_grounding.cpp
int ingest(const Config& config, const std::string& self, const IngestArgs& args);
int search(const Config& config, const std::string& self, const QueryArgs& args);
int ask(const Config& config, const std::string& self, const QueryArgs& args);
int list_collections(const Config& config, const std::string& self, bool json);
int delete_collection(const Config& config, const std::string& self, const std::string& name);
int list_documents(const Config& config, const std::string& self, const std::string& collection, bool json);
int check(const Config& config, const std::string& self);
int parse_worker(const std::vector<std::string>& args);

struct KeysArgs {
  std::string action;          // create | list | revoke | rotate
  std::string name;
  std::string scopes;          // create: "docs:read,*:write"
  int64_t expires_in_days = 0; // create: 0 = never
  int64_t grace_seconds = 0;   // rotate: the old secret keeps working this long
  bool json = false;
};
// API keys in <data_dir>/auth (commands_keys.cpp).
int keys(const Config& config, const KeysArgs& args);
struct MigrateStoreArgs {
  std::string collection;
  std::string to;          // postgres | embedded
  std::string target;      // name of the copy (default: the same)
  bool overwrite = false;  // replace an existing collection of that name
  bool json = false;
};
// Copies a collection between the data directory and --pg-url, verified (commands_migrate.cpp).
int migrate_store(const Config& config, const MigrateStoreArgs& args);
// Every registered route and the authorization it needs.
int routes(const Config& config, const std::string& self, bool as_json);

// Path of the running binary (for parse workers).
std::string self_executable(const char* argv0);

}  // namespace kr::cli
