#include "core/config.h"

#include <charconv>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include "core/text.h"

namespace kr {
namespace {

Status bad_value(const std::string& name, const std::string& value, const std::string& expected) {
  return error(ErrorCode::kInvalidArgument, "option " + name + ": '" + value + "' is not " + expected);
}

template <typename Int>
Status parse_int(const std::string& name, const std::string& text, Int& out) {
  const std::string_view value = trim(text);
  Int parsed{};
  auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), parsed);
  if (ec != std::errc() || end != value.data() + value.size()) return bad_value(name, text, "an integer");
  out = parsed;
  return Status::ok();
}

Status parse_double(const std::string& name, const std::string& text, double& out) {
  const std::string value(trim(text));
  char* end = nullptr;
  const double parsed = std::strtod(value.c_str(), &end);
  if (value.empty() || end != value.c_str() + value.size() || !std::isfinite(parsed)) {
    return bad_value(name, text, "a finite number");
  }
  out = parsed;
  return Status::ok();
}

std::vector<std::string> split_csv(const std::string& text) {
  std::vector<std::string> out;
  std::stringstream stream(text);
  std::string item;
  while (std::getline(stream, item, ',')) {
    const std::string_view trimmed = trim(item);
    if (!trimmed.empty()) out.emplace_back(trimmed);
  }
  return out;
}

std::string join_csv(const std::vector<std::string>& items) {
  std::string out;
  for (size_t i = 0; i < items.size(); ++i) out += (i ? "," : "") + items[i];
  return out;
}

std::string format_double(double value) {
  std::ostringstream out;
  out << value;
  return out.str();
}

// Declarative helpers: one line per option below.
OptionSpec string_option(std::string name, std::string env, std::string help, std::string Config::*field,
                         bool secret = false) {
  return {name, env, help, secret,
          [field](Config& c, const std::string& v) { c.*field = std::string(trim(v)); return Status::ok(); },
          [field](const Config& c) { return c.*field; }};
}

template <typename Int>
OptionSpec int_option(std::string name, std::string env, std::string help, Int Config::*field) {
  return {name, env, help, false,
          [name, field](Config& c, const std::string& v) { return parse_int(name, v, c.*field); },
          [field](const Config& c) { return std::to_string(c.*field); }};
}

OptionSpec double_option(std::string name, std::string env, std::string help, double Config::*field) {
  return {name, env, help, false,
          [name, field](Config& c, const std::string& v) { return parse_double(name, v, c.*field); },
          [field](const Config& c) { return format_double(c.*field); }};
}

OptionSpec bool_option(std::string name, std::string env, std::string help, bool Config::*field) {
  return {name, env, help, false,
          [name, field](Config& c, const std::string& v) {
            const std::string_view value = trim(v);
            const bool yes = value == "true" || value == "1" || value == "yes" || value == "on";
            const bool no = value == "false" || value == "0" || value == "no" || value == "off";
            if (!yes && !no) return bad_value(name, v, "true or false");
            c.*field = yes;
            return Status::ok();
          },
          [field](const Config& c) { return std::string(c.*field ? "true" : "false"); }};
}

