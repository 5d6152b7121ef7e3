#include "sources/workload_identity.h"

#include <httplib.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>

#include "sources/safe_http.h"

namespace kr::sources {

namespace {

constexpr size_t kMaxTokenFileBytes = 64 * 1024;

std::string env(const char* name) {
  const char* value = std::getenv(name);
  return value ? value : "";
}

std::string trim(std::string s) {
  const auto not_space = [](unsigned char c) { return !std::isspace(c); };
  s.erase(s.begin(), std::find_if(s.begin(), s.end(), not_space));
  s.erase(std::find_if(s.rbegin(), s.rend(), not_space).base(), s.end());
  return s;
}

// The projected service account token, read anew for every exchange (it rotates).
Result<std::string> read_token_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return error(ErrorCode::kFailedPrecondition,
                 "cannot read the federated token file " + path + " (AZURE_FEDERATED_TOKEN_FILE)");
  }
  std::string text(kMaxTokenFileBytes + 1, '\0');
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  text.resize(static_cast<size_t>(in.gcount()));
  if (text.size() > kMaxTokenFileBytes) {
    return error(ErrorCode::kFailedPrecondition, "the federated token file " + path + " is larger than 64 KiB");
  }
  text = trim(std::move(text));
  if (text.empty()) return error(ErrorCode::kFailedPrecondition, "the federated token file " + path + " is empty");
  return text;
}

// Entra answers expires_in as a number (v2.0) or a string (v1.0).
int64_t expires_in_seconds(const nlohmann::json& reply) {
  const auto it = reply.find("expires_in");
  if (it == reply.end()) return 0;
  if (it->is_number_integer()) return it->get<int64_t>();
  if (it->is_string()) {
    try {
      return std::stoll(it->get<std::string>());
    } catch (const std::exception&) {
      return 0;
    }
  }
  return 0;
}

Result<AccessToken> exchange_over_http(const WorkloadIdentity& identity, const std::string& assertion,
                                       const std::string& scope, double timeout_seconds) {
  const std::string url = identity.token_url();
  auto parsed = parse_url(url);
  if (!parsed) return parsed.status();
  httplib::Client client(parsed->origin());
  const auto seconds = static_cast<time_t>(timeout_seconds);
  const auto micros = static_cast<time_t>((timeout_seconds - static_cast<double>(seconds)) * 1e6);
  client.set_connection_timeout(seconds, micros);
  client.set_read_timeout(seconds, micros);
  client.set_write_timeout(seconds, micros);
  const httplib::Params form = {
      {"grant_type", "client_credentials"},
      {"client_id", identity.client_id},
      {"scope", scope},
      {"client_assertion_type", "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"},
      {"client_assertion", assertion}};
  auto result = client.Post(parsed->target, httplib::Headers{{"Accept", "application/json"}}, form);
  if (!result) {
    return error(ErrorCode::kUnavailable, "cannot reach the Entra token endpoint " + url + ": " +
                                              httplib::to_string(result.error()));
  }
  const nlohmann::json reply = nlohmann::json::parse(result->body, nullptr, /*allow_exceptions=*/false);
  if (result->status == 200 && reply.is_object() && reply.contains("access_token") &&
      reply["access_token"].is_string()) {
    const int64_t lifetime = expires_in_seconds(reply);
    if (lifetime <= 0) return error(ErrorCode::kUnavailable, url + " returned a token without expires_in");
    return AccessToken{reply["access_token"].get<std::string>(), std::chrono::seconds(lifetime)};
  }
  std::string why = "HTTP " + std::to_string(result->status);
  const auto text = [&](const char* key) {
    return reply.is_object() && reply.contains(key) && reply[key].is_string() ? reply[key].get<std::string>()
                                                                               : std::string();
  };
  if (!text("error").empty()) {
    why = text("error") + (text("error_description").empty() ? "" : ": " + text("error_description"));
  }
  const ErrorCode code = result->status >= 500 || result->status == 429 ? ErrorCode::kUnavailable
                                                                         : ErrorCode::kPermissionDenied;
  return error(code, "Entra ID refused the workload identity token exchange for client " + identity.client_id +
                         " (" + why + "): check the federated credential of the managed identity (issuer, "
                         "subject system:serviceaccount:<namespace>:<service account>, audience)");
}

}  // namespace

Result<WorkloadIdentity> workload_identity_from_env() {
  WorkloadIdentity id{env("AZURE_CLIENT_ID"), env("AZURE_TENANT_ID"), env("AZURE_FEDERATED_TOKEN_FILE"),
                      env("AZURE_AUTHORITY_HOST")};
  std::string missing;
  for (const auto& [name, value] : {std::pair{"AZURE_CLIENT_ID", &id.client_id},
                                    {"AZURE_TENANT_ID", &id.tenant_id},
                                    {"AZURE_FEDERATED_TOKEN_FILE", &id.token_file}}) {
    if (value->empty()) missing += (missing.empty() ? "" : ", ") + std::string(name);
  }
  if (!missing.empty()) {
    return error(ErrorCode::kFailedPrecondition,
                 "auth workload_identity needs " + missing +
                     " in the server's environment: the Azure workload identity webhook sets them when the pod's "
                     "service account is annotated azure.workload.identity/client-id and the pod is labelled "
                     "azure.workload.identity/use=true (Helm: serviceAccount.workloadIdentity)");
  }
  if (id.authority_host.empty()) id.authority_host = "https://login.microsoftonline.com/";
  if (id.authority_host.back() != '/') id.authority_host += '/';
  return id;
}

Result<std::string> EntraTokenCache::token(const WorkloadIdentity& identity, const std::string& scope) {
  const std::string key = identity.client_id + "\n" + identity.tenant_id + "\n" + identity.authority_host + "\n" + scope;
  std::lock_guard lock(mu_);
  const auto now = clock_();
  if (auto it = entries_.find(key); it != entries_.end() && now < it->second.renew_at) return it->second.token;
  auto assertion = read_token_file(identity.token_file);
  if (!assertion) return assertion.status();
  auto fresh = exchange_(identity, *assertion, scope);
  if (!fresh) return fresh.status();
  const auto margin = std::min<std::chrono::steady_clock::duration>(std::chrono::minutes(5), fresh->lifetime / 2);
  entries_[key] = Entry{fresh->token, now + fresh->lifetime - margin};
  return fresh->token;
}

TokenExchange http_token_exchange(double timeout_seconds) {
  return [timeout_seconds](const WorkloadIdentity& identity, const std::string& assertion, const std::string& scope) {
    return exchange_over_http(identity, assertion, scope, timeout_seconds);
  };
}

Result<std::string> workload_identity_token(const std::string& scope, double timeout_seconds) {
  auto identity = workload_identity_from_env();
  if (!identity) return identity.status();
  static EntraTokenCache cache(http_token_exchange(timeout_seconds));
  return cache.token(*identity, scope);
}

}  // namespace kr::sources
