#include "sources/address_policy.h"

#include <arpa/inet.h>
#include <sys/socket.h>

#include <cstring>

namespace kr::sources {

namespace {

struct Parsed {
  int family = 0;
  unsigned char bytes[16] = {};
};

bool parse_address(const std::string& text, Parsed& out) {
  if (inet_pton(AF_INET, text.c_str(), out.bytes) == 1) {
    out.family = AF_INET;
    return true;
  }
  if (inet_pton(AF_INET6, text.c_str(), out.bytes) == 1) {
    out.family = AF_INET6;
    // An IPv4-mapped address (::ffff:a.b.c.d) is judged as the IPv4 address it reaches.
    static const unsigned char mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    if (std::memcmp(out.bytes, mapped, 12) == 0) {
      std::memmove(out.bytes, out.bytes + 12, 4);
      out.family = AF_INET;
    }
    return true;
  }
  return false;
}

bool prefix_match(const unsigned char* a, const unsigned char* b, int bits) {
  const int whole = bits / 8;
  if (std::memcmp(a, b, static_cast<size_t>(whole)) != 0) return false;
  const int rest = bits % 8;
  if (rest == 0) return true;
  const unsigned char mask = static_cast<unsigned char>(0xff << (8 - rest));
  return (a[whole] & mask) == (b[whole] & mask);
}

std::string reason_v4(const unsigned char* b) {
  if (b[0] == 0) return "unspecified (0.0.0.0/8)";
  if (b[0] == 127) return "loopback";
  if (b[0] == 10 || (b[0] == 172 && (b[1] & 0xf0) == 16) || (b[0] == 192 && b[1] == 168)) return "private";
  if (b[0] == 169 && b[1] == 254) return "link-local (cloud metadata)";
  if (b[0] == 100 && (b[1] & 0xc0) == 64) return "carrier-grade NAT";
  if (b[0] >= 224) return "multicast or reserved";
  return "";
}

std::string reason_v6(const unsigned char* b) {
  static const unsigned char zero[16] = {};
  if (std::memcmp(b, zero, 15) == 0 && (b[15] == 0 || b[15] == 1)) return b[15] ? "loopback" : "unspecified";
  if ((b[0] & 0xfe) == 0xfc) return "private (unique local)";
  if (b[0] == 0xfe && (b[1] & 0xc0) == 0x80) return "link-local";
  if (b[0] == 0xff) return "multicast";
  // NAT64 (64:ff9b::/96) would reach the embedded IPv4 address.
  static const unsigned char nat64[12] = {0, 0x64, 0xff, 0x9b, 0, 0, 0, 0, 0, 0, 0, 0};
  if (std::memcmp(b, nat64, 12) == 0) return reason_v4(b + 12);
  return "";
}

}  // namespace

std::string restricted_reason(const std::string& address) {
  Parsed p;
  if (!parse_address(address, p)) return "not an IP address";
  return p.family == AF_INET ? reason_v4(p.bytes) : reason_v6(p.bytes);
}

Result<AddressPolicy::Range> AddressPolicy::parse_range(const std::string& text) {
  const size_t slash = text.find('/');
  Parsed p;
  if (!parse_address(text.substr(0, slash), p)) {
    return error(ErrorCode::kInvalidArgument,
                 "source_url_allow: '" + text + "' is not an IP address or CIDR (e.g. 127.0.0.1, 10.0.0.0/8)");
  }
  Range range;
  range.family = p.family;
  std::memcpy(range.bytes, p.bytes, sizeof range.bytes);
  const int max_bits = p.family == AF_INET ? 32 : 128;
  range.prefix = max_bits;
  if (slash != std::string::npos) {
    try {
      size_t used = 0;
      range.prefix = std::stoi(text.substr(slash + 1), &used);
      if (used != text.size() - slash - 1) range.prefix = -1;
    } catch (const std::exception&) {
      range.prefix = -1;
    }
    if (range.prefix < 0 || range.prefix > max_bits) {
      return error(ErrorCode::kInvalidArgument, "source_url_allow: bad prefix length in '" + text + "'");
    }
  }
  return range;
}

bool AddressPolicy::contains(const Range& range, int family, const unsigned char* bytes) {
  return range.family == family && prefix_match(range.bytes, bytes, range.prefix);
}

Result<AddressPolicy> AddressPolicy::make(const std::vector<std::string>& allow) {
  AddressPolicy policy;
  for (const auto& entry : allow) {
    auto range = parse_range(entry);
    if (!range) return range.status();
    policy.allow_.push_back(*range);
  }
  return policy;
}

Status AddressPolicy::check(const std::string& address) const {
  Parsed p;
  if (!parse_address(address, p)) return error(ErrorCode::kPermissionDenied, "'" + address + "' is not an IP address");
  const std::string reason = p.family == AF_INET ? reason_v4(p.bytes) : reason_v6(p.bytes);
  if (reason.empty()) return Status::ok();
  for (const auto& range : allow_) {
    if (contains(range, p.family, p.bytes)) return Status::ok();
  }
  return error(ErrorCode::kPermissionDenied, "refused to fetch from " + address + ": the address is " + reason +
                                                 "; add it to source_url_allow to allow it");
}

}  // namespace kr::sources
