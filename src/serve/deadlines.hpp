// One thread that interrupts stores whose deadline passed, or whose client went away
// while the guest runs (checked every 100 ms; a non-blocking poll for POLLRDHUP on the
// connection). It sleeps until the next deadline or check.
#pragma once

#include <cstdint>
#include <memory>

#include "edgecar/edgecar.hpp"

namespace edgecar::serve {

class Deadlines {
 public:
  Deadlines();
  ~Deadlines();
  // client_fd: the request's connection, or -1 (no client to watch).
  uint64_t arm(Store& store, uint32_t timeout_ms, int client_fd = -1);
  // Why the store was interrupted, if it was.
  enum class Fired { No, Deadline, ClientGone };
  Fired disarm(uint64_t id);

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace edgecar::serve
