// Network grants and redirects (src/wasi/network.cpp) on socket addresses as the host
// sees them, IPv4-mapped IPv6 included.
#include <arpa/inet.h>
#include <gtest/gtest.h>

#include "wasi/network.hpp"

namespace edgecar::wasi {
namespace {

sockaddr_storage v4(const char* addr, uint16_t port) {
  sockaddr_storage ss = {};
  auto& in = reinterpret_cast<sockaddr_in&>(ss);
  in.sin_family = AF_INET;
  inet_pton(AF_INET, addr, &in.sin_addr);
  in.sin_port = htons(port);
  return ss;
}

sockaddr_storage v6(const char* addr, uint16_t port) {
  sockaddr_storage ss = {};
  auto& in6 = reinterpret_cast<sockaddr_in6&>(ss);
  in6.sin6_family = AF_INET6;
  inet_pton(AF_INET6, addr, &in6.sin6_addr);
  in6.sin6_port = htons(port);
  return ss;
}

std::vector<NetRedirect> redirects(std::initializer_list<const char*> texts) {
  std::vector<NetRedirect> out;
  for (const char* t : texts) {
    auto r = NetRedirect::parse(t);
    EXPECT_TRUE(r) << t;
    if (r) out.push_back(*r);
  }
  return out;
}

TEST(NetRedirect, RewritesOnlyItsOwnAddressAndPortKeepingTheSocketFamily) {
  auto rs = redirects({"127.0.0.1:3503=127.0.0.1:3500", "[::1]:3503=[::1]:3500"});
  auto a = v4("127.0.0.1", 3503);
  ASSERT_TRUE(redirect(rs, a));
  EXPECT_EQ(HostAddress::from(a).to_string(), "127.0.0.1:3500");
  auto mapped = v6("::ffff:127.0.0.1", 3503);  // an IPv6 socket reaching the IPv4 address
  ASSERT_TRUE(redirect(rs, mapped));
  EXPECT_EQ(mapped.ss_family, AF_INET6);
  char text[INET6_ADDRSTRLEN];
  inet_ntop(AF_INET6, &reinterpret_cast<sockaddr_in6&>(mapped).sin6_addr, text, sizeof text);
  EXPECT_STREQ(text, "::ffff:127.0.0.1");
  EXPECT_EQ(HostAddress::from(mapped).port, 3500);
  auto six = v6("::1", 3503);
  ASSERT_TRUE(redirect(rs, six));
  EXPECT_EQ(HostAddress::from(six).to_string(), "[::1]:3500");
  for (auto other : {v4("127.0.0.1", 3504), v4("127.0.0.2", 3503), v6("::2", 3503)}) {
    auto before = other;
    EXPECT_FALSE(redirect(rs, other));
    EXPECT_EQ(std::memcmp(&before, &other, sizeof other), 0);
  }
}

TEST(NetRedirect, RefusesRangesMixedFamiliesAndMissingParts) {
  for (const char* bad : {"127.0.0.1:1", "127.0.0.1=127.0.0.1:2", "127.0.0.0/8:1=127.0.0.1:2",
                          "127.0.0.1:1-2=127.0.0.1:3", "*:1=127.0.0.1:2", "127.0.0.1:1=[::1]:2",
                          "127.0.0.1:1=300.0.0.1:2", "=", "127.0.0.1:0=127.0.0.1:2"})
    EXPECT_FALSE(NetRedirect::parse(bad)) << bad;
  auto ok = NetRedirect::parse("[::1]:3503=[::1]:3500");
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->to_string(), "[::1]:3503=[::1]:3500");
}

}  // namespace
}  // namespace edgecar::wasi
