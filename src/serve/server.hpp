// The HTTP side of `edgecar serve`: Boost.Beast on one network thread, guests on a
// fixed worker pool, so the network never waits for a guest.
#pragma once

#include <memory>
#include <vector>

#include "serve/service.hpp"

namespace edgecar::serve {

// Serves until SIGINT or SIGTERM, then stops accepting, finishes the requests in
// flight and returns 0; returns non-zero when it cannot listen. Watches the manifests
// and modules and swaps in a new version once it loads (listen address, port and
// workers stay as started). Several apps in one process, each on its own address and
// port with its own workers; without a Dapr sidecar (no DAPR_HTTP_PORT) they reach one another
// through the embedded Dapr of the dapr host module.
int run_servers(const std::vector<std::shared_ptr<const Service>>& services);

}  // namespace edgecar::serve
