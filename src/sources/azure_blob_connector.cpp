// An Azure Blob Storage container over the Blob REST API (List Blobs with paging, Get Blob),
// authenticated by a SAS token, a shared key (HMAC-SHA256 signature, OpenSSL) or the pod's
// workload identity (an Entra bearer token, sources/workload_identity.h). Requests go through
// safe_get, so a container URL on a private address needs source_url_allow too.
// Why not the Azure SDK for C++: Debian 12 does not package it and it pulls its own HTTP stack;
// two REST calls over the HTTP client we already use are less to keep current.
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <algorithm>
#include <cstring>
#include <ctime>
#include <map>
#include <nlohmann/json.hpp>

#include "sources/connector.h"
#include "sources/safe_http.h"
#include "sources/workload_identity.h"

namespace kr::sources {

namespace {

constexpr const char* kApiVersion = "2021-08-06";

std::string percent_encode(const std::string& text, bool keep_slash) {
  static const char* hex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : text) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~' || (keep_slash && c == '/')) {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += hex[c >> 4];
      out += hex[c & 15];
    }
  }
  return out;
}

Result<std::string> base64_decode(const std::string& text) {
  std::string out(text.size(), '\0');
  const int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(text.data()), static_cast<int>(text.size()));
  if (n < 0 || text.size() % 4 != 0) {
    return error(ErrorCode::kInvalidArgument, "account_key is not base64 (copy it from the storage account's keys)");
  }
  size_t padding = 0;
  for (size_t i = text.size(); i > 0 && text[i - 1] == '='; --i) ++padding;
  out.resize(static_cast<size_t>(n) - padding);
  return out;
}

std::string base64_encode(const unsigned char* bytes, size_t size) {
  std::string out(4 * ((size + 2) / 3), '\0');
  EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()), bytes, static_cast<int>(size));
  return out;
}

std::string rfc1123_now() {
  char text[64];
  std::time_t now = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&now, &tm);
  std::strftime(text, sizeof text, "%a, %d %b %Y %H:%M:%S GMT", &tm);
  return text;
}

std::string xml_unescape(const std::string& text) {
  std::string out;
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '&') {
      out += text[i];
      continue;
    }
    static const std::pair<const char*, char> entities[] = {
        {"&amp;", '&'}, {"&lt;", '<'}, {"&gt;", '>'}, {"&quot;", '"'}, {"&apos;", '\''}};
    bool replaced = false;
    for (const auto& [entity, c] : entities) {
      if (text.compare(i, std::strlen(entity), entity) == 0) {
        out += c;
        i += std::strlen(entity) - 1;
        replaced = true;
        break;
      }
    }
    if (!replaced) out += '&';
  }
  return out;
}

// The text of the first <tag>…</tag> in `xml` from `from`; npos-safe.
std::string element(const std::string& xml, const std::string& tag, size_t from = 0, size_t to = std::string::npos) {
  const std::string open = "<" + tag + ">";
  const size_t begin = xml.find(open, from);
  if (begin == std::string::npos || begin >= to) return "";
  const size_t end = xml.find("</" + tag + ">", begin);
  if (end == std::string::npos || end > to) return "";
  return xml_unescape(xml.substr(begin + open.size(), end - begin - open.size()));
}

// Container URL -> account, and the request path prefix ("/container" or, path-style as on
// Azurite, "/account/container").
struct Container {
  std::string origin;
  std::string account;
  std::string path;
  std::string name;
};

Result<Container> parse_container(const std::string& location) {
  auto url = parse_url(location);
  if (!url) return url.status();
  std::string path = url->target.substr(0, url->target.find('?'));
  while (path.size() > 1 && path.back() == '/') path.pop_back();
  Container c;
  c.origin = url->origin();
  c.path = path;
  const size_t dot = url->host.find('.');
  const bool service_host = dot != std::string::npos && url->host.find(".blob.") != std::string::npos;
  std::vector<std::string> segments;
  for (size_t i = 1; i < path.size();) {
    const size_t next = path.find('/', i);
    segments.push_back(path.substr(i, next == std::string::npos ? std::string::npos : next - i));
    if (next == std::string::npos) break;
    i = next + 1;
  }
  if (service_host && segments.size() == 1) {
    c.account = url->host.substr(0, dot);
    c.name = segments[0];
  } else if (!service_host && segments.size() == 2) {
    c.account = segments[0];
    c.name = segments[1];
  } else {
    return error(ErrorCode::kInvalidArgument,
                 "'" + location + "' is not a container URL: expected https://<account>.blob.core.windows.net/"
                 "<container> (or http://host:port/<account>/<container> for an emulator)");
  }
  return c;
}

class AzureBlobConnector : public Connector {
 public:
  AzureBlobConnector(const SourceSpec& spec, const Config& config) : spec_(spec), config_(config) {}

  Result<std::vector<SourceItem>> list() override {
    auto container = parse_container(spec_.location);
    if (!container) return container.status();
    container_ = *container;
    std::vector<SourceItem> items;
    std::string marker;
    do {
      std::map<std::string, std::string> query = {
          {"restype", "container"}, {"comp", "list"}, {"include", "metadata"},
          {"maxresults", std::to_string(config_.source_list_page_size)}};
      if (!marker.empty()) query["marker"] = marker;
      auto reply = request(container_.path, query);
      if (!reply) return reply.status();
      const std::string& xml = reply->body;
      for (size_t at = xml.find("<Blob>"); at != std::string::npos; at = xml.find("<Blob>", at + 1)) {
        const size_t end = xml.find("</Blob>", at);
        if (end == std::string::npos) break;
        SourceItem item;
        item.key = element(xml, "Name", at, end);
        item.name = item.key;
        item.version = "etag:" + element(xml, "Etag", at, end);
        const std::string length = element(xml, "Content-Length", at, end);
        item.size = length.empty() ? -1 : std::stoll(length);
        read_metadata(xml.substr(at, end - at), item.metadata);
        if (!item.key.empty()) items.push_back(std::move(item));
      }
      marker = element(xml, "NextMarker");
    } while (!marker.empty());
    return items;
  }

