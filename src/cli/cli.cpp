#include "cli/cli.h"

#include <CLI/CLI.hpp>

#include <iostream>

#include "cli/commands.h"
#include "core/config.h"
#include "core/log.h"

namespace kr::cli {
namespace {

std::string flag_name(const std::string& option) {
  std::string flag = option;
  for (char& c : flag) c = (c == '_' ? '-' : c);
  return "--" + flag;
}

}  // namespace

int run(int argc, char** argv) {
  // The isolated parser (see service/parse_runner.h) re-enters here.
  if (argc >= 2 && std::string(argv[1]) == "__parse-worker") {
    return parse_worker(std::vector<std::string>(argv + 2, argv + argc));
  }

  CLI::App app{"Kaito-RAG: ask questions about your documents, with citations"};
  app.require_subcommand(0, 1);
  app.fallthrough();  // common options may come before or after the subcommand

  std::string config_file;
  bool print_config = false;
  std::map<std::string, std::string> flags;
  app.add_option("--config", config_file, "configuration file ('key = value' lines)")->envname("KAITO_RAG_CONFIG");
  app.add_flag("--print-config", print_config, "print the effective configuration and where each value came from");
  for (const auto& spec : option_specs()) {
    app.add_option_function<std::string>(
           flag_name(spec.name), [&flags, name = spec.name](const std::string& v) { flags[name] = v; },
           spec.help + " [env " + spec.env + "]")
        ->type_name(spec.secret ? "SECRET" : "VALUE");
  }

  app.add_flag_callback("--no-webui", [&flags] { flags["webui"] = "false"; }, "serve the HTTP API only, no web UI at /");

  auto* serve_cmd = app.add_subcommand("serve", "run the HTTP server");

  IngestArgs ingest_args;
  auto* ingest_cmd = app.add_subcommand("ingest", "add files and folders (recursively) to a collection");
  ingest_cmd->add_option("paths", ingest_args.paths, "files or folders")->required();
  ingest_cmd->add_option("-c,--collection", ingest_args.collection, "collection name")->capture_default_str();
  ingest_cmd->add_option("--metadata", ingest_args.metadata_json, "JSON object stored with every file");
  ingest_cmd->add_option("-j,--jobs", ingest_args.jobs, "files parsed in parallel (default: cores)");
  ingest_cmd->add_flag("!--no-originals", ingest_args.keep_originals,
                       "do not keep copies of the files in the data directory (the web UI then cannot show them)");
  auto* password_file = ingest_cmd->add_option(
      "--password-file", ingest_args.password_file,
      "password-protected PDF/Office files: a file whose first line is the password (\"-\": standard input)");
  ingest_cmd->add_flag("--ask-password", ingest_args.ask_password,
                       "password-protected PDF/Office files: ask for the password (not echoed)")
      ->excludes(password_file);

  QueryArgs search_args;
  auto* search_cmd = app.add_subcommand("search", "show the chunks that best match a query");
  search_cmd->add_option("query", search_args.text, "what to look for")->required();
  search_cmd->add_option("-c,--collection", search_args.collection, "collection name")->capture_default_str();
  search_cmd->add_option("-k,--top-k", search_args.top_k, "number of results");
  search_cmd->add_option("--filter", search_args.filter_json, "JSON metadata filter, e.g. '{\"team\":\"hr\"}'");
  search_cmd->add_flag("--json", search_args.json, "print JSON");
  search_cmd->add_option("--mode", search_args.mode, "bm25, dense or hybrid (default: the collection's / --search-mode)")
      ->check(CLI::IsMember({"bm25", "dense", "hybrid"}));

  QueryArgs ask_args;
  auto* ask_cmd = app.add_subcommand("ask", "answer a question from a collection, with citations");
  ask_cmd->add_option("question", ask_args.text, "the question")->required();
  ask_cmd->add_option("-c,--collection", ask_args.collection, "collection name")->capture_default_str();
  ask_cmd->add_option("-k,--top-k", ask_args.top_k, "passages to retrieve");
  ask_cmd->add_option("--filter", ask_args.filter_json, "JSON metadata filter");
  ask_cmd->add_flag("--json", ask_args.json, "print one JSON object with the answer and its sources");
  ask_cmd->add_option("--mode", ask_args.mode, "retrieval: bm25, dense or hybrid")
      ->check(CLI::IsMember({"bm25", "dense", "hybrid"}));

  bool collections_json = false;
  auto* collections_cmd = app.add_subcommand("collections", "list collections");
  collections_cmd->add_flag("--json", collections_json, "print JSON");
  std::string drop_name;
  auto* drop_cmd = app.add_subcommand("delete-collection", "delete a collection and all its documents");
  drop_cmd->add_option("name", drop_name, "collection name")->required();
  std::string documents_collection = "default";
  bool documents_json = false;
  auto* documents_cmd = app.add_subcommand("documents", "list the documents of a collection");
  documents_cmd->add_option("-c,--collection", documents_collection, "collection name")->capture_default_str();
  documents_cmd->add_flag("--json", documents_json, "print JSON");
  auto* check_cmd = app.add_subcommand("check", "verify the integrity of every collection");
  std::string reembed_name;
  auto* reembed_cmd = app.add_subcommand("reembed", "recompute a collection's vectors with the configured embedding "
                                                    "model (after changing --embedding-model); the server must be "
                                                    "stopped");
  reembed_cmd->add_option("collection", reembed_name, "collection name")->required();
  EvalArgs eval_args;
  auto* eval_cmd = app.add_subcommand("eval", "measure retrieval quality on a BEIR-layout folder "
                                              "(corpus.jsonl, queries.jsonl, qrels/test.tsv), or answers on "
                                              "docqa-style question sets (--qa), in a scratch collection");
  auto* beir_opt = eval_cmd->add_option("--beir", eval_args.beir_dir, "the BEIR folder");
  auto* qa_opt = eval_cmd->add_option("--qa", eval_args.qa_files,
                                      "docqa-style questions.jsonl (repeatable): ingest the files they name, answer "
                                      "each, score answers, citations (file + page) and declines")
                     ->excludes(beir_opt);
  beir_opt->excludes(qa_opt);
  eval_cmd->add_option("--corpus", eval_args.corpus_dir, "--qa: the folder the questions' file paths are relative to")
      ->needs(qa_opt);
  auto* grounding_opt =
      eval_cmd->add_option("--grounding", eval_args.grounding_file,
                           "a labelled grounding set (tests/fixtures/eval/grounding-*.jsonl): the grounding check's "
                           "catch rate and false alarms on its calibration and held-aside parts")
          ->excludes(beir_opt)
          ->excludes(qa_opt);
  eval_cmd->add_flag("--misses", eval_args.misses,
                     "--grounding: list the corrupted sentences not caught and the supported ones flagged, by kind, "
                     "with their scores and features")
      ->needs(grounding_opt);
  eval_cmd->add_option("--dump", eval_args.dump_file,
                       "--qa / --grounding: write one JSON line per question or sentence (answer, signals)");
  eval_cmd->add_option("--mode", eval_args.mode, "retrieval mode")->check(CLI::IsMember({"bm25", "dense", "hybrid"}))
      ->capture_default_str();
  eval_cmd->add_option("--run-file", eval_args.run_file, "also write the ranking as a TREC run file");
  eval_cmd->add_option("--index-dir", eval_args.index_dir,
                       "keep the scratch index in this directory and reuse it on the next run (compare modes "
                       "and fusion settings after one embedding pass)");
  eval_cmd->add_flag("--json", eval_args.json, "print JSON");
  eval_cmd->add_flag("--answers", eval_args.answers,
                     "also answer each query with the configured model (--llm-url), with and without retrieval, "
                     "and score the answers against the queries' reference answers");
  eval_cmd->add_option("--limit", eval_args.limit, "answers: only the first N queries");
  eval_cmd->add_option("--answer-top-k", eval_args.top_k, "answers: passages retrieved per question")
      ->capture_default_str();

  SourcesArgs sources_args;
  auto* sources_cmd = app.add_subcommand("sources", "a collection's document sources (folders, URLs, blob containers) "
                                                    "kept in sync");
  sources_cmd->require_subcommand(1);
  auto* sources_add = sources_cmd->add_subcommand("add", "add a source to a collection (created when missing)");
  sources_add->add_option("kind", sources_args.kind, "folder | url | azure_blob")->required()
      ->check(CLI::IsMember({"folder", "url", "azure_blob"}));
  sources_add->add_option("location", sources_args.location, "folder path, http(s) URL or container URL")->required();
  sources_add->add_option("--interval-seconds", sources_args.interval_seconds, "scheduled sync period (0: on demand)");
  sources_add->add_option("--extensions", sources_args.extensions, "only items ending in these, e.g. .pdf .docx");
  sources_add->add_option("--crawl-depth", sources_args.crawl_depth, "url: follow same-site links this many levels");
  sources_add->add_option("--max-pages", sources_args.max_pages, "url: pages crawled at most (default 100)");
  sources_add->add_option("--account-key", sources_args.account_key, "azure_blob: the storage account's shared key");
  sources_add->add_option("--sas-token", sources_args.sas_token, "azure_blob: a SAS token (list + read)");
  sources_add->add_option("--auth", sources_args.auth, "azure_blob: workload_identity (the pod's Entra identity)")
      ->check(CLI::IsMember(std::vector<std::string>{"workload_identity"}));
  auto* sources_list = sources_cmd->add_subcommand("list", "list sources with their last sync");
  auto* sources_sync = sources_cmd->add_subcommand("sync", "sync a source now: new and changed items in, removed out");
  sources_sync->add_option("id", sources_args.id, "source id (src-N)")->required();
  auto* sources_remove = sources_cmd->add_subcommand("remove", "remove a source and its documents");
  sources_remove->add_option("id", sources_args.id, "source id (src-N)")->required();
  sources_remove->add_flag("--keep-documents", sources_args.keep_documents, "keep the documents it brought");
  for (auto* sub : {sources_add, sources_list, sources_sync, sources_remove}) {
    sub->add_option("-c,--collection", sources_args.collection, "collection");
    sub->add_flag("--json", sources_args.json, "print JSON");
  }

  std::string sync_name;
  bool sync_json = false;
  auto* sync_cmd = app.add_subcommand("sync", "sync every source of a collection now (exit 1 if any failed)");
  sync_cmd->add_option("collection", sync_name, "collection")->required();
  sync_cmd->add_flag("--json", sync_json, "print JSON");

  KeysArgs keys_args;
  auto* keys_cmd = app.add_subcommand("keys", "manage API keys (hashed in <data_dir>/auth; a running server "
                                              "sees changes without a restart)");
  keys_cmd->require_subcommand(1);
  auto* keys_create = keys_cmd->add_subcommand("create", "create a key; prints its secret once");
  keys_create->add_option("name", keys_args.name, "key name")->required();
  keys_create->add_option("--scopes", keys_args.scopes, "grants, e.g. 'docs:read,team-*:write,*:admin'")->required();
  keys_create->add_option("--expires-in-days", keys_args.expires_in_days, "expiry (default: never)");
  keys_create->add_flag("--json", keys_args.json, "print JSON");
  auto* keys_list = keys_cmd->add_subcommand("list", "list keys (never their secrets)");
  keys_list->add_flag("--json", keys_args.json, "print JSON");
  auto* keys_revoke = keys_cmd->add_subcommand("revoke", "revoke a key now");
  keys_revoke->add_option("name", keys_args.name, "key name")->required();
  auto* keys_rotate = keys_cmd->add_subcommand("rotate", "give a key a new secret; prints it once");
  keys_rotate->add_option("name", keys_args.name, "key name")->required();
  keys_rotate->add_option("--grace-seconds", keys_args.grace_seconds, "the old secret keeps working this long");
  keys_rotate->add_flag("--json", keys_args.json, "print JSON");
  MigrateStoreArgs migrate_args;
  auto* migrate_cmd = app.add_subcommand("migrate-store", "copy a collection from the data directory to the "
                                                          "PostgreSQL store (--pg-url) or back, verified by counts "
                                                          "and checksums; the source is never changed");
  migrate_cmd->add_option("collection", migrate_args.collection, "collection to copy")->required();
  migrate_cmd->add_option("--to", migrate_args.to, "where the copy goes")
      ->required()
      ->check(CLI::IsMember({"postgres", "embedded"}));
  migrate_cmd->add_option("--as", migrate_args.target, "name of the copy (default: the same name)");
  migrate_cmd->add_flag("--overwrite", migrate_args.overwrite, "replace a collection of that name at the target");
  migrate_cmd->add_flag("--json", migrate_args.json, "print the verified counts and checksums as JSON");
  bool routes_json = false;
  auto* routes_cmd = app.add_subcommand("routes", "list every HTTP route and the authorization it needs");
  routes_cmd->add_flag("--json", routes_json, "print JSON");

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;
  }

