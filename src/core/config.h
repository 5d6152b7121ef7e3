// One configuration system behind the server and every CLI command.
// Each option is declared once (name, default, env var, help) in config.cpp;
// precedence: defaults < config file < environment < command-line flags.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "core/status.h"

namespace kr {

struct Config {
  // Storage
  std::string data_dir = "./data";
  // HTTP server
  std::string host = "127.0.0.1";
  int port = 8080;
  int http_threads = 8;
  int64_t max_upload_bytes = 256ll << 20;   // whole multipart request
  int64_t max_json_bytes = 8ll << 20;       // JSON request bodies
  int request_timeout_seconds = 300;
  std::vector<std::string> api_keys;        // empty = no authentication
  // Language model (OpenAI-compatible)
  std::string llm_url;                      // empty = extractive answers only
  std::string llm_model;
  std::string llm_api_key;
  double llm_timeout_seconds = 120;
  int llm_max_retries = 2;
  int llm_context_window = 0;               // 0 = ask the server (/v1/models max_model_len), else 4096
  int answer_max_tokens = 512;
  double llm_temperature = 0.1;
  // Ingest
  int chunk_max_tokens = 300;
  int chunk_overlap_tokens = 40;
  int64_t parse_max_file_bytes = 256ll << 20;
  double parse_max_seconds = 60;
  int parse_max_pages = 5000;
  std::string parse_isolation = "process";  // process | inline
  // Retrieval
  std::string language = "english";         // default analyzer language for new collections
  double bm25_k1 = 1.2;
  double bm25_b = 0.75;
  int default_top_k = 8;
  std::string search_mode = "hybrid";       // hybrid | dense | bm25 (hybrid/dense fall back to bm25 without embeddings)
  std::string fusion = "normalized";        // normalized | rrf (BENCHMARKS.md: normalized wins on pubmedqa-dev)
  double hybrid_alpha = 0.5;                // dense weight in fusion
  double rrf_k = 60;
  int search_candidates = 0;                // per side in hybrid; 0 = max(50, 4 x top_k)
  int64_t vector_exact_threshold = 20000;   // below: exact vector scan; above: HNSW
  // Embeddings: a local model folder, or a remote endpoint
  std::string embedding_model;              // local sentence-transformers folder
  std::string embedding_url;                // remote: OpenAI-compatible base URL or TEI URL
  std::string embedding_protocol = "openai";  // openai | tei
  std::string embedding_name;               // model id sent/recorded (default: folder name / server's)
  std::string embedding_api_key;
  std::string embedding_query_prefix;       // empty: the model folder's prompt
  std::string embedding_passage_prefix;
  int embedding_threads = 0;                // 0 = all cores
  int embedding_batch_size = 32;
  // Ingest pipeline (group commit; see DESIGN.md "Data flow")
  int ingest_batch_documents = 64;          // documents per embedding call + transaction
  int ingest_batch_chunks = 1024;           // ... and at most this many chunks (a batch has >= 1 document)
  int ingest_queue_documents = 4096;        // documents admitted and not yet committed; beyond: resource_exhausted
  // Logging
  std::string log_level = "info";           // debug | info | warn | error
  std::string log_format = "text";          // text | json
};

struct OptionSpec {
  std::string name;      // config-file key and flag (--name with '_' -> '-')
  std::string env;       // environment variable
  std::string help;
  bool secret = false;   // masked by --print-config
  std::function<Status(Config&, const std::string&)> set;
  std::function<std::string(const Config&)> get;
};

const std::vector<OptionSpec>& option_specs();

// Layers, lowest first. `flags` maps option name -> raw value given on the command line.
struct ConfigSources {
  std::string config_file;                    // optional; "key = value" lines, '#' comments
  std::map<std::string, std::string> flags;
  std::function<const char*(const char*)> getenv = nullptr;  // defaults to ::getenv
};

Result<Config> load_config(const ConfigSources& sources);

// Checks ranges and combinations; called by load_config.
Status validate_config(const Config& config);

// "name = value  # from env KAITO_RAG_PORT" lines, secrets masked.
std::string describe_config(const Config& config);

}  // namespace kr
