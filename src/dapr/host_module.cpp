// Dapr as a host module: granting it picks the backend (the sidecar when DAPR_HTTP_PORT
// is set, else embedded); each store gets its caller id, the request's trace context
// and its own response handles.
#include "host/host_module.hpp"
#include "edgecar/dapr.hpp"

namespace edgecar::host {

namespace {

struct DaprState final : StoreState {
  DaprState(std::shared_ptr<dapr::Backend> backend, std::string app_id, std::string traceparent)
      : context(std::move(backend), std::move(app_id), std::move(traceparent)) {}
  dapr::Context context;
};

class DaprGrant final : public Grant {
 public:
  std::shared_ptr<dapr::Backend> backend;
  std::string app_id;
  Expected<std::unique_ptr<StoreState>> attach(Store& store, Call& call) const override {
    std::string traceparent = call.request_headers ? call.request_headers->get("traceparent") : "";
    auto state = std::make_unique<DaprState>(backend, app_id, std::move(traceparent));
    state->context.attach(store);
    return std::unique_ptr<StoreState>(std::move(state));
  }
};

class Dapr final : public HostModule {
 public:
  std::string_view name() const override { return "dapr"; }
  std::string_view description() const override { return "dapr"; }
  const HostFunctions& functions() const override { return dapr::Context::shared_functions(); }
  Expected<std::shared_ptr<const Grant>> grant(const Settings& s) const override {
    auto g = std::make_shared<DaprGrant>();
    g->backend = dapr::from_environment();
    g->app_id = s.app_id;
    return std::shared_ptr<const Grant>(std::move(g));
  }
};

}  // namespace

const HostModule& dapr_module() {
  static const Dapr m;
  return m;
}

}  // namespace edgecar::host
