#include "store/store_digest.h"

#include <algorithm>
#include <cstring>
#include <map>

#include "core/text.h"

namespace kr::store {
namespace {

// Length-prefixed fields: no two different records serialize alike.
void field(std::string& out, std::string_view value) {
  out += std::to_string(value.size());
  out += ':';
  out += value;
}
void field(std::string& out, int64_t value) { field(out, std::to_string(value)); }

std::string document_fields(const DocumentRecord& d) {
  std::string out;
  for (const auto& value : {d.doc_id, d.name, d.source, d.content_hash, d.format}) field(out, value);
  for (int64_t value : {d.size_bytes, int64_t{d.page_count}, int64_t{d.chunk_count}}) field(out, value);
  std::vector<std::pair<std::string, std::string>> metadata(d.metadata.begin(), d.metadata.end());
  std::sort(metadata.begin(), metadata.end());
  for (const auto& [key, value] : metadata) {
    field(out, key);
    field(out, value);
  }
  for (const auto& warning : d.warnings) field(out, warning);
  for (int page : d.pages_needing_ocr) field(out, int64_t{page});
  return out;
}

std::string chunk_fields(const ChunkRecord& c) {
  std::string out;
  field(out, int64_t{c.ordinal});
  field(out, c.text);
  for (int64_t value : {int64_t{c.page_start}, int64_t{c.page_end}, c.char_begin, c.char_end,
                        int64_t{c.token_estimate}, int64_t{c.term_count}}) {
    field(out, value);
  }
  for (const auto& heading : c.heading_path) field(out, heading);
  field(out, c.terms);
  return out;
}

Result<std::vector<DocumentRecord>> all_documents(const DocumentStore& store) {
  std::vector<DocumentRecord> out;
  for (int64_t offset = 0;; offset += 1000) {
    auto page = store.list_documents(offset, 1000, {});
    if (!page) return page.status();
    for (auto& d : page->documents) out.push_back(std::move(d));
    if (page->documents.size() < 1000) break;
  }
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.doc_id < b.doc_id; });
  return out;
}

}  // namespace

std::string StoreDigest::describe() const {
  auto part = [](const char* name, int64_t n, const std::string& sha) {
    return std::string(name) + " " + std::to_string(n) + " (sha256 " + sha.substr(0, 12) + ")";
  };
  return part("documents", documents, documents_sha256) + ", " + part("chunks", chunks, chunks_sha256) + ", " +
         part("embeddings", vectors, vectors_sha256) + ", " + part("originals", originals, originals_sha256) + ", " +
         part("settings", settings, settings_sha256);
}

Result<StoreDigest> digest_collection(const DocumentStore& store, const OriginalStore& originals,
                                      const std::string& collection) {
  StoreDigest digest;
  std::map<int64_t, std::vector<float>> vectors;  // chunk id -> embedding
  KR_RETURN_IF_ERROR(store.for_each_chunk_vector([&](int64_t chunk, int64_t, std::span<const float> v) {
    vectors[chunk].assign(v.begin(), v.end());
  }));
  auto documents = all_documents(store);
  if (!documents) return documents.status();
  std::string document_hashes, chunk_hashes, vector_hashes;
  for (const auto& d : *documents) {
    document_hashes += sha256_hex(document_fields(d));
    auto listed = store.document_chunks(d.key);
    if (!listed) return listed.status();
    std::vector<int64_t> ids;
    for (const auto& c : *listed) ids.push_back(c.id);
    auto chunks = store.get_chunks_with_terms(ids);
    if (!chunks) return chunks.status();
    std::sort(chunks->begin(), chunks->end(), [](const auto& a, const auto& b) { return a.ordinal < b.ordinal; });
    std::string these, floats;
    for (const auto& c : *chunks) {
      these += chunk_fields(c);
      if (auto v = vectors.find(c.id); v != vectors.end()) {
        floats.append(reinterpret_cast<const char*>(v->second.data()), v->second.size() * sizeof(float));
        ++digest.vectors;
      }
    }
    digest.chunks += static_cast<int64_t>(chunks->size());
    chunk_hashes += sha256_hex(these);
    vector_hashes += sha256_hex(floats);
  }
  digest.documents = static_cast<int64_t>(documents->size());
  digest.documents_sha256 = sha256_hex(document_hashes);
  digest.chunks_sha256 = sha256_hex(chunk_hashes);
  digest.vectors_sha256 = sha256_hex(vector_hashes);

  auto hashes = originals.hashes(collection);
  if (!hashes) return hashes.status();
  std::string original_hashes;
  for (const auto& hash : *hashes) {
    auto bytes = originals.read(collection, hash);
    if (!bytes) return bytes.status();
    const std::string actual = sha256_hex(*bytes);
    if (actual != hash) {
      return error(ErrorCode::kDataCorruption, "original " + hash + " of collection '" + collection +
                                                   "' has different bytes (sha256 " + actual + ")");
    }
    original_hashes += actual;
  }
  digest.originals = static_cast<int64_t>(hashes->size());
  digest.originals_sha256 = sha256_hex(original_hashes);

  auto settings = store.all_settings();
  if (!settings) return settings.status();
  std::string setting_fields;
  for (const auto& [key, value] : *settings) {
    field(setting_fields, key);
    field(setting_fields, value);
  }
  digest.settings = static_cast<int64_t>(settings->size());
  digest.settings_sha256 = sha256_hex(setting_fields);
  return digest;
}

}  // namespace kr::store
