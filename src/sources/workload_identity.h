// Microsoft Entra access tokens for the pod's Azure workload identity: the federated token the
// workload identity webhook projects into the pod (AZURE_FEDERATED_TOKEN_FILE, with
// AZURE_CLIENT_ID, AZURE_TENANT_ID, AZURE_AUTHORITY_HOST) is exchanged at
// {authority}{tenant}/oauth2/v2.0/token (client_credentials, the token as a jwt-bearer client
// assertion). Access tokens are cached until shortly before they expire; each exchange re-reads
// the token file, because the kubelet rotates it.
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <mutex>
#include <string>

#include "core/status.h"

namespace kr::sources {

inline constexpr const char* kStorageScope = "https://storage.azure.com/.default";

struct WorkloadIdentity {
  std::string client_id;
  std::string tenant_id;
  std::string token_file;
  std::string authority_host;  // ends with '/'
  std::string token_url() const { return authority_host + tenant_id + "/oauth2/v2.0/token"; }
};

// From the environment the webhook injects; kFailedPrecondition naming what is missing.
Result<WorkloadIdentity> workload_identity_from_env();

struct AccessToken {
  std::string token;
  std::chrono::seconds lifetime{0};
};

// Sends the exchange: the token endpoint's reply, or why there is none.
using TokenExchange = std::function<Result<AccessToken>(const WorkloadIdentity& identity,
                                                        const std::string& assertion, const std::string& scope)>;

class EntraTokenCache {
 public:
  using Clock = std::function<std::chrono::steady_clock::time_point()>;
  explicit EntraTokenCache(TokenExchange exchange, Clock clock = std::chrono::steady_clock::now)
      : exchange_(std::move(exchange)), clock_(std::move(clock)) {}

  // A token for `scope` valid for a while yet: the cached one, or a fresh exchange. Renewed
  // when less than min(5 min, half its lifetime) is left, as the Azure SDKs do.
  Result<std::string> token(const WorkloadIdentity& identity, const std::string& scope);

 private:
  struct Entry {
    std::string token;
    std::chrono::steady_clock::time_point renew_at;
  };
  TokenExchange exchange_;
  Clock clock_;
  std::mutex mu_;  // held across an exchange: concurrent syncs wait for one exchange, not N
  std::map<std::string, Entry> entries_;  // by client, tenant, authority and scope
};

// The exchange over HTTPS (system CAs), each request limited to `timeout_seconds`.
TokenExchange http_token_exchange(double timeout_seconds);

// The process-wide cache blob sources share.
Result<std::string> workload_identity_token(const std::string& scope, double timeout_seconds);

}  // namespace kr::sources
