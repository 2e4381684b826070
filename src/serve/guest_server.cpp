// A networked guest under edgecar serve (guest_server.hpp).
#include "serve/guest_server.hpp"

#include <chrono>
#include <cstdio>

#include "host/host_module.hpp"

namespace edgecar::serve {

struct GuestServer::Hosts {
  host::Granted granted;
};

Expected<std::unique_ptr<GuestServer>> GuestServer::start(const Manifest& manifest, bool run) {
  std::unique_ptr<GuestServer> g(new GuestServer);
  g->app_id_ = manifest.app_id;
  g->spec_ = *manifest.server;
  const ServerSpec& spec = g->spec_;
  LoadOptions load;
  load.engine = spec.engine == EngineChoice::Native ? Engine::Native : Engine::Interp;
  load.native_if_available = spec.engine == EngineChoice::Auto;
  load.tier_up = spec.engine == EngineChoice::Auto;
  if (spec.engine != EngineChoice::Interp) {
    load.artifact = spec.module + ".aot";
    load.cache_dir = default_native_cache_dir();
  }
  auto module = Module::from_file(spec.module, load);
  if (!module) {
    Error e = std::move(module).error();
    e.message = spec.module + ": " + e.message;
    return e;
  }
  if (!(*module)->export_func_type("_start"))
    return Error{ErrorKind::Usage,
                 spec.module + ": a server guest must export _start (a WASI command)"};
  g->module_ = *module;
  host::Settings settings;
  settings.app_id = manifest.app_id;
  settings.nn_options.allow_guest_models = spec.nn_allow_guest_models;
  auto granted = host::Granted::make(spec.host_modules, settings);
  if (!granted) return std::move(granted).error();
  if (auto ok = granted->check_imports(**module, spec.module); !ok) return std::move(ok).error();
  g->hosts_ = std::make_shared<Hosts>(Hosts{std::move(*granted)});
  if (!run) return g;
  GuestServer* raw = g.get();
  g->thread_ = std::thread([raw] { raw->loop(); });
  return g;
}

void GuestServer::loop() {
  using clock = std::chrono::steady_clock;
  auto delay = std::chrono::seconds(1);
  for (;;) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (stopping_) return;
    }
    wasi::Config config;
    config.args.push_back(spec_.module.substr(spec_.module.find_last_of('/') + 1));
    config.args.insert(config.args.end(), spec_.args.begin(), spec_.args.end());
    config.env = spec_.env;
    config.preopens = spec_.dirs;
    config.network = spec_.network;
    StoreLimits limits;
    if (spec_.max_memory_mib) limits.max_memory_pages = spec_.max_memory_mib * 16;
    Store store(limits);
    host::Call call{std::move(config)};
    std::string outcome;
    auto started = clock::now();
    auto attached = hosts_->granted.attach(store, call);
    if (!attached) {
      outcome = attached.error().to_string();
    } else {
      {
        std::lock_guard<std::mutex> lock(mu_);
        if (stopping_) return;
        running_ = &store;
      }
      ++starts_;
      std::fprintf(stderr, "edgecar: %s: server guest %s started (port %u)\n", app_id_.c_str(),
                   spec_.module.c_str(), unsigned{spec_.port});
      auto instance = store.instantiate(module_, hosts_->granted.imports());
      Expected<std::vector<Value>> r = instance ? store.call(*instance, "_start", {})
                                                : Expected<std::vector<Value>>(instance.error());
      {
        std::lock_guard<std::mutex> lock(mu_);
        running_ = nullptr;
        if (stopping_) return;
      }
      if (r)
        outcome = "exited";
      else if (r.error().trap == TrapKind::Exit)
        outcome = "exited with code " + std::to_string(r.error().exit_code);
      else
        outcome = r.error().to_string();
    }
    if (clock::now() - started > std::chrono::minutes(1)) delay = std::chrono::seconds(1);
    std::fprintf(stderr, "edgecar: %s: server guest %s; starting it again in %lld s\n",
                 app_id_.c_str(), outcome.c_str(), static_cast<long long>(delay.count()));
    std::fflush(stderr);
    std::unique_lock<std::mutex> lock(mu_);
    if (cv_.wait_for(lock, delay, [&] { return stopping_; })) return;
    delay = std::min(delay * 2, std::chrono::seconds(30));
  }
}

void GuestServer::stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_ && !thread_.joinable()) return;
    stopping_ = true;
    if (running_) running_->interrupt();
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

GuestServer::~GuestServer() {
  stop();
}

}  // namespace edgecar::serve
