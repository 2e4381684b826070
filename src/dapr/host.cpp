// The dapr host functions: each building-block call becomes one request to Dapr's HTTP
// API (see include/edgecar/dapr.hpp) and a response handle for the guest.
#include <algorithm>
#include <cctype>
#include <cstdio>
#include <cstring>
#include <nlohmann/json.hpp>

#include "edgecar/dapr.hpp"
#include "edgecar/guest_memory.hpp"

namespace edgecar::dapr {

using json = nlohmann::json;

namespace {

constexpr size_t kMaxOpenResponses = 64;
constexpr uint32_t kMaxArgument = 64u << 20;

// Guest-visible results below zero.
constexpr int32_t kBadArgument = -1;  // a pointer or length outside guest memory
constexpr int32_t kTooManyOpen = -2;  // close responses you are done with
constexpr int32_t kNotGranted = -3;   // the function was not granted the dapr module

std::string encode_segment(std::string_view s) {
  static const char* hex = "0123456789ABCDEF";
  std::string o;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      o += static_cast<char>(c);
    } else {
      o += '%';
      o += hex[c >> 4];
      o += hex[c & 15];
    }
  }
  return o;
}

// A method path for invocation keeps its slashes and query; everything else is encoded.
std::string encode_method(std::string_view s) {
  std::string o;
  size_t q = s.find('?');
  std::string_view path = s.substr(0, q);
  size_t at = 0;
  while (at <= path.size()) {
    size_t slash = path.find('/', at);
    if (slash == std::string_view::npos) slash = path.size();
    if (at) o += '/';
    o += encode_segment(path.substr(at, slash - at));
    at = slash + 1;
  }
  if (q != std::string_view::npos) o += std::string(s.substr(q));
  return o;
}

// A state value: JSON text as is, anything else as a JSON string.
json as_json(const std::string& value) {
  json v = json::parse(value, nullptr, false);
  return v.is_discarded() ? json(value) : v;
}

}  // namespace

struct Context::Impl {
  std::shared_ptr<Backend> backend;
  std::string app_id, traceparent;
  std::vector<std::unique_ptr<ApiResponse>> responses;  // handle = index

  int32_t call(ApiRequest req) {
    size_t slot = responses.size();
    for (size_t i = 0; i < responses.size(); ++i)
      if (!responses[i]) {
        slot = i;
        break;
      }
    if (slot == responses.size() && responses.size() >= kMaxOpenResponses) return kTooManyOpen;
    if (!traceparent.empty()) req.headers.add("traceparent", traceparent);
    auto r = std::make_unique<ApiResponse>(backend->call(req, app_id));
    if (slot == responses.size())
      responses.push_back(std::move(r));
    else
      responses[slot] = std::move(r);
    return static_cast<int32_t>(slot);
  }

  ApiResponse* response(uint32_t h) { return h < responses.size() ? responses[h].get() : nullptr; }
};

Context::Context(std::shared_ptr<Backend> backend, std::string app_id, std::string traceparent)
    : impl_(std::make_unique<Impl>(
          Impl{std::move(backend), std::move(app_id), std::move(traceparent), {}})) {}
Context::~Context() = default;

namespace {
const char kContextKey = 0;

struct Args {
  HostCall& c;
  bool ok = true;
  // The string at argument pair (i, i+1).
  std::string str(size_t i) {
    uint32_t len = c.u32(i + 1);
    auto s = len <= kMaxArgument ? GuestMemory(c).string(c.u32(i), len) : std::nullopt;
    if (!s) {
      ok = false;
      return "";
    }
    return std::move(*s);
  }
};

// A request to Dapr's API at target (a path, and ?query when there is one).
ApiRequest api(std::string method, const std::string& target, std::string body) {
  ApiRequest r;
  r.method = std::move(method);
  size_t q = target.find('?');
  r.path = target.substr(0, q);
  if (q != std::string::npos) r.query = target.substr(q + 1);
  r.body = std::move(body);
  return r;
}

using Build = std::function<std::optional<ApiRequest>(Args&)>;
}  // namespace

void Context::attach(Store& store) {
  store.set_context(&kContextKey, impl_.get());
}

