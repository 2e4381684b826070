// The edgecar_http host functions and the handler call sequence (handler_abi.hpp).
#include "serve/handler_abi.hpp"

#include <functional>

#include "edgecar/guest_memory.hpp"

namespace edgecar::serve {

namespace {

const char kExchangeKey = 0;                   // Store::context key of the request's HttpExchange
constexpr size_t kMaxHeaderBytes = 16 * 1024;  // one response header, name and value

HttpExchange* exchange_of(HostCall& c) {
  return static_cast<HttpExchange*>(c.store().context(&kExchangeKey));
}

Error out_of_bounds(const char* what) {
  return host_error(std::string("edgecar_http.") + what + ": buffer out of bounds");
}

// Copies as much of s as fits into [buf, buf+cap); the call returns s's whole length.
Expected<void> copy_out(HostCall& c, const std::string& s, uint32_t buf, uint32_t cap,
                        const char* what) {
  if (!GuestMemory(c).write_prefix(buf, cap, s)) return out_of_bounds(what);
  c.set_i32(0, static_cast<int32_t>(s.size()));
  return {};
}

Expected<std::string> copy_in(HostCall& c, uint32_t ptr, uint32_t len, const char* what) {
  auto s = GuestMemory(c).string(ptr, len);
  if (!s) return out_of_bounds(what);
  return std::move(*s);
}

}  // namespace

void attach_exchange(Store& store, HttpExchange& exchange) {
  store.set_context(&kExchangeKey, &exchange);
}

const HostFunctions& http_functions() {
  static const HostFunctions* fns = [] {
    auto* h = new HostFunctions;
    const FuncType getter{{ValType::I32, ValType::I32}, {ValType::I32}};
    // Every function runs with the exchange of its store; a store without one has no
    // request to serve.
    auto add = [&](const char* name, FuncType t,
                   std::function<Expected<void>(HostCall&, HttpExchange&)> fn) {
      h->add(
          "edgecar_http", name, std::move(t),
          [fn = std::move(fn), name](HostCall& c) -> Expected<void> {
            HttpExchange* ex = exchange_of(c);
            if (!ex)
              return host_error(std::string("edgecar_http.") + name + ": no request in this store");
            return fn(c, *ex);
          });
    };
    add("request_method", getter, [](HostCall& c, HttpExchange& ex) {
      return copy_out(c, ex.request.method, c.u32(0), c.u32(1), "request_method");
    });
    add("request_path", getter, [](HostCall& c, HttpExchange& ex) {
      return copy_out(c, ex.request.path, c.u32(0), c.u32(1), "request_path");
    });
    add("request_query", getter, [](HostCall& c, HttpExchange& ex) {
      return copy_out(c, ex.request.query, c.u32(0), c.u32(1), "request_query");
    });
    add("request_header",
        FuncType{{ValType::I32, ValType::I32, ValType::I32, ValType::I32}, {ValType::I32}},
        [](HostCall& c, HttpExchange& ex) -> Expected<void> {
          auto name = copy_in(c, c.u32(0), c.u32(1), "request_header");
          if (!name) return std::move(name).error();
          if (const std::string* v = ex.request.headers.find(*name))
            return copy_out(c, *v, c.u32(2), c.u32(3), "request_header");
          c.set_i32(0, -1);
          return {};
        });
    add("response_set_header",
        FuncType{{ValType::I32, ValType::I32, ValType::I32, ValType::I32}, {}},
        [](HostCall& c, HttpExchange& ex) -> Expected<void> {
          auto name = copy_in(c, c.u32(0), c.u32(1), "response_set_header");
          if (!name) return std::move(name).error();
          auto value = copy_in(c, c.u32(2), c.u32(3), "response_set_header");
          if (!value) return std::move(value).error();
          if (ex.response.headers.size() >= ex.max_headers ||
              name->size() + value->size() > kMaxHeaderBytes) {
            ex.too_large = true;
            return host_error("output limit: edgecar_http.response_set_header: more than " +
                              std::to_string(ex.max_headers) + " headers, or one over " +
                              std::to_string(kMaxHeaderBytes) + " bytes");
          }
          if (name->empty() || name->find_first_of(":\r\n") != std::string::npos ||
              value->find_first_of("\r\n") != std::string::npos)
            return host_error("edgecar_http.response_set_header: invalid header name or value");
          ex.response.headers.add(std::move(*name), std::move(*value));
          return {};
        });
    add("response_write", FuncType{{ValType::I32, ValType::I32}, {}},
        [](HostCall& c, HttpExchange& ex) -> Expected<void> {
          auto data = GuestMemory(c).span(c.u32(0), c.u32(1));
          if (!data) return out_of_bounds("response_write");
          if (ex.response.body.size() + data->size() > ex.max_body) {
            ex.too_large = true;
            return host_error("output limit: the response body is over " +
                              std::to_string(ex.max_body) + " bytes");
          }
          ex.response.body.append(reinterpret_cast<const char*>(data->data()), data->size());
          return {};
        });
    return h;
  }();
  return *fns;
}

Expected<int32_t> run_handler(Store& store, Instance* inst, const std::string& body) {
  if (edgecar::Function* init = inst->get_function("_initialize")) {
    auto r = store.call(init, {});
    if (!r) return std::move(r).error();
  }
  Value len[] = {Value::i32(static_cast<int32_t>(body.size()))};
  auto ptr = store.call(inst, "edgecar_alloc", len);
  if (!ptr) return std::move(ptr).error();
  uint32_t at = static_cast<uint32_t>((*ptr)[0].as_i32());
  if (!body.empty() &&
      (at == 0 || !GuestMemory(inst->memory0()).write(at, body.data(), body.size())))
    return host_error("edgecar_alloc returned no room for the " + std::to_string(body.size()) +
                      "-byte request body");
  Value args[] = {Value::i32(static_cast<int32_t>(at)), len[0]};
  auto r = store.call(inst, "edgecar_handle", args);
  if (!r) return std::move(r).error();
  return (*r)[0].as_i32();
}

}  // namespace edgecar::serve