  auto config = load_config({config_file, flags, nullptr});
  if (!config) {
    std::cerr << "kaito-rag: " << config.status().message() << "\n";
    return 2;
  }
  // One-shot commands report through their own output; the info log is for the server.
  const bool quiet = !serve_cmd->parsed() && config->log_level == "info";
  log::configure(quiet ? "warn" : config->log_level, config->log_format == "json");
  if (print_config) {
    std::cout << describe_config(*config);
    if (app.get_subcommands().empty()) return 0;
  }
  if (app.get_subcommands().empty()) {
    std::cerr << app.help();
    return 2;
  }
  const std::string self = self_executable(argv[0]);
  if (serve_cmd->parsed()) return serve(*config, self);
  if (ingest_cmd->parsed()) return ingest(*config, self, ingest_args);
  if (search_cmd->parsed()) return search(*config, self, search_args);
  if (ask_cmd->parsed()) return ask(*config, self, ask_args);
  if (collections_cmd->parsed()) return list_collections(*config, self, collections_json);
  if (drop_cmd->parsed()) return delete_collection(*config, self, drop_name);
  if (documents_cmd->parsed()) return list_documents(*config, self, documents_collection, documents_json);
  if (check_cmd->parsed()) return check(*config, self);
  if (reembed_cmd->parsed()) return reembed(*config, self, reembed_name);
  if (eval_cmd->parsed()) {
    if (!eval_args.qa_files.empty()) return eval_qa(*config, eval_args);
    if (grounding_opt->count() > 0) return eval_grounding(*config, eval_args);
    if (eval_args.beir_dir.empty()) {
      std::cerr << "kaito-rag eval: give --beir DIR or --qa FILE\n";
      return 2;
    }
    return eval(*config, eval_args);
  }
  if (migrate_cmd->parsed()) return migrate_store(*config, migrate_args);
  if (keys_cmd->parsed()) {
    for (auto* sub : {keys_create, keys_list, keys_revoke, keys_rotate}) {
      if (sub->parsed()) keys_args.action = sub->get_name();
    }
    return keys(*config, keys_args);
  }
  if (routes_cmd->parsed()) return routes(*config, self, routes_json);
  if (sync_cmd->parsed()) return sync_collection(*config, self, sync_name, sync_json);
  if (sources_cmd->parsed()) {
    for (auto* sub : {sources_add, sources_list, sources_sync, sources_remove}) {
      if (sub->parsed()) sources_args.action = sub->get_name();
    }
    return sources_command(*config, self, sources_args);
  }
  return 2;
}

}  // namespace kr::cli
