#include "api/originals.h"

#include <cctype>
#include <set>

#include "core/log.h"
#include "store/original_store.h"
#include "store/pg_original_store.h"

namespace kr::api {
namespace {

std::unique_ptr<store::OriginalStore> originals(const service::Engine& engine) { return original_store(engine); }

std::string media_type(const std::string& format) {
  if (format == "pdf") return "application/pdf";
  if (format == "docx") return "application/vnd.openxmlformats-officedocument.wordprocessingml.document";
  if (format == "pptx") return "application/vnd.openxmlformats-officedocument.presentationml.presentation";
  if (format == "xlsx") return "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";
  if (format == "html") return "text/html; charset=utf-8";
  if (format == "markdown") return "text/markdown; charset=utf-8";
  if (format == "csv") return "text/csv; charset=utf-8";
  if (format == "text") return "text/plain; charset=utf-8";
  return "application/octet-stream";
}

// RFC 6266: an ASCII fallback plus the UTF-8 name, so no header injection and no mojibake.
std::string content_disposition(const std::string& name) {
  std::string ascii, encoded;
  static const char* hex = "0123456789ABCDEF";
  for (unsigned char c : name) {
    ascii += (c >= 0x20 && c < 0x7f && c != '"' && c != '\\') ? static_cast<char>(c) : '_';
    if (std::isalnum(c) || c == '.' || c == '-' || c == '_') {
      encoded += static_cast<char>(c);
    } else {
      encoded += '%';
      encoded += hex[c >> 4];
      encoded += hex[c & 15];
    }
  }
  return "attachment; filename=\"" + ascii + "\"; filename*=UTF-8''" + encoded;
}

}  // namespace

std::unique_ptr<store::OriginalStore> original_store(const service::Engine& engine) {
  if (engine.postgres()) return std::make_unique<store::PgOriginalStore>(engine.postgres());
  return std::make_unique<store::FileOriginalStore>(engine.config().data_dir + "/collections");
}

void keep_original_file(service::Engine& engine, const std::string& collection, const std::string& path,
                        const std::string& content_hash, json& result) {
  Status status = originals(engine)->keep_file(collection, content_hash, path);
  if (status) return;
  log::warn("cannot keep the original file", {{"collection", collection}, {"error", status.message()}});
  result["warnings"].push_back("the original file could not be kept (\"Open original\" will not work): " +
                               status.message());
}

void sweep_originals(service::Engine& engine, const std::string& collection) {
  std::set<std::string> live;
  int64_t total = 0;
  for (int64_t offset = 0;; offset += 1000) {
    auto page = engine.list_documents(collection, offset, 1000, {}, &total);
    if (!page) return;  // keep everything rather than guess
    for (const auto& d : *page) live.insert(d.content_hash);
    if (page->size() < 1000) break;
  }
  (void)originals(engine)->sweep(collection, live);
}

std::string original_hash(service::Engine& engine, const std::string& collection, const std::string& doc_id) {
  auto document = engine.get_document(collection, doc_id);
  return document ? document->content_hash : std::string();
}

void release_original(service::Engine& engine, const std::string& collection, const std::string& content_hash) {
  if (content_hash.empty()) return;
  if (Status s = originals(engine)->release(collection, content_hash); !s) {
    log::warn("cannot delete an original file", {{"collection", collection}, {"error", s.message()}});
  }
}

int64_t originals_bytes(service::Engine& engine, const std::string& collection) {
  return originals(engine)->bytes(collection);
}

void add_original_routes(Router& router, ApiContext& ctx) {
  service::Engine& engine = ctx.engine;
  router.add("GET", R"(/v1/collections/([^/]+)/documents/([^/]+)/original)",
             "/v1/collections/{name}/documents/{doc_id}/original",
             [&engine](const httplib::Request& req, httplib::Response& res) {
               const std::string collection = req.matches[1];
               auto document = engine.get_document(collection, req.matches[2]);
               if (!document) return send_error(res, document.status());
               auto bytes = originals(engine)->read(collection, document->content_hash);
               if (!bytes) return send_error(res, bytes.status());
               // A downloaded file, never a page of this origin: an HTML original must not run here.
               res.set_header("Content-Disposition", content_disposition(document->name));
               res.set_header("Content-Security-Policy", "sandbox; default-src 'none'");
               res.set_header("X-Content-Type-Options", "nosniff");
               res.set_header("Cache-Control", "private, no-cache");
               res.set_header("ETag", "\"" + document->content_hash + "\"");
               res.status = 200;
               res.set_content(std::move(*bytes), media_type(document->format));
             });
}

}  // namespace kr::api
