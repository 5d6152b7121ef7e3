// One web page or file behind an http(s) URL. Listing fetches it (safe_get: SSRF checks,
// redirects re-checked, size and time caps); its version is the ETag, else a hash of the body,
// so an unchanged page is not re-ingested. 404/410: the item is gone (its document is removed).
#include <openssl/sha.h>

#include <cstdio>
#include <nlohmann/json.hpp>

#include "sources/connector.h"
#include "sources/safe_http.h"

namespace kr::sources {

namespace {

std::string sha256_hex(const std::string& bytes) {
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size(), digest);
  std::string hex;
  char two[3];
  for (unsigned char b : digest) {
    std::snprintf(two, sizeof two, "%02x", b);
    hex += two;
  }
  return hex;
}

// The parsers pick a format from the name (and bytes): give an extension-less URL one from
// its content type.
std::string extension_for(const std::string& content_type) {
  static const std::pair<const char*, const char*> known[] = {
      {"text/html", ".html"},        {"application/xhtml+xml", ".html"}, {"application/pdf", ".pdf"},
      {"text/plain", ".txt"},        {"text/markdown", ".md"},           {"text/csv", ".csv"},
      {"application/json", ".json"}, {"application/xml", ".xml"},        {"text/xml", ".xml"},
  };
  for (const auto& [type, extension] : known) {
    if (content_type.rfind(type, 0) == 0) return extension;
  }
  return "";
}

std::string display_name(const ParsedUrl& url, const std::string& content_type) {
  std::string path = url.target.substr(0, url.target.find('?'));
  std::string last = path.substr(path.find_last_of('/') + 1);
  if (last.empty()) last = url.host;
  const std::string extension = extension_for(content_type);
  const size_t dot = last.find_last_of('.');
  const bool has_extension = dot != std::string::npos && last.size() - dot <= 6 && dot > 0;
  if (!extension.empty() && (!has_extension || (extension == ".html" && last.substr(dot) != ".htm" &&
                                                last.substr(dot) != ".html"))) {
    last += extension;
  }
  return last;
}

class UrlConnector : public Connector {
 public:
  UrlConnector(const SourceSpec& spec, const Config& config) : url_(spec.location), config_(config) {}

  Result<std::vector<SourceItem>> list() override {
    auto policy = AddressPolicy::make(config_.source_url_allow);
    if (!policy) return policy.status();
    HttpLimits limits{config_.source_max_bytes, config_.source_timeout_seconds, 5};
    auto reply = safe_get(url_, {{"User-Agent", "kaito-rag"}}, *policy, limits);
    if (!reply) return reply.status();
    if (reply->status == 404 || reply->status == 410) return std::vector<SourceItem>{};
    if (reply->status < 200 || reply->status > 299) {
      return error(ErrorCode::kUnavailable, url_ + " answered HTTP " + std::to_string(reply->status));
    }
    auto parsed = parse_url(reply->url);
    if (!parsed) return parsed.status();
    const std::string content_type = reply->headers.count("content-type") ? reply->headers["content-type"] : "";
    SourceItem item;
    item.key = url_;
    item.version = reply->headers.count("etag") ? "etag:" + reply->headers["etag"] : "sha256:" + sha256_hex(reply->body);
    item.size = static_cast<int64_t>(reply->body.size());
    item.name = display_name(*parsed, content_type);
    item.metadata["url"] = nlohmann::json(reply->url).dump();
    if (!content_type.empty()) item.metadata["content_type"] = nlohmann::json(content_type).dump();
    body_ = std::move(reply->body);
    return std::vector<SourceItem>{item};
  }

  Result<std::string> fetch(const SourceItem&) override { return body_; }

 private:
  std::string url_;
  const Config& config_;
  std::string body_;  // list() fetched it already
};

}  // namespace

std::unique_ptr<Connector> make_url_connector(const SourceSpec& spec, const Config& config) {
  return std::make_unique<UrlConnector>(spec, config);
}

}  // namespace kr::sources
