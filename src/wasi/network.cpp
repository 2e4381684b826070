// Network grants: parsing "ADDR[/BITS][:PORTS]" rules and checking a socket address
// against them. An IPv4 address reached through an IPv6 socket (::ffff:a.b.c.d) is
// checked as the IPv4 address, so a v6 socket cannot step around v4 rules.
#include <arpa/inet.h>
#include <netinet/in.h>

#include <charconv>
#include <cstdio>

#include "wasi/network.hpp"

namespace edgecar::wasi {

namespace {

Error bad_rule(std::string_view text, std::string_view why) {
  std::string m = "network rule \"";
  m.append(text);
  m.append("\": ");
  m.append(why);
  m.append(
      " (expected ADDR[/BITS][:PORT[-PORT]], [V6ADDR][/BITS][:PORTS], *[:PORTS] or PORT[-PORT])");
  return Error{ErrorKind::Usage, std::move(m)};
}

bool parse_u(std::string_view s, unsigned max, unsigned& out) {
  if (s.empty()) return false;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && p == s.data() + s.size() && out <= max;
}

bool parse_ports(std::string_view s, NetRule& r) {
  if (s == "*") return true;
  size_t dash = s.find('-');
  unsigned lo = 0, hi = 0;
  if (!parse_u(s.substr(0, dash), 65535, lo)) return false;
  hi = lo;
  if (dash != std::string_view::npos && !parse_u(s.substr(dash + 1), 65535, hi)) return false;
  if (hi < lo) return false;
  r.port_lo = static_cast<uint16_t>(lo);
  r.port_hi = static_cast<uint16_t>(hi);
  return true;
}

bool prefix_matches(const uint8_t* a, const uint8_t* b, int bits) {
  int full = bits / 8, rest = bits % 8;
  if (std::memcmp(a, b, static_cast<size_t>(full)) != 0) return false;
  if (!rest) return true;
  uint8_t mask = static_cast<uint8_t>(0xFF << (8 - rest));
  return (a[full] & mask) == (b[full] & mask);
}

}  // namespace

Expected<NetRule> NetRule::parse(std::string_view text) {
  NetRule r;
  std::string_view s = text;
  if (s.empty()) return bad_rule(text, "empty");
  // "PORT" or "PORT-PORT" alone: any address.
  if (s.find_first_not_of("0123456789-") == std::string_view::npos) {
    if (!parse_ports(s, r)) return bad_rule(text, "bad port range");
    return r;
  }
  std::string_view host, ports;
  if (s[0] == '[') {
    size_t close = s.find(']');
    if (close == std::string_view::npos) return bad_rule(text, "missing ]");
    host = s.substr(1, close - 1);
    std::string_view after = s.substr(close + 1);
    if (!after.empty() && after[0] == '/') {
      size_t colon = after.find(':');
      std::string_view bits =
          after.substr(1, colon == std::string_view::npos ? after.npos : colon - 1);
      unsigned b = 0;
      if (!parse_u(bits, 128, b)) return bad_rule(text, "bad prefix length");
      r.prefix_bits = static_cast<int>(b);
      after = colon == std::string_view::npos ? std::string_view() : after.substr(colon);
    } else {
      r.prefix_bits = 128;
    }
    if (!after.empty()) {
      if (after[0] != ':') return bad_rule(text, "expected :PORT after ]");
      ports = after.substr(1);
    }
    std::string h(host);
    if (inet_pton(AF_INET6, h.c_str(), r.addr) != 1) return bad_rule(text, "bad IPv6 address");
    r.family = 6;
  } else {
    size_t colon = s.find(':');
    if (colon != std::string_view::npos && s.find(':', colon + 1) != std::string_view::npos)
      return bad_rule(text, "write IPv6 addresses in brackets");
    host = s.substr(0, colon);
    if (colon != std::string_view::npos) ports = s.substr(colon + 1);
    if (host == "*") {
      r.family = 0;
    } else {
      size_t slash = host.find('/');
      std::string h(host.substr(0, slash));
      if (inet_pton(AF_INET, h.c_str(), r.addr) != 1) return bad_rule(text, "bad IPv4 address");
      r.family = 4;
      r.prefix_bits = 32;
      if (slash != std::string_view::npos) {
        unsigned b = 0;
        if (!parse_u(host.substr(slash + 1), 32, b)) return bad_rule(text, "bad prefix length");
        r.prefix_bits = static_cast<int>(b);
      }
    }
  }
  if (!ports.empty() && !parse_ports(ports, r)) return bad_rule(text, "bad port range");
  if (r.family && r.prefix_bits > (r.family == 4 ? 32 : 128))
    return bad_rule(text, "bad prefix length");
  return r;
}

std::string NetRule::to_string() const {
  char host[INET6_ADDRSTRLEN] = "*";
  if (family) inet_ntop(family == 4 ? AF_INET : AF_INET6, addr, host, sizeof host);
  char bits[8] = "";
  if (family && prefix_bits != (family == 4 ? 32 : 128))
    std::snprintf(bits, sizeof bits, "/%d", prefix_bits);
  char ports[16] = "";
  if (port_lo != 0 || port_hi != 65535) {
    if (port_hi != port_lo)
      std::snprintf(ports, sizeof ports, ":%u-%u", unsigned{port_lo}, unsigned{port_hi});
    else
      std::snprintf(ports, sizeof ports, ":%u", unsigned{port_lo});
  }
  char out[INET6_ADDRSTRLEN + 32];
  std::snprintf(out, sizeof out, family == 6 ? "[%s]%s%s" : "%s%s%s", host, bits, ports);
  return out;
}

Expected<NetRedirect> NetRedirect::parse(std::string_view text) {
  auto bad = [&](std::string_view why) {
    std::string m = "network redirect \"";
    m.append(text);
    m.append("\": ");
    m.append(why);
    m.append(" (expected ADDR:PORT=ADDR:PORT, e.g. 127.0.0.1:3503=127.0.0.1:3500)");
    return Error{ErrorKind::Usage, std::move(m)};
  };
  size_t eq = text.find('=');
  if (eq == std::string_view::npos) return bad("no =");
  NetRedirect r;
  for (auto [part, out] : {std::pair{text.substr(0, eq), &r.from}, {text.substr(eq + 1), &r.to}}) {
    auto rule = NetRule::parse(part);
    if (!rule) return bad(rule.error().message);
    if (rule->family == 0 || rule->prefix_bits != (rule->family == 4 ? 32 : 128) ||
        rule->port_lo != rule->port_hi || (rule->port_lo == 0 && rule->port_hi == 0))
      return bad("each side must be one address and one port");
    *out = *rule;
  }
  if (r.from.family != r.to.family) return bad("both sides must be IPv4 or both IPv6");
  return r;
}

std::string NetRedirect::to_string() const {
  return from.to_string() + "=" + to.to_string();
}

Network Network::inherit() {
  Network n;
  n.listen.push_back(NetRule{});
  n.connect.push_back(NetRule{});
  n.lookup.push_back("*");
  return n;
}

HostAddress HostAddress::from(const sockaddr_storage& ss) {
  HostAddress a;
  if (ss.ss_family == AF_INET) {
    const auto& in = reinterpret_cast<const sockaddr_in&>(ss);
    a.family = 4;
    std::memcpy(a.addr, &in.sin_addr, 4);
    a.port = ntohs(in.sin_port);
  } else if (ss.ss_family == AF_INET6) {
    const auto& in6 = reinterpret_cast<const sockaddr_in6&>(ss);
    a.port = ntohs(in6.sin6_port);
    if (IN6_IS_ADDR_V4MAPPED(&in6.sin6_addr)) {
      a.family = 4;
      std::memcpy(a.addr, in6.sin6_addr.s6_addr + 12, 4);
    } else {
      a.family = 6;
      std::memcpy(a.addr, in6.sin6_addr.s6_addr, 16);
    }
  }
  return a;
}

std::string HostAddress::to_string() const {
  char host[INET6_ADDRSTRLEN] = {};
  inet_ntop(family == 4 ? AF_INET : AF_INET6, addr, host, sizeof host);
  char out[INET6_ADDRSTRLEN + 16];
  std::snprintf(out, sizeof out, family == 6 ? "[%s]:%u" : "%s:%u", host, unsigned{port});
  return out;
}

bool allowed(const std::vector<NetRule>& rules, const HostAddress& a) {
  for (const NetRule& r : rules) {
    if (a.port < r.port_lo || a.port > r.port_hi) continue;
    if (r.family == 0) return true;
    if (r.family == a.family && prefix_matches(r.addr, a.addr, r.prefix_bits)) return true;
  }
  return false;
}

bool redirect(const std::vector<NetRedirect>& redirects, sockaddr_storage& ss) {
  HostAddress a = HostAddress::from(ss);
  for (const NetRedirect& r : redirects) {
    if (a.family != r.from.family || a.port != r.from.port_lo ||
        std::memcmp(a.addr, r.from.addr, r.from.family == 4 ? 4 : 16) != 0)
      continue;
    if (ss.ss_family == AF_INET) {
      auto& in = reinterpret_cast<sockaddr_in&>(ss);
      std::memcpy(&in.sin_addr, r.to.addr, 4);
      in.sin_port = htons(r.to.port_lo);
    } else {
      auto& in6 = reinterpret_cast<sockaddr_in6&>(ss);
      if (r.to.family == 4) {  // ::ffff:a.b.c.d
        std::memset(in6.sin6_addr.s6_addr, 0, 10);
        std::memset(in6.sin6_addr.s6_addr + 10, 0xFF, 2);
        std::memcpy(in6.sin6_addr.s6_addr + 12, r.to.addr, 4);
      } else {
        std::memcpy(in6.sin6_addr.s6_addr, r.to.addr, 16);
      }
      in6.sin6_port = htons(r.to.port_lo);
    }
    return true;
  }
  return false;
}

bool lookup_allowed(const std::vector<std::string>& names, std::string_view name) {
  for (const std::string& n : names) {
    if (n == "*") return true;
    if (n.size() == name.size() && std::equal(n.begin(), n.end(), name.begin(), [](char a, char b) {
          return std::tolower(a) == std::tolower(b);
        }))
      return true;
  }
  return false;
}

void DenialLog::deny(std::string_view who, std::string_view what) {
  ++count_;
  if (count_ <= kShown)
    std::fprintf(stderr, "edgecar: network: %.*s: denied %.*s\n", static_cast<int>(who.size()),
                 who.data(), static_cast<int>(what.size()), what.data());
  else if (count_ % 1000 == 0)
    std::fprintf(stderr, "edgecar: network: %.*s: %llu network operations denied so far\n",
                 static_cast<int>(who.size()), who.data(), static_cast<unsigned long long>(count_));
}

}  // namespace edgecar::wasi
