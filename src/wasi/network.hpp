// Checking a guest's network operations against its grants (edgecar/wasi.hpp Network).
#pragma once

#include <sys/socket.h>

#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "edgecar/wasi.hpp"

namespace edgecar::wasi {

// An address as the rules see it: IPv4-mapped IPv6 addresses are IPv4.
struct HostAddress {
  int family = 0;  // 4 or 6
  uint8_t addr[16] = {};
  uint16_t port = 0;

  static HostAddress from(const sockaddr_storage& ss);
  std::string to_string() const;
};

bool allowed(const std::vector<NetRule>& rules, const HostAddress& a);
// Rewrites `ss` (keeping its family: an IPv4 target of an IPv6 socket becomes
// ::ffff:a.b.c.d) when a redirect's `from` is its address; true if one was.
bool redirect(const std::vector<NetRedirect>& redirects, sockaddr_storage& ss);
// Names are compared without case; "*" allows every name.
bool lookup_allowed(const std::vector<std::string>& names, std::string_view name);

// Denials are logged on stderr: the first few in full, then every thousandth as a count,
// so a guest cannot flood the log.
class DenialLog {
 public:
  void deny(std::string_view who, std::string_view what);
  uint64_t count() const { return count_; }

 private:
  static constexpr uint64_t kShown = 10;
  uint64_t count_ = 0;
};

}  // namespace edgecar::wasi
