// `edgecar serve`'s process: one network thread for every app's listener, each app with
// its own workers, hot reload, embedded Dapr registration when no sidecar runs, and a
// graceful drain on SIGINT/SIGTERM.
#include "serve/server.hpp"

#include <boost/asio.hpp>

#include <cstdio>
#include <cstdlib>
#include <optional>
#include <thread>

#include "dapr/embedded.hpp"
#include "serve/app.hpp"
#include "serve/reloader.hpp"
#include "serve/session.hpp"

namespace edgecar::serve {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

namespace {
// Without a sidecar (no DAPR_HTTP_PORT) the dapr host module is answered in process.
bool embedded_dapr() {
  const char* port = std::getenv("DAPR_HTTP_PORT");
  return !port || !*port;
}
}  // namespace

int run_servers(const std::vector<std::shared_ptr<const Service>>& services) {
  asio::io_context ioc(1);
  std::optional<AccessLog> access_log(std::in_place);  // outlives every app and session
  std::vector<std::unique_ptr<App>> apps;
  std::vector<std::unique_ptr<IdleSessions>> idle;
  std::vector<std::shared_ptr<Listener>> listeners;
  std::vector<std::shared_ptr<Reloader>> reloaders;
  const char* token = std::getenv("APP_API_TOKEN");
  bool embedded = embedded_dapr();
  for (const auto& service : services) {
    const Manifest& manifest = service->manifest;
    if (embedded && !manifest.state_file.empty()) {
      if (auto r = dapr::Embedded::instance().open_state(manifest.state_file); !r) {
        std::fprintf(stderr, "edgecar: %s: %s\n", manifest.path.c_str(), r.error().message.c_str());
        return 1;
      }
    }
  }
  for (const auto& service : services) {
    const Manifest& manifest = service->manifest;
    unsigned nworkers =
        manifest.workers ? manifest.workers : std::max(1u, std::thread::hardware_concurrency());
    auto app = std::make_unique<App>(service, nworkers, *access_log, token ? token : "");
    boost::system::error_code ec;
    auto addr = asio::ip::make_address(manifest.address, ec);
    if (ec) {
      std::fprintf(stderr, "edgecar: %s: bad listen address \"%s\"\n", manifest.path.c_str(),
                   manifest.address.c_str());
      return 1;
    }
    tcp::acceptor acceptor(ioc);
    tcp::endpoint ep(addr, manifest.port);
    acceptor.open(ep.protocol(), ec);
    if (!ec) acceptor.set_option(asio::socket_base::reuse_address(true), ec);
    if (!ec) acceptor.bind(ep, ec);
    if (!ec) acceptor.listen(asio::socket_base::max_listen_connections, ec);
    if (ec) {
      std::fprintf(stderr, "edgecar: %s: cannot listen on %s:%u: %s\n", manifest.path.c_str(),
                   manifest.address.c_str(), manifest.port, ec.message().c_str());
      return 1;
    }
    uint16_t port = acceptor.local_endpoint().port();
    idle.push_back(std::make_unique<IdleSessions>());
    listeners.push_back(std::make_shared<Listener>(ioc, std::move(acceptor), *app, *idle.back()));
    listeners.back()->accept();
    App* a = app.get();
    // Embedded Dapr learns a reloaded version's subscriptions.
    reloaders.push_back(std::make_shared<Reloader>(ioc, *app, [a, embedded] {
      if (embedded) dapr::Embedded::instance().register_app(a->local_app());
    }));
    reloaders.back()->schedule();
    if (embedded) dapr::Embedded::instance().register_app(app->local_app());
    std::fprintf(stderr, "edgecar: serving %s (%zu function(s), %u worker(s)) on http://%s:%u\n",
                 manifest.app_id.c_str(), service->functions.size(), nworkers,
                 manifest.address.c_str(), port);
    apps.push_back(std::move(app));
  }
  std::fprintf(stderr, "edgecar: dapr building blocks: %s\n",
               dapr::from_environment()->describe().c_str());
  asio::signal_set signals(ioc, SIGINT, SIGTERM);
  signals.async_wait([&](boost::system::error_code, int sig) {
    std::fprintf(stderr, "edgecar: %s received, draining\n", sig == SIGINT ? "SIGINT" : "SIGTERM");
    for (auto& app : apps) app->draining = true;
    for (auto& l : listeners) l->stop();
    for (auto& r : reloaders) r->stop();
    for (auto& i : idle) i->close_all();
  });
  std::fflush(stderr);
  ioc.run();  // returns when the listeners are closed and every session has ended
  for (auto& app : apps) {
    if (embedded) dapr::Embedded::instance().unregister_app(app->startup().app_id);
    app->workers().join();
  }
  access_log.reset();  // the last lines, before the final message
  std::fprintf(stderr, "edgecar: stopped\n");
  return 0;
}

}  // namespace edgecar::serve
