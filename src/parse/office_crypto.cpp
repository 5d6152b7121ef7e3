#include "parse/office_crypto.h"

#include <openssl/evp.h>

#include <algorithm>
#include <cstring>
#include <memory>

#include "core/text.h"
#include "parse/xml_util.h"

namespace kr::parse::internal {
namespace {

using Bytes = std::string;

constexpr std::string_view kExcelDefaultPassword = "VelvetSweatshop";
constexpr uint32_t kMaxSpinCount = 10'000'000;  // Office writes 100000; bounds the work a file can demand
constexpr size_t kSegment = 4096;               // Agile encrypts the package in 4 KiB segments

Status need_password() {
  return error(ErrorCode::kEncrypted,
               "Office document is password-protected; upload it again with its password (form field 'password'; CLI: "
               "ingest --password-file) "
               "or remove the password in Office (File > Info > Protect > Encrypt with Password)");
}
Status wrong_password() {
  return error(ErrorCode::kEncrypted, "the password given does not open this Office document; check it and upload again");
}
Status corrupt(const std::string& what) {
  return error(ErrorCode::kCorruptInput, "encrypted Office document is damaged: " + what);
}

uint32_t u32(std::string_view b, size_t at) {
  uint32_t v = 0;
  for (int k = 3; k >= 0; --k) v = (v << 8) | static_cast<unsigned char>(b[at + static_cast<size_t>(k)]);
  return v;
}
Bytes le32(uint32_t v) {
  Bytes out(4, '\0');
  for (size_t k = 0; k < 4; ++k) out[k] = static_cast<char>((v >> (8 * k)) & 0xFF);
  return out;
}

// UTF-8 password as UTF-16LE, which both schemes hash.
Bytes utf16le(std::string_view utf8) {
  Bytes out;
  for (size_t i = 0; i < utf8.size();) {
    const auto c = static_cast<unsigned char>(utf8[i]);
    const int len = c < 0x80 ? 1 : c < 0xE0 ? 2 : c < 0xF0 ? 3 : 4;
    uint32_t cp = len == 1 ? c : c & (0x3F >> (len - 1));
    for (int k = 1; k < len && i + static_cast<size_t>(k) < utf8.size(); ++k) {
      cp = (cp << 6) | (static_cast<unsigned char>(utf8[i + static_cast<size_t>(k)]) & 0x3F);
    }
    i += static_cast<size_t>(len);
    const auto unit = [&](uint32_t u) { out += {static_cast<char>(u & 0xFF), static_cast<char>(u >> 8)}; };
    if (cp >= 0x10000) {
      unit(0xD800 + ((cp - 0x10000) >> 10));
      unit(0xDC00 + ((cp - 0x10000) & 0x3FF));
    } else {
      unit(cp);
    }
  }
  return out;
}

Bytes base64_decode(std::string_view in) {
  Bytes out(in.size() / 4 * 3 + 3, '\0');
  const int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(in.data()), static_cast<int>(in.size()));
  if (n < 0) return {};
  size_t size = static_cast<size_t>(n);
  for (size_t k = in.size(); k > 0 && in[k - 1] == '=' && size > 0; --k) --size;  // EVP counts padding as zeros
  out.resize(size);
  return out;
}

struct Hash {
  const EVP_MD* md = nullptr;
  Bytes operator()(std::string_view a, std::string_view b = {}) const {
    std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), EVP_MD_CTX_free);
    Bytes out(static_cast<size_t>(EVP_MD_get_size(md)), '\0');
    unsigned int size = 0;
    EVP_DigestInit_ex(ctx.get(), md, nullptr);
    EVP_DigestUpdate(ctx.get(), a.data(), a.size());
    EVP_DigestUpdate(ctx.get(), b.data(), b.size());
    EVP_DigestFinal_ex(ctx.get(), reinterpret_cast<unsigned char*>(out.data()), &size);
    return out;
  }
  // H0 = H(salt + password); Hn = H(iterator + Hn-1), the spin both schemes share.
  // The file's deadline is checked as it goes: a header may ask for 10 M rounds.
  Result<Bytes> spin(std::string_view salt, std::string_view password, uint32_t count, const ParseContext& ctx) const {
    Bytes h = (*this)(salt, password);
    for (uint32_t i = 0; i < count; ++i) {
      if (i % 8192 == 0) KR_RETURN_IF_ERROR(ctx.check_deadline("deriving the decryption key"));
      h = (*this)(le32(i), h);
    }
    return h;
  }
};