std::vector<OptionSpec> make_specs() {
  return {
      string_option("data_dir", "KAITO_RAG_DATA_DIR", "directory holding all collections", &Config::data_dir),
      string_option("host", "KAITO_RAG_HOST", "address the HTTP server binds to", &Config::host),
      int_option("port", "KAITO_RAG_PORT", "HTTP port", &Config::port),
      int_option("http_threads", "KAITO_RAG_HTTP_THREADS", "HTTP worker threads", &Config::http_threads),
      int_option("max_upload_bytes", "KAITO_RAG_MAX_UPLOAD_BYTES", "largest accepted upload request in bytes",
                 &Config::max_upload_bytes),
      int_option("max_json_bytes", "KAITO_RAG_MAX_JSON_BYTES", "largest accepted JSON request body in bytes",
                 &Config::max_json_bytes),
      int_option("request_timeout_seconds", "KAITO_RAG_REQUEST_TIMEOUT_SECONDS",
                 "socket read/write timeout for HTTP requests", &Config::request_timeout_seconds),
      {"api_keys", "KAITO_RAG_API_KEYS", "comma-separated shared API keys with full access (operators); with them, oidc_issuer or "
       "named keys ('kaito-rag keys') every route but the probes needs 'Authorization: Bearer <credential>'", true,
       [](Config& c, const std::string& v) { c.api_keys = split_csv(v); return Status::ok(); },
       [](const Config& c) { return join_csv(c.api_keys); }},
      {"webui", "KAITO_RAG_WEBUI", "serve the web UI at / (true or false; --no-webui = false)", false,
       [](Config& c, const std::string& v) {
         const std::string value(trim(v));
         if (value != "true" && value != "false" && value != "1" && value != "0") {
           return error(ErrorCode::kInvalidArgument, "webui must be true or false, got '" + value + "'");
         }
         c.webui = value == "true" || value == "1";
         return Status::ok();
       },
       [](const Config& c) { return std::string(c.webui ? "true" : "false"); }},
      int_option("conversation_retention_days", "KAITO_RAG_CONVERSATION_RETENTION_DAYS",
                 "delete web UI conversations not updated for this many days (0: keep them)",
                 &Config::conversation_retention_days),
      string_option("llm_url", "KAITO_RAG_LLM_URL",
                    "OpenAI-compatible model server, e.g. http://workspace-phi-3-mini-4k/v1 (empty: extractive answers)",
                    &Config::llm_url),
      string_option("llm_model", "KAITO_RAG_LLM_MODEL", "model name (empty: the server's first model)",
                    &Config::llm_model),
      string_option("llm_api_key", "KAITO_RAG_LLM_API_KEY", "bearer token for the model server", &Config::llm_api_key,
                    true),
      double_option("llm_timeout_seconds", "KAITO_RAG_LLM_TIMEOUT_SECONDS", "model request timeout",
                    &Config::llm_timeout_seconds),
      int_option("llm_max_retries", "KAITO_RAG_LLM_MAX_RETRIES", "retries on connection errors, 429 and 5xx",
                 &Config::llm_max_retries),
      int_option("llm_context_window", "KAITO_RAG_LLM_CONTEXT_WINDOW",
                 "model context window in tokens (0: ask the server, 4096 if it does not say)",
                 &Config::llm_context_window),
      int_option("answer_max_tokens", "KAITO_RAG_ANSWER_MAX_TOKENS", "tokens reserved for the answer",
                 &Config::answer_max_tokens),
      double_option("llm_temperature", "KAITO_RAG_LLM_TEMPERATURE", "sampling temperature", &Config::llm_temperature),
      string_option("llm_prompt_style", "KAITO_RAG_LLM_PROMPT_STYLE",
                    "how to prompt the model: chat (instructions on /v1/chat/completions, for instruct models), "
                    "completion (a few-shot frame on /v1/completions, for base models) or auto (completion when "
                    "the server reports no chat template or the model's name marks a base model)",
                    &Config::llm_prompt_style),
      double_option("answer_threshold", "KAITO_RAG_ANSWER_THRESHOLD",
                    "answerability score (0..1) below which an answer is declined with \"I could not find this in "
                    "your documents\" (0: never decline; a collection's own setting wins)",
                    &Config::answer_threshold),
      int_option("extractive_max_sentences", "KAITO_RAG_EXTRACTIVE_MAX_SENTENCES",
                 "most sentences in an extractive answer", &Config::extractive_max_sentences),
      string_option("grounding_policy", "KAITO_RAG_GROUNDING_POLICY",
                    "what to do with a generated answer holding sentences its sources do not support: flag (keep "
                    "them, marked), remove (drop them) or replace (answer extractively instead); auto = replace for "
                    "a base model (completion prompt style), flag for a chat model; a collection's own setting wins",
                    &Config::grounding_policy),
      double_option("grounding_threshold", "KAITO_RAG_GROUNDING_THRESHOLD",
                    "support score (0..1) below which a generated sentence counts as unsupported",
                    &Config::grounding_threshold),
      int_option("chunk_max_tokens", "KAITO_RAG_CHUNK_MAX_TOKENS", "chunk size in estimated tokens",
                 &Config::chunk_max_tokens),
      int_option("chunk_overlap_tokens", "KAITO_RAG_CHUNK_OVERLAP_TOKENS", "overlap between chunks of a section",
                 &Config::chunk_overlap_tokens),
      int_option("parse_max_file_bytes", "KAITO_RAG_PARSE_MAX_FILE_BYTES", "largest file the parsers accept",
                 &Config::parse_max_file_bytes),
      double_option("parse_max_seconds", "KAITO_RAG_PARSE_MAX_SECONDS", "time limit per file",
                    &Config::parse_max_seconds),
      int_option("parse_max_pages", "KAITO_RAG_PARSE_MAX_PAGES", "page/slide/sheet limit per file",
                 &Config::parse_max_pages),
      string_option("parse_isolation", "KAITO_RAG_PARSE_ISOLATION",
                    "process (parse each file in a child process: a crash or hang cannot take the server down) "
                    "or inline",
                    &Config::parse_isolation),
      string_option("parse_ocr_language", "KAITO_RAG_PARSE_OCR_LANGUAGE",
                    "Tesseract languages for scanned pages and images, e.g. eng or eng+deu (Debian tesseract-ocr-<lang>); "
                    "off disables OCR",
                    &Config::parse_ocr_language),
      double_option("parse_ocr_seconds_per_page", "KAITO_RAG_PARSE_OCR_SECONDS_PER_PAGE",
                    "OCR time budget per page or image", &Config::parse_ocr_seconds_per_page),
      string_option("language", "KAITO_RAG_LANGUAGE", "analyzer language of new collections (Snowball name)",
                    &Config::language),
      double_option("bm25_k1", "KAITO_RAG_BM25_K1", "BM25 k1 of new collections", &Config::bm25_k1),
      double_option("bm25_b", "KAITO_RAG_BM25_B", "BM25 b of new collections", &Config::bm25_b),
      int_option("default_top_k", "KAITO_RAG_TOP_K", "chunks returned by search when top_k is not given",
                 &Config::default_top_k),
      string_option("search_mode", "KAITO_RAG_SEARCH_MODE",
                    "default retrieval: hybrid, dense or bm25 (hybrid and dense need an embedding model; without "
                    "one the default falls back to bm25)",
                    &Config::search_mode),
      string_option("fusion", "KAITO_RAG_FUSION", "hybrid fusion: rrf (reciprocal rank) or normalized (min-max scores)",
                    &Config::fusion),
      double_option("hybrid_alpha", "KAITO_RAG_HYBRID_ALPHA", "weight of the dense side in hybrid fusion, 0..1",
                    &Config::hybrid_alpha),
      double_option("rrf_k", "KAITO_RAG_RRF_K", "rank constant of reciprocal rank fusion", &Config::rrf_k),
      int_option("search_candidates", "KAITO_RAG_SEARCH_CANDIDATES",
                 "candidates each side contributes to hybrid fusion (0: max(50, 4 x top_k))",
                 &Config::search_candidates),
      int_option("query_embedding_cache", "KAITO_RAG_QUERY_EMBEDDING_CACHE",
                 "query vectors kept for repeated searches (least recently used evicted; ~1.6 KiB each for "
                 "384 dimensions; 0: off)",
                 &Config::query_embedding_cache),
      int_option("vector_exact_threshold", "KAITO_RAG_VECTOR_EXACT_THRESHOLD",
                 "collections with fewer vectors are searched exactly; larger ones through an HNSW graph",
                 &Config::vector_exact_threshold),
      string_option("embedding_model", "KAITO_RAG_EMBEDDING_MODEL",
                    "folder of a local sentence-transformers BERT model (all-MiniLM-L6-v2, bge-small-en-v1.5, "
                    "e5-small-v2, ...) for dense and hybrid search (empty: none)",
                    &Config::embedding_model),
      string_option("embedding_url", "KAITO_RAG_EMBEDDING_URL",
                    "remote embedding endpoint instead of a local model: an OpenAI-compatible base URL or a TEI "
                    "/embed URL (see embedding_protocol)",
                    &Config::embedding_url),
      string_option("embedding_protocol", "KAITO_RAG_EMBEDDING_PROTOCOL",
                    "protocol of embedding_url: openai (/v1/embeddings) or tei ({\"inputs\": [...]})",
                    &Config::embedding_protocol),
      string_option("embedding_name", "KAITO_RAG_EMBEDDING_NAME",
                    "model name sent to the remote endpoint and recorded with each collection (default: the "
                    "local folder's name or the server's model)",
                    &Config::embedding_name),
      string_option("embedding_api_key", "KAITO_RAG_EMBEDDING_API_KEY", "bearer token for the embedding endpoint",
                    &Config::embedding_api_key, true),
      string_option("embedding_query_prefix", "KAITO_RAG_EMBEDDING_QUERY_PREFIX",
                    "text put before each query, e.g. 'query: ' for e5 (empty: the model folder's prompt, if any)",
                    &Config::embedding_query_prefix),
      string_option("embedding_passage_prefix", "KAITO_RAG_EMBEDDING_PASSAGE_PREFIX",
                    "text put before each passage, e.g. 'passage: ' for e5 (empty: the model folder's prompt)",
                    &Config::embedding_passage_prefix),
      int_option("embedding_threads", "KAITO_RAG_EMBEDDING_THREADS", "encoder threads (0: all cores)",
                 &Config::embedding_threads),
      int_option("embedding_batch_size", "KAITO_RAG_EMBEDDING_BATCH_SIZE", "texts per encoder or remote batch",
                 &Config::embedding_batch_size),
      string_option("encoder_precision", "KAITO_RAG_ENCODER_PRECISION",
                    "arithmetic of the local encoder: auto (int8 or bf16 where this CPU runs it natively and its "
                    "self-test and accuracy check pass, else fp32), fp32, bf16 or int8",
                    &Config::encoder_precision),
      int_option("ingest_batch_documents", "KAITO_RAG_INGEST_BATCH_DOCUMENTS",
                 "documents committed together: one embedding call, one transaction, one index update",
                 &Config::ingest_batch_documents),
      int_option("ingest_batch_chunks", "KAITO_RAG_INGEST_BATCH_CHUNKS",
                 "chunks per ingest batch at most (a batch always takes at least one document)",
                 &Config::ingest_batch_chunks),
      int_option("ingest_queue_documents", "KAITO_RAG_INGEST_QUEUE_DOCUMENTS",
                 "documents being ingested at once at most; more are refused with resource_exhausted (retry later)",
                 &Config::ingest_queue_documents),
      string_option("log_level", "KAITO_RAG_LOG_LEVEL", "debug, info, warn or error", &Config::log_level),
      string_option("log_format", "KAITO_RAG_LOG_FORMAT", "text or json (one JSON object per line)",
                    &Config::log_format),
      int_option("http_queue_max", "KAITO_RAG_HTTP_QUEUE_MAX",
                 "requests that may wait for a busy HTTP worker; more are answered 503 with Retry-After",
                 &Config::http_queue_max),
      int_option("http_max_connections", "KAITO_RAG_HTTP_MAX_CONNECTIONS",
                 "open client connections (idle keep-alive ones included); more are answered 503",
                 &Config::http_max_connections),
      int_option("llm_max_concurrent", "KAITO_RAG_LLM_MAX_CONCURRENT",
                 "answers from the language model generated at once (ask, chat)", &Config::llm_max_concurrent),
      int_option("llm_max_waiting", "KAITO_RAG_LLM_MAX_WAITING",
                 "model requests that may wait for a slot; more are answered 429 with Retry-After",
                 &Config::llm_max_waiting),
      int_option("parse_max_workers", "KAITO_RAG_PARSE_MAX_WORKERS",
                 "parse worker processes at once (0: cores, fewer when the cgroup memory limit cannot hold them)",
                 &Config::parse_max_workers),
      int_option("parse_worker_memory_bytes", "KAITO_RAG_PARSE_WORKER_MEMORY_BYTES",
                 "address-space limit of each parse worker (0: half the cgroup memory limit, at most 4 GiB)",
                 &Config::parse_worker_memory_bytes),
      // Identity and access (SECURITY.md)
      bool_option("allow_unauthenticated", "KAITO_RAG_ALLOW_UNAUTHENTICATED",
                  "serve a non-loopback address although no API key or OIDC issuer is configured",
                  &Config::allow_unauthenticated),
      string_option("oidc_issuer", "KAITO_RAG_OIDC_ISSUER",
                    "accept OIDC access tokens from this issuer, e.g. https://login.microsoftonline.com/<tenant>/v2.0",
                    &Config::oidc_issuer),
      {"oidc_audience", "KAITO_RAG_OIDC_AUDIENCE", "comma-separated accepted token audiences (aud)", false,
       [](Config& c, const std::string& v) { c.oidc_audience = split_csv(v); return Status::ok(); },
       [](const Config& c) { return join_csv(c.oidc_audience); }},
      string_option("oidc_jwks_url", "KAITO_RAG_OIDC_JWKS_URL", "signing keys URL (default: the issuer's jwks_uri)",
                    &Config::oidc_jwks_url),
      string_option("oidc_jwks_file", "KAITO_RAG_OIDC_JWKS_FILE",
                    "signing keys from a JWKS file instead of the network (air-gapped clusters)", &Config::oidc_jwks_file),
      string_option("oidc_client_id", "KAITO_RAG_OIDC_CLIENT_ID", "the web UI's client id, published by /v1/auth/config",
                    &Config::oidc_client_id),
      string_option("oidc_scopes", "KAITO_RAG_OIDC_SCOPES",
                    "space-separated scopes the web UI requests, e.g. api://kaito-rag/access_as_user", &Config::oidc_scopes),
      string_option("oidc_redirect_uri", "KAITO_RAG_OIDC_REDIRECT_URI",
                    "the web UI's sign-in redirect URI as registered at the issuer (default: the UI's origin + /)",
                    &Config::oidc_redirect_uri),
      string_option("oidc_roles_claim", "KAITO_RAG_OIDC_ROLES_CLAIM", "token claim holding roles or groups",
                    &Config::oidc_roles_claim),
      string_option("oidc_role_map", "KAITO_RAG_OIDC_ROLE_MAP",
                    "role/group -> grants: 'reader=*:read;writer=*:write;admin=*:admin;<group-id>=hr-*:write'",
                    &Config::oidc_role_map),
      int_option("oidc_clock_skew_seconds", "KAITO_RAG_OIDC_CLOCK_SKEW_SECONDS", "tolerance for exp and nbf",
                 &Config::oidc_clock_skew_seconds),
      double_option("oidc_jwks_min_refresh_seconds", "KAITO_RAG_OIDC_JWKS_MIN_REFRESH_SECONDS",
                    "least time between two fetches of the signing keys (unknown kid)",
                    &Config::oidc_jwks_min_refresh_seconds),
      bool_option("private_collections", "KAITO_RAG_PRIVATE_COLLECTIONS",
                  "signed-in users with a role may create collections only they can see", &Config::private_collections),
      bool_option("metrics_require_auth", "KAITO_RAG_METRICS_REQUIRE_AUTH", "GET /metrics needs a credential",
                  &Config::metrics_require_auth),
      bool_option("metrics_collection_labels", "KAITO_RAG_METRICS_COLLECTION_LABELS",
                  "per-collection gauges in /metrics (they name every collection)", &Config::metrics_collection_labels),
      string_option("snapshot_dir", "KAITO_RAG_SNAPSHOT_DIR",
                    "/persist and /load paths must lie inside (default: DEFAULT_VECTOR_DB_PERSIST_DIR)",
                    &Config::snapshot_dir),
      string_option("store", "KAITO_RAG_STORE",
                    "where collections live: embedded (SQLite under data_dir) or postgres (shared by replicas)",
                    &Config::store),
      string_option("pg_url", "KAITO_RAG_PG_URL", "PostgreSQL URL for --store postgres (libpq syntax)",
                    &Config::pg_url, /*secret=*/true),
      int_option("pg_max_connections", "KAITO_RAG_PG_MAX_CONNECTIONS", "PostgreSQL connections per replica",
                 &Config::pg_max_connections),
      int_option("pg_follow_interval_ms", "KAITO_RAG_PG_FOLLOW_INTERVAL_MS",
                 "how often a replica polls for other replicas' changes (LISTEN/NOTIFY wakes it sooner)",
                 &Config::pg_follow_interval_ms),
      int_option("pg_queue_workers", "KAITO_RAG_PG_QUEUE_WORKERS",
                 "threads of this replica that ingest queued uploads (?wait=false) of any replica; 0 = none",
                 &Config::pg_queue_workers),
      int_option("pg_queue_lease_seconds", "KAITO_RAG_PG_QUEUE_LEASE_SECONDS",
                 "a queued upload whose replica stopped renewing its lease is taken over after this",
                 &Config::pg_queue_lease_seconds),
      {"source_folder_roots", "KAITO_RAG_SOURCE_FOLDER_ROOTS",
       "comma-separated folders under which the API may add watched-folder sources (empty: only the CLI may)", false,
       [](Config& c, const std::string& v) { c.source_folder_roots = split_csv(v); return Status::ok(); },
       [](const Config& c) { return join_csv(c.source_folder_roots); }},
      {"source_url_allow", "KAITO_RAG_SOURCE_URL_ALLOW",
       "comma-separated addresses or CIDRs (e.g. 127.0.0.1, 10.0.0.0/8) URL and blob sources may reach although "
       "loopback, private or link-local (refused by default)", false,
       [](Config& c, const std::string& v) { c.source_url_allow = split_csv(v); return Status::ok(); },
       [](const Config& c) { return join_csv(c.source_url_allow); }},
      int_option("source_max_bytes", "KAITO_RAG_SOURCE_MAX_BYTES", "largest item a URL or blob source downloads",
                 &Config::source_max_bytes),
      double_option("source_timeout_seconds", "KAITO_RAG_SOURCE_TIMEOUT_SECONDS",
                    "time limit per HTTP request of a URL or blob source", &Config::source_timeout_seconds),
      double_option("source_stable_seconds", "KAITO_RAG_SOURCE_STABLE_SECONDS",
                    "a watched-folder file modified more recently than this is left for the next sync "
                    "(never ingested half-written)",
                    &Config::source_stable_seconds),
      double_option("source_scheduler_seconds", "KAITO_RAG_SOURCE_SCHEDULER_SECONDS",
                    "how often the server starts the syncs of sources that are due (0: only on demand)",
                    &Config::source_scheduler_seconds),
      int_option("source_list_page_size", "KAITO_RAG_SOURCE_LIST_PAGE_SIZE",
                 "blobs per List Blobs request of an azure_blob source (1-5000)", &Config::source_list_page_size),
      string_option("source_ca_file", "KAITO_RAG_SOURCE_CA_FILE",
                    "PEM file of CA certificates trusted for https URL and blob sources instead of the system's "
                    "(a private CA; empty: the system's)",
                    &Config::source_ca_file),
  };
}

