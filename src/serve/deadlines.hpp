// One thread that interrupts stores whose deadline passed; it sleeps until the next one.
#pragma once

#include <cstdint>
#include <memory>

#include "edgecar/edgecar.hpp"

namespace edgecar::serve {

class Deadlines {
 public:
  Deadlines();
  ~Deadlines();
  uint64_t arm(Store& store, uint32_t timeout_ms);
  void disarm(uint64_t id);

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace edgecar::serve
