// `edgecar serve`: load the manifests and every function once, then serve HTTP.
#include <signal.h>

#include <cstdio>
#include <cstdlib>

#include "cli/commands.hpp"
#include "dapr/route_match.hpp"
#include "serve/guest_server.hpp"
#include "serve/server.hpp"
#include "serve/service.hpp"
#include "serve/tiering.hpp"

namespace edgecar::cli {

namespace {

int serve_manifests(const ServeOptions& o) {
  if (o.port >= 0 && o.manifests.size() != 1) {
    std::fprintf(stderr, "edgecar: --port applies to a single manifest\n");
    return kExitUsage;
  }
  // --check loads every function but serves nothing: no background compilation.
  if (o.check) serve::NativeCompiler::instance().stop();
  std::vector<std::shared_ptr<const serve::Service>> services;
  std::vector<serve::Manifest> server_apps;  // manifests with a server guest
  for (const auto& path : o.manifests) {
    auto service = serve::load_service(path);
    if (!service) {
      std::fprintf(stderr, "edgecar: %s\n", service.error().message.c_str());
      return kExitLoad;
    }
    for (const auto& other : services) {
      if (other->manifest.app_id == (*service)->manifest.app_id) {
        std::fprintf(stderr, "edgecar: %s and %s both declare app %s\n",
                     other->manifest.path.c_str(), path.c_str(), other->manifest.app_id.c_str());
        return kExitLoad;
      }
    }
    const auto& svc = **service;
    if (svc.manifest.server) {
      const auto& sv = *svc.manifest.server;
      if (o.check) {
        auto loaded = serve::GuestServer::start(svc.manifest, false);
        if (!loaded) {
          std::fprintf(stderr, "edgecar: %s: %s\n", path.c_str(), loaded.error().message.c_str());
          return kExitLoad;
        }
        std::printf("%s: ok (app %s, server guest %s on port %u)\n", path.c_str(),
                    svc.manifest.app_id.c_str(), sv.module.c_str(), unsigned{sv.port});
      } else {
        server_apps.push_back(svc.manifest);
      }
      continue;
    }
    if (o.check) {
      std::printf("%s: ok (app %s, %zu function(s), %zu static dir(s))\n", path.c_str(),
                  svc.manifest.app_id.c_str(), svc.functions.size(), svc.manifest.statics.size());
      // daprd evaluates any CEL; embedded Dapr a subset: say which rules only work under daprd.
      for (const auto& sub : svc.manifest.subscriptions)
        for (const auto& [match, target] : sub.rules)
          if (auto parsed = dapr::RouteMatch::parse(match); !parsed)
            std::printf(
                "%s:%d: note: rule \"%s\" (topic %s) works under daprd only; embedded mode skips "
                "it: %s\n",
                path.c_str(), sub.line, match.c_str(), sub.topic.c_str(),
                parsed.error().message.c_str());
      continue;
    }
    if (o.port >= 0 || !o.address.empty()) {
      auto copy = std::make_shared<serve::Service>(svc);
      if (o.port >= 0) copy->manifest.port = static_cast<uint16_t>(o.port);
      if (!o.address.empty()) copy->manifest.address = o.address;
      services.push_back(copy);
    } else {
      services.push_back(*service);
    }
  }
  if (o.check) return 0;
  if (server_apps.empty()) return serve::run_servers(services);
  // Server guests run on their own threads, which must never take SIGINT or SIGTERM:
  // blocked before they start; the main thread takes them (asio's handler when there
  // are HTTP apps too, else sigwait).
  sigset_t stop_signals, old;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, &old);
  std::vector<std::unique_ptr<serve::GuestServer>> guests;
  for (const auto& m : server_apps) {
    auto g = serve::GuestServer::start(m);
    if (!g) {
      std::fprintf(stderr, "edgecar: %s: %s\n", m.path.c_str(), g.error().message.c_str());
      return kExitLoad;
    }
    guests.push_back(std::move(*g));
  }
  int status = 0;
  if (!services.empty()) {
    pthread_sigmask(SIG_SETMASK, &old, nullptr);
    status = serve::run_servers(services);
  } else {
    int sig = 0;
    sigwait(&stop_signals, &sig);
    std::fprintf(stderr, "edgecar: %s received, stopping\n", sig == SIGINT ? "SIGINT" : "SIGTERM");
  }
  for (auto& g : guests) g->stop();
  std::fprintf(stderr, "edgecar: stopped\n");
  return status;
}

}  // namespace

int serve(const ServeOptions& o) {
  int status = serve_manifests(o);
  // Everything is written and closed; a background compilation still running cannot be
  // stopped, so leave without the static destructors it might still use.
  if (serve::NativeCompiler::instance().stop()) {
    std::fflush(nullptr);
    std::_Exit(status);
  }
  return status;
}

}  // namespace edgecar::cli
