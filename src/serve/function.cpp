// Loading a function and running one request (function.hpp).
#include "serve/function.hpp"

#include <fstream>
#include "http/json.hpp"

#include "serve/handler_abi.hpp"
#include "serve/tiering.hpp"
#include "serve/wagi.hpp"

namespace edgecar::serve {

namespace {
constexpr uint64_t kStderrKept = 64 * 1024;  // of a guest's stderr, for error messages
}  // namespace

Expected<std::shared_ptr<Function>> Function::load(const FunctionSpec& spec) {
  std::vector<uint8_t> bytes;
  {
    std::ifstream in(spec.module, std::ios::binary);
    if (!in) return Error{ErrorKind::Io, "cannot open " + spec.module};
    bytes.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
    if (in.bad()) return Error{ErrorKind::Io, "cannot read " + spec.module};
  }
  // Native code from an artifact beside the module (edgecar compile) or the cache makes
  // an auto function native at once; native compiles (and caches) when neither matches.
  LoadOptions load;
  load.engine = spec.engine == EngineChoice::Native ? Engine::Native : Engine::Interp;
  load.native_if_available = spec.engine == EngineChoice::Auto;
  if (spec.engine != EngineChoice::Interp) {
    load.artifact = spec.module + ".aot";
    load.cache_dir = default_native_cache_dir();
  }
  auto m = Module::from_bytes(bytes, load);
  if (!m) {
    Error e = std::move(m).error();
    e.message = spec.module + ": " + e.message;
    return e;
  }
  if (spec.abi == Abi::Wagi && !(*m)->export_func_type("_start"))
    return Error{ErrorKind::Usage,
                 spec.module + ": a WAGI function must export _start (a WASI command)"};
  if (spec.abi == Abi::Handler) {
    FuncType handle{{ValType::I32, ValType::I32}, {ValType::I32}},
        alloc{{ValType::I32}, {ValType::I32}};
    if ((*m)->export_func_type("edgecar_handle") != handle ||
        (*m)->export_func_type("edgecar_alloc") != alloc)
      return Error{ErrorKind::Usage,
                   spec.module +
                       ": a handler must export edgecar_handle (i32, i32) -> (i32) and "
                       "edgecar_alloc (i32) -> (i32) (see sdk/c/edgecar.h)"};
  }
  host::Settings settings;
  settings.app_id = spec.app_id;
  settings.nn_preload = spec.nn_preload;
  settings.nn_options.allow_guest_models = spec.nn_allow_guest_models;
  auto granted = host::Granted::make(spec.host_modules, settings);
  if (!granted) return std::move(granted).error();
  if (spec.abi == Abi::Handler) granted->add_functions(http_functions(), "edgecar_http");
  // A module whose imports cannot be met is rejected at start-up, not on its first
  // request.
  if (auto r = granted->check_imports(**m, spec.module); !r) return std::move(r).error();
  if ((*m)->engine() == Engine::Native)
    std::fprintf(stderr, "edgecar: function %s: native code (%s)\n", spec.name.c_str(),
                 (*m)->native_origin().c_str());
  if (!(*m)->native_notes().empty())
    std::fprintf(stderr, "edgecar: function %s: %s\n", spec.name.c_str(),
                 (*m)->native_notes().c_str());
  auto f = std::shared_ptr<Function>(new Function(spec, std::move(*m), std::move(*granted)));
  if (spec.engine == EngineChoice::Auto && f->engine() != Engine::Native) {
    std::weak_ptr<Function> weak = f;
    NativeCompiler::instance().submit(
        std::move(bytes), load.cache_dir,
        [weak](Expected<std::shared_ptr<const Module>> native, double secs) {
          auto fn = weak.lock();
          if (!fn) return;  // reloaded or stopped meanwhile
          if (native) {
            fn->module_.store(std::move(*native));
            std::fprintf(stderr, "edgecar: function %s: native code ready after %.0f ms\n",
                         fn->spec_.name.c_str(), secs * 1000);
          } else {
            std::fprintf(stderr, "edgecar: function %s stays interpreted: %s\n",
                         fn->spec_.name.c_str(), native.error().message.c_str());
          }
        });
  }
  return f;
}

Invocation Function::invoke(const http::Request& req, Deadlines& deadlines, int client_fd) const {
  Invocation inv;
  auto failed = [&](Outcome outcome, http::Response r) {
    inv.outcome = outcome;
    inv.response = std::move(r);
    return inv;
  };
  std::string out, err;
  host::Call call;
  wasi::Config& cfg = call.wasi;
  cfg.args = {spec_.name};
  if (spec_.abi == Abi::Wagi) cfg.env = cgi_environment(req, spec_.route);
  cfg.env.insert(cfg.env.end(), spec_.env.begin(), spec_.env.end());
  cfg.preopens = spec_.dirs;
  if (spec_.network.any()) cfg.network = spec_.network;
  cfg.stdin_from_buffer = true;
  if (spec_.abi == Abi::Wagi) cfg.stdin_data = req.body;
  cfg.stdout_capture = &out;
  cfg.stderr_capture = &err;
  bool overflow = false;
  cfg.stdout_limit = spec_.limits.max_response_bytes;
  cfg.stderr_limit = kStderrKept;
  cfg.stdout_overflow = &overflow;
  call.request_headers = &req.headers;
  StoreLimits limits;
  limits.max_memory_pages = spec_.limits.max_memory_mib * 16;
  Store store(limits);
  auto attached = granted_.attach(store, call);
  if (!attached)
    return failed(Outcome::Failed, http::error_response(500, "setup", attached.error().message));
  HttpExchange exchange{
      req, {}, spec_.limits.max_response_bytes, spec_.limits.max_response_headers};
  attach_exchange(store, exchange);
  uint64_t deadline = deadlines.arm(store, spec_.limits.timeout_ms, client_fd);
  Expected<void> result;
  int32_t status = 0;
  std::shared_ptr<const Module> module = module_.load();
  inv.engine = module->engine();
  auto inst = store.instantiate(module, granted_.imports());
  if (!inst) {
    result = std::move(inst).error();
  } else if (spec_.abi == Abi::Wagi) {
    auto r = store.call(*inst, "_start", {});
    if (!r) result = std::move(r).error();
  } else {
    auto r = run_handler(store, *inst, req.body);
    if (r)
      status = *r;
    else
      result = std::move(r).error();
  }
  Deadlines::Fired fired = deadlines.disarm(deadline);
  if (!result.ok()) {
    const Error& e = result.error();
    if (overflow || exchange.too_large) {
      return failed(
          Outcome::Failed,
          http::error_response(
              500, "response_too_large",
              "function " + spec_.name + " wrote a response over its limits (max_response_bytes " +
                  std::to_string(spec_.limits.max_response_bytes) + ", max_response_headers " +
                  std::to_string(spec_.limits.max_response_headers) + "): " + e.message));
    } else if (e.trap == TrapKind::Exit && e.exit_code == 0) {
      // proc_exit(0) is a normal end.
    } else if (e.trap == TrapKind::Interrupted && fired == Deadlines::Fired::ClientGone) {
      return failed(
          Outcome::Abandoned,
          http::error_response(499, "client_closed_request",
                               "the client went away while function " + spec_.name + " ran"));
    } else if (e.trap == TrapKind::Interrupted) {
      return failed(Outcome::Timeout,
                    http::error_response(504, "timeout",
                                         "function " + spec_.name + " exceeded its time limit of " +
                                             std::to_string(spec_.limits.timeout_ms) + " ms"));
    } else if (e.trap == TrapKind::Exit) {
      return failed(Outcome::Failed,
                    http::error_response(500, "exit",
                                         "function " + spec_.name + " exited with code " +
                                             std::to_string(e.exit_code) +
                                             (err.empty() ? "" : ": " + err.substr(0, 1000))));
    } else {
      return failed(Outcome::Trap, http::error_response(500, "trap", e.message, e.backtrace));
    }
  }
  if (spec_.abi == Abi::Handler) {
    if (status < 100 || status > 599)
      return failed(Outcome::Failed,
                    http::error_response(500, "handler",
                                         "function " + spec_.name + " returned " +
                                             std::to_string(status) + ", not an HTTP status"));
    inv.response = std::move(exchange.response);
    inv.response.status = static_cast<unsigned>(status);
    if (!inv.response.headers.contains("content-type"))
      inv.response.headers.add("Content-Type", "application/octet-stream");
    return inv;
  }
  inv.response = parse_cgi_output(std::move(out));
  return inv;
}

}  // namespace edgecar::serve
