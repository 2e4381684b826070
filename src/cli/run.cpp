// `edgecar run`: instantiate a module and run its _start, or call one export.
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cinttypes>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "cli/commands.hpp"
#include "dapr/sidecar_server.hpp"
#include "edgecar/edgecar.hpp"
#include "edgecar/nn.hpp"
#include "edgecar/wasi.hpp"
#include "host/host_module.hpp"

namespace edgecar::cli {

namespace {

void print_error(const Error& e) {
  std::fprintf(stderr, "edgecar: %s\n", e.to_string().c_str());
}

int exit_code_for(const Error& e) {
  if (e.kind != ErrorKind::Trap) return kExitLoad;
  if (e.trap == TrapKind::Exit) return e.exit_code;
  if (e.trap == TrapKind::Interrupted) return kExitTimeout;
  return kExitTrap;
}

// Parses a command-line argument as a value of type t; nullopt if it is not one.
std::optional<Value> parse_arg(const std::string& s, ValType t) {
  const char* p = s.c_str();
  char* end = nullptr;
  errno = 0;
  switch (t.kind()) {
    case ValType::Kind::I32:
    case ValType::Kind::I64: {
      bool neg = !s.empty() && s[0] == '-';
      uint64_t bits;
      if (neg) {
        long long v = std::strtoll(p, &end, 0);
        bits = static_cast<uint64_t>(v);
        if (t == ValType::I32 && (v < INT32_MIN)) return std::nullopt;
      } else {
        unsigned long long v = std::strtoull(p, &end, 0);
        bits = v;
        if (t == ValType::I32 && v > UINT32_MAX) return std::nullopt;
      }
      if (errno || end == p || *end) return std::nullopt;
      return Value{t, t == ValType::I32 ? (bits & 0xFFFFFFFFu) : bits};
    }
    case ValType::Kind::F32: {
      float v = std::strtof(p, &end);
      if (end == p || *end) return std::nullopt;
      return Value::f32(v);
    }
    case ValType::Kind::F64: {
      double v = std::strtod(p, &end);
      if (end == p || *end) return std::nullopt;
      return Value::f64(v);
    }
    default:
      return std::nullopt;  // references cannot be written on a command line
  }
}

void print_value(const Value& v) {
  switch (v.type.kind()) {
    case ValType::Kind::I32:
      std::printf("%" PRId32 "\n", v.as_i32());
      break;
    case ValType::Kind::I64:
      std::printf("%" PRId64 "\n", v.as_i64());
      break;
    case ValType::Kind::F32:
      std::printf("%.9g\n", static_cast<double>(v.as_f32()));
      break;
    case ValType::Kind::F64:
      std::printf("%.17g\n", v.as_f64());
      break;
    default:
      std::printf("%s\n", v.to_string().c_str());
      break;
  }
}

// Interrupts the store after the timeout unless stopped first; sleeps, never polls.
class Watchdog {
 public:
  Watchdog(Store& store, double seconds) {
    if (seconds <= 0) return;
    thread_ = std::thread([this, &store, seconds] {
      std::unique_lock<std::mutex> lock(mu_);
      if (!cv_.wait_for(lock, std::chrono::duration<double>(seconds), [this] { return done_; }))
        store.interrupt();
    });
  }
  ~Watchdog() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      done_ = true;
    }
    cv_.notify_all();
    if (thread_.joinable()) thread_.join();
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool done_ = false;
  std::thread thread_;
};

// SIGINT and SIGTERM stop the guest cleanly: the first interrupts the store (a guest
// waiting in poll_oneoff or on a socket wakes at once, a running one at its next check),
// a second ends the process at once, for a guest stuck where no interrupt reaches.
class SignalStop {
 public:
  SignalStop() {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    // Blocked here, before any other thread starts, so every thread inherits the mask
    // and the signals arrive only through the descriptor.
    pthread_sigmask(SIG_BLOCK, &set, &old_);
    sfd_ = signalfd(-1, &set, SFD_CLOEXEC);
    stop_ = eventfd(0, EFD_CLOEXEC);
    if (sfd_ < 0 || stop_ < 0) return;
    thread_ = std::thread([this] {
      pollfd p[2] = {{sfd_, POLLIN, 0}, {stop_, POLLIN, 0}};
      while (poll(p, 2, -1) >= 0 || errno == EINTR) {
        if (p[1].revents) return;
        if (!(p[0].revents & POLLIN)) continue;
        signalfd_siginfo info;
        if (read(sfd_, &info, sizeof info) != sizeof info) continue;
        Store* store = store_.load();
        if (signal_.exchange(static_cast<int>(info.ssi_signo)) != 0 || !store)
          _exit(128 + static_cast<int>(info.ssi_signo));
        store->interrupt();
      }
    });
  }
  ~SignalStop() {
    if (thread_.joinable()) {
      uint64_t one = 1;
      (void)!write(stop_, &one, sizeof one);
      thread_.join();
    }
    if (sfd_ >= 0) close(sfd_);
    if (stop_ >= 0) close(stop_);
    pthread_sigmask(SIG_SETMASK, &old_, nullptr);
  }
  // Signals before this end the process at once (nothing runs yet to stop cleanly).
  void attach(Store& store) { store_.store(&store); }
  void detach() { store_.store(nullptr); }
  int signal() const { return signal_.load(); }

