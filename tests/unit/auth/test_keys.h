// Test helpers: fresh RSA/P-256 key pairs, their JWKs and JWS signatures, made with OpenSSL.
#pragma once

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ecdsa.h>
#include <openssl/evp.h>

#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "auth/jwk.h"

namespace kr::auth::testing {

struct KeyPair {
  std::shared_ptr<EVP_PKEY> pkey;
  bool ec = false;
  std::string kid;
};

inline KeyPair rsa_pair(const std::string& kid, unsigned bits = 2048) {
  return {std::shared_ptr<EVP_PKEY>(EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", static_cast<size_t>(bits)), EVP_PKEY_free),
          false, kid};
}

inline KeyPair ec_pair(const std::string& kid) {
  return {std::shared_ptr<EVP_PKEY>(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"), EVP_PKEY_free), true, kid};
}

inline std::string bn_bytes(EVP_PKEY* pkey, const char* name) {
  BIGNUM* bn = nullptr;
  EVP_PKEY_get_bn_param(pkey, name, &bn);
  std::string out(static_cast<size_t>(BN_num_bytes(bn)), '\0');
  BN_bn2bin(bn, reinterpret_cast<unsigned char*>(out.data()));
  BN_free(bn);
  return out;
}

inline nlohmann::json jwk(const KeyPair& key) {
  if (!key.ec) {
    return {{"kty", "RSA"}, {"kid", key.kid}, {"use", "sig"}, {"alg", "RS256"},
            {"n", base64url_encode(bn_bytes(key.pkey.get(), OSSL_PKEY_PARAM_RSA_N))},
            {"e", base64url_encode(bn_bytes(key.pkey.get(), OSSL_PKEY_PARAM_RSA_E))}};
  }
  unsigned char point[65];
  size_t len = 0;
  EVP_PKEY_get_octet_string_param(key.pkey.get(), OSSL_PKEY_PARAM_PUB_KEY, point, sizeof(point), &len);
  const std::string p(reinterpret_cast<char*>(point), len);
  return {{"kty", "EC"}, {"crv", "P-256"}, {"kid", key.kid}, {"use", "sig"},
          {"x", base64url_encode(p.substr(1, 32))}, {"y", base64url_encode(p.substr(33, 32))}};
}

inline std::string jwks(std::initializer_list<KeyPair> keys) {
  nlohmann::json doc = {{"keys", nlohmann::json::array()}};
  for (const auto& k : keys) doc["keys"].push_back(jwk(k));
  return doc.dump();
}

inline std::string sign(const KeyPair& key, const std::string& input) {
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  size_t len = 0;
  EVP_DigestSignInit(ctx, nullptr, EVP_sha256(), nullptr, key.pkey.get());
  EVP_DigestSign(ctx, nullptr, &len, reinterpret_cast<const unsigned char*>(input.data()), input.size());
  std::string sig(len, '\0');
  EVP_DigestSign(ctx, reinterpret_cast<unsigned char*>(sig.data()), &len,
                 reinterpret_cast<const unsigned char*>(input.data()), input.size());
  sig.resize(len);
  EVP_MD_CTX_free(ctx);
  if (!key.ec) return sig;
  // DER -> JOSE r||s
  const unsigned char* p = reinterpret_cast<const unsigned char*>(sig.data());
  ECDSA_SIG* ecdsa = d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(sig.size()));
  std::string raw(64, '\0');
  BN_bn2binpad(ECDSA_SIG_get0_r(ecdsa), reinterpret_cast<unsigned char*>(raw.data()), 32);
  BN_bn2binpad(ECDSA_SIG_get0_s(ecdsa), reinterpret_cast<unsigned char*>(raw.data()) + 32, 32);
  ECDSA_SIG_free(ecdsa);
  return raw;
}

// A compact JWS of `claims`, signed by `key` with its algorithm unless `header` says otherwise.
inline std::string token(const KeyPair& key, const nlohmann::json& claims, nlohmann::json header = nullptr) {
  if (header.is_null()) header = {{"alg", key.ec ? "ES256" : "RS256"}, {"typ", "JWT"}, {"kid", key.kid}};
  const std::string input = base64url_encode(header.dump()) + "." + base64url_encode(claims.dump());
  return input + "." + base64url_encode(sign(key, input));
}

}  // namespace kr::auth::testing
