// WASI-NN as a host module: granting it loads the function's preloaded models (once per
// process, shared); each store gets its own graph and execution-context handles.
#include "host/host_module.hpp"

namespace edgecar::host {

namespace {

struct NnState final : StoreState {
  explicit NnState(const nn::GraphSet& graphs, nn::Options options) : context(graphs, options) {}
  nn::Context context;
};

class NnGrant final : public Grant {
 public:
  nn::GraphSet graphs;
  nn::Options options;
  Expected<std::unique_ptr<StoreState>> attach(Store& store, Call&) const override {
    auto state = std::make_unique<NnState>(graphs, options);
    state->context.attach(store);
    return std::unique_ptr<StoreState>(std::move(state));
  }
};

class WasiNn final : public HostModule {
 public:
  std::string_view name() const override { return "wasi_nn"; }
  std::string_view description() const override { return "wasi_nn (wasi_ephemeral_nn)"; }
  const HostFunctions& functions() const override { return nn::Context::shared_functions(); }
  Expected<std::shared_ptr<const Grant>> grant(const Settings& s) const override {
    auto g = std::make_shared<NnGrant>();
    g->options = s.nn_options;
    for (const auto& p : s.nn_preload) {
      auto graph = nn::load_preload(p, s.nn_options);
      if (!graph) return std::move(graph).error();
      g->graphs[p.name] = *graph;
    }
    return std::shared_ptr<const Grant>(std::move(g));
  }
};

}  // namespace

const HostModule& wasi_nn_module() {
  static const WasiNn m;
  return m;
}

}  // namespace edgecar::host
