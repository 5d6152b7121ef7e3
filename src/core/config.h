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
  bool webui = true;                        // serve the web UI at / (--no-webui: API only)
  int conversation_retention_days = 0;      // delete conversations untouched this long; 0 = keep
  // Language model (OpenAI-compatible)
  std::string llm_url;                      // empty = extractive answers only
  std::string llm_model;
  std::string llm_api_key;
  double llm_timeout_seconds = 120;
  int llm_max_retries = 2;
  int llm_context_window = 0;               // 0 = ask the server (/v1/models max_model_len), else 4096
  int answer_max_tokens = 512;
  double llm_temperature = 0.1;
  std::string llm_prompt_style = "auto";    // chat | completion (base models: few-shot on /v1/completions) | auto
  // Ingest
  int chunk_max_tokens = 300;
  int chunk_overlap_tokens = 40;
  int64_t parse_max_file_bytes = 256ll << 20;
  double parse_max_seconds = 60;
  int parse_max_pages = 5000;
  std::string parse_isolation = "process";  // process | inline
  std::string parse_ocr_language = "eng";   // Tesseract languages for pages without text ("eng+deu"); "off" = no OCR
  double parse_ocr_seconds_per_page = 20;
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
  int query_embedding_cache = 2048;         // query vectors kept (LRU by model + text); 0 = off
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
  std::string encoder_precision = "auto";  // auto | fp32 | bf16 | int8 (local encoder's linear layers)
  // Answers (issue 10): decline below this answerability score (a collection may set its own)
  double answer_threshold = 0.5;
  int extractive_max_sentences = 3;
  // Grounding check of generated answers (a collection may set its own policy and threshold)
  std::string grounding_policy = "auto";    // auto | flag | remove | replace
  double grounding_threshold = 0.5;         // support score (0..1) below which a sentence is unsupported
  // Ingest pipeline (group commit; see DESIGN.md "Data flow")
  int ingest_batch_documents = 64;          // documents per embedding call + transaction
  int ingest_batch_chunks = 1024;           // ... and at most this many chunks (a batch has >= 1 document)
  int ingest_queue_documents = 4096;        // documents admitted and not yet committed; beyond: resource_exhausted
  // Logging
  std::string log_level = "info";           // debug | info | warn | error
  std::string log_format = "text";          // text | json
  // Admission and limits (DESIGN.md "Admission and limits")
  int http_queue_max = 64;                  // requests waiting for an HTTP worker; beyond: 503 + Retry-After
  int http_max_connections = 512;           // open connections, idle keep-alive ones included; beyond: 503
  int llm_max_concurrent = 4;               // model calls (ask/chat with a model) in flight
  int llm_max_waiting = 16;                 // model calls waiting for a slot; beyond: 429 + Retry-After
  int parse_max_workers = 0;                // concurrent parse worker processes (0: from cores and cgroup memory)
  int64_t parse_worker_memory_bytes = 0;    // RLIMIT_AS per parse worker (0: from the cgroup memory limit, else 4 GiB)
  // Identity and access (src/auth, SECURITY.md)
  bool allow_unauthenticated = false;       // serve a non-loopback address without any credential source
  std::string oidc_issuer;                  // empty = no OIDC access tokens
  std::vector<std::string> oidc_audience;   // accepted "aud" values
  std::string oidc_jwks_url;                // empty = the issuer's discovery document
  std::string oidc_jwks_file;               // air-gapped: a JWKS file, re-read on an unknown kid
  std::string oidc_client_id;               // the web UI's public client id (GET /v1/auth/config)
  std::string oidc_scopes;                  // scopes the web UI asks for, space-separated
  std::string oidc_redirect_uri;            // the web UI's redirect URI; empty = the page's origin + "/"
  std::string oidc_roles_claim = "roles";   // Entra app roles; "groups" for group object ids
  std::string oidc_role_map = "reader=*:read;writer=*:write;admin=*:admin";
  int oidc_clock_skew_seconds = 60;
  double oidc_jwks_min_refresh_seconds = 30;
  bool private_collections = true;          // signed-in users may own private collections
  bool metrics_require_auth = false;
  bool metrics_collection_labels = false;   // per-collection gauges name collections
  std::string snapshot_dir;                 // /persist and /load paths stay inside; empty = DEFAULT_VECTOR_DB_PERSIST_DIR
  // Scale-out (issue 14): "embedded" (SQLite under data_dir) or "postgres" (shared by replicas).
  std::string store = "embedded";
  std::string pg_url;                       // libpq URL; a password in it is never logged
  int pg_max_connections = 8;
  int pg_follow_interval_ms = 500;          // poll for other replicas' changes (NOTIFY wakes sooner)
  int pg_queue_workers = 1;                 // threads taking queued uploads (?wait=false) of any replica
  int pg_queue_lease_seconds = 30;          // a dead replica's queued jobs are taken over after this
  // Document sources kept in sync (src/sources, issue 13)
  std::vector<std::string> source_folder_roots;  // folders the API may add as sources (the CLI may add any)
  std::vector<std::string> source_url_allow;     // addresses/CIDRs URL and blob sources may reach though private
  int64_t source_max_bytes = 64ll << 20;          // largest item a URL or blob source downloads
  double source_timeout_seconds = 30;             // per HTTP request of a URL or blob source
  double source_stable_seconds = 2;               // a folder file changed more recently is left for the next sync
  double source_scheduler_seconds = 5;            // how often the server looks for sources due a sync; 0 = off
  int source_list_page_size = 5000;               // blobs per List Blobs page (the service's maximum)
  std::string source_ca_file;                     // https sources: CAs trusted instead of the system's
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
