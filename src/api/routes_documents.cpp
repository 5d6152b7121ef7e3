// /v1/collections/{name}/documents: upload (multipart), list, get, delete.
#include "api/http_util.h"
#include "api/json_mapping.h"
#include "api/originals.h"

namespace kr::api {
namespace {

constexpr const char* kUploadHelp =
    "upload files as multipart/form-data, e.g. curl -F file=@report.pdf -F 'metadata={\"team\":\"hr\"}' "
    "http://HOST/v1/collections/NAME/documents";

// metadata (JSON object) applies to every file of the request.
Result<Metadata> upload_metadata(const httplib::Request& req) {
  if (!req.has_file("metadata")) return Metadata{};
  const auto& field = req.get_file_value("metadata");
  auto value = parse_client_json(field.content, "form field 'metadata'");
  if (!value) return value.status();
  return metadata_from_json(*value);
}

Result<MetadataFilter> filter_param(const httplib::Request& req) {
  if (!req.has_param("filter")) return MetadataFilter{};
  auto value = parse_client_json(req.get_param_value("filter"), "query parameter 'filter'");
  if (!value) return value.status();
  return filter_from_json(*value);
}

}  // namespace

void add_document_routes(Router& router, ApiContext& ctx) {
  service::Engine& engine = ctx.engine;
  const std::string documents = R"(/v1/collections/([^/]+)/documents)";

  router.add("POST", documents, "/v1/collections/{name}/documents",
             [&engine](const httplib::Request& req, httplib::Response& res) {
               if (!req.is_multipart_form_data()) {
                 return send_error(res, error(ErrorCode::kUnsupported, kUploadHelp));
               }
               auto metadata = upload_metadata(req);
               if (!metadata) return send_error(res, metadata.status());
               const std::string collection = req.matches[1];
               size_t file_parts = 0;
               for (const auto& [field, part] : req.files) {
                 if (field != "metadata" && field != "source" && !part.filename.empty()) ++file_parts;
               }
               if (req.has_file("source") && file_parts > 1) {
                 return send_error(res, error(ErrorCode::kInvalidArgument,
                                              "the 'source' field names one document; send it with a single file"));
               }
               std::vector<service::IngestInput> inputs;
               std::vector<const std::string*> contents;  // each input's bytes, for its kept original
               for (const auto& [field, part] : req.files) {
                 if (field == "metadata" || field == "source" || field == "password") continue;
                 if (part.filename.empty()) continue;
                 service::IngestInput input;
                 input.name = part.filename;
                 input.source = part.filename;
                 input.bytes = part.content;
                 input.metadata = *metadata;
                 // For a password-protected PDF; handed to the parser only, never stored or logged.
                 if (req.has_file("password")) input.password = req.get_file_value("password").content;
                 // "source" overrides the identity of the (single) file.
                 if (req.has_file("source")) {
                   input.source = req.get_file_value("source").content;
                 }
                 inputs.push_back(std::move(input));
                 contents.push_back(&part.content);
               }
               const size_t files = inputs.size();
               json results = json::array();
               size_t failures = 0, updated = 0;
               Status first_failure;
               if (files > 0) {
                 // All files of the request go through the pipeline together (group commit).
                 auto ingested = engine.ingest_many(collection, std::move(inputs));
                 if (!ingested) return send_error(res, ingested.status());
                 for (size_t i = 0; i < ingested->size(); ++i) {
                   const auto& result = (*ingested)[i];
                   if (!result) return send_error(res, result.status());
                   if (result->outcome == service::IngestOutcome::kFailed) {
                     if (failures++ == 0) first_failure = result->error;
                   }
                   results.push_back(to_json(*result));
                   if (result->outcome != service::IngestOutcome::kFailed) {
                     keep_original(engine, collection, *contents[i], results.back());
                   }
                   if (result->outcome == service::IngestOutcome::kUpdated) ++updated;
                 }
               }
               if (updated > 0) sweep_originals(engine, collection);
               if (files == 0) {
                 return send_error(res, error(ErrorCode::kInvalidArgument, std::string("no files in the request; ") + kUploadHelp));
               }
               json body = {{"collection", collection}, {"files", files}, {"failed", failures}, {"results", results}};
               // Partial success is 200 with per-file results; when every file failed the
               // status says why the first one did.
               if (failures == files) {
                 body["error"] = error_json(first_failure)["error"];
                 return send_json(res, http_status(first_failure.code()), body);
               }
               send_json(res, 200, body);
             });

  router.add("GET", documents, "/v1/collections/{name}/documents",
             [&engine](const httplib::Request& req, httplib::Response& res) {
               auto offset = query_int(req, "offset", 0, 0, INT64_MAX);
               auto limit = query_int(req, "limit", 50, 1, 1000);
               auto filter = filter_param(req);
               if (!offset) return send_error(res, offset.status());
               if (!limit) return send_error(res, limit.status());
               if (!filter) return send_error(res, filter.status());
               int64_t total = 0;
               auto list = engine.list_documents(req.matches[1], *offset, *limit, *filter, &total);
               if (!list) return send_error(res, list.status());
               json items = json::array();
               for (const auto& d : *list) items.push_back(to_json(d));
               send_json(res, 200, {{"documents", items}, {"total", total}, {"offset", *offset}, {"limit", *limit}});
             });

  router.add("GET", R"(/v1/collections/([^/]+)/documents/([^/]+))", "/v1/collections/{name}/documents/{doc_id}",
             [&engine](const httplib::Request& req, httplib::Response& res) {
               auto document = engine.get_document(req.matches[1], req.matches[2]);
               if (!document) return send_error(res, document.status());
               send_json(res, 200, to_json(*document));
             });

  router.add("DELETE", R"(/v1/collections/([^/]+)/documents/([^/]+))", "/v1/collections/{name}/documents/{doc_id}",
             [&engine](const httplib::Request& req, httplib::Response& res) {
               const std::string doc_id = req.matches[2];
               const std::string content_hash = original_hash(engine, req.matches[1], doc_id);
               Status status = engine.delete_document(req.matches[1], doc_id);
               if (!status) return send_error(res, status);
               release_original(engine, req.matches[1], content_hash);
               send_json(res, 200, {{"deleted", doc_id}});
             });
}

}  // namespace kr::api
