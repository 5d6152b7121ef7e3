#include "sources/connector.h"

#include <algorithm>
#include <filesystem>

#include "sources/address_policy.h"
#include "sources/safe_http.h"
#include "sources/workload_identity.h"

namespace kr::sources {
namespace fs = std::filesystem;

namespace {

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

// Whether `path` (absolute, normalized) is `root` or inside it.
bool inside(const fs::path& path, const fs::path& root) {
  auto p = path.begin();
  for (auto r = root.begin(); r != root.end(); ++r, ++p) {
    if (r->empty()) continue;  // trailing slash
    if (p == path.end() || *p != *r) return false;
  }
  return true;
}

Status validate_folder(const SourceSpec& spec, const Config& config, bool from_api) {
  std::error_code ec;
  const fs::path real = fs::canonical(spec.location, ec);
  if (ec || !fs::is_directory(real, ec)) {
    return error(ErrorCode::kInvalidArgument, "folder " + spec.location + " does not exist or is not a folder");
  }
  if (!from_api) return Status::ok();
  for (const auto& root : config.source_folder_roots) {
    const fs::path real_root = fs::weakly_canonical(root, ec);
    if (!ec && inside(real, real_root)) return Status::ok();
  }
  return error(ErrorCode::kPermissionDenied,
               "folder " + spec.location + " is not under source_folder_roots (" +
                   (config.source_folder_roots.empty() ? std::string("none configured: add folders with the CLI")
                                                       : "set it to allow this folder") +
                   ")");
}

}  // namespace

bool extension_allowed(const std::string& name, const std::vector<std::string>& extensions) {
  if (extensions.empty()) return true;
  const std::string lowered = lower(name);
  return std::any_of(extensions.begin(), extensions.end(), [&](const std::string& ext) {
    const std::string e = lower(ext[0] == '.' ? ext : "." + ext);
    return lowered.size() >= e.size() && lowered.compare(lowered.size() - e.size(), e.size(), e) == 0;
  });
}

Status validate_source(const SourceSpec& spec, const Config& config, bool from_api) {
  if (spec.location.empty()) return error(ErrorCode::kInvalidArgument, "a source needs a location");
  if (spec.interval_seconds < 0 || spec.interval_seconds > 365.0 * 86400) {
    return error(ErrorCode::kInvalidArgument, "interval_seconds must be between 0 (on demand) and one year");
  }
  if (spec.crawl_depth < 0 || spec.crawl_depth > kMaxCrawlDepth) {
    return error(ErrorCode::kInvalidArgument, "crawl_depth must be between 0 (the page only) and " +
                                                  std::to_string(kMaxCrawlDepth));
  }
  if (spec.max_pages < 0 || spec.max_pages > kMaxPagesLimit) {
    return error(ErrorCode::kInvalidArgument, "max_pages must be between 1 and " + std::to_string(kMaxPagesLimit));
  }
  if (spec.workload_identity && spec.kind != SourceKind::kAzureBlob) {
    return error(ErrorCode::kInvalidArgument, "auth workload_identity applies to azure_blob sources only");
  }
  if (spec.kind != SourceKind::kUrl && (spec.crawl_depth != 0 || spec.max_pages != 0)) {
    return error(ErrorCode::kInvalidArgument, "crawl_depth and max_pages apply to url sources only");
  }
  for (const auto& ext : spec.extensions) {
    if (ext.empty() || ext.size() > 16) return error(ErrorCode::kInvalidArgument, "bad extension '" + ext + "'");
  }
  switch (spec.kind) {
    case SourceKind::kFolder:
      return validate_folder(spec, config, from_api);
    case SourceKind::kUrl: {
      auto url = parse_url(spec.location);
      return url ? Status::ok() : url.status();
    }
    case SourceKind::kAzureBlob:
      if (!spec.account_key.empty() && !spec.sas_token.empty()) {
        return error(ErrorCode::kInvalidArgument, "give either account_key or sas_token, not both");
      }
      if (spec.workload_identity && (!spec.account_key.empty() || !spec.sas_token.empty())) {
        return error(ErrorCode::kInvalidArgument,
                     "auth workload_identity takes no account_key or sas_token: the pod's identity is used");
      }
      // The server checks its own environment now; the CLI may add a source for a server elsewhere.
      if (spec.workload_identity && from_api) KR_RETURN_IF_ERROR(workload_identity_from_env().status());
      return validate_container_url(spec.location);
  }
  return Status::ok();
}

Result<std::unique_ptr<Connector>> make_connector(const SourceSpec& spec, const Config& config) {
  switch (spec.kind) {
    case SourceKind::kFolder: return make_folder_connector(spec, config);
    case SourceKind::kUrl: return make_url_connector(spec, config);
    case SourceKind::kAzureBlob: return make_azure_blob_connector(spec, config);
  }
  return error(ErrorCode::kInternal, "unknown source kind");
}

}  // namespace kr::sources
