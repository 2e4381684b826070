// The HTTP side of `edgecar serve`: Boost.Beast on one network thread, guests on a
// fixed worker pool, so the network never waits for a guest.
#pragma once

#include <memory>
#include <vector>

#include "serve/function.hpp"
#include "serve/manifest.hpp"

namespace edgecar::serve {

// Serves until SIGINT or SIGTERM, then stops accepting, finishes the requests in
// flight and returns 0; returns non-zero when it cannot listen.
int run_server(const Manifest& manifest, std::vector<std::shared_ptr<Function>> functions);

}  // namespace edgecar::serve
