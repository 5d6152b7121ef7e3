// Uploaded files kept for "Open original" and the web UI's PDF pages (store/original_store.h).
// The upload and delete routes call these hooks; GET …/documents/{doc_id}/original serves them.
#pragma once

#include <memory>

#include "api/http_util.h"
#include "store/original_store.h"

namespace kr::api {

// In the shared database with --store postgres (any replica serves any upload), else on disk.
std::unique_ptr<store::OriginalStore> original_store(const service::Engine& engine);

// After a file of an upload was ingested (any outcome but failed): keep it, from the upload's
// scratch file (linked or copied, never read into memory). A failure to keep is a warning on
// the file's result, not a failed upload (the document is searchable).
void keep_original_file(service::Engine& engine, const std::string& collection, const std::string& path,
                        const std::string& content_hash, json& result);
// After an upload that replaced documents' content: drop originals no document refers to.
void sweep_originals(service::Engine& engine, const std::string& collection);
// Before deleting a document: the content hash whose original to release after the delete.
std::string original_hash(service::Engine& engine, const std::string& collection, const std::string& doc_id);
void release_original(service::Engine& engine, const std::string& collection, const std::string& content_hash);
// Bytes of a collection's originals (its stats).
int64_t originals_bytes(service::Engine& engine, const std::string& collection);

void add_original_routes(Router& router, ApiContext& context);

}  // namespace kr::api
