// SSRF guard for URL and blob sources: which resolved addresses a server-side fetch may reach.
// Loopback, private, link-local (cloud metadata 169.254.169.254), carrier-grade NAT, multicast
// and unspecified addresses are refused unless an allow entry (address or CIDR) covers them.
#pragma once

#include <string>
#include <vector>

#include "core/status.h"

namespace kr::sources {

class AddressPolicy {
 public:
  // kInvalidArgument for an entry that is not an IPv4/IPv6 address or CIDR.
  static Result<AddressPolicy> make(const std::vector<std::string>& allow);

  // ok, or kPermissionDenied naming the address and why it is refused.
  Status check(const std::string& address) const;

 private:
  struct Range {
    int family = 0;               // AF_INET | AF_INET6
    unsigned char bytes[16] = {};
    int prefix = 0;
  };
  static Result<Range> parse_range(const std::string& text);
  static bool contains(const Range& range, int family, const unsigned char* bytes);

  std::vector<Range> allow_;
};

// Why an address is not public ("loopback", "private", ...); empty when it is.
std::string restricted_reason(const std::string& address);

}  // namespace kr::sources
