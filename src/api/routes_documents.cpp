// /v1/collections/{name}/documents: upload (multipart), list, get, delete.
#include <charconv>

#include "api/http_util.h"
#include "api/json_mapping.h"
#include "api/originals.h"
#include "api/edge_server.h"
#include "api/upload_form.h"

namespace kr::api {
namespace {

constexpr const char* kUploadHelp =
    "upload files as multipart/form-data, e.g. curl -F file=@report.pdf -F 'metadata={\"team\":\"hr\"}' "
    "http://HOST/v1/collections/NAME/documents";

// Reads the multipart body as it arrives: file parts to scratch files, small fields in memory.
// A body left unread (an early error) closes the connection after the answer.
Result<std::unique_ptr<UploadForm>> read_upload_form(service::Engine& engine, const httplib::Request& req,
                                                     const httplib::ContentReader& reader) {
  auto boundary = multipart_boundary(req.get_header_value(EdgeServer::kRawContentTypeHeader));
  if (!boundary) {
    EdgeServer::close_current_connection();
    return boundary.status().code() == ErrorCode::kUnsupported ? error(ErrorCode::kUnsupported, kUploadHelp)
                                                                : boundary.status();
  }
  auto form = std::make_unique<UploadForm>(engine.config().data_dir + "/tmp");
  MultipartLimits limits;
  limits.max_total_bytes = engine.config().max_upload_bytes;
  MultipartReader parser(*boundary, limits, *form);
  Status status;
  const bool complete = reader([&](const char* data, size_t size) {
    status = parser.feed(std::string_view(data, size));
    return status.is_ok();
  });
  if (!status) {
    EdgeServer::close_current_connection();
    return status;
  }
  if (!complete) {
    // The client went away or the body limit cut it off; the scratch files go with `form`.
    EdgeServer::close_current_connection();
    if (EdgeServer::current_body_limit_exceeded()) {
      return error(ErrorCode::kTooLarge, "request body is larger than this route accepts (max_upload_bytes = " +
                                             std::to_string(engine.config().max_upload_bytes) + ")");
    }
    return error(ErrorCode::kCancelled, "the upload ended before its body was complete");
  }
  KR_RETURN_IF_ERROR(parser.finish());
  return form;
}

// metadata (JSON object) applies to every file of the request.
Result<Metadata> upload_metadata(const UploadForm& form) {
  if (!form.has_field("metadata")) return Metadata{};
  auto value = parse_client_json(form.field("metadata"), "form field 'metadata'");
  if (!value) return value.status();
  return metadata_from_json(*value);
}

// ?wait=false (--store postgres): 202 once every readable file's ingest job is committed; any
// replica ingests them; GET …/jobs/{job_id} follows one.
void queue_upload(service::Engine& engine, const std::string& collection, std::vector<service::IngestInput> inputs,
                  httplib::Response& res) {
  const size_t files = inputs.size();
  auto queued = engine.ingest_queued(collection, std::move(inputs));
  if (!queued) return send_error(res, queued.status());
  json results = json::array();
  size_t failures = 0;
  Status first_failure;
  for (const auto& file : *queued) {
    if (file.job_id == 0) {
      if (failures++ == 0) first_failure = file.error;
      results.push_back({{"name", file.name}, {"status", "failed"}, {"error", error_json(file.error)["error"]}});
      continue;
    }
    results.push_back({{"name", file.name}, {"status", "queued"}, {"doc_id", file.doc_id}, {"job_id", file.job_id}});
  }
  json body = {{"collection", collection}, {"files", files}, {"failed", failures}, {"results", results}};
  if (failures == files) {
    body["error"] = error_json(first_failure)["error"];
    return send_json(res, http_status(first_failure.code()), body);
  }
  send_json(res, 202, body);
}

void ingest_upload(service::Engine& engine, const std::string& collection, UploadForm& form, bool wait,
                   httplib::Response& res) {
  auto metadata = upload_metadata(form);
  if (!metadata) return send_error(res, metadata.status());
  if (form.has_field("source") && form.files().size() > 1) {
    return send_error(res, error(ErrorCode::kInvalidArgument,
                                 "the 'source' field names one document; send it with a single file"));
  }
  std::vector<service::IngestInput> inputs;
  for (const auto& upload : form.files()) {
    service::IngestInput input;
    input.name = upload.filename;
    // "source" overrides the identity of the (single) file.
    input.source = form.has_field("source") ? form.field("source") : upload.filename;
    // The pipeline parses from the scratch file; its size and hash were taken as it was written.
    input.path = upload.file->path();
    input.file_size = upload.file->size();
    input.file_sha256 = upload.file->sha256_hex();
    input.metadata = *metadata;
    // For a password-protected PDF; handed to the parser only, never stored or logged.
    input.password = form.field("password");
    inputs.push_back(std::move(input));
  }
  const size_t files = inputs.size();
  if (files == 0) {
    return send_error(res, error(ErrorCode::kInvalidArgument, std::string("no files in the request; ") + kUploadHelp));
  }
  if (!wait) return queue_upload(engine, collection, std::move(inputs), res);
  json results = json::array();
  size_t failures = 0, updated = 0;
  Status first_failure;
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
      const ScratchFile& file = *form.files()[i].file;
      keep_original_file(engine, collection, file.path(), file.sha256_hex(), results.back());
    }
    if (result->outcome == service::IngestOutcome::kUpdated) ++updated;
  }
  if (updated > 0) sweep_originals(engine, collection);
  json body = {{"collection", collection}, {"files", files}, {"failed", failures}, {"results", results}};
  // Partial success is 200 with per-file results; when every file failed the
  // status says why the first one did.
  if (failures == files) {
    body["error"] = error_json(first_failure)["error"];
    return send_json(res, http_status(first_failure.code()), body);
  }
  send_json(res, 200, body);
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

  router.add_upload(documents, "/v1/collections/{name}/documents",
                    [&engine](const httplib::Request& req, httplib::Response& res,
                              const httplib::ContentReader& reader) {
                      const std::string wait = req.has_param("wait") ? req.get_param_value("wait") : "true";
                      if (wait != "true" && wait != "false") {
                        EdgeServer::close_current_connection();
                        return send_error(res, error(ErrorCode::kInvalidArgument, "wait must be true or false"));
                      }
                      auto form = read_upload_form(engine, req, reader);
                      if (!form) return send_error(res, form.status());
                      ingest_upload(engine, req.matches[1], **form, wait == "true", res);
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

  router.add("GET", R"(/v1/collections/([^/]+)/jobs/([^/]+))", "/v1/collections/{name}/jobs/{job_id}",
             [&engine](const httplib::Request& req, httplib::Response& res) {
               const std::string id = req.matches[2];
               int64_t job_id = 0;
               const auto [end, ec] = std::from_chars(id.data(), id.data() + id.size(), job_id);
               if (ec != std::errc() || end != id.data() + id.size() || job_id < 1) {
                 return send_error(res, error(ErrorCode::kInvalidArgument,
                                              "job_id must be the positive integer an upload with wait=false returned"));
               }
               auto job = engine.ingest_job(req.matches[1], job_id);
               if (!job) return send_error(res, job.status());
               json body = {{"job_id", job->id}, {"state", job->state}, {"doc_id", job->doc_id},
                            {"name", job->name}, {"attempts", job->attempts}};
               if (!job->error.empty()) body["error"] = job->error;
               send_json(res, 200, body);
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
