// Running WAGI functions: CGI environment in, CGI response out, limits enforced.
#include "serve/function.hpp"

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <map>
#include <mutex>
#include <optional>
#include <thread>

#include "edgecar/dapr.hpp"
#include "edgecar/image.hpp"
#include "edgecar/wasi.hpp"

namespace edgecar::serve {

// ---- deadlines ----
struct Deadlines::Impl {
  using Clock = std::chrono::steady_clock;
  std::mutex mu;
  std::condition_variable cv;
  std::map<uint64_t, std::pair<Clock::time_point, Store*>> armed;
  uint64_t next_id = 1;
  bool stop = false;
  Clock::time_point sleeping_until = Clock::time_point::max();  // what the thread waits for
  std::thread thread;

  void loop() {
    std::unique_lock<std::mutex> lock(mu);
    while (!stop) {
      if (armed.empty()) {
        sleeping_until = Clock::time_point::max();
        cv.wait(lock);
        continue;
      }
      auto earliest = armed.begin();
      for (auto it = armed.begin(); it != armed.end(); ++it)
        if (it->second.first < earliest->second.first) earliest = it;
      if (Clock::now() >= earliest->second.first) {
        earliest->second.second->interrupt();
        armed.erase(earliest);
        continue;
      }
      sleeping_until = earliest->second.first;
      cv.wait_until(lock, sleeping_until);
    }
  }
};

Deadlines::Deadlines() : impl_(std::make_unique<Impl>()) {
  impl_->thread = std::thread([this] { impl_->loop(); });
}

Deadlines::~Deadlines() {
  {
    std::lock_guard<std::mutex> lock(impl_->mu);
    impl_->stop = true;
  }
  impl_->cv.notify_all();
  impl_->thread.join();
}

uint64_t Deadlines::arm(Store& store, uint32_t timeout_ms) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  uint64_t id = impl_->next_id++;
  auto when = Impl::Clock::now() + std::chrono::milliseconds(timeout_ms);
  impl_->armed[id] = {when, &store};
  // With equal timeouts new deadlines come last: the thread sleeps on undisturbed.
  if (when < impl_->sleeping_until) impl_->cv.notify_all();
  return id;
}

void Deadlines::disarm(uint64_t id) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  impl_->armed.erase(id);
}

// ---- CGI ----
namespace {

std::string trim(std::string s) {
  size_t a = s.find_first_not_of(" \t\r");
  size_t b = s.find_last_not_of(" \t\r");
  return a == std::string::npos ? "" : s.substr(a, b - a + 1);
}

std::string cgi_name(const std::string& header) {
  std::string n = "HTTP_";
  for (char c : header) n += c == '-' ? '_' : static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return n;
}

Response json_error(unsigned status, const std::string& kind, const std::string& message, const std::vector<std::string>& backtrace = {}) {
  Response r;
  r.status = status;
  r.headers.emplace_back("Content-Type", "application/json");
  r.body = "{\"error\":\"" + kind + "\",\"message\":\"" + json_escape(message) + "\"";
  if (!backtrace.empty()) {
    r.body += ",\"backtrace\":[";
    for (size_t i = 0; i < backtrace.size(); ++i) r.body += (i ? ",\"" : "\"") + json_escape(backtrace[i]) + "\"";
    r.body += "]";
  }
  r.body += "}\n";
  return r;
}

}  // namespace

std::string json_escape(const std::string& s) {
  std::string o;
  for (char c : s) {
    switch (c) {
      case '"': o += "\\\""; break;
      case '\\': o += "\\\\"; break;
      case '\n': o += "\\n"; break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", c);
          o += buf;
        } else {
          o += c;
        }
    }
  }
  return o;
}