const EVP_MD* hash_named(std::string_view name) {
  if (name == "SHA1" || name == "SHA-1") return EVP_sha1();
  if (name == "SHA256") return EVP_sha256();
  if (name == "SHA384") return EVP_sha384();
  if (name == "SHA512") return EVP_sha512();
  return nullptr;
}

const EVP_CIPHER* aes(size_t key_bytes, bool cbc) {
  switch (key_bytes) {
    case 16: return cbc ? EVP_aes_128_cbc() : EVP_aes_128_ecb();
    case 24: return cbc ? EVP_aes_192_cbc() : EVP_aes_192_ecb();
    case 32: return cbc ? EVP_aes_256_cbc() : EVP_aes_256_ecb();
    default: return nullptr;
  }
}

// AES without padding; `data` is a whole number of blocks (a ragged tail is dropped).
Bytes aes_decrypt(std::string_view key, std::string_view iv, std::string_view data, bool cbc) {
  const EVP_CIPHER* cipher = aes(key.size(), cbc);
  data = data.substr(0, data.size() / 16 * 16);
  if (cipher == nullptr || data.empty()) return {};
  std::unique_ptr<EVP_CIPHER_CTX, decltype(&EVP_CIPHER_CTX_free)> ctx(EVP_CIPHER_CTX_new(), EVP_CIPHER_CTX_free);
  Bytes out(data.size() + 16, '\0');
  int n = 0, tail = 0;
  const auto* k = reinterpret_cast<const unsigned char*>(key.data());
  const auto* v = cbc ? reinterpret_cast<const unsigned char*>(iv.data()) : nullptr;
  if (EVP_DecryptInit_ex(ctx.get(), cipher, nullptr, k, v) != 1) return {};
  EVP_CIPHER_CTX_set_padding(ctx.get(), 0);
  auto* o = reinterpret_cast<unsigned char*>(out.data());
  if (EVP_DecryptUpdate(ctx.get(), o, &n, reinterpret_cast<const unsigned char*>(data.data()),
                        static_cast<int>(data.size())) != 1 ||
      EVP_DecryptFinal_ex(ctx.get(), o + n, &tail) != 1) {
    return {};
  }
  out.resize(static_cast<size_t>(n + tail));
  return out;
}

// Truncated to `size`, or padded with 0x36 (the spec's fill byte for keys and IVs).
Bytes fit(Bytes b, size_t size) {
  b.resize(size, '\x36');
  return b;
}

// The package stream: its plaintext size (8 bytes), then ciphertext.
Result<std::pair<uint64_t, std::string_view>> package_parts(std::string_view package) {
  if (package.size() < 8) return corrupt("EncryptedPackage is too short");
  const uint64_t size = u32(package, 0) | (static_cast<uint64_t>(u32(package, 4)) << 32);
  if (size > package.size()) return corrupt("EncryptedPackage declares more data than it holds");
  return std::pair{size, package.substr(8)};
}

