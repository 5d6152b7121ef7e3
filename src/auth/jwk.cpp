#include "auth/jwk.h"

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>

#include <nlohmann/json.hpp>

namespace kr::auth {
namespace {

using nlohmann::json;

struct BnFree {
  void operator()(BIGNUM* b) const { BN_free(b); }
};
using BnPtr = std::unique_ptr<BIGNUM, BnFree>;

struct BldFree {
  void operator()(OSSL_PARAM_BLD* b) const { OSSL_PARAM_BLD_free(b); }
};
struct ParamFree {
  void operator()(OSSL_PARAM* p) const { OSSL_PARAM_free(p); }
};
struct CtxFree {
  void operator()(EVP_PKEY_CTX* c) const { EVP_PKEY_CTX_free(c); }
};

Result<std::string> member_bytes(const json& jwk, const char* name) {
  const auto it = jwk.find(name);
  if (it == jwk.end() || !it->is_string()) {
    return error(ErrorCode::kInvalidArgument, std::string("JWK without '") + name + "'");
  }
  return base64url_decode(it->get<std::string>());
}

// Builds a public EVP_PKEY of `type_name` ("RSA", "EC") from OpenSSL parameters.
Result<std::shared_ptr<EVP_PKEY>> from_params(const char* type_name, OSSL_PARAM* params) {
  std::unique_ptr<EVP_PKEY_CTX, CtxFree> ctx(EVP_PKEY_CTX_new_from_name(nullptr, type_name, nullptr));
  EVP_PKEY* pkey = nullptr;
  if (!ctx || EVP_PKEY_fromdata_init(ctx.get()) <= 0 ||
      EVP_PKEY_fromdata(ctx.get(), &pkey, EVP_PKEY_PUBLIC_KEY, params) <= 0 || !pkey) {
    return error(ErrorCode::kInvalidArgument, std::string("JWK is not a valid ") + type_name + " public key");
  }
  return std::shared_ptr<EVP_PKEY>(pkey, EVP_PKEY_free);
}

Result<std::shared_ptr<EVP_PKEY>> rsa_key(const json& jwk) {
  auto n = member_bytes(jwk, "n");
  if (!n) return n.status();
  auto e = member_bytes(jwk, "e");
  if (!e) return e.status();
  if (n->size() * 8 < 2048) return error(ErrorCode::kInvalidArgument, "RSA JWK shorter than 2048 bits");
  BnPtr bn_n(BN_bin2bn(reinterpret_cast<const unsigned char*>(n->data()), static_cast<int>(n->size()), nullptr));
  BnPtr bn_e(BN_bin2bn(reinterpret_cast<const unsigned char*>(e->data()), static_cast<int>(e->size()), nullptr));
  std::unique_ptr<OSSL_PARAM_BLD, BldFree> bld(OSSL_PARAM_BLD_new());
  if (!bn_n || !bn_e || !bld || !OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_N, bn_n.get()) ||
      !OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_E, bn_e.get())) {
    return error(ErrorCode::kInternal, "OpenSSL could not build an RSA key");
  }
  std::unique_ptr<OSSL_PARAM, ParamFree> params(OSSL_PARAM_BLD_to_param(bld.get()));
  return from_params("RSA", params.get());
}

