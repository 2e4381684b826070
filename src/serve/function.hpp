// A function of the service: its module loaded and validated once, its host modules
// granted once, and each request run in a fresh store and instance through its ABI
// (WAGI, wagi.hpp, or handler, handler_abi.hpp).
#pragma once

#include <atomic>
#include <memory>
#include <string>

#include "edgecar/edgecar.hpp"
#include "edgecar/http.hpp"
#include "host/host_module.hpp"
#include "serve/deadlines.hpp"
#include "serve/manifest.hpp"

namespace edgecar::serve {

// Abandoned: the client went away while the guest ran; it was stopped (status 499).
enum class Outcome { Ok, Trap, Timeout, Failed, Abandoned };

struct Invocation {
  http::Response response;
  Outcome outcome = Outcome::Ok;
  Engine engine = Engine::Interp;  // the tier the request ran on
};

class Function {
 public:
  static Expected<std::shared_ptr<Function>> load(const FunctionSpec& spec);
  const FunctionSpec& spec() const { return spec_; }
  // Runs one request in a fresh instance; never throws, every failure is a response.
  // client_fd: the request's connection, watched so that a guest whose client left is
  // stopped (-1: none).
  Invocation invoke(const http::Request& req, Deadlines& deadlines, int client_fd = -1) const;
  // The tier new requests start on.
  Engine engine() const { return module_.load()->engine(); }

 private:
  Function(FunctionSpec spec, std::shared_ptr<const Module> module, host::Granted granted)
      : spec_(std::move(spec)), module_(std::move(module)), granted_(std::move(granted)) {}
  FunctionSpec spec_;
  // Replaced once by the native module (engine auto); a request keeps the one it took.
  std::atomic<std::shared_ptr<const Module>> module_;
  host::Granted granted_;  // host functions shared by every request, per-store setup
};

}  // namespace edgecar::serve