Response parse_cgi_output(std::string out) {
  Response r;
  // Headers are present when the output starts with "Name: value" lines ending in a
  // blank line and naming Content-Type, Status or Location; otherwise it is all body.
  size_t end = out.find("\n\n");
  size_t crlf = out.find("\r\n\r\n");
  size_t body_at = std::string::npos;
  if (crlf != std::string::npos && (end == std::string::npos || crlf < end)) {
    end = crlf;
    body_at = crlf + 4;
  } else if (end != std::string::npos) {
    body_at = end + 2;
  }
  if (end != std::string::npos && end < 16384) {
    Headers hs;
    bool valid = true, recognised = false;
    size_t pos = 0;
    while (pos < end) {
      size_t nl = out.find('\n', pos);
      if (nl == std::string::npos || nl > end) nl = end;
      std::string line = out.substr(pos, nl - pos);
      if (!line.empty() && line.back() == '\r') line.pop_back();
      size_t colon = line.find(':');
      bool token = colon != std::string::npos && colon > 0;
      for (size_t i = 0; token && i < colon; ++i) {
        char c = line[i];
        token = std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_';
      }
      if (!token) {
        valid = false;
        break;
      }
      std::string name = line.substr(0, colon), value = trim(line.substr(colon + 1));
      std::string lower = name;
      for (auto& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      if (lower == "content-type" || lower == "status" || lower == "location") recognised = true;
      hs.emplace_back(name, value);
      pos = nl + 1;
    }
    if (valid && recognised) {
      for (auto& [name, value] : hs) {
        std::string lower = name;
        for (auto& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        if (lower == "status") {
          unsigned code = static_cast<unsigned>(std::atoi(value.c_str()));
          r.status = code >= 100 && code <= 599 ? code : 500;
        } else {
          if (lower == "location" && r.status == 200) r.status = 302;
          r.headers.emplace_back(name, value);
        }
      }
      r.body = out.substr(body_at);
      return r;
    }
  }
  r.headers.emplace_back("Content-Type", "application/octet-stream");
  r.body = std::move(out);
  return r;
}

// ---- the handler ABI ----
namespace {

// Copies s into guest memory at [buf, buf+cap) (as much as fits); returns s's length.
Expected<void> copy_out(HostCall& c, const std::string& s, uint32_t buf, uint32_t cap, const char* what) {
  Memory* mem = c.memory();
  uint32_t n = std::min<uint32_t>(cap, static_cast<uint32_t>(s.size()));
  if (!mem || !mem->write(buf, std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(s.data()), n)))
    return host_error(std::string("edgecar_http.") + what + ": buffer out of bounds");
  c.set_i32(0, static_cast<int32_t>(s.size()));
  return {};
}

Expected<std::string> copy_in(HostCall& c, uint32_t ptr, uint32_t len, const char* what) {
  Memory* mem = c.memory();
  std::string s(len, '\0');
  if (!mem || !mem->read(ptr, std::span<uint8_t>(reinterpret_cast<uint8_t*>(s.data()), len)))
    return host_error(std::string("edgecar_http.") + what + ": buffer out of bounds");
  return s;
}

}  // namespace

namespace {
const char kExchangeKey = 0;  // Store::context key of the request's HttpExchange

HttpExchange* exchange_of(HostCall& c) { return static_cast<HttpExchange*>(c.store().context(&kExchangeKey)); }
}  // namespace

void attach_exchange(Store& store, HttpExchange& exchange) { store.set_context(&kExchangeKey, &exchange); }

const HostFunctions& http_functions() {
  static const HostFunctions* fns = [] {
  auto* h = new HostFunctions;
  const FuncType getter{{ValType::I32, ValType::I32}, {ValType::I32}};
  // Every function runs with the exchange of its store; a store without one has no
  // request to serve.
  auto add = [&](const char* name, FuncType t, std::function<Expected<void>(HostCall&, HttpExchange&)> fn) {
    h->add("edgecar_http", name, std::move(t), [fn = std::move(fn), name](HostCall& c) -> Expected<void> {
      HttpExchange* ex = exchange_of(c);
      if (!ex) return host_error(std::string("edgecar_http.") + name + ": no request in this store");
      return fn(c, *ex);
    });
  };
  add("request_method", getter, [](HostCall& c, HttpExchange& ex) { return copy_out(c, ex.request.method, c.u32(0), c.u32(1), "request_method"); });
  add("request_path", getter, [](HostCall& c, HttpExchange& ex) { return copy_out(c, ex.request.path, c.u32(0), c.u32(1), "request_path"); });
  add("request_query", getter, [](HostCall& c, HttpExchange& ex) { return copy_out(c, ex.request.query, c.u32(0), c.u32(1), "request_query"); });
  add("request_header", FuncType{{ValType::I32, ValType::I32, ValType::I32, ValType::I32}, {ValType::I32}}, [](HostCall& c, HttpExchange& ex) -> Expected<void> {
    auto name = copy_in(c, c.u32(0), c.u32(1), "request_header");
    if (!name) return std::move(name).error();
    for (const auto& [k, v] : ex.request.headers) {
      if (k.size() == name->size() && std::equal(k.begin(), k.end(), name->begin(), [](char a, char b) { return std::tolower(static_cast<unsigned char>(a)) == std::tolower(static_cast<unsigned char>(b)); }))
        return copy_out(c, v, c.u32(2), c.u32(3), "request_header");
    }
    c.set_i32(0, -1);
    return {};
  });
  add("response_set_header", FuncType{{ValType::I32, ValType::I32, ValType::I32, ValType::I32}, {}}, [](HostCall& c, HttpExchange& ex) -> Expected<void> {
    auto name = copy_in(c, c.u32(0), c.u32(1), "response_set_header");
    if (!name) return std::move(name).error();
    auto value = copy_in(c, c.u32(2), c.u32(3), "response_set_header");
    if (!value) return std::move(value).error();
    if (name->empty() || name->find_first_of(":\r\n") != std::string::npos || value->find_first_of("\r\n") != std::string::npos)
      return host_error("edgecar_http.response_set_header: invalid header name or value");
    ex.response.headers.emplace_back(std::move(*name), std::move(*value));
    return {};
  });
  add("response_write", FuncType{{ValType::I32, ValType::I32}, {}}, [](HostCall& c, HttpExchange& ex) -> Expected<void> {
    auto data = copy_in(c, c.u32(0), c.u32(1), "response_write");
    if (!data) return std::move(data).error();
    ex.response.body += *data;
    return {};
  });
  return h;
  }();
  return *fns;
}

Expected<void> run_handler(Store& store, Instance* inst, const std::string& body, int32_t& status) {
  if (edgecar::Function* init = inst->get_function("_initialize")) {
    auto r = store.call(init, {});
    if (!r) return std::move(r).error();
  }
  Value len[] = {Value::i32(static_cast<int32_t>(body.size()))};
  auto ptr = store.call(inst, "edgecar_alloc", len);
  if (!ptr) return std::move(ptr).error();
  uint32_t at = static_cast<uint32_t>((*ptr)[0].as_i32());
  Memory* mem = inst->memory0();
  if (!body.empty() && (at == 0 || !mem || !mem->write(at, std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(body.data()), body.size()))))
    return host_error("edgecar_alloc returned no room for the " + std::to_string(body.size()) + "-byte request body");
  Value args[] = {Value::i32(static_cast<int32_t>(at)), len[0]};
  auto r = store.call(inst, "edgecar_handle", args);
  if (!r) return std::move(r).error();
  status = (*r)[0].as_i32();
  return {};
}