// [MS-OFFCRYPTO] 2.3.4.10-2.3.4.15: a password key encryptor wraps the package key.
Result<Bytes> decrypt_agile(std::string_view info, std::string_view package, std::string_view password,
                            const ParseContext& ctx) {
  auto xml = load_xml(info.substr(8), "EncryptionInfo", 32);
  if (!xml.is_ok()) return xml.status();
  const pugi::xml_node key_data = descendant(**xml, "keyData");
  const pugi::xml_node encrypted_key = descendant(**xml, "encryptedKey");
  if (!key_data || !encrypted_key) return corrupt("EncryptionInfo has no password key encryptor");
  for (const auto& node : {key_data, encrypted_key}) {
    if (attr(node, "cipherAlgorithm") != "AES" || attr(node, "cipherChaining") != "ChainingModeCBC") {
      return error(ErrorCode::kUnsupported, "Office document uses an encryption other than AES-CBC (" +
                                                sanitize_utf8(attr(node, "cipherAlgorithm")) + "); re-save it in a current Office");
    }
  }
  const Hash key_hash{hash_named(attr(encrypted_key, "hashAlgorithm"))};
  const Hash data_hash{hash_named(attr(key_data, "hashAlgorithm"))};
  if (key_hash.md == nullptr || data_hash.md == nullptr) {
    return error(ErrorCode::kUnsupported, "Office document uses an unknown hash algorithm '" +
                                              sanitize_utf8(attr(encrypted_key, "hashAlgorithm")) + "'");
  }
  const auto number = [](const pugi::xml_node& n, const char* name) { return n.attribute(name).as_uint(); };
  const uint32_t spin = number(encrypted_key, "spinCount");
  if (spin > kMaxSpinCount) return corrupt("spin count " + std::to_string(spin) + " is beyond any Office version's");
  const size_t key_bytes = number(encrypted_key, "keyBits") / 8;
  const size_t block = number(encrypted_key, "blockSize");
  const size_t data_key_bytes = number(key_data, "keyBits") / 8;
  const size_t data_block = number(key_data, "blockSize");
  // AES: 16-byte blocks and 128/192/256-bit keys; anything else is a damaged or hostile header.
  if (block != 16 || data_block != 16 || aes(key_bytes, true) == nullptr || aes(data_key_bytes, true) == nullptr) {
    return corrupt("EncryptionInfo gives an impossible AES block or key size");
  }
  const Bytes salt = base64_decode(attr(encrypted_key, "saltValue"));

  auto spun = key_hash.spin(salt, utf16le(password), spin, ctx);
  if (!spun.is_ok()) return spun.status();
  const Bytes h = std::move(spun).value();
  const auto unwrap = [&](std::string_view block_key, const char* value) {
    return aes_decrypt(fit(key_hash(h, block_key), key_bytes), fit(salt, block),
                       base64_decode(attr(encrypted_key, value)), true);
  };
  const Bytes verifier = unwrap("\xfe\xa7\xd2\x76\x3b\x4b\x9e\x79", "encryptedVerifierHashInput");
  const Bytes verifier_hash = unwrap("\xd7\xaa\x0f\x6d\x30\x61\x34\x4e", "encryptedVerifierHashValue");
  const Bytes expected = key_hash(verifier.substr(0, salt.size()));
  if (verifier.empty() || verifier_hash.size() < expected.size() ||
      verifier_hash.compare(0, expected.size(), expected) != 0) {
    return password.empty() ? need_password() : wrong_password();
  }
  const Bytes secret = unwrap("\x14\x6e\x0b\xe7\xab\xac\xd0\xd6", "encryptedKeyValue").substr(0, data_key_bytes);

  auto parts = package_parts(package);
  if (!parts.is_ok()) return parts.status();
  const auto [size, data] = *parts;
  const Bytes data_salt = base64_decode(attr(key_data, "saltValue"));
  Bytes out;
  out.reserve(data.size());
  for (size_t offset = 0, index = 0; offset < data.size() && out.size() < size; offset += kSegment, ++index) {
    const Bytes iv = fit(data_hash(data_salt, le32(static_cast<uint32_t>(index))), data_block);
    const Bytes plain = aes_decrypt(secret, iv, data.substr(offset, kSegment), true);
    if (plain.empty()) return corrupt("EncryptedPackage segment " + std::to_string(index) + " cannot be decrypted");
    out += plain;
  }
  if (out.size() < size) return corrupt("EncryptedPackage is shorter than its declared size");
  out.resize(size);
  return out;
}

