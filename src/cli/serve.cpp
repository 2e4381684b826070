// `edgecar serve`: load the manifest and every function once, then serve HTTP.
#include <cstdio>

#include "cli/commands.hpp"
#include "serve/server.hpp"
#include "serve/service.hpp"

namespace edgecar::cli {

int serve(const ServeOptions& o) {
  auto service = serve::load_service(o.manifest);
  if (!service) {
    std::fprintf(stderr, "edgecar: %s\n", service.error().message.c_str());
    return kExitLoad;
  }
  const auto& svc = **service;
  if (o.check) {
    std::printf("%s: ok (app %s, %zu function(s), %zu static dir(s))\n", o.manifest.c_str(), svc.manifest.app_id.c_str(), svc.functions.size(), svc.manifest.statics.size());
    return 0;
  }
  if (o.port >= 0) {
    auto copy = std::make_shared<serve::Service>(svc);
    copy->manifest.port = static_cast<uint16_t>(o.port);
    return serve::run_server(copy);
  }
  return serve::run_server(*service);
}

}  // namespace edgecar::cli