 private:
  sigset_t old_;
  std::atomic<Store*> store_{nullptr};
  int sfd_ = -1, stop_ = -1;
  std::atomic<int> signal_{0};
  std::thread thread_;
};

int report(const Error& e, const RunOptions& o, const SignalStop& signals) {
  if (e.trap == TrapKind::Exit) return e.exit_code;
  if (e.trap == TrapKind::Interrupted && signals.signal()) {
    int sig = signals.signal();
    std::fprintf(stderr, "edgecar: %s received: %s stopped\n", sig == SIGINT ? "SIGINT" : "SIGTERM",
                 o.module.c_str());
    return 0;
  }
  if (e.trap == TrapKind::Interrupted) {
    std::fprintf(stderr, "edgecar: timeout: %s interrupted after %g s\n", o.module.c_str(),
                 o.timeout_seconds);
    return kExitTimeout;
  }
  print_error(e);
  return exit_code_for(e);
}

}  // namespace

int run(const RunOptions& o) {
  SignalStop signals;  // first: every thread started later inherits its signal mask
  wasi::Config config;
  std::string program = o.module.substr(o.module.find_last_of('/') + 1);
  config.args.push_back(program);
  config.args.insert(config.args.end(), o.args.begin(), o.args.end());
  for (const auto& kv : o.env) {
    if (kv.find('=') == std::string::npos) {
      std::fprintf(stderr, "edgecar: --env expects KEY=VALUE, got \"%s\"\n", kv.c_str());
      return kExitUsage;
    }
    config.env.push_back(kv);
  }
  for (const auto& d : o.dirs) {
    size_t colon = d.find(':');
    wasi::Preopen p;
    p.host_path = d.substr(0, colon);
    p.guest_path = colon == std::string::npos ? p.host_path : d.substr(colon + 1);
    config.preopens.push_back(p);
  }
  if (o.inherit_network) config.network = wasi::Network::inherit();
  auto add_rules = [](const std::vector<std::string>& specs, std::vector<wasi::NetRule>& out) {
    for (const auto& spec : specs) {
      auto rule = wasi::NetRule::parse(spec);
      if (!rule) {
        print_error(rule.error());
        return false;
      }
      out.push_back(*rule);
    }
    return true;
  };
  if (!add_rules(o.allow_listen, config.network.listen) ||
      !add_rules(o.allow_connect, config.network.connect))
    return kExitUsage;
  for (const auto& spec : o.redirect_connect) {
    auto r = wasi::NetRedirect::parse(spec);
    if (!r) {
      print_error(r.error());
      return kExitUsage;
    }
    config.network.redirect.push_back(*r);
  }
  for (const auto& name : o.allow_lookup) config.network.lookup.push_back(name);
  config.network.max_sockets = o.max_sockets;
  config.network.log_name = program;
  LoadOptions load;
  load.engine = o.engine == "native" || o.engine == "aot" ? Engine::Native : Engine::Interp;
  load.native_if_available = o.engine == "auto";
  load.tier_up = o.engine == "auto";
  if (o.engine != "interp") {
    load.artifact = o.module + ".aot";
    load.cache_dir = default_native_cache_dir();
  }
  auto module = Module::from_file(o.module, load);
  if (!module) {
    print_error(module.error());
    return kExitLoad;
  }
  if (!(*module)->native_notes().empty())
    std::fprintf(stderr, "edgecar: note: %s\n", (*module)->native_notes().c_str());
  // `edgecar run` grants every host module; `edgecar serve` grants them per function.
  // dapr: the sidecar when DAPR_HTTP_PORT is set, else embedded (state in memory or
  // EDGECAR_STATE_FILE; no apps to invoke).
  std::unique_ptr<dapr::SidecarServer> sidecar;
  if (o.dapr_http_port) {
    dapr::SidecarOptions so;
    so.app_id = o.app_id.empty() ? program : o.app_id;
    so.http_port = o.dapr_http_port;
    so.app_port = o.app_port;
    so.resources_path = o.resources_path;
    auto started = dapr::SidecarServer::start(so);
    if (!started) {
      print_error(started.error());
      return kExitUsage;
    }
    sidecar = std::move(*started);
    std::fprintf(stderr, "edgecar: embedded Dapr for %s on 127.0.0.1:%u\n", so.app_id.c_str(),
                 unsigned{o.dapr_http_port});
    for (const auto& note : sidecar->notes()) std::fprintf(stderr, "edgecar:   %s\n", note.c_str());
  } else if (!o.app_id.empty() || o.app_port || !o.resources_path.empty()) {
    std::fprintf(stderr,
                 "edgecar: --app-id, --app-port and --resources-path need --dapr-http-port\n");
    return kExitUsage;
  }
  host::Settings settings;
  settings.app_id = o.app_id.empty() ? program : o.app_id;
  settings.nn_options.threads = o.nn_threads;
  settings.nn_options.allow_guest_models = o.nn_allow_guest_models;
  for (const auto& spec : o.nn_preload) {
    auto p = nn::parse_preload(spec);
    if (!p) {
      print_error(p.error());
      return kExitUsage;
    }
    settings.nn_preload.push_back(*p);
  }
  auto granted = host::Granted::everything(settings);
  if (!granted) {
    print_error(granted.error());
    return kExitLoad;
  }
  StoreLimits limits;
  if (o.max_memory_mib) limits.max_memory_pages = o.max_memory_mib * 16;
  Store store(limits);
  signals.attach(store);
  struct Detach {
    SignalStop& s;
    ~Detach() { s.detach(); }
  } detach{signals};
  host::Call call{std::move(config)};
  auto attached = granted->attach(store, call);
  if (!attached) {
    print_error(attached.error());
    return kExitUsage;
  }
  const Imports& imports = granted->imports();
  Watchdog watchdog(store, o.timeout_seconds);
  auto instance = store.instantiate(*module, imports);
  if (!instance) return report(instance.error(), o, signals);

  if (!o.invoke.empty()) {
    // A WASI reactor initialises itself before its exports are called.
    if (Function* init = (*instance)->get_function("_initialize")) {
      auto r = store.call(init, {});
      if (!r) return report(r.error(), o, signals);
    }
    auto type = (*module)->export_func_type(o.invoke);
    if (!type) {
      std::fprintf(stderr, "edgecar: %s has no exported function \"%s\"\n", o.module.c_str(),
                   o.invoke.c_str());
      return kExitUsage;
    }
    if (o.args.size() != type->params.size()) {
      std::fprintf(stderr, "edgecar: %s has type %s: expected %zu argument(s), got %zu\n",
                   o.invoke.c_str(), type->to_string().c_str(), type->params.size(), o.args.size());
      return kExitUsage;
    }
    std::vector<Value> args;
    for (size_t i = 0; i < o.args.size(); ++i) {
      auto v = parse_arg(o.args[i], type->params[i]);
      if (!v) {
        std::fprintf(stderr, "edgecar: argument %zu \"%s\" is not a valid %s\n", i + 1,
                     o.args[i].c_str(), std::string(to_string(type->params[i])).c_str());
        return kExitUsage;
      }
      args.push_back(*v);
    }
    auto results = store.call(*instance, o.invoke, args);
    if (!results) return report(results.error(), o, signals);
    for (const Value& v : *results) print_value(v);
    return 0;
  }

  Function* start = (*instance)->get_function("_start");
  if (!start) {
    std::fprintf(stderr,
                 "edgecar: %s exports no _start function: use --invoke NAME to call an export\n",
                 o.module.c_str());
    return kExitUsage;
  }
  auto r = store.call(start, {});
  if (!r) return report(r.error(), o, signals);
  return 0;
}

}  // namespace edgecar::cli
