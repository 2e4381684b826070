// `edgecar serve`: load the manifest and every function once, then serve HTTP.
#include <cstdio>

#include "cli/commands.hpp"
#include "serve/function.hpp"
#include "serve/manifest.hpp"
#include "serve/server.hpp"

namespace edgecar::cli {

int serve(const ServeOptions& o) {
  auto manifest = serve::load_manifest(o.manifest);
  if (!manifest) {
    std::fprintf(stderr, "edgecar: %s\n", manifest.error().message.c_str());
    return kExitLoad;
  }
  std::vector<std::shared_ptr<serve::Function>> functions;
  for (const auto& spec : manifest->functions) {
    auto f = serve::Function::load(spec);
    if (!f) {
      std::fprintf(stderr, "edgecar: %s:%d: function %s: %s\n", o.manifest.c_str(), spec.line, spec.name.c_str(), f.error().to_string().c_str());
      return kExitLoad;
    }
    functions.push_back(*f);
  }
  if (o.check) {
    std::printf("%s: ok (app %s, %zu function(s), %zu static dir(s))\n", o.manifest.c_str(), manifest->app_id.c_str(), functions.size(), manifest->statics.size());
    return 0;
  }
  if (o.port >= 0) manifest->port = static_cast<uint16_t>(o.port);
  return serve::run_server(*manifest, std::move(functions));
}

}  // namespace edgecar::cli
