// A manifest's `server:` guest under `edgecar serve`: one long-lived instance of a
// networked WASI command (its own listener on its port), run on its own thread, started
// again with a growing delay (1 s doubling to 30 s, back to 1 s after a minute up) when
// it exits or traps, stopped cleanly (the store interrupted) when serve stops.
#pragma once

#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <thread>

#include "edgecar/edgecar.hpp"
#include "serve/manifest.hpp"

namespace edgecar::serve {

class GuestServer {
 public:
  // Loads the module and starts the guest (with run false, only loads and checks it);
  // fails when the module cannot be loaded or its imports cannot be met.
  static Expected<std::unique_ptr<GuestServer>> start(const Manifest& manifest, bool run = true);
  ~GuestServer();  // stop()
  void stop();
  uint32_t starts() const { return starts_.load(); }

 private:
  GuestServer() = default;
  void loop();

  std::string app_id_;
  ServerSpec spec_;
  std::shared_ptr<const Module> module_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  Store* running_ = nullptr;  // the store of the instance running now, under mu_
  std::atomic<uint32_t> starts_{0};
  std::thread thread_;
  struct Hosts;
  std::shared_ptr<Hosts> hosts_;
};

}  // namespace edgecar::serve