Expected<std::shared_ptr<Function>> Function::load(const FunctionSpec& spec) {
  auto m = Module::from_file(spec.module);
  if (!m) return std::move(m).error();
  if (spec.abi == Abi::Wagi && !(*m)->export_func_type("_start"))
    return Error{ErrorKind::Usage, spec.module + ": a WAGI function must export _start (a WASI command)"};
  if (spec.abi == Abi::Handler) {
    FuncType handle{{ValType::I32, ValType::I32}, {ValType::I32}}, alloc{{ValType::I32}, {ValType::I32}};
    if ((*m)->export_func_type("edgecar_handle") != handle || (*m)->export_func_type("edgecar_alloc") != alloc)
      return Error{ErrorKind::Usage, spec.module + ": a handler must export edgecar_handle (i32, i32) -> (i32) and edgecar_alloc (i32) -> (i32) (see sdk/c/edgecar.h)"};
  }
  auto f = std::make_shared<Function>();
  f->spec_ = spec;
  f->module_ = *m;
  // A module whose imports cannot be met is rejected at start-up, not on its first
  // request.
  f->imports_.add_all(wasi::Context::shared_functions().imports());
  std::string granted = "WASI (wasi_snapshot_preview1)";
  if (spec.abi == Abi::Handler) {
    f->imports_.add_all(http_functions().imports());
    granted += ", edgecar_http";
  }
  auto has = [&](const char* m) { return std::find(spec.host_modules.begin(), spec.host_modules.end(), m) != spec.host_modules.end(); };
  if (has("wasi_nn")) {
    f->nn_ = true;
    f->imports_.add_all(nn::Context::shared_functions().imports());
    granted += ", wasi_nn (wasi_ephemeral_nn)";
    for (const auto& p : spec.nn_preload) {
      auto g = nn::load_preload(p);
      if (!g) return std::move(g).error();
      f->graphs_[p.name] = *g;
    }
  }
  if (has("image")) {
    f->imports_.add_all(image::shared_functions().imports());
    granted += ", image (edgecar_image)";
  }
  if (has("dapr")) {
    f->dapr_ = dapr::from_environment();
    f->imports_.add_all(dapr::Context::shared_functions().imports());
    granted += ", dapr";
  }
  for (const auto& im : f->module_->imports()) {
    if (!f->imports_.find(im.module, im.name))
      return Error{ErrorKind::Link, spec.module + ": unknown import \"" + im.module + "\" \"" + im.name + "\" (" + im.type + "): the function is granted " + granted +
                                        " (add host modules to its host_modules in the manifest)"};
  }
  return f;
}

