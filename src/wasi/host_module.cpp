// WASI preview 1 as a host module: always granted; each store gets a context built from
// the call's wasi::Config (arguments, environment, preopens, stdio).
#include "host/host_module.hpp"

namespace edgecar::host {

namespace {

struct WasiState final : StoreState {
  std::unique_ptr<wasi::Context> context;
};

class WasiGrant final : public Grant {
 public:
  Expected<std::unique_ptr<StoreState>> attach(Store& store, Call& call) const override {
    auto ctx = wasi::Context::create(std::move(call.wasi));
    if (!ctx) return std::move(ctx).error();
    auto state = std::make_unique<WasiState>();
    state->context = std::move(*ctx);
    state->context->attach(store);
    return std::unique_ptr<StoreState>(std::move(state));
  }
};

class Wasi final : public HostModule {
 public:
  std::string_view name() const override { return "wasi"; }
  std::string_view description() const override { return "WASI (wasi_snapshot_preview1)"; }
  const HostFunctions& functions() const override { return wasi::Context::shared_functions(); }
  Expected<std::shared_ptr<const Grant>> grant(const Settings&) const override {
    return std::shared_ptr<const Grant>(std::make_shared<WasiGrant>());
  }
};

}  // namespace

const HostModule& wasi_module() {
  static const Wasi m;
  return m;
}

}  // namespace edgecar::host
