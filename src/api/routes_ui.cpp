// The web UI: / and its assets, embedded at build time (web_assets.inc, see embed_web.cmake).
// Vite names assets by content hash, so they are cached for a year; index.html is revalidated
// (ETag) so a new binary's UI shows up on the next load. Every response carries a strict
// Content-Security-Policy: scripts, styles and fetches from this origin only (plus the OIDC issuer's
// origin for sign-in: discovery and the token endpoint), no inline code.
#include <algorithm>
#include <cstring>
#include <string>
#include <string_view>

#include "api/http_util.h"

namespace kr::api {
namespace {

struct WebAsset {
  const char* path;  // "/index.html", "/assets/index-3f2a.js"
  const unsigned char* data;
  unsigned size;
  const char* etag;  // quoted
};

#include "web_assets.inc"

// "https://login.microsoftonline.com" from an issuer URL; empty unless it is a plain http(s) origin
// (the value goes into a header, so nothing but host characters gets through).
std::string issuer_origin(std::string_view issuer) {
  const size_t scheme_end = issuer.find("://");
  if (scheme_end == std::string_view::npos) return "";
  const std::string_view scheme = issuer.substr(0, scheme_end);
  if (scheme != "https" && scheme != "http") return "";
  const size_t host_begin = scheme_end + 3;
  const size_t host_end = std::min(issuer.find('/', host_begin), issuer.size());
  const std::string_view host = issuer.substr(host_begin, host_end - host_begin);
  if (host.empty() || host.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-:[]") !=
                          std::string_view::npos) {
    return "";
  }
  return std::string(issuer.substr(0, host_end));
}

// blob: for pdf.js (page images, fonts) and downloads; data: for small inline images and fonts.
std::string content_security_policy(const Config& config) {
  std::string connect = "'self'";
  if (const std::string issuer = issuer_origin(config.oidc_issuer); !issuer.empty()) connect += " " + issuer;
  return "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; font-src 'self' data:; "
         "connect-src " + connect + "; worker-src 'self' blob:; manifest-src 'self'; base-uri 'none'; "
         "form-action 'none'; frame-ancestors 'none'";
}

constexpr const char* kNotBuiltPage = R"(<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Kaito-RAG</title>
<meta name="viewport" content="width=device-width, initial-scale=1"></head>
<body><main>
<h1>Kaito-RAG is running, but its web UI was not built into this binary</h1>
<p>The UI needs Node.js (18 or newer) and npm at build time. To add it:</p>
<pre>cd web &amp;&amp; npm ci &amp;&amp; cd ..
cmake --preset release &amp;&amp; cmake --build --preset release</pre>
<p>(<code>scripts/setup.sh</code> does both.) The HTTP API works without it: see
<a href="/openapi.json">/openapi.json</a>.</p>
</main></body></html>
)";

const WebAsset* find_asset(std::string_view path) {
  for (const WebAsset* a = kWebAssets; a->path; ++a) {
    if (path == a->path) return a;
  }
  return nullptr;
}

std::string_view content_type(std::string_view path) {
  const auto ends = [path](std::string_view suffix) { return path.ends_with(suffix); };
  if (ends(".html")) return "text/html; charset=utf-8";
  if (ends(".js") || ends(".mjs")) return "text/javascript; charset=utf-8";
  if (ends(".css")) return "text/css; charset=utf-8";
  if (ends(".svg")) return "image/svg+xml";
  if (ends(".png")) return "image/png";
  if (ends(".ico")) return "image/x-icon";
  if (ends(".json") || ends(".map")) return "application/json";
  if (ends(".webmanifest")) return "application/manifest+json";
  if (ends(".woff2")) return "font/woff2";
  if (ends(".wasm")) return "application/wasm";
  return "application/octet-stream";
}

void security_headers(httplib::Response& res, const std::string& csp) {
  res.set_header("Content-Security-Policy", csp);
  res.set_header("X-Content-Type-Options", "nosniff");
  res.set_header("Referrer-Policy", "no-referrer");
  res.set_header("Cross-Origin-Opener-Policy", "same-origin");
}

void send_asset(const httplib::Request& req, httplib::Response& res, const WebAsset& asset, bool immutable,
                const std::string& csp) {
  security_headers(res, csp);
  res.set_header("ETag", asset.etag);
  res.set_header("Cache-Control", immutable ? "public, max-age=31536000, immutable" : "no-cache");
  if (req.get_header_value("If-None-Match") == asset.etag) {
    res.status = 304;
    return;
  }
  res.status = 200;
  res.set_content(reinterpret_cast<const char*>(asset.data), asset.size, std::string(content_type(asset.path)));
}

}  // namespace

void add_ui_routes(Router& router, ApiContext& ctx) {
  const std::string csp = content_security_policy(ctx.engine.config());
  const auto index = [csp](const httplib::Request& req, httplib::Response& res) {
    if (const WebAsset* page = find_asset("/index.html")) return send_asset(req, res, *page, false, csp);
    security_headers(res, csp);
    res.set_header("Cache-Control", "no-cache");
    res.status = 200;
    res.set_content(kNotBuiltPage, "text/html; charset=utf-8");
  };
  router.add("GET", "/", "/", index);
  router.add("GET", "/index.html", "/index.html", index);
  const auto asset = [csp](const httplib::Request& req, httplib::Response& res) {
    const std::string path = req.matches[1];
    const WebAsset* found = find_asset(path);
    if (!found) return send_error(res, error(ErrorCode::kNotFound, "no UI asset " + path));
    send_asset(req, res, *found, path.starts_with("/assets/"), csp);
  };
  router.add("GET", R"((/assets/[^/]+))", "/assets/{file}", asset);
  router.add("GET", R"((/favicon\.svg))", "/favicon.svg", asset);
}

}  // namespace kr::api
