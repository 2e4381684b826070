// The service manifest (edgecar.yaml): app id, listen address, functions with their
// routes, modules, ABI, environment, directories, host modules and limits, and static
// file directories. Errors name the file, the line and the reason.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "edgecar/dapr.hpp"
#include "edgecar/edgecar.hpp"
#include "edgecar/nn.hpp"
#include "edgecar/wasi.hpp"

namespace edgecar::serve {

struct FunctionLimits {
  uint32_t max_memory_mib = 128;
  uint32_t timeout_ms = 10'000;
  uint64_t max_body_bytes = 16ull << 20;      // request body
  uint64_t max_response_bytes = 64ull << 20;  // response body (a WAGI guest's stdout)
  uint32_t max_response_headers = 100;        // headers a handler may set
  uint32_t max_concurrent = 0;  // its requests running or waiting; more get 503 (0: no cap)
};

// wagi: any WASI command, CGI-style (body on stdin, response on stdout).
// handler: exports edgecar_alloc and edgecar_handle (see sdk/c/edgecar.h).
enum class Abi { Wagi, Handler };

// How a function's guest code runs: auto serves from the interpreter at once and
// switches to native code when its background compilation is done.
enum class EngineChoice { Auto, Interp, Native };

struct FunctionSpec {
  std::string name;
  EngineChoice engine = EngineChoice::Auto;
  std::string route;  // "/grayscale" (exact) or "/api/*" (prefix "/api/")
  bool prefix = false;
  std::vector<std::string> methods;  // empty: any
  std::string module;                // path, resolved against the manifest's directory
  Abi abi = Abi::Wagi;
  std::vector<std::string> env;  // "KEY=VALUE"
  std::vector<wasi::Preopen> dirs;
  std::vector<std::string> host_modules;  // beyond WASI: names in host::registry()
  std::vector<nn::Preload> nn_preload;    // models for wasi_nn load_by_name
  bool nn_allow_guest_models = false;     // wasi_nn load of the guest's own model bytes
  wasi::Network network;                  // sockets (WasmEdge's extension): none by default
  std::string app_id;                     // the manifest's, for the dapr module
  FunctionLimits limits;
  int line = 0;
};

struct StaticSpec {
  std::string route;  // URL prefix, e.g. "/"
  std::string dir;    // resolved against the manifest's directory
  int line = 0;
};

// A long-running networked guest (WasmEdge's socket extension, as the WasmEdge + Dapr
// repository's services are): one instance, listening on its own port, restarted when it
// exits. Health and Dapr's app channel go to that port.
struct ServerSpec {
  std::string module;
  uint16_t port = 0;
  std::vector<std::string> args;  // after the module's name
  std::vector<std::string> env;   // "KEY=VALUE"
  std::vector<wasi::Preopen> dirs;
  std::vector<std::string> host_modules;
  bool nn_allow_guest_models = false;
  EngineChoice engine = EngineChoice::Auto;
  wasi::Network network;        // listening on `port` is always granted
  uint32_t max_memory_mib = 0;  // 0: the module's own maximum
  int line = 0;
};

// A Dapr pub/sub subscription served by one of the app's functions.
using Subscription = dapr::Subscription;

struct Manifest {
  std::string path;
  std::string app_id;
  std::string address = "0.0.0.0";
  uint16_t port = 8080;
  uint32_t workers = 0;                // 0: one per core
  uint32_t write_timeout_ms = 30'000;  // a client must take a response within this
  uint32_t max_queued = 64;            // requests waiting for a worker; more get 503
  uint32_t max_connections = 0;        // open client connections; 0: from the fd limit
  bool cors = true;
  std::vector<FunctionSpec> functions;
  std::vector<StaticSpec> statics;
  std::vector<Subscription> subscriptions;  // answered on GET /dapr/subscribe
  std::vector<std::string> bindings;        // input bindings: OPTIONS and POST /NAME
  std::string state_file;                   // embedded Dapr's SQLite file (no sidecar)
  std::optional<ServerSpec> server;         // instead of functions: a networked guest
};

// Reads and checks a manifest; on error: ErrorKind::Usage, "FILE:LINE: reason".
Expected<Manifest> load_manifest(const std::string& path);

}  // namespace edgecar::serve
