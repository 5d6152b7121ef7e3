// Plain request/response types of the service layer (no HTTP, no JSON).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/metadata.h"
#include "core/status.h"

namespace kr::service {

struct CollectionSettings {
  std::string language = "english";
  double bm25_k1 = 1.2;
  double bm25_b = 0.75;
  int chunk_max_tokens = 300;
  int chunk_overlap_tokens = 40;
  std::string description;
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
struct IngestInput {
  std::string name;      // display name, e.g. the file name
  std::string source;    // identity: re-ingesting the same source replaces the document
  std::string bytes;
  std::string path;
  Metadata metadata;
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
};

struct SearchResponse {
  std::vector<SearchHit> hits;
  double took_ms = 0;
};

struct AskRequest {
  std::string question;
  int top_k = 8;
  MetadataFilter filter;
};

struct AnswerSource {
  int number = 0;           // [number] in the answer
  bool cited = false;
  SearchHit hit;
};

struct Answer {
  std::string text;
  bool extractive = false;  // true when no model was used
  std::string model;
  std::vector<AnswerSource> sources;
  std::vector<int> citations;  // numbers cited, first-appearance order
  int prompt_tokens = 0;
  int completion_tokens = 0;
  int context_window = 0;
  std::string finish_reason;
};

}  // namespace kr::service