const HostFunctions& Context::shared_functions() {
  static const HostFunctions* fns = [] {
    auto* h = new HostFunctions;
    auto ctx_of = [](HostCall& c) {
      return static_cast<Context::Impl*>(c.store().context(&kContextKey));
    };
    // A building-block call: N (ptr, len) pairs plus extra i32s, returning a handle.
    auto add_call = [&](const char* name, size_t nparams, Build build) {
      h->add("dapr", name, FuncType{std::vector<ValType>(nparams, ValType::I32), {ValType::I32}},
             [name, build = std::move(build), ctx_of](HostCall& c) -> Expected<void> {
               Context::Impl* ctx = ctx_of(c);
               if (!ctx) {
                 c.set_i32(0, kNotGranted);
                 return {};
               }
               Args a{c};
               auto req = build(a);
               if (!a.ok || !req) {
                 std::fprintf(stderr, "edgecar: dapr.%s: an argument lies outside guest memory\n",
                              name);
                 c.set_i32(0, kBadArgument);
                 return {};
               }
               c.set_i32(0, ctx->call(std::move(*req)));
               return {};
             });
    };
    auto with_type = [](ApiRequest r, const std::string& ctype) {
      r.headers.add("Content-Type", ctype.empty() ? "application/json" : ctype);
      return r;
    };
    // invoke(app, method, verb, body, content_type, headers): service invocation;
    // headers are "Name: value" lines passed on to the called app.
    add_call("invoke", 12, [with_type](Args& a) -> std::optional<ApiRequest> {
      std::string app = a.str(0), method = a.str(2), verb = a.str(4), body = a.str(6),
                  ctype = a.str(8), lines = a.str(10);
      if (verb.empty()) verb = "POST";
      while (!method.empty() && method[0] == '/') method.erase(0, 1);
      ApiRequest r = with_type(
          api(verb, "/v1.0/invoke/" + encode_segment(app) + "/method/" + encode_method(method),
              body),
          ctype.empty() ? "application/octet-stream" : ctype);
      size_t at = 0;
      while (at < lines.size()) {
        size_t end = lines.find('\n', at);
        if (end == std::string::npos) end = lines.size();
        std::string line = lines.substr(at, end - at);
        at = end + 1;
        if (!line.empty() && line.back() == '\r') line.pop_back();
        size_t colon = line.find(':');
        if (colon == std::string::npos || colon == 0) continue;
        std::string name = line.substr(0, colon), value = line.substr(colon + 1);
        while (!value.empty() && value[0] == ' ') value.erase(0, 1);
        bool token_char = std::all_of(name.begin(), name.end(), [](char ch) {
          return std::isalnum(static_cast<unsigned char>(ch)) || ch == '-' || ch == '_';
        });
        // The transport's own headers stay the host's.
        bool transport = false;
        for (const char* own :
             {"host", "content-length", "content-type", "dapr-api-token", "transfer-encoding"})
          transport = transport || http::iequals(name, own);
        if (!token_char || transport) continue;
        r.headers.add(name, value);
      }
      return r;
    });
    // state_get(store, key)
    add_call("state_get", 4, [](Args& a) -> std::optional<ApiRequest> {
      std::string store = a.str(0), key = a.str(2);
      return api("GET", "/v1.0/state/" + encode_segment(store) + "/" + encode_segment(key), "");
    });
    // state_save(store, key, value, etag, first_write)
    add_call("state_save", 9, [with_type](Args& a) -> std::optional<ApiRequest> {
      std::string store = a.str(0), key = a.str(2), value = a.str(4), etag = a.str(6);
      json item{{"key", key}, {"value", as_json(value)}};
      if (!etag.empty()) item["etag"] = etag;
      item["options"] = {{"concurrency", a.c.u32(8) ? "first-write" : "last-write"}};
      return with_type(
          api("POST", "/v1.0/state/" + encode_segment(store), json::array({item}).dump()), "");
    });
    // state_delete(store, key, etag, first_write)
    add_call("state_delete", 7, [](Args& a) -> std::optional<ApiRequest> {
      std::string store = a.str(0), key = a.str(2), etag = a.str(4);
      ApiRequest r = api("DELETE",
                         "/v1.0/state/" + encode_segment(store) + "/" + encode_segment(key) +
                             (a.c.u32(6) ? "?concurrency=first-write" : ""),
                         "");
      if (!etag.empty()) r.headers.add("If-Match", etag);
      return r;
    });
    // state_bulk_get(store, keys_json): keys_json is a JSON array of keys
    add_call("state_bulk_get", 4, [with_type](Args& a) -> std::optional<ApiRequest> {
      std::string store = a.str(0), keys = a.str(2);
      json k = json::parse(keys, nullptr, false);
      if (!k.is_array()) k = json::array();
      return with_type(
          api("POST", "/v1.0/state/" + encode_segment(store) + "/bulk", json{{"keys", k}}.dump()),
          "");
    });
    // state_transaction(store, operations_json): Dapr's {"operations": [...]} body
    add_call("state_transaction", 4, [with_type](Args& a) -> std::optional<ApiRequest> {
      std::string store = a.str(0), body = a.str(2);
      return with_type(api("POST", "/v1.0/state/" + encode_segment(store) + "/transaction", body),
                       "");
    });
    // publish(pubsub, topic, data, content_type)
    add_call("publish", 8, [with_type](Args& a) -> std::optional<ApiRequest> {
      std::string pubsub = a.str(0), topic = a.str(2), data = a.str(4), ctype = a.str(6);
      return with_type(
          api("POST", "/v1.0/publish/" + encode_segment(pubsub) + "/" + encode_segment(topic),
              data),
          ctype);
    });
    // secret_get(store, key)
    add_call("secret_get", 4, [](Args& a) -> std::optional<ApiRequest> {
      std::string store = a.str(0), key = a.str(2);
      return api("GET", "/v1.0/secrets/" + encode_segment(store) + "/" + encode_segment(key), "");
    });
    // binding_invoke(name, operation, data, metadata_json)
    add_call("binding_invoke", 8, [with_type](Args& a) -> std::optional<ApiRequest> {
      std::string name = a.str(0), op = a.str(2), data = a.str(4), meta = a.str(6);
      json m = json::parse(meta, nullptr, false);
      json body{{"operation", op.empty() ? "create" : op}, {"data", as_json(data)}};
      if (m.is_object()) body["metadata"] = m;
      return with_type(api("POST", "/v1.0/bindings/" + encode_segment(name), body.dump()), "");
    });

    // Response accessors.
    auto add_resp = [&](const char* name, std::vector<ValType> params,
                        std::function<int32_t(HostCall&, Context::Impl&, ApiResponse&)> fn) {
      h->add("dapr", name, FuncType{std::move(params), {ValType::I32}},
             [fn = std::move(fn), ctx_of](HostCall& c) -> Expected<void> {
               Context::Impl* ctx = ctx_of(c);
               ApiResponse* r = ctx ? ctx->response(c.u32(0)) : nullptr;
               c.set_i32(0, !ctx ? kNotGranted : r ? fn(c, *ctx, *r) : kBadArgument);
               return {};
             });
    };
    using V = ValType;
    auto copy_out = [](HostCall& c, const std::string& s, uint32_t buf, uint32_t cap) -> int32_t {
      return GuestMemory(c).write_prefix(buf, cap, s) ? static_cast<int32_t>(s.size())
                                                      : kBadArgument;
    };
    add_resp("response_status", {V::I32}, [](HostCall&, Context::Impl&, ApiResponse& r) {
      return static_cast<int32_t>(r.status);
    });
    // response_read(h, buf, cap) -> body length (copies at most cap bytes)
    add_resp("response_read", {V::I32, V::I32, V::I32},
             [copy_out](HostCall& c, Context::Impl&, ApiResponse& r) {
               return copy_out(c, r.body, c.u32(1), c.u32(2));
             });
    // response_header(h, name, name_len, buf, cap) -> value length, or -4 when absent
    add_resp("response_header", {V::I32, V::I32, V::I32, V::I32, V::I32},
             [copy_out](HostCall& c, Context::Impl&, ApiResponse& r) -> int32_t {
               auto name = GuestMemory(c).string(c.u32(1), c.u32(2));
               if (!name) return kBadArgument;
               const std::string* v = r.headers.find(*name);
               return v ? copy_out(c, *v, c.u32(3), c.u32(4)) : -4;
             });
    add_resp("response_close", {V::I32}, [](HostCall& c, Context::Impl& ctx, ApiResponse&) {
      ctx.responses[c.u32(0)].reset();
      return 0;
    });
    return h;
  }();
  return *fns;
}

}  // namespace edgecar::dapr