// [MS-OFFCRYPTO] 2.3.4.5-2.3.4.9: a binary header, SHA-1 key derivation, AES-ECB.
Result<Bytes> decrypt_standard(std::string_view info, std::string_view package, std::string_view password,
                               const ParseContext& ctx) {
  if (info.size() < 12) return corrupt("EncryptionInfo is too short");
  const uint32_t header_size = u32(info, 8);
  if (header_size < 32 || 12 + static_cast<size_t>(header_size) + 4 + 16 + 16 + 4 + 32 > info.size()) {
    return corrupt("EncryptionInfo header is truncated");
  }
  const std::string_view header = info.substr(12, header_size);
  const uint32_t algorithm = u32(header, 8);
  const size_t key_bytes = u32(header, 16) / 8;
  if (algorithm < 0x660E || algorithm > 0x6610 || aes(key_bytes, false) == nullptr) {
    return error(ErrorCode::kUnsupported,
                 "Office document uses RC4 or another pre-AES encryption, which is not supported; open it in Office, "
                 "remove the password (File > Info > Protect > Encrypt with Password) and upload again");
  }
  const std::string_view verifier = info.substr(12 + header_size);
  const uint32_t salt_size = u32(verifier, 0);
  if (salt_size != 16) return corrupt("unexpected salt size");
  const std::string_view salt = verifier.substr(4, 16);
  const Hash sha1{EVP_sha1()};
  auto spun = sha1.spin(salt, utf16le(password), 50000, ctx);
  if (!spun.is_ok()) return spun.status();
  const Bytes h = sha1(*spun, le32(0));
  // Key derivation (2.3.4.7): SHA-1 of the hash XORed into 64 bytes of 0x36, then of 0x5C.
  Bytes x1(64, '\x36'), x2(64, '\x5c');
  for (size_t k = 0; k < h.size(); ++k) {
    x1[k] = static_cast<char>(x1[k] ^ h[k]);
    x2[k] = static_cast<char>(x2[k] ^ h[k]);
  }
  const Bytes key = (sha1(x1) + sha1(x2)).substr(0, key_bytes);
  const Bytes plain_verifier = aes_decrypt(key, {}, verifier.substr(20, 16), false);
  const Bytes plain_hash = aes_decrypt(key, {}, verifier.substr(40, 32), false);
  const Bytes expected = sha1(plain_verifier);
  if (plain_hash.size() < expected.size() || plain_hash.compare(0, expected.size(), expected) != 0) {
    return password.empty() ? need_password() : wrong_password();
  }
  auto parts = package_parts(package);
  if (!parts.is_ok()) return parts.status();
  const auto [size, data] = *parts;
  Bytes out = aes_decrypt(key, {}, data, false);
  if (out.size() < size) return corrupt("EncryptedPackage is shorter than its declared size");
  out.resize(size);
  return out;
}

}  // namespace

bool is_encrypted_ooxml(const CompoundFile& file) {
  return file.find(CompoundFile::kRoot, "EncryptionInfo").has_value() &&
         file.find(CompoundFile::kRoot, "EncryptedPackage").has_value();
}

Result<std::string> decrypt_ooxml(const CompoundFile& file, std::string_view password, const ParseContext& ctx) {
  auto info = file.read("EncryptionInfo");
  if (!info.is_ok()) return info.status();
  auto package = file.read("EncryptedPackage");
  if (!package.is_ok()) return package.status();
  if (info->size() < 8) return corrupt("EncryptionInfo is too short");
  const uint32_t version = u32(*info, 0);  // major | minor << 16
  const uint16_t major = version & 0xFFFF, minor = version >> 16;
  const auto attempt = [&](std::string_view pw) -> Result<std::string> {
    if (major == 4 && minor == 4) return decrypt_agile(*info, *package, pw, ctx);
    if ((major == 3 || major == 4) && minor == 2) return decrypt_standard(*info, *package, pw, ctx);
    return error(ErrorCode::kUnsupported, "Office document uses an unsupported encryption (version " +
                                              std::to_string(major) + "." + std::to_string(minor) + ")");
  };
  if (!password.empty()) return attempt(password);
  auto opened = attempt(kExcelDefaultPassword);
  if (opened.is_ok() || opened.status().code() != ErrorCode::kEncrypted) return opened;
  return need_password();
}

}  // namespace kr::parse::internal
