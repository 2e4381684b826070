// WASI preview 1 (wasi_snapshot_preview1) for embedders: program arguments, environment,
// preopened directories (the only way a guest reaches the host file system) and stdio
// bound to the process's streams or to in-memory buffers.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "edgecar/edgecar.hpp"

namespace edgecar::wasi {

struct Preopen {
  std::string host_path;   // a directory on the host
  std::string guest_path;  // the name the guest sees, e.g. "/data" or "."
};

// Addresses and ports a guest may use: an address prefix (CIDR) and a port range.
// Written "ADDR[/BITS][:PORT[-PORT]]", "[V6ADDR][/BITS][:PORT[-PORT]]", "*[:PORTS]" (any
// address of either family) or "PORT[-PORT]" (any address).
struct NetRule {
  int family = 0;  // 0: any address; 4 or 6: the prefix below
  uint8_t addr[16] = {};
  int prefix_bits = 0;
  uint16_t port_lo = 0, port_hi = 65535;

  static Expected<NetRule> parse(std::string_view text);
  std::string to_string() const;
};

// A connection the guest makes to one address and port goes to another instead: how an
// unmodified module whose Dapr port is compiled in (the seed services' 3503) reaches
// a sidecar on 3500, as Kubernetes gives it. Written "ADDR:PORT=ADDR:PORT" (IPv6 in
// brackets), both of one family. The map is its own grant: the guest may connect to
// `from` (and nowhere else through it).
struct NetRedirect {
  NetRule from;  // one address, one port
  NetRule to;

  static Expected<NetRedirect> parse(std::string_view text);
  std::string to_string() const;
};

// What a guest may do on the network (WasmEdge's socket extension). Nothing by default:
// a denied bind, connect or name lookup returns EACCES without reaching the network and
// is logged on stderr (the first few, then a count).
struct Network {
  std::vector<NetRule> listen;        // sock_bind (TCP listeners and UDP receivers)
  std::vector<NetRule> connect;       // sock_connect, sock_send_to
  std::vector<std::string> lookup;    // names sock_getaddrinfo may resolve; "*" any
  std::vector<NetRedirect> redirect;  // sock_connect, sock_send_to: FROM goes to TO
  uint32_t max_sockets = 1024;        // sockets open at once (accepted ones included)
  std::string log_name = "guest";     // who is named in denial messages

  bool any() const {
    return !listen.empty() || !connect.empty() || !lookup.empty() || !redirect.empty();
  }
  // Everything, like wasmtime's -S inherit-network plus allow-ip-name-lookup.
  static Network inherit();
};

struct Config {
  std::vector<std::string> args;  // argv, program name first
  std::vector<std::string> env;   // "KEY=VALUE"
  std::vector<Preopen> preopens;
  // Standard streams: by default the process's own fds 0, 1, 2. An embedder (the
  // service host) can instead feed stdin from memory and capture stdout/stderr.
  bool stdin_from_buffer = false;
  std::string stdin_data;
  std::string* stdout_capture = nullptr;  // appended to when set
  std::string* stderr_capture = nullptr;
  // Caps on the captured streams: a guest writing past stdout_limit is stopped with a
  // trap (its output would be cut); what it writes past stderr_limit is dropped.
  uint64_t stdout_limit = UINT64_MAX;
  uint64_t stderr_limit = UINT64_MAX;
  bool* stdout_overflow = nullptr;  // set to true when stdout_limit stopped the guest
  Network network;
};

class Context {
 public:
  // Opens the preopened directories; fails with a clear message if one cannot be opened.
  static Expected<std::unique_ptr<Context>> create(Config config);
  ~Context();

  // Makes this the WASI context of `store`, for instances linked against
  // shared_functions(). The context must outlive the store's use of them.
  void attach(Store& store);

  // The wasi_snapshot_preview1 functions, created once per process: each call finds its
  // context in the calling store (see attach).
  static const HostFunctions& shared_functions();

  struct Impl;

 private:
  explicit Context(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace edgecar::wasi
