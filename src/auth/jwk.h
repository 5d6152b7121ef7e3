// JSON Web Keys (RFC 7517) -> OpenSSL public keys, for RS256 and ES256 only.
// Thread-safe: keys are immutable once built.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

typedef struct evp_pkey_st EVP_PKEY;

namespace kr::auth {

enum class KeyType { kRsa, kEcP256 };

struct VerificationKey {
  std::string kid;                  // may be empty (a JWKS of one key without ids)
  KeyType type = KeyType::kRsa;
  std::shared_ptr<EVP_PKEY> pkey;   // public key only
};

// The signing keys of a JWKS document ({"keys":[...]}). Keys we cannot use (other kty or curve,
// "use":"enc", RSA under 2048 bits) are skipped; an error only when the document is malformed
// or holds no usable key at all.
Result<std::vector<VerificationKey>> parse_jwks(std::string_view json_text);

// RFC 4648 base64url without padding; kInvalidArgument on any other character.
Result<std::string> base64url_decode(std::string_view text);
std::string base64url_encode(std::string_view bytes);

}  // namespace kr::auth
