// The one shape of a host module, and the registry of them. A host module is a table of
// host functions created once per process (HostFunctions), prepared once for each
// function or run it is granted to (preloaded models, a Dapr backend), and attached to
// every store that runs a request (its per-store state, reached through
// Store::context). `edgecar run` grants every registered module; `edgecar serve` grants
// WASI and the manifest's host_modules. Adding a host module: its folder, and its accessor
// declared and listed in registry.cpp.
#pragma once

#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "edgecar/edgecar.hpp"
#include "edgecar/http.hpp"
#include "edgecar/nn.hpp"
#include "edgecar/wasi.hpp"

namespace edgecar::host {

// What a host module may read when it is granted to a function (serve) or a run.
struct Settings {
  std::string app_id;                   // the app (serve) or the program's name (run)
  std::vector<nn::Preload> nn_preload;  // models wasi_nn guests load by name
  nn::Options nn_options;
};

// What one store serves: the guest's WASI view, and the request when there is one.
struct Call {
  wasi::Config wasi;
  const http::Headers* request_headers = nullptr;  // serve: for trace context
};

// A host module's state for one store; destroyed after the store's last call.
class StoreState {
 public:
  virtual ~StoreState() = default;
};

// A host module prepared for one function or run; shared by all its stores (threads).
class Grant {
 public:
  virtual ~Grant() = default;
  // Makes this module's per-store state the store's (Store::set_context).
  virtual Expected<std::unique_ptr<StoreState>> attach(Store& store, Call& call) const = 0;
};

class HostModule {
 public:
  virtual ~HostModule() = default;
  virtual std::string_view name() const = 0;         // as a manifest grants it: "wasi_nn"
  virtual std::string_view description() const = 0;  // for messages: "wasi_nn (wasi_ephemeral_nn)"
  virtual const HostFunctions& functions() const = 0;
  // Prepares the module for one function; fails naming what could not be prepared.
  virtual Expected<std::shared_ptr<const Grant>> grant(const Settings& settings) const = 0;
};

// Every registered host module, WASI first.
std::span<const HostModule* const> registry();
const HostModule* find(std::string_view name);
// "wasi, wasi_nn, image, dapr"
std::string names();

// A grant that only needs the shared functions (no per-store state).
class Stateless final : public Grant {
 public:
  Expected<std::unique_ptr<StoreState>> attach(Store&, Call&) const override {
    return std::unique_ptr<StoreState>();
  }
};

// The host modules granted to one function or run: what its modules may import, and
// the per-store setup of each request.
class Granted {
 public:
  // Grants the named modules (WASI always); unknown names are an error listing the known.
  static Expected<Granted> make(std::span<const std::string> names, const Settings& settings);
  // Grants every registered module (edgecar run).
  static Expected<Granted> everything(const Settings& settings);

  // Adds functions that are part of an ABI rather than a grantable module (edgecar_http).
  void add_functions(const HostFunctions& functions, std::string description);

  const Imports& imports() const { return imports_; }
  // A module's imports must all be met: else an error naming the first unmet import and
  // what is granted.
  Expected<void> check_imports(const Module& module, const std::string& path) const;

  // Per-store state of every granted module, attached to `store`; keep it while the
  // store runs.
  using Attached = std::vector<std::unique_ptr<StoreState>>;
  Expected<Attached> attach(Store& store, Call& call) const;

 private:
  Expected<void> add(const HostModule& module, const Settings& settings);
  Imports imports_;
  std::vector<std::shared_ptr<const Grant>> grants_;
  std::string description_;
};

}  // namespace edgecar::host