const OptionSpec* find_spec(const std::string& name) {
  for (const auto& spec : option_specs()) {
    if (spec.name == name) return &spec;
  }
  return nullptr;
}

Status apply_config_file(const std::string& path, Config& config, std::map<std::string, std::string>& origin) {
  std::ifstream in(path);
  if (!in) return error(ErrorCode::kInvalidArgument, "cannot read config file " + path);
  std::string line;
  int number = 0;
  while (std::getline(in, line)) {
    ++number;
    const std::string_view content = trim(line);
    if (content.empty() || content.front() == '#') continue;
    const size_t equals = content.find('=');
    if (equals == std::string_view::npos) {
      return error(ErrorCode::kInvalidArgument, path + ":" + std::to_string(number) + ": expected 'key = value'");
    }
    std::string key(trim(content.substr(0, equals)));
    std::string value(trim(content.substr(equals + 1)));
    if (value.size() >= 2 && value.front() == '"' && value.back() == '"') value = value.substr(1, value.size() - 2);
    const OptionSpec* spec = find_spec(key);
    if (!spec) return error(ErrorCode::kInvalidArgument, path + ":" + std::to_string(number) + ": unknown option '" + key + "'");
    Status status = spec->set(config, value);
    if (!status) return error(status.code(), path + ":" + std::to_string(number) + ": " + status.message());
    origin[key] = "file";
  }
  return Status::ok();
}