  Result<std::string> fetch(const SourceItem& item) override {
    auto reply = request(container_.path + "/" + percent_encode(item.key, /*keep_slash=*/true), {});
    if (!reply) return reply.status();
    return std::move(reply->body);
  }

 private:
  static void read_metadata(const std::string& blob, Metadata& metadata) {
    const size_t begin = blob.find("<Metadata>");
    const size_t end = blob.find("</Metadata>");
    if (begin == std::string::npos || end == std::string::npos) return;
    for (size_t at = blob.find('<', begin + 10); at != std::string::npos && at < end; at = blob.find('<', at + 1)) {
      const size_t close = blob.find('>', at);
      if (close == std::string::npos || blob[at + 1] == '/') continue;
      const std::string key = blob.substr(at + 1, close - at - 1);
      const size_t value_end = blob.find("</" + key + ">", close);
      if (value_end == std::string::npos) break;
      metadata[key] = nlohmann::json(xml_unescape(blob.substr(close + 1, value_end - close - 1))).dump();
      at = value_end;
    }
  }

  Result<HttpReply> request(const std::string& path, const std::map<std::string, std::string>& query) {
    auto policy = AddressPolicy::make(config_.source_url_allow);
    if (!policy) return policy.status();
    std::string url = container_.origin + path;
    std::string query_text;
    for (const auto& [name, value] : query) {
      query_text += (query_text.empty() ? "" : "&") + name + "=" + percent_encode(value, false);
    }
    std::vector<std::pair<std::string, std::string>> headers = {{"x-ms-date", rfc1123_now()},
                                                                {"x-ms-version", kApiVersion}};
    if (spec_.workload_identity) {
      auto token = workload_identity_token(kStorageScope, config_.source_timeout_seconds);
      if (!token) return token.status();
      headers.emplace_back("Authorization", "Bearer " + *token);
    } else if (!spec_.sas_token.empty()) {
      std::string sas = spec_.sas_token;
      if (!sas.empty() && sas[0] == '?') sas.erase(0, 1);
      query_text += (query_text.empty() ? "" : "&") + sas;
    } else if (!spec_.account_key.empty()) {
      auto signature = sign(path, query, headers);
      if (!signature) return signature.status();
      headers.emplace_back("Authorization", "SharedKey " + container_.account + ":" + *signature);
    }
    if (!query_text.empty()) url += "?" + query_text;
    HttpLimits limits{config_.source_max_bytes, config_.source_timeout_seconds, /*max_redirects=*/0,
                      config_.source_ca_file};
    auto reply = safe_get(url, headers, *policy, limits);
    if (!reply) return reply.status();
    if (reply->status >= 200 && reply->status < 300) return reply;
    return storage_error(*reply);
  }

  // Shared Key authorization (learn.microsoft.com/rest/api/storageservices/authorize-with-shared-key).
  Result<std::string> sign(const std::string& path, const std::map<std::string, std::string>& query,
                           const std::vector<std::pair<std::string, std::string>>& headers) const {
    auto key = base64_decode(spec_.account_key);
    if (!key) return key.status();
    std::string to_sign = "GET\n\n\n\n\n\n\n\n\n\n\n\n";  // verb + 11 empty standard headers (no body)
    std::vector<std::pair<std::string, std::string>> ms = headers;
    std::sort(ms.begin(), ms.end());
    for (const auto& [name, value] : ms) to_sign += name + ":" + value + "\n";
    to_sign += "/" + container_.account + path;
    for (const auto& [name, value] : query) to_sign += "\n" + name + ":" + value;  // std::map: sorted
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int mac_size = 0;
    HMAC(EVP_sha256(), key->data(), static_cast<int>(key->size()), reinterpret_cast<const unsigned char*>(to_sign.data()),
         to_sign.size(), mac, &mac_size);
    return base64_encode(mac, mac_size);
  }

  Status storage_error(const HttpReply& reply) const {
    const std::string code = reply.headers.count("x-ms-error-code") ? reply.headers.at("x-ms-error-code")
                                                                     : element(reply.body, "Code");
    const std::string where = "container " + container_.name + " at " + container_.origin;
    if (code == "ContainerNotFound") return error(ErrorCode::kNotFound, where + " does not exist");
    if (reply.status == 403 || reply.status == 401) {
      const std::string check = spec_.workload_identity
                                    ? "check that the workload identity has the Storage Blob Data Reader role on the "
                                      "storage account (role assignments take a few minutes to apply)"
                                    : "check the account key or SAS token (a SAS needs list and read permissions)";
      return error(ErrorCode::kPermissionDenied,
                   where + " refused the credentials (" + (code.empty() ? "HTTP " + std::to_string(reply.status) : code) +
                       "): " + check);
    }
    if (reply.status == 404) return error(ErrorCode::kNotFound, where + ": blob not found (" + code + ")");
    return error(ErrorCode::kUnavailable, where + " answered HTTP " + std::to_string(reply.status) +
                                              (code.empty() ? "" : " (" + code + ")"));
  }

  SourceSpec spec_;
  const Config& config_;
  Container container_;
};

}  // namespace

Status validate_container_url(const std::string& location) { return parse_container(location).status(); }

std::unique_ptr<Connector> make_azure_blob_connector(const SourceSpec& spec, const Config& config) {
  return std::make_unique<AzureBlobConnector>(spec, config);
}

}  // namespace kr::sources
