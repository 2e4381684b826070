// Embedded Dapr as a sidecar: Dapr's HTTP API (/v1.0/...) on a loopback port, answered by
// the process's embedded Dapr (embedded.hpp), for guests that call Dapr over HTTP
// themselves, as the seed repository's services do with dapr-sdk-wasi. Stands in for
// daprd: state in edgecar's own store, secrets from the secretstores.local.file
// components of a resources folder, and invocation of apps run by other edgecar
// processes, found through a folder of registrations (one file per app id, holding its
// app port and the registering process), the way daprd's local name resolution works.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "edgecar/edgecar.hpp"

namespace edgecar::dapr {

struct SidecarOptions {
  std::string app_id;
  uint16_t http_port = 0;      // Dapr's HTTP API, on 127.0.0.1
  uint16_t app_port = 0;       // where the app listens (0: not invocable by others)
  std::string resources_path;  // Dapr component files (may be empty)
  std::string registry;        // folder of app registrations; "" for the default
  uint32_t max_connections = 256;
  uint64_t max_body_bytes = 16ull << 20;
};

class SidecarServer {
 public:
  // Loads the components, registers the app, and listens; fails naming what is wrong
  // (a port in use, an unreadable component).
  static Expected<std::unique_ptr<SidecarServer>> start(const SidecarOptions& options);
  ~SidecarServer();  // stops listening and removes the registration
  // What the components folder gave (and what it ignored), one line each.
  const std::vector<std::string>& notes() const;

  struct Impl;

 private:
  explicit SidecarServer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// The registrations folder: EDGECAR_DAPR_APPS, else /tmp/edgecar-dapr-apps-UID.
std::string default_registry();

}  // namespace edgecar::dapr