// Where each value came from, for --print-config (written once at start-up).
std::map<std::string, std::string> g_last_origin;

}  // namespace

const std::vector<OptionSpec>& option_specs() {
  static const std::vector<OptionSpec> specs = make_specs();
  return specs;
}

Result<Config> load_config(const ConfigSources& sources) {
  Config config;
  std::map<std::string, std::string> origin;
  if (!sources.config_file.empty()) KR_RETURN_IF_ERROR(apply_config_file(sources.config_file, config, origin));
  const auto getenv = sources.getenv ? sources.getenv : [](const char* name) -> const char* { return std::getenv(name); };
  for (const auto& spec : option_specs()) {
    const char* value = getenv(spec.env.c_str());
    if (value && *value) {
      Status status = spec.set(config, value);
      if (!status) return error(status.code(), "environment " + spec.env + ": " + status.message());
      origin[spec.name] = "env " + spec.env;
    }
  }
  for (const auto& [name, value] : sources.flags) {
    const OptionSpec* spec = find_spec(name);
    if (!spec) return error(ErrorCode::kInvalidArgument, "unknown option --" + name);
    KR_RETURN_IF_ERROR(spec->set(config, value));
    origin[name] = "flag";
  }
  KR_RETURN_IF_ERROR(validate_config(config));
  g_last_origin = origin;
  return config;
}