Invocation Function::invoke(const Request& req, Deadlines& deadlines) const {
  Invocation inv;
  std::string out, err;
  wasi::Config cfg;
  cfg.args = {spec_.name};
  if (spec_.abi == Abi::Wagi) cfg.env = {
      "GATEWAY_INTERFACE=CGI/1.1",
      "SERVER_PROTOCOL=HTTP/1.1",
      "SERVER_SOFTWARE=edgecar",
      "REQUEST_METHOD=" + req.method,
      "PATH_INFO=" + req.path,
      "SCRIPT_NAME=" + spec_.route,
      "QUERY_STRING=" + req.query,
      "REMOTE_ADDR=" + req.remote_addr,
      "SERVER_NAME=" + req.server_name,
      "SERVER_PORT=" + std::to_string(req.server_port),
      "CONTENT_LENGTH=" + std::to_string(req.body.size()),
  };
  for (const auto& [name, value] : req.headers) {
    if (spec_.abi != Abi::Wagi) break;
    std::string lower = name;
    for (auto& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (lower == "content-type") {
      cfg.env.push_back("CONTENT_TYPE=" + value);
    } else if (lower != "content-length") {
      cfg.env.push_back(cgi_name(name) + "=" + value);
    }
  }
  cfg.env.insert(cfg.env.end(), spec_.env.begin(), spec_.env.end());
  cfg.preopens = spec_.dirs;
  cfg.stdin_from_buffer = true;
  if (spec_.abi == Abi::Wagi) cfg.stdin_data = req.body;
  cfg.stdout_capture = &out;
  cfg.stderr_capture = &err;
  auto ctx = wasi::Context::create(std::move(cfg));
  if (!ctx) {
    inv.outcome = Outcome::Failed;
    inv.response = json_error(500, "setup", ctx.error().message);
    return inv;
  }
  StoreLimits limits;
  limits.max_memory_pages = spec_.limits.max_memory_mib * 16;
  Store store(limits);
  (*ctx)->attach(store);
  std::optional<nn::Context> nn_ctx;
  if (nn_) nn_ctx.emplace(graphs_).attach(store);
  std::optional<dapr::Context> dapr_ctx;
  if (dapr_) {
    std::string traceparent;
    for (const auto& [k, v] : req.headers)
      if (k.size() == 11 && (k == "traceparent" || k == "Traceparent")) traceparent = v;
    dapr_ctx.emplace(dapr_, spec_.app_id, traceparent).attach(store);
  }
  HttpExchange exchange{req, {}};
  attach_exchange(store, exchange);
  uint64_t deadline = deadlines.arm(store, spec_.limits.timeout_ms);
  Expected<void> result;
  int32_t status = 0;
  auto inst = store.instantiate(module_, imports_);
  if (!inst) {
    result = std::move(inst).error();
  } else if (spec_.abi == Abi::Wagi) {
    auto r = store.call(*inst, "_start", {});
    if (!r) result = std::move(r).error();
  } else {
    result = run_handler(store, *inst, req.body, status);
  }
  deadlines.disarm(deadline);
  if (!result.ok()) {
    const Error& e = result.error();
    if (e.trap == TrapKind::Exit && e.exit_code == 0) {
      // proc_exit(0) is a normal end.
    } else if (e.trap == TrapKind::Interrupted) {
      inv.outcome = Outcome::Timeout;
      inv.response = json_error(504, "timeout", "function " + spec_.name + " exceeded its time limit of " + std::to_string(spec_.limits.timeout_ms) + " ms");
      return inv;
    } else if (e.trap == TrapKind::Exit) {
      inv.outcome = Outcome::Failed;
      inv.response = json_error(500, "exit", "function " + spec_.name + " exited with code " + std::to_string(e.exit_code) + (err.empty() ? "" : ": " + err.substr(0, 1000)));
      return inv;
    } else {
      inv.outcome = Outcome::Trap;
      inv.response = json_error(500, "trap", e.message, e.backtrace);
      return inv;
    }
  }
  if (spec_.abi == Abi::Handler) {
    if (status < 100 || status > 599) {
      inv.outcome = Outcome::Failed;
      inv.response = json_error(500, "handler", "function " + spec_.name + " returned " + std::to_string(status) + ", not an HTTP status");
      return inv;
    }
    inv.response = std::move(exchange.response);
    inv.response.status = static_cast<unsigned>(status);
    bool typed = false;
    for (const auto& h : inv.response.headers) {
      std::string lower = h.first;
      for (auto& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      typed = typed || lower == "content-type";
    }
    if (!typed) inv.response.headers.emplace_back("Content-Type", "application/octet-stream");
    return inv;
  }
  inv.response = parse_cgi_output(std::move(out));
  return inv;
}

}  // namespace edgecar::serve
