#include "auth/jwt.h"

#include <openssl/bn.h>
#include <openssl/ecdsa.h>
#include <openssl/evp.h>

#include <nlohmann/json.hpp>

namespace kr::auth {
namespace {

using nlohmann::json;

constexpr size_t kMaxTokenBytes = 16 * 1024;

Status rejected(const std::string& why) { return error(ErrorCode::kUnauthenticated, "invalid token: " + why); }

Result<json> decode_part(std::string_view part, const char* what) {
  auto bytes = base64url_decode(part);
  if (!bytes) return rejected(std::string(what) + " is not base64url");
  json doc = json::parse(*bytes, nullptr, false);
  if (!doc.is_object()) return rejected(std::string(what) + " is not a JSON object");
  return doc;
}

// JOSE ECDSA signatures are r||s; OpenSSL verifies DER.
std::string ecdsa_raw_to_der(std::string_view raw) {
  ECDSA_SIG* sig = ECDSA_SIG_new();
  if (!sig) return {};
  BIGNUM* r = BN_bin2bn(reinterpret_cast<const unsigned char*>(raw.data()), 32, nullptr);
  BIGNUM* s = BN_bin2bn(reinterpret_cast<const unsigned char*>(raw.data()) + 32, 32, nullptr);
  std::string der;
  if (r && s && ECDSA_SIG_set0(sig, r, s) == 1) {
    unsigned char* out = nullptr;
    const int n = i2d_ECDSA_SIG(sig, &out);
    if (n > 0) der.assign(reinterpret_cast<char*>(out), static_cast<size_t>(n));
    OPENSSL_free(out);
  } else {
    BN_free(r);
    BN_free(s);
  }
  ECDSA_SIG_free(sig);
  return der;
}

bool audience_matches(const json& aud, const std::vector<std::string>& accepted) {
  auto one = [&accepted](const json& value) {
    if (!value.is_string()) return false;
    for (const auto& a : accepted) {
      if (value.get<std::string>() == a) return true;
    }
    return false;
  };
  if (aud.is_array()) {
    for (const auto& value : aud) {
      if (one(value)) return true;
    }
    return false;
  }
  return one(aud);
}

std::string first_string(const json& claims, std::initializer_list<const char*> names) {
  for (const char* name : names) {
    const auto it = claims.find(name);
    if (it != claims.end() && it->is_string() && !it->get<std::string>().empty()) return it->get<std::string>();
  }
  return {};
}

}  // namespace

bool verify_signature(const VerificationKey& key, std::string_view alg, std::string_view signing_input,
                      std::string_view signature) {
  std::string der;
  if (alg == "ES256") {
    if (key.type != KeyType::kEcP256 || signature.size() != 64) return false;
    der = ecdsa_raw_to_der(signature);
    if (der.empty()) return false;
    signature = der;
  } else if (alg != "RS256" || key.type != KeyType::kRsa) {
    return false;
  }
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  if (!ctx) return false;
  const bool ok = EVP_DigestVerifyInit(ctx, nullptr, EVP_sha256(), nullptr, key.pkey.get()) == 1 &&
                  EVP_DigestVerify(ctx, reinterpret_cast<const unsigned char*>(signature.data()), signature.size(),
                                   reinterpret_cast<const unsigned char*>(signing_input.data()),
                                   signing_input.size()) == 1;
  EVP_MD_CTX_free(ctx);
  return ok;
}

Result<TokenIdentity> validate_jwt(std::string_view token, const JwtPolicy& policy, KeySource& keys, int64_t now) {
  if (token.size() > kMaxTokenBytes) return rejected("longer than 16 KiB");
  const size_t dot1 = token.find('.');
  const size_t dot2 = dot1 == std::string_view::npos ? dot1 : token.find('.', dot1 + 1);
  if (dot2 == std::string_view::npos || token.find('.', dot2 + 1) != std::string_view::npos) {
    return rejected("not a JWS in compact form (header.payload.signature)");
  }
  auto header = decode_part(token.substr(0, dot1), "header");
  if (!header) return header.status();
  // Only asymmetric algorithms: "none" and HS* (an HMAC keyed with our public key) are refused here.
  const std::string alg = header->value("alg", "");
  if (alg != "RS256" && alg != "ES256") return rejected("algorithm '" + alg + "' is not accepted (RS256, ES256)");
  if (header->contains("crit")) return rejected("critical header extensions are not supported");
  const std::string kid = (*header).contains("kid") && (*header)["kid"].is_string() ? (*header)["kid"].get<std::string>() : "";

  auto key = keys.key_for(kid, alg == "ES256" ? KeyType::kEcP256 : KeyType::kRsa);
  if (!key) return key.status();
  auto signature = base64url_decode(token.substr(dot2 + 1));
  if (!signature || !verify_signature(*key, alg, token.substr(0, dot2), *signature)) {
    return rejected("signature does not verify");
  }

  auto claims = decode_part(token.substr(dot1 + 1, dot2 - dot1 - 1), "payload");
  if (!claims) return claims.status();
  if (!claims->contains("iss") || (*claims)["iss"] != policy.issuer) return rejected("wrong issuer (iss)");
  if (!claims->contains("aud") || !audience_matches((*claims)["aud"], policy.audiences)) {
    return rejected("wrong audience (aud)");
  }
  const auto exp = claims->find("exp");
  if (exp == claims->end() || !exp->is_number()) return rejected("no expiry (exp)");
  if (now >= exp->get<double>() + static_cast<double>(policy.clock_skew_seconds)) return rejected("expired (exp)");
  if (const auto nbf = claims->find("nbf"); nbf != claims->end()) {
    if (!nbf->is_number()) return rejected("malformed nbf");
    if (now + policy.clock_skew_seconds < nbf->get<double>()) return rejected("not yet valid (nbf)");
  }
  TokenIdentity identity;
  identity.issuer = policy.issuer;
  identity.subject = first_string(*claims, {"sub"});
  if (identity.subject.empty()) return rejected("no subject (sub)");
  identity.name = first_string(*claims, {"preferred_username", "name", "azp", "appid", "client_id"});
  identity.expires_at = static_cast<int64_t>(exp->get<double>());
  if (const auto roles = claims->find(policy.roles_claim); roles != claims->end()) {
    if (roles->is_string()) {
      identity.roles.push_back(roles->get<std::string>());
    } else if (roles->is_array()) {
      for (const auto& r : *roles) {
        if (r.is_string()) identity.roles.push_back(r.get<std::string>());
      }
    }
  }
  return identity;
}

}  // namespace kr::auth