Status validate_config(const Config& c) {
  auto invalid = [](const std::string& message) { return error(ErrorCode::kInvalidArgument, message); };
  if (c.data_dir.empty()) return invalid("data_dir must not be empty");
  if (c.port < 0 || c.port > 65535) return invalid("port must be between 0 and 65535");
  if (c.http_threads < 1 || c.http_threads > 256) return invalid("http_threads must be between 1 and 256");
  if (c.max_upload_bytes < 1024) return invalid("max_upload_bytes must be at least 1024");
  if (c.max_json_bytes < 1024) return invalid("max_json_bytes must be at least 1024");
  if (c.request_timeout_seconds < 1) return invalid("request_timeout_seconds must be at least 1");
  if (c.conversation_retention_days < 0) return invalid("conversation_retention_days must be 0 (keep) or positive");
  if (c.llm_timeout_seconds <= 0) return invalid("llm_timeout_seconds must be positive");
  if (c.llm_max_retries < 0 || c.llm_max_retries > 10) return invalid("llm_max_retries must be between 0 and 10");
  if (c.llm_context_window < 0) return invalid("llm_context_window must be 0 (ask the server) or positive");
  if (c.answer_max_tokens < 16) return invalid("answer_max_tokens must be at least 16");
  if (c.llm_context_window > 0 && c.answer_max_tokens >= c.llm_context_window) {
    return invalid("answer_max_tokens must be smaller than llm_context_window");
  }
  if (c.chunk_max_tokens < 16 || c.chunk_max_tokens > 8192) return invalid("chunk_max_tokens must be between 16 and 8192");
  if (c.chunk_overlap_tokens < 0 || c.chunk_overlap_tokens * 2 >= c.chunk_max_tokens) {
    return invalid("chunk_overlap_tokens must be at least 0 and less than half of chunk_max_tokens");
  }
  if (c.parse_max_file_bytes < 1) return invalid("parse_max_file_bytes must be positive");
  if (c.parse_max_seconds <= 0) return invalid("parse_max_seconds must be positive");
  if (c.parse_max_pages < 1) return invalid("parse_max_pages must be positive");
  if (c.parse_ocr_seconds_per_page <= 0) return invalid("parse_ocr_seconds_per_page must be positive");
  if (c.parse_isolation != "process" && c.parse_isolation != "inline") {
    return invalid("parse_isolation must be 'process' or 'inline'");
  }
  if (c.bm25_k1 < 0 || c.bm25_b < 0 || c.bm25_b > 1) return invalid("bm25_k1 must be >= 0 and bm25_b in [0, 1]");
  if (c.llm_temperature < 0 || c.llm_temperature > 2) return invalid("llm_temperature must be between 0 and 2");
  if (c.llm_prompt_style != "auto" && c.llm_prompt_style != "chat" && c.llm_prompt_style != "completion") {
    return invalid("llm_prompt_style must be auto, chat or completion");
  }
  if (!(c.answer_threshold >= 0 && c.answer_threshold <= 1)) return invalid("answer_threshold must be between 0 and 1");
  if (c.extractive_max_sentences < 1 || c.extractive_max_sentences > 20) {
    return invalid("extractive_max_sentences must be between 1 and 20");
  }
  if (c.grounding_policy != "auto" && c.grounding_policy != "flag" && c.grounding_policy != "remove" &&
      c.grounding_policy != "replace") {
    return invalid("grounding_policy must be auto, flag, remove or replace");
  }
  if (!(c.grounding_threshold >= 0 && c.grounding_threshold <= 1)) {
    return invalid("grounding_threshold must be between 0 and 1");
  }
  if (c.default_top_k < 1 || c.default_top_k > 1000) return invalid("default_top_k must be between 1 and 1000");
  if (c.search_mode != "hybrid" && c.search_mode != "dense" && c.search_mode != "bm25") {
    return invalid("search_mode must be hybrid, dense or bm25");
  }
  if (c.fusion != "rrf" && c.fusion != "normalized") return invalid("fusion must be rrf or normalized");
  if (c.hybrid_alpha < 0 || c.hybrid_alpha > 1) return invalid("hybrid_alpha must be between 0 and 1");
  if (c.rrf_k < 0) return invalid("rrf_k must be >= 0");
  if (c.search_candidates < 0 || c.search_candidates > 10000) {
    return invalid("search_candidates must be between 0 and 10000");
  }
  if (c.query_embedding_cache < 0 || c.query_embedding_cache > 1000000) {
    return invalid("query_embedding_cache must be between 0 and 1000000");
  }
  if (c.vector_exact_threshold < 0) return invalid("vector_exact_threshold must be >= 0");
  if (!c.embedding_model.empty() && !c.embedding_url.empty()) {
    return invalid("set embedding_model (a local model) or embedding_url (a remote one), not both");
  }
  if (c.embedding_protocol != "openai" && c.embedding_protocol != "tei") {
    return invalid("embedding_protocol must be openai or tei");
  }
  if (c.embedding_threads < 0 || c.embedding_threads > 256) return invalid("embedding_threads must be between 0 and 256");
  if (c.encoder_precision != "auto" && c.encoder_precision != "fp32" && c.encoder_precision != "bf16" &&
      c.encoder_precision != "int8") {
    return invalid("encoder_precision must be auto, fp32, bf16 or int8");
  }
  if (c.embedding_batch_size < 1 || c.embedding_batch_size > 4096) {
    return invalid("embedding_batch_size must be between 1 and 4096");
  }
  if (c.ingest_batch_documents < 1 || c.ingest_batch_documents > 4096) {
    return invalid("ingest_batch_documents must be between 1 and 4096");
  }
  if (c.ingest_batch_chunks < 1 || c.ingest_batch_chunks > 65536) return invalid("ingest_batch_chunks must be between 1 and 65536");
  if (c.ingest_queue_documents < 1) return invalid("ingest_queue_documents must be at least 1");
  if (c.store != "embedded" && c.store != "postgres") return invalid("store must be embedded or postgres");
  if (c.store == "postgres" && c.pg_url.empty()) return invalid("--store postgres needs --pg-url (or KAITO_RAG_PG_URL)");
  if (c.pg_max_connections < 1 || c.pg_max_connections > 1000) return invalid("pg_max_connections must be between 1 and 1000");
  if (c.pg_queue_workers < 0 || c.pg_queue_workers > 64) return invalid("pg_queue_workers must be between 0 and 64");
  if (c.pg_queue_lease_seconds < 3 || c.pg_queue_lease_seconds > 3600) {
    return invalid("pg_queue_lease_seconds must be between 3 and 3600");
  }
  if (c.pg_follow_interval_ms < 10 || c.pg_follow_interval_ms > 60000) {
    return invalid("pg_follow_interval_ms must be between 10 and 60000");
  }
  if (c.log_level != "debug" && c.log_level != "info" && c.log_level != "warn" && c.log_level != "error") {
    return invalid("log_level must be debug, info, warn or error");
  }
  if (c.log_format != "text" && c.log_format != "json") return invalid("log_format must be text or json");
  if (c.http_queue_max < 0 || c.http_queue_max > 100000) return invalid("http_queue_max must be between 0 and 100000");
  if (c.http_max_connections < 1 || c.http_max_connections > 900) {
    return invalid("http_max_connections must be between 1 and 900 (the HTTP library cannot serve sockets above 1023)");
  }
  if (c.llm_max_concurrent < 1 || c.llm_max_concurrent > 1024) {
    return invalid("llm_max_concurrent must be between 1 and 1024");
  }
  if (c.llm_max_waiting < 0 || c.llm_max_waiting > 100000) return invalid("llm_max_waiting must be between 0 and 100000");
  if (c.source_max_bytes < 1) return invalid("source_max_bytes must be positive");
  if (c.source_list_page_size < 1 || c.source_list_page_size > 5000) {
    return invalid("source_list_page_size must be between 1 and 5000");
  }
  if (c.source_timeout_seconds <= 0) return invalid("source_timeout_seconds must be positive");
  if (c.source_stable_seconds < 0 || c.source_scheduler_seconds < 0) {
    return invalid("source_stable_seconds and source_scheduler_seconds must not be negative");
  }
  if (c.parse_max_workers < 0 || c.parse_max_workers > 256) return invalid("parse_max_workers must be between 0 and 256");
  if (c.parse_worker_memory_bytes != 0 && c.parse_worker_memory_bytes < (64ll << 20)) {
    return invalid("parse_worker_memory_bytes must be 0 (automatic) or at least 67108864 (64 MiB)");
  }
  if (!c.oidc_issuer.empty() && c.oidc_audience.empty()) {
    return invalid("oidc_audience must be set with oidc_issuer (e.g. api://kaito-rag or the app's client id)");
  }
  if (c.oidc_clock_skew_seconds < 0 || c.oidc_clock_skew_seconds > 600) {
    return invalid("oidc_clock_skew_seconds must be between 0 and 600");
  }
  if (c.oidc_jwks_min_refresh_seconds < 0) return invalid("oidc_jwks_min_refresh_seconds must be >= 0");
  return Status::ok();
}

std::string describe_config(const Config& config) {
  std::string out;
  for (const auto& spec : option_specs()) {
    std::string value = spec.get(config);
    if (spec.secret && !value.empty()) value = "********";
    out += spec.name + " = " + value;
    auto it = g_last_origin.find(spec.name);
    out += "  # " + (it == g_last_origin.end() ? std::string("default") : it->second) + "\n";
  }
  return out;
}

}  // namespace kr
