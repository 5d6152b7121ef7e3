// Password-protected OOXML files (.docx/.xlsx/.pptx saved with "Encrypt with
// Password"): an OLE2 compound file holding EncryptionInfo and the encrypted
// zip package. Decrypts ECMA-376 Agile (Office 2010+, AES + SHA-1/SHA-2) and
// Standard (Office 2007, AES-ECB + SHA-1) encryption ([MS-OFFCRYPTO] 2.3.4),
// with OpenSSL for the ciphers and hashes.
// Thread-safe: no shared state.
#pragma once

#include <string>
#include <string_view>

#include "core/status.h"
#include "parse/cfb_reader.h"
#include "parse/parse_internal.h"

namespace kr::parse::internal {

// True when the compound file is an encrypted OOXML package.
bool is_encrypted_ooxml(const CompoundFile& file);

// The decrypted zip package. An empty `password` tries Excel's built-in
// "VelvetSweatshop" (workbooks protected against edits only, which open
// without asking). kEncrypted: password missing or wrong (the message says
// which); kUnsupported: an encryption other than AES (e.g. RC4 CryptoAPI);
// kDeadlineExceeded when the key derivation outlasts the file's time limit.
Result<std::string> decrypt_ooxml(const CompoundFile& file, std::string_view password, const ParseContext& ctx);

}  // namespace kr::parse::internal
