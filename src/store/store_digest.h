// Counts and SHA-256 checksums of one collection's stored content, computed the same way over
// either store, so `kaito-rag migrate-store` can prove a copy equal to its source.
//
// Left out on purpose: what each store assigns itself (document keys, chunk ids, document
// timestamps) — a copy gets new ones.
#pragma once

#include <string>

#include "core/status.h"
#include "store/document_store.h"
#include "store/original_store.h"

namespace kr::store {

struct StoreDigest {
  int64_t documents = 0, chunks = 0, vectors = 0, originals = 0, settings = 0;
  std::string documents_sha256;  // every document's fields and metadata, by doc_id
  std::string chunks_sha256;     // every chunk (text, positions, terms), by doc_id then ordinal
  std::string vectors_sha256;    // every embedding's float bits, in the same order
  std::string originals_sha256;  // every original's bytes, by content hash
  std::string settings_sha256;

  bool operator==(const StoreDigest&) const = default;
  // "documents 12 (sha256 ab12…), chunks …" for progress output and error messages.
  std::string describe() const;
};

Result<StoreDigest> digest_collection(const DocumentStore& store, const OriginalStore& originals,
                                      const std::string& collection);

}  // namespace kr::store
