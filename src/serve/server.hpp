// The HTTP side of `edgecar serve`: Boost.Beast on one network thread, guests on a
// fixed worker pool, so the network never waits for a guest.
#pragma once

#include <memory>
#include <vector>

#include "serve/service.hpp"

namespace edgecar::serve {

// Serves until SIGINT or SIGTERM, then stops accepting, finishes the requests in
// flight and returns 0; returns non-zero when it cannot listen. Watches the manifest
// and modules and swaps in a new version once it loads (listen address, port and
// workers stay as started).
int run_server(std::shared_ptr<const Service> service);

}  // namespace edgecar::serve
