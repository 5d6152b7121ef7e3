// A web page or file behind an http(s) URL, and with crawl_depth > 0 the same-site pages it links
// to (breadth first, up to max_pages). Every request goes through safe_get (SSRF checks,
// redirects re-checked, size and time caps) and robots.txt of the site is obeyed. A page's version
// is its ETag, else its Last-Modified, else a hash of the body; a page synced before is asked for
// with If-None-Match / If-Modified-Since, and a 304 lists it unchanged without a download.
// 404/410: the page is gone (its document is removed).
#include <openssl/sha.h>

#include <cstdio>
#include <deque>
#include <nlohmann/json.hpp>
#include <set>

#include "sources/connector.h"
#include "sources/robots.h"
#include "sources/safe_http.h"

namespace kr::sources {

namespace {

// Bodies of changed pages kept from list() for fetch(); beyond this they are downloaded again.
constexpr int64_t kKeptBodyBytes = 64ll << 20;

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

std::string lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// The href of every <a> element, &amp; decoded.
std::vector<std::string> links_in(const std::string& html) {
  const std::string text = lower(html);
  std::vector<std::string> links;
  for (size_t at = text.find("<a"); at != std::string::npos; at = text.find("<a", at + 2)) {
    if (at + 2 >= text.size() || !std::isspace(static_cast<unsigned char>(text[at + 2]))) continue;
    const size_t end = text.find('>', at);
    if (end == std::string::npos) break;
    size_t href = text.find("href", at);
    if (href == std::string::npos || href > end) continue;
    size_t v = text.find_first_not_of(" \t\r\n", href + 4);
    if (v == std::string::npos || text[v] != '=') continue;
    v = text.find_first_not_of(" \t\r\n", v + 1);
    if (v == std::string::npos || v >= end) continue;
    std::string value;
    if (html[v] == '"' || html[v] == '\'') {
      const size_t close = html.find(html[v], v + 1);
      if (close == std::string::npos) break;
      value = html.substr(v + 1, close - v - 1);
    } else {
      value = html.substr(v, text.find_first_of(" \t\r\n>", v) - v);
    }
    for (size_t amp = value.find("&amp;"); amp != std::string::npos; amp = value.find("&amp;", amp + 1)) {
      value.erase(amp + 1, 4);
    }
    links.push_back(value);
  }
  return links;
}

// Fragment-only links and other schemes (mailto:, javascript:) lead to no other page.
bool followable(const std::string& link) {
  if (link.empty() || link[0] == '#') return false;
  const size_t colon = link.find(':');
  if (colon == std::string::npos || colon > link.find_first_of("/?#")) return true;  // relative
  const std::string scheme = lower(link.substr(0, colon));
  return scheme == "http" || scheme == "https";
}

bool is_html(const std::string& content_type) {
  return content_type.rfind("text/html", 0) == 0 || content_type.rfind("application/xhtml+xml", 0) == 0;
}

class UrlConnector : public Connector {
 public:
  UrlConnector(const SourceSpec& spec, const Config& config)
      : url_(spec.location),
        depth_limit_(spec.crawl_depth),
        max_pages_(spec.crawl_depth > 0 ? (spec.max_pages > 0 ? spec.max_pages : kDefaultMaxPages) : 1),
        config_(config) {}

  void set_known(const std::map<std::string, ItemState>& items) override { known_ = items; }

  Result<std::vector<SourceItem>> list() override {
    auto policy = AddressPolicy::make(config_.source_url_allow);
    if (!policy) return policy.status();
    policy_ = *policy;
    auto start = parse_url(url_);
    if (!start) return start.status();
    origin_ = start->origin();
    auto robots = load_robots();
    if (!robots) return robots.status();
    if (!robots->allows(start->target)) {
      return error(ErrorCode::kPermissionDenied, origin_ + "/robots.txt disallows " + start->target + " for " +
                                                     kUserAgent + " (robots.txt is obeyed)");
    }

    std::vector<SourceItem> items;
    std::deque<std::pair<std::string, int>> queue = {{url_, 0}};
    // Pages found by earlier syncs are asked for again even when no fetched page links to them
    // now (an unchanged page answers 304 without its links); they go when they answer 404.
    for (const auto& [key, state] : known_) {
      if (key != url_) queue.emplace_back(key, depth_limit_);
    }
    std::set<std::string> seen;
    while (!queue.empty() && static_cast<int>(items.size()) < max_pages_) {
      auto [url, depth] = queue.front();
      queue.pop_front();
      if (!seen.insert(url).second) continue;
      const bool first = url == url_;
      auto parsed = parse_url(url);
      if (!parsed || parsed->origin() != origin_ || (!first && !robots->allows(parsed->target))) continue;
      auto page = visit(url, first);
      if (!page) return page.status();  // only the first page's failure fails the run
      if (!page->item) continue;
      items.push_back(std::move(*page->item));
      if (depth >= depth_limit_) continue;
      for (const auto& link : page->links) {
        if (!followable(link)) continue;
        auto target = parse_url(resolve_url(*parse_url(page->final_url), link));
        if (!target || target->origin() != origin_) continue;  // same site only
        const std::string next = target->origin() + target->target;
        if (!seen.count(next)) queue.emplace_back(next, depth + 1);
      }
    }
    return items;
  }