Result<std::shared_ptr<EVP_PKEY>> ec_p256_key(const json& jwk) {
  auto x = member_bytes(jwk, "x");
  if (!x) return x.status();
  auto y = member_bytes(jwk, "y");
  if (!y) return y.status();
  if (x->size() != 32 || y->size() != 32) return error(ErrorCode::kInvalidArgument, "P-256 JWK coordinates must be 32 bytes");
  std::string point = "\x04" + *x + *y;  // SEC1 uncompressed point
  std::unique_ptr<OSSL_PARAM_BLD, BldFree> bld(OSSL_PARAM_BLD_new());
  if (!bld || !OSSL_PARAM_BLD_push_utf8_string(bld.get(), OSSL_PKEY_PARAM_GROUP_NAME, "prime256v1", 0) ||
      !OSSL_PARAM_BLD_push_octet_string(bld.get(), OSSL_PKEY_PARAM_PUB_KEY, point.data(), point.size())) {
    return error(ErrorCode::kInternal, "OpenSSL could not build an EC key");
  }
  std::unique_ptr<OSSL_PARAM, ParamFree> params(OSSL_PARAM_BLD_to_param(bld.get()));
  auto key = from_params("EC", params.get());
  if (!key) return key;
  // fromdata does not prove the point is on the curve; a public-key check does.
  std::unique_ptr<EVP_PKEY_CTX, CtxFree> check(EVP_PKEY_CTX_new_from_pkey(nullptr, key->get(), nullptr));
  if (!check || EVP_PKEY_public_check(check.get()) != 1) {
    return error(ErrorCode::kInvalidArgument, "P-256 JWK point is not on the curve");
  }
  return key;
}

}  // namespace

Result<std::string> base64url_decode(std::string_view text) {
  static const auto value = [](char c) -> int {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '-') return 62;
    if (c == '_') return 63;
    return -1;
  };
  if (text.size() % 4 == 1) return error(ErrorCode::kInvalidArgument, "malformed base64url");
  // Translate to standard base64 and let OpenSSL decode it.
  std::string standard(text);
  for (char& c : standard) {
    if (value(c) < 0) return error(ErrorCode::kInvalidArgument, "malformed base64url");
    if (c == '-') c = '+';
    if (c == '_') c = '/';
  }
  const size_t padding = (4 - standard.size() % 4) % 4;
  standard.append(padding, '=');
  std::string out(standard.size() / 4 * 3, '\0');
  const int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(standard.data()), static_cast<int>(standard.size()));
  if (n < 0) return error(ErrorCode::kInvalidArgument, "malformed base64url");
  out.resize(static_cast<size_t>(n) - padding);
  return out;
}

std::string base64url_encode(std::string_view bytes) {
  std::string out(4 * ((bytes.size() + 2) / 3) + 1, '\0');
  const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(bytes.data()), static_cast<int>(bytes.size()));
  out.resize(static_cast<size_t>(n));
  while (!out.empty() && out.back() == '=') out.pop_back();
  for (char& c : out) {
    if (c == '+') c = '-';
    if (c == '/') c = '_';
  }
  return out;
}

Result<std::vector<VerificationKey>> parse_jwks(std::string_view json_text) {
  const json doc = json::parse(json_text, nullptr, false);
  if (!doc.is_object() || !doc.contains("keys") || !doc["keys"].is_array()) {
    return error(ErrorCode::kInvalidArgument, "JWKS is not a JSON object with a 'keys' array");
  }
  std::vector<VerificationKey> keys;
  std::string skipped;
  for (const json& jwk : doc["keys"]) {
    if (!jwk.is_object()) continue;
    if (jwk.contains("use") && jwk["use"] != "sig") continue;
    VerificationKey key;
    if (jwk.contains("kid") && jwk["kid"].is_string()) key.kid = jwk["kid"].get<std::string>();
    const std::string kty = jwk.value("kty", "");
    Result<std::shared_ptr<EVP_PKEY>> pkey = error(ErrorCode::kUnsupported, "key type '" + kty + "' is not used");
    if (kty == "RSA") {
      key.type = KeyType::kRsa;
      pkey = rsa_key(jwk);
    } else if (kty == "EC" && jwk.value("crv", "") == "P-256") {
      key.type = KeyType::kEcP256;
      pkey = ec_p256_key(jwk);
    }
    if (!pkey) {
      skipped += (skipped.empty() ? "" : "; ") + key.kid + ": " + pkey.status().message();
      continue;
    }
    key.pkey = *pkey;
    keys.push_back(std::move(key));
  }
  if (keys.empty()) {
    return error(ErrorCode::kInvalidArgument, "JWKS holds no RS256/ES256 signing key" +
                                                  (skipped.empty() ? std::string() : " (" + skipped + ")"));
  }
  return keys;
}

}  // namespace kr::auth
