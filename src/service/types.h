// Plain request/response types of the service layer (no HTTP, no JSON).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/metadata.h"
#include "core/status.h"
#include "generate/answerability.h"
#include "generate/grounding.h"
#include "retrieve/fusion.h"

namespace kr::service {

struct CollectionSettings {
  std::string language = "english";
  double bm25_k1 = 1.2;
  double bm25_b = 0.75;
  int chunk_max_tokens = 300;
  int chunk_overlap_tokens = 40;
  std::string description;
  // Retrieval defaults of this collection; empty / negative = the server's configuration.
  std::string search_mode;    // hybrid | dense | bm25
  std::string fusion;         // rrf | normalized
  double hybrid_alpha = -1;   // 0..1
  // Answers: decline below this answerability score (0..1); negative = the server's answer_threshold.
  double answer_threshold = -1;
  // Grounding check of generated answers: flag | remove | replace and the support threshold (0..1);
  // empty / negative = the server's grounding_policy / grounding_threshold.
  std::string grounding_policy;
  double grounding_threshold = -1;
  // Tesseract languages for OCR of this collection's scans ("eng+deu", "off"); "" = the server's
  // parse_ocr_language.
  std::string ocr_languages;
};

struct CollectionInfo {
  std::string name;
  CollectionSettings settings;
  int64_t created_at = 0;
  int64_t documents = 0;
  int64_t chunks = 0;
  int64_t text_bytes = 0;
  uint64_t index_terms = 0;
  uint64_t index_postings = 0;
  std::string embedding_model;   // "" = no embeddings (BM25 only)
  int embedding_dimension = 0;
  int64_t vectors = 0;           // chunks with an embedding
  std::string vector_index;      // exact | hnsw
};

struct DocumentInfo {
  std::string doc_id;
  std::string name;
  std::string source;
  std::string content_hash;
  std::string format;
  int64_t size_bytes = 0;
  int page_count = 0;
  int chunk_count = 0;
  Metadata metadata;
  std::vector<std::string> warnings;
  std::vector<int> pages_needing_ocr;
  int64_t created_at = 0;
  int64_t updated_at = 0;
};

// One file to ingest. Exactly one of `bytes` / `path` is used (path when bytes is empty and path set).
// A file given by path is never read whole into this process unless it is parsed here (text-like
// formats); binary formats go to the parse worker by path.
struct IngestInput {
  std::string name;      // display name, e.g. the file name
  std::string source;    // identity: re-ingesting the same source replaces the document
  std::string bytes;
  std::string path;
  // With `path`: its size and SHA-256 when the caller already knows them (an upload hashes its
  // scratch file while writing it); -1 / empty: the pipeline stats and hashes the file itself.
  int64_t file_size = -1;
  std::string file_sha256;
  Metadata metadata;
  // When set, the document's id (instead of one derived from `source`); such documents are
  // identified by id only, so the same content may be stored under two ids (KAITO RAGEngine texts).
  std::string doc_id;
  // Store the file even when another document already holds the same bytes (evaluation
  // corpora keep distinct ids for identical passages).
  bool allow_duplicate_content = false;
  // Opens a password-protected PDF; used for this parse only, never stored or logged.
  std::string password;
};

enum class IngestOutcome { kAdded, kUpdated, kUnchanged, kDuplicate, kFailed };
std::string_view ingest_outcome_name(IngestOutcome outcome);

struct IngestResult {
  std::string name;
  IngestOutcome outcome = IngestOutcome::kFailed;
  std::string doc_id;        // set unless failed
  std::string format;
  int chunks = 0;
  int pages = 0;
  std::vector<std::string> warnings;
  Status error;              // why it failed (outcome == kFailed)
  std::string duplicate_of;  // kDuplicate: the document that already holds this content
};

struct SearchRequest {
  std::string query;
  int top_k = 8;
  MetadataFilter filter;
  // Unset: the collection's setting, else the server's configuration.
  std::optional<retrieve::SearchMode> mode;
  std::optional<retrieve::FusionMethod> fusion;
  std::optional<double> alpha;  // dense weight in fusion, 0..1
  int candidates = 0;           // per side before fusion; 0 = the configured default
};

struct SearchHit {
  std::string chunk_id;     // "<doc_id>:<ordinal>"
  std::string doc_id;
  std::string document_name;
  int ordinal = 0;
  double score = 0;
  std::string text;
  std::string snippet;
  int page_start = 0;
  int page_end = 0;
  std::vector<std::string> heading_path;
  int64_t char_begin = 0;
  int64_t char_end = 0;
  Metadata metadata;
  // The raw scores behind `score` (which is the fused score in hybrid mode).
  std::optional<double> bm25_score;
  std::optional<double> dense_score;
};

struct SearchResponse {
  std::vector<SearchHit> hits;
  double took_ms = 0;
  std::string mode;              // the retrieval that ran: bm25 | dense | hybrid
  double embed_ms = 0;           // time spent embedding the query (part of took_ms)
  std::vector<std::string> warnings;  // e.g. a default hybrid search that fell back to bm25
};

struct AskRequest {
  std::string question;
  int top_k = 8;
  MetadataFilter filter;
  std::string retrieval_query;  // what to search for when it differs from the question (empty: the question)
  std::optional<retrieve::SearchMode> mode;  // unset: the collection's / server's default
};

// One message of a conversation (service::Engine::chat).
struct ChatTurn {
  std::string role;     // system | user | assistant
  std::string content;
};

struct ChatAskRequest {
  std::vector<ChatTurn> history;      // the conversation before the last user message, oldest first
  std::string question;               // the last user message
  int top_k = 8;
  MetadataFilter filter;
  double sources_budget_ratio = 0.5;  // share of the prompt (beyond instructions and question) for sources
  int max_tokens = 0;                 // answer length; 0 = the configured answer_max_tokens
  double temperature = -1;            // < 0 = the configured temperature
  std::optional<retrieve::SearchMode> mode;  // retrieval mode; unset: the collection's / server's default
};

struct AnswerSource {
  int number = 0;           // [number] in the answer
  bool cited = false;
  SearchHit hit;
};

// What the grounding check found and what the collection's policy did with it.
struct AnswerGrounding {
  generate::GroundingPolicy policy = generate::GroundingPolicy::kFlag;
  std::string action = "none";  // none | flagged | removed | replaced
  generate::GroundingReport report;
};

struct Answer {
  std::string text;
  bool extractive = false;  // true when no model was used
  std::string model;
  std::string prompt_style;  // a generated answer: "chat" or "completion" (generate/prompt_style.h)
  std::vector<AnswerSource> sources;
  std::vector<int> citations;  // numbers cited, first-appearance order
  int prompt_tokens = 0;
  int completion_tokens = 0;
  int context_window = 0;
  std::string finish_reason;
  std::string retrieval_query;  // what the search used (a chat follow-up: its standalone form)
  // Whether the documents hold the answer; unset when nothing was retrieved. When not
  // answerable, `text` is the decline sentence and `sources` the closest chunks, none cited.
  std::optional<generate::Answerability> answerability;
  // The grounding check of a generated answer (unset for extractive answers and declines).
  std::optional<AnswerGrounding> grounding;
  std::string note;  // why the answer is not the model's own text (a replaced answer)
};

}  // namespace kr::service