  Result<std::string> fetch(const SourceItem& item) override {
    if (auto failed = errors_.find(item.key); failed != errors_.end()) return failed->second;
    if (auto kept = bodies_.find(item.key); kept != bodies_.end()) {
      std::string body = std::move(kept->second);
      bodies_.erase(kept);
      return body;
    }
    auto reply = safe_get(item.key, {{"User-Agent", kUserAgent}}, policy_, limits());
    if (!reply) return reply.status();
    if (reply->status < 200 || reply->status > 299) {
      return error(ErrorCode::kUnavailable, item.key + " answered HTTP " + std::to_string(reply->status));
    }
    return std::move(reply->body);
  }

 private:
  struct Page {
    std::optional<SourceItem> item;  // none: gone, or not ours to follow
    std::vector<std::string> links;
    std::string final_url;
  };

  HttpLimits limits() const { return {config_.source_max_bytes, config_.source_timeout_seconds, 5, config_.source_ca_file}; }

  // A missing robots.txt (4xx) allows everything; an unreachable one fails the run, as RFC 9309
  // asks (assume everything disallowed), so nothing is deleted.
  Result<RobotsRules> load_robots() {
    auto reply = safe_get(origin_ + "/robots.txt", {{"User-Agent", kUserAgent}}, policy_, limits());
    if (!reply) return reply.status();
    if (reply->status >= 200 && reply->status < 300) return RobotsRules::parse(reply->body);
    if (reply->status >= 400 && reply->status < 500) return RobotsRules();
    return error(ErrorCode::kUnavailable,
                 origin_ + "/robots.txt answered HTTP " + std::to_string(reply->status) + "; retrying next sync");
  }

  Result<Page> visit(const std::string& url, bool first) {
    std::vector<std::pair<std::string, std::string>> headers = {{"User-Agent", kUserAgent}};
    const auto known = known_.find(url);
    if (known != known_.end()) {
      const std::string& version = known->second.version;
      if (version.rfind("etag:", 0) == 0) headers.emplace_back("If-None-Match", version.substr(5));
      if (version.rfind("last-modified:", 0) == 0) headers.emplace_back("If-Modified-Since", version.substr(14));
    }
    Page page;
    page.final_url = url;
    auto reply = safe_get(url, headers, policy_, limits());
    const bool not_modified = reply && reply->status == 304 && known != known_.end();
    if (!reply || (reply->status >= 300 && !not_modified && reply->status != 404 && reply->status != 410)) {
      Status failed = reply ? error(ErrorCode::kUnavailable, url + " answered HTTP " + std::to_string(reply->status))
                            : reply.status();
      if (first) return failed;
      // A linked page that fails is listed so that its document stays; fetch() reports why.
      if (known == known_.end()) return page;
      errors_[url] = failed;
      page.item = SourceItem{url, url, "unreachable", -1, false, {}};
      return page;
    }
    if (reply->status == 404 || reply->status == 410) return page;
    if (not_modified) {
      page.item = SourceItem{url, url, known->second.version, -1, false, {}};  // unchanged: not fetched
      return page;
    }
    auto final_url = parse_url(reply->url);
    if (!final_url) return final_url.status();
    if (!first && final_url->origin() != origin_) return page;  // redirected off the site
    page.final_url = reply->url;
    const std::string content_type = reply->headers.count("content-type") ? reply->headers["content-type"] : "";
    SourceItem item;
    item.key = url;
    if (reply->headers.count("etag")) {
      item.version = "etag:" + reply->headers["etag"];
    } else if (reply->headers.count("last-modified")) {
      item.version = "last-modified:" + reply->headers["last-modified"];
    } else {
      item.version = "sha256:" + sha256_hex(reply->body);
    }
    item.size = static_cast<int64_t>(reply->body.size());
    item.name = display_name(*final_url, content_type);
    item.metadata["url"] = nlohmann::json(reply->url).dump();
    if (!content_type.empty()) item.metadata["content_type"] = nlohmann::json(content_type).dump();
    if (depth_limit_ > 0 && is_html(content_type)) page.links = links_in(reply->body);
    if (known == known_.end() || known->second.version != item.version) {
      if (kept_bytes_ + item.size <= kKeptBodyBytes) {
        kept_bytes_ += item.size;
        bodies_[url] = std::move(reply->body);
      }
    }
    page.item = std::move(item);
    return page;
  }

  std::string url_;
  int depth_limit_;
  int max_pages_;
  const Config& config_;
  AddressPolicy policy_;
  std::string origin_;
  std::map<std::string, ItemState> known_;
  std::map<std::string, std::string> bodies_;  // changed pages list() downloaded
  std::map<std::string, Status> errors_;       // linked pages that failed this time
  int64_t kept_bytes_ = 0;
};

}  // namespace

std::unique_ptr<Connector> make_url_connector(const SourceSpec& spec, const Config& config) {
  return std::make_unique<UrlConnector>(spec, config);
}

}  // namespace kr::sources
