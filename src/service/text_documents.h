// Plain types of the KAITO RAGEngine layer: documents that are texts with metadata,
// identified by the SHA-256 of their text, and listed chunk by chunk (see
// docs/ragengine-compatibility.md). Implemented in engine_ragengine.cpp.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/metadata.h"

namespace kr::service {

struct TextDocument {
  std::string doc_id;  // ignored by index_texts (the id is text_doc_id(text)); required by update_texts
  std::string text;
  Metadata metadata;
};

struct TextIndexOutcome {
  std::string doc_id;
  bool added = false;  // false: a document with this id was already stored (skipped)
};

struct TextChunk {
  std::string doc_id;   // the parent document
  std::string node_id;  // "<doc_id>:<ordinal>", stable
  std::string text;
  Metadata metadata;    // the document's
  std::string hash;     // SHA-256 hex of the chunk text and its metadata
};

struct TextChunkPage {
  std::vector<TextChunk> chunks;
  int64_t total = 0;  // chunks of all documents matching the filter
};

enum class TextUpdateOutcome { kUpdated, kUnchanged, kNotFound };

// SHA-256 hex of the UTF-8 text: KAITO's document id.
std::string text_doc_id(const std::string& text);
// Node id of a chunk: "<doc_id>:<ordinal>" (the chunk_id of search hits).
std::string text_node_id(const std::string& doc_id, int ordinal);
// Hash of a chunk as listed (hash_value): text plus metadata, so either changing shows.
std::string text_chunk_hash(const std::string& text, const Metadata& metadata);

}  // namespace kr::service
