// Subcommands of the `edgecar` program.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace edgecar::cli {

constexpr int kExitLoad = 1;   // unreadable, malformed, invalid or unlinkable module
constexpr int kExitUsage = 2;  // bad command line
constexpr int kExitTimeout = 124;
constexpr int kExitTrap = 134;

struct RunOptions {
  std::string module;
  std::string invoke;
  std::vector<std::string> args;
  std::vector<std::string> dirs;        // HOST[:GUEST]
  std::vector<std::string> env;         // KEY=VALUE
  uint32_t max_memory_mib = 0;          // 0: no cap beyond the module's own
  double timeout_seconds = 0;           // 0: none
  std::vector<std::string> nn_preload;  // NAME:ENCODING:TARGET:PATH
  int nn_threads = 1;
  bool nn_allow_guest_models = false;
  std::string engine = "auto";  // auto | interp | native (aot: its former name)
  // Network grants (WasmEdge's socket extension): none by default.
  std::vector<std::string> allow_listen, allow_connect, allow_lookup, redirect_connect;
  bool inherit_network = false;
  uint32_t max_sockets = 1024;
  // Embedded Dapr as the guest's sidecar (Dapr's HTTP API on 127.0.0.1:dapr_http_port).
  uint16_t dapr_http_port = 0;
  std::string app_id;          // default: the module's file name
  uint16_t app_port = 0;       // the guest's own port, for invocation by other apps
  std::string resources_path;  // Dapr component files (secret stores)
};

struct ServeOptions {
  std::vector<std::string> manifests = {"edgecar.yaml"};  // one app each, one process
  bool check = false;   // validate the manifest and its modules, then exit
  int port = -1;        // override the manifest's port (0: any free port)
  std::string address;  // override every manifest's listen address
};

int run(const RunOptions& options);
int compile(const std::string& module, std::string out);
int serve(const ServeOptions& options);
int inspect(const std::string& path);

}  // namespace edgecar::cli
