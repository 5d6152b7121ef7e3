#include "sources/address_policy.h"

#include <gtest/gtest.h>

#include "sources/safe_http.h"

namespace kr::sources {
namespace {

TEST(AddressPolicy, RefusesEveryNonPublicRangeByDefault) {
  auto policy = AddressPolicy::make({});
  ASSERT_TRUE(policy.is_ok());
  for (const char* address : {"127.0.0.1", "127.8.9.10", "10.1.2.3", "172.16.0.1", "172.31.255.255", "192.168.1.1",
                              "169.254.169.254", "100.64.0.1", "0.0.0.0", "224.0.0.1", "255.255.255.255", "::1", "::",
                              "fe80::1", "fd00:ec2::254", "fc00::1", "ff02::1", "::ffff:127.0.0.1",
                              "::ffff:169.254.169.254", "64:ff9b::a9fe:a9fe"}) {
    Status checked = policy->check(address);
    EXPECT_EQ(checked.code(), ErrorCode::kPermissionDenied) << address;
    EXPECT_NE(checked.message().find("source_url_allow"), std::string::npos) << checked.message();
  }
}

TEST(AddressPolicy, AcceptsPublicAddresses) {
  auto policy = AddressPolicy::make({});
  ASSERT_TRUE(policy.is_ok());
  for (const char* address : {"8.8.8.8", "172.32.0.1", "172.15.255.255", "100.128.0.1", "192.169.0.1",
                              "2606:4700::1111", "::ffff:8.8.8.8"}) {
    EXPECT_TRUE(policy->check(address).is_ok()) << address;
  }
}

TEST(AddressPolicy, AllowListOpensExactlyItsRanges) {
  auto policy = AddressPolicy::make({"127.0.0.1", "10.20.0.0/16", "fd00::/8"});
  ASSERT_TRUE(policy.is_ok()) << policy.status().to_string();
  EXPECT_TRUE(policy->check("127.0.0.1").is_ok());
  EXPECT_TRUE(policy->check("::ffff:127.0.0.1").is_ok());
  EXPECT_FALSE(policy->check("127.0.0.2").is_ok());
  EXPECT_TRUE(policy->check("10.20.255.1").is_ok());
  EXPECT_FALSE(policy->check("10.21.0.1").is_ok());
  EXPECT_TRUE(policy->check("fd12::1").is_ok());
  EXPECT_FALSE(policy->check("fc12::1").is_ok());
  EXPECT_FALSE(policy->check("169.254.169.254").is_ok());
}

TEST(AddressPolicy, RejectsMalformedAllowEntries) {
  for (const char* entry : {"localhost", "10.0.0.0/33", "10.0.0.0/", "1.2.3.4/8x", "::1/129"}) {
    auto policy = AddressPolicy::make({entry});
    EXPECT_EQ(policy.status().code(), ErrorCode::kInvalidArgument) << entry;
  }
}

TEST(ParseUrl, SplitsSchemeHostPortAndTarget) {
  auto url = parse_url("https://Example.org:8443/a/b.pdf?x=1#frag");
  ASSERT_TRUE(url.is_ok());
  EXPECT_EQ(url->scheme, "https");
  EXPECT_EQ(url->host, "Example.org");
  EXPECT_EQ(url->port, 8443);
  EXPECT_EQ(url->target, "/a/b.pdf?x=1");
  EXPECT_EQ(url->origin(), "https://Example.org:8443");

  auto v6 = parse_url("http://[::1]:9000");
  ASSERT_TRUE(v6.is_ok());
  EXPECT_EQ(v6->host, "::1");
  EXPECT_EQ(v6->port, 9000);
  EXPECT_EQ(v6->target, "/");
  EXPECT_EQ(v6->origin(), "http://[::1]:9000");
}

TEST(ParseUrl, RefusesOtherSchemesCredentialsAndBadPorts) {
  for (const char* bad : {"file:///etc/passwd", "ftp://host/x", "gopher://h", "http://user:pw@host/", "http:///x",
                          "http://host:0/", "http://host:99999/", "http://host:8o/", "no-scheme"}) {
    EXPECT_EQ(parse_url(bad).status().code(), ErrorCode::kInvalidArgument) << bad;
  }
}

TEST(SafeGet, RefusesLoopbackBeforeConnecting) {
  auto policy = AddressPolicy::make({});
  ASSERT_TRUE(policy.is_ok());
  // Port 9 (discard) would fail to connect; the refusal must come first, naming the address.
  auto reply = safe_get("http://127.0.0.1:9/x", {}, *policy, HttpLimits{});
  ASSERT_EQ(reply.status().code(), ErrorCode::kPermissionDenied);
  EXPECT_NE(reply.status().message().find("loopback"), std::string::npos) << reply.status().message();
  auto named = safe_get("http://localhost:9/x", {}, *policy, HttpLimits{});
  EXPECT_EQ(named.status().code(), ErrorCode::kPermissionDenied) << named.status().message();
}

}  // namespace
}  // namespace kr::sources
