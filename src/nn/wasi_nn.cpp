// The wasi_ephemeral_nn host functions (wasi-nn witx): load, load_by_name,
// init_execution_context, set_input, compute, get_output, plus two edgecar additions the
// witx lacks, finalize_execution_context and unload. Every guest pointer is checked;
// every failure is an nn_errno for the guest and a line in the log, never a trap.
#include <sys/stat.h>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <mutex>

#include "edgecar/guest_memory.hpp"
#include "nn/backend.hpp"

namespace edgecar::nn {

namespace {

constexpr size_t kMaxGraphsPerStore = 16;
constexpr size_t kMaxContextsPerStore = 64;
constexpr uint64_t kMaxGuestModelBytes = 512ull << 20;
constexpr uint32_t kMaxTensorRank = 8;

std::string lower(std::string_view s) {
  std::string o(s);
  for (auto& c : o) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return o;
}

Expected<std::vector<uint8_t>> read_file(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) return Error{ErrorKind::Io, path + ": cannot open"};
  std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  if (f.bad()) return Error{ErrorKind::Io, path + ": read failed"};
  return bytes;
}

Expected<std::shared_ptr<Graph>> load_bytes(std::vector<uint8_t> bytes, Encoding encoding,
                                            Target target, const Options& options,
                                            const std::string& origin) {
  if (target != Target::Cpu)
    return nn_error(Errno::UnsupportedOperation, origin + ": execution target " +
                                                     std::to_string(static_cast<int>(target)) +
                                                     " is not available (cpu = 0 only)");
  switch (encoding) {
    case Encoding::TensorFlowLite:
    case Encoding::Autodetect:
      return load_tflite(std::move(bytes), options, origin);
    default:
      return nn_error(Errno::InvalidEncoding, origin + ": graph encoding " +
                                                  std::to_string(static_cast<int>(encoding)) +
                                                  " is not supported (tensorflowlite = 4 is)");
  }
}

}  // namespace

Expected<Preload> parse_preload(std::string_view spec) {
  // NAME:ENCODING:TARGET:PATH; the path may itself contain colons.
  std::vector<std::string> parts;
  size_t at = 0;
  for (int i = 0; i < 3; ++i) {
    size_t colon = spec.find(':', at);
    if (colon == std::string_view::npos) break;
    parts.emplace_back(spec.substr(at, colon - at));
    at = colon + 1;
  }
  if (parts.size() != 3 || at >= spec.size() || parts[0].empty())
    return Error{ErrorKind::Usage,
                 "--nn-preload expects NAME:ENCODING:TARGET:PATH (e.g. "
                 "mobilenet:tensorflowlite:cpu:model.tflite), got \"" +
                     std::string(spec) + "\""};
  Preload p;
  p.name = parts[0];
  std::string enc = lower(parts[1]), target = lower(parts[2]);
  if (enc == "tensorflowlite" || enc == "tflite")
    p.encoding = Encoding::TensorFlowLite;
  else if (enc == "autodetect" || enc == "auto")
    p.encoding = Encoding::Autodetect;
  else
    return Error{ErrorKind::Usage, "--nn-preload " + p.name + ": unsupported encoding \"" +
                                       parts[1] + "\" (tensorflowlite)"};
  if (target == "cpu" || target == "auto")
    p.target = Target::Cpu;
  else
    return Error{ErrorKind::Usage,
                 "--nn-preload " + p.name + ": unsupported target \"" + parts[2] + "\" (cpu)"};
  p.path = std::string(spec.substr(at));
  return p;
}

Expected<std::shared_ptr<Graph>> load_preload(const Preload& preload, const Options& options) {
  // One graph per model file and settings for the whole process, across hot reloads.
  struct Key {
    std::string path;
    int64_t size, mtime;
    int threads;
    auto operator<=>(const Key&) const = default;
  };
  static std::mutex mu;
  static std::map<Key, std::weak_ptr<Graph>> cache;
  struct stat st{};
  std::error_code ec;
  std::string path = std::filesystem::weakly_canonical(preload.path, ec).string();
  if (ec || ::stat(path.c_str(), &st) != 0)
    return Error{ErrorKind::Io, "model " + preload.name + ": " + preload.path + ": no such file"};
  Key key{path, static_cast<int64_t>(st.st_size),
          static_cast<int64_t>(st.st_mtim.tv_sec) * 1'000'000'000 + st.st_mtim.tv_nsec,
          options.threads};
  std::lock_guard<std::mutex> lock(mu);
  if (auto it = cache.find(key); it != cache.end())
    if (auto g = it->second.lock()) return g;
  auto bytes = read_file(path);
  if (!bytes) return std::move(bytes).error();
  auto g = load_bytes(std::move(*bytes), preload.encoding, preload.target, options, preload.path);
  if (!g) return Error{ErrorKind::Usage, "model " + preload.name + ": " + g.error().message};
  cache[key] = *g;
  return g;
}

struct Context::Impl {
  const GraphSet& named;
  Options options;
  std::vector<std::shared_ptr<Graph>> graphs;          // handle = index; null once unloaded
  std::vector<std::unique_ptr<Execution>> executions;  // handle = index; null once finalized
};

Context::Context(const GraphSet& graphs, Options options)
    : impl_(std::make_unique<Impl>(Impl{graphs, options, {}, {}})) {}
Context::~Context() = default;

namespace {

const char kContextKey = 0;

// The call's result: 0 on success, else the errno (and the reason in the log).
void fail(HostCall& c, const char* fn, const Error& e) {
  std::fprintf(stderr, "edgecar: wasi_nn.%s: %s\n", fn, e.message.c_str());
  c.set_i32(0, static_cast<int32_t>(errno_of(e)));
}

Error out_of_bounds(const char* what) {
  return nn_error(Errno::InvalidArgument, std::string(what) + " out of bounds");
}

Expected<std::vector<uint8_t>> read_guest(HostCall& c, uint32_t ptr, uint64_t len,
                                          const char* what) {
  GuestMemory mem(c);
  if (!mem.has_memory()) return nn_error(Errno::InvalidArgument, "the caller has no memory");
  auto out = mem.bytes(ptr, len);
  if (!out) return out_of_bounds(what);
  return std::move(*out);
}

// Guest memory is little-endian, as is every host edgecar runs on (x86-64, AArch64).
Expected<uint32_t> read_u32(HostCall& c, uint32_t ptr, const char* what) {
  uint32_t v;
  if (!GuestMemory(c).load(ptr, v)) return out_of_bounds(what);
  return v;
}

Expected<void> write_u32(HostCall& c, uint32_t ptr, uint32_t v, const char* what) {
  if (!GuestMemory(c).store(ptr, v)) return out_of_bounds(what);
  return {};
}

using Body = std::function<Expected<void>(HostCall&, Context::Impl&)>;

}  // namespace

void Context::attach(Store& store) {
  store.set_context(&kContextKey, impl_.get());
}

const HostFunctions& Context::shared_functions() {
  static const HostFunctions* fns = [] {
    auto* h = new HostFunctions;
    auto add = [&](const char* name, std::vector<ValType> params, Body body) {
      h->add("wasi_ephemeral_nn", name, FuncType{std::move(params), {ValType::I32}},
             [name, body = std::move(body)](HostCall& c) -> Expected<void> {
               auto* ctx = static_cast<Context::Impl*>(c.store().context(&kContextKey));
               if (!ctx) {
                 fail(c, name,
                      nn_error(
                          Errno::UnsupportedOperation,
                          "WASI-NN is not enabled for this function (grant host module wasi_nn)"));
                 return {};
               }
               auto r = body(c, *ctx);
               if (!r)
                 fail(c, name, r.error());
               else
                 c.set_i32(0, 0);
               return {};
             });
    };
    using V = ValType;
    auto new_graph = [](HostCall& c, Context::Impl& ctx, std::shared_ptr<Graph> g,
                        uint32_t out) -> Expected<void> {
      if (ctx.graphs.size() >= kMaxGraphsPerStore)
        return nn_error(Errno::Busy, "too many graphs in one instance (" +
                                         std::to_string(kMaxGraphsPerStore) + ")");
      if (auto w =
              write_u32(c, out, static_cast<uint32_t>(ctx.graphs.size()), "graph result pointer");
          !w)
        return w;
      ctx.graphs.push_back(std::move(g));
      return {};
    };
    // load(builder_ptr, builder_len, encoding, target, graph_out)
    add("load", {V::I32, V::I32, V::I32, V::I32, V::I32},
        [new_graph](HostCall& c, Context::Impl& ctx) -> Expected<void> {
          if (!ctx.options.allow_guest_models)
            return nn_error(Errno::UnsupportedOperation,
                            "load: models from guests are disabled (a model is untrusted code "
                            "to TensorFlow Lite); use a model the host preloads (load_by_name), "
                            "or allow guest models for this function (nn_allow_guest_models: "
                            "true, edgecar run --nn-allow-guest-models)");
          uint32_t count = c.u32(1);
          if (count == 0 || count > 16)
            return nn_error(Errno::InvalidArgument,
                            "graph builder count " + std::to_string(count) + " (1 to 16)");
          if (c.u32(2) > 255 || c.u32(3) > 255)
            return nn_error(Errno::InvalidArgument, "bad encoding or target");
          std::vector<uint8_t> model;
          uint64_t total = 0;
          for (uint32_t i = 0; i < count; ++i) {
            auto ptr = read_u32(c, c.u32(0) + i * 8, "graph builder array");
            auto len = read_u32(c, c.u32(0) + i * 8 + 4, "graph builder array");
            if (!ptr) return std::move(ptr).error();
            if (!len) return std::move(len).error();
            total += *len;
            if (total > kMaxGuestModelBytes)
              return nn_error(
                  Errno::TooLarge,
                  "model larger than " + std::to_string(kMaxGuestModelBytes >> 20) + " MiB");
            // TensorFlow Lite uses the first builder only (the model); others are ignored.
            auto part = read_guest(c, *ptr, *len, "graph builder");
            if (!part) return std::move(part).error();
            if (i == 0) model = std::move(*part);
          }
          auto g = load_bytes(std::move(model), static_cast<Encoding>(c.u32(2)),
                              static_cast<Target>(c.u32(3)), ctx.options, "guest model");
          if (!g) return std::move(g).error();
          return new_graph(c, ctx, std::move(*g), c.u32(4));
        });
    // load_by_name(name_ptr, name_len, graph_out)
    add("load_by_name", {V::I32, V::I32, V::I32},
        [new_graph](HostCall& c, Context::Impl& ctx) -> Expected<void> {
          if (c.u32(1) > 4096) return nn_error(Errno::InvalidArgument, "model name too long");
          auto name = read_guest(c, c.u32(0), c.u32(1), "model name");
          if (!name) return std::move(name).error();
          std::string n(name->begin(), name->end());
          auto it = ctx.named.find(n);
          if (it == ctx.named.end()) {
            std::string known;
            for (const auto& [k, g] : ctx.named) known += (known.empty() ? "" : ", ") + k;
            return nn_error(Errno::NotFound, "no preloaded model named \"" + n + "\" (preloaded: " +
                                                 (known.empty() ? "none" : known) + ")");
          }
          return new_graph(c, ctx, it->second, c.u32(2));
        });
    // init_execution_context(graph, ctx_out)
    add("init_execution_context", {V::I32, V::I32},
        [](HostCall& c, Context::Impl& ctx) -> Expected<void> {
          uint32_t g = c.u32(0);
          if (g >= ctx.graphs.size() || !ctx.graphs[g])
            return nn_error(Errno::InvalidArgument, "no graph " + std::to_string(g));
          if (ctx.executions.size() >= kMaxContextsPerStore)
            return nn_error(Errno::Busy, "too many execution contexts in one instance");
          auto e = ctx.graphs[g]->create_execution();
          if (!e) return std::move(e).error();
          if (auto w = write_u32(c, c.u32(1), static_cast<uint32_t>(ctx.executions.size()),
                                 "context result pointer");
              !w)
            return w;
          ctx.executions.push_back(std::move(*e));
          return {};
        });
    auto execution = [](Context::Impl& ctx, uint32_t h) -> Execution* {
      return h < ctx.executions.size() ? ctx.executions[h].get() : nullptr;
    };
    // set_input(ctx, index, tensor_ptr): tensor = {dims_ptr, dims_len, type u8, data_ptr, data_len}
    add("set_input", {V::I32, V::I32, V::I32},
        [execution](HostCall& c, Context::Impl& ctx) -> Expected<void> {
          Execution* e = execution(ctx, c.u32(0));
          if (!e)
            return nn_error(Errno::InvalidArgument,
                            "no execution context " + std::to_string(c.u32(0)));
          auto t = read_guest(c, c.u32(2), 20, "tensor");
          if (!t) return std::move(t).error();
          auto u32 = [&](size_t at) {
            return static_cast<uint32_t>((*t)[at]) | static_cast<uint32_t>((*t)[at + 1]) << 8 |
                   static_cast<uint32_t>((*t)[at + 2]) << 16 |
                   static_cast<uint32_t>((*t)[at + 3]) << 24;
          };
          uint32_t rank = u32(4);
          uint8_t type = (*t)[8];
          if (rank > kMaxTensorRank)
            return nn_error(Errno::InvalidArgument,
                            "tensor rank " + std::to_string(rank) + " (at most 8)");
          if (type > static_cast<uint8_t>(TensorType::I32))
            return nn_error(Errno::InvalidArgument, "tensor type " + std::to_string(type) +
                                                        " (f16 = 0, f32 = 1, u8 = 2, i32 = 3)");
          auto dims_bytes = read_guest(c, u32(0), uint64_t{rank} * 4, "tensor dimensions");
          if (!dims_bytes) return std::move(dims_bytes).error();
          std::vector<uint32_t> dims(rank);
          if (rank > 0)  // a rank-0 (scalar) tensor has no dimensions to copy
            std::memcpy(dims.data(), dims_bytes->data(), dims_bytes->size());
          auto data = read_guest(c, u32(12), u32(16), "tensor data");
          if (!data) return std::move(data).error();
          return e->set_input(c.u32(1), static_cast<TensorType>(type), dims, *data);
        });
    add("compute", {V::I32}, [execution](HostCall& c, Context::Impl& ctx) -> Expected<void> {
      Execution* e = execution(ctx, c.u32(0));
      if (!e)
        return nn_error(Errno::InvalidArgument, "no execution context " + std::to_string(c.u32(0)));
      return e->compute();
    });
    // get_output(ctx, index, out_ptr, out_max, written_out)
    add("get_output", {V::I32, V::I32, V::I32, V::I32, V::I32},
        [execution](HostCall& c, Context::Impl& ctx) -> Expected<void> {
          Execution* e = execution(ctx, c.u32(0));
          if (!e)
            return nn_error(Errno::InvalidArgument,
                            "no execution context " + std::to_string(c.u32(0)));
          auto out = e->output(c.u32(1));
          if (!out) return std::move(out).error();
          if (out->size() > c.u32(3))
            return nn_error(Errno::TooLarge, "output " + std::to_string(c.u32(1)) + " has " +
                                                 std::to_string(out->size()) +
                                                 " bytes, the buffer " + std::to_string(c.u32(3)));
          if (!GuestMemory(c).write(c.u32(2), *out)) return out_of_bounds("output buffer");
          return write_u32(c, c.u32(4), static_cast<uint32_t>(out->size()),
                           "bytes-written pointer");
        });
    add("finalize_execution_context", {V::I32},
        [execution](HostCall& c, Context::Impl& ctx) -> Expected<void> {
          if (!execution(ctx, c.u32(0)))
            return nn_error(Errno::InvalidArgument,
                            "no execution context " + std::to_string(c.u32(0)));
          ctx.executions[c.u32(0)].reset();
          return {};
        });
    add("unload", {V::I32}, [](HostCall& c, Context::Impl& ctx) -> Expected<void> {
      uint32_t g = c.u32(0);
      if (g >= ctx.graphs.size() || !ctx.graphs[g])
        return nn_error(Errno::InvalidArgument, "no graph " + std::to_string(g));
      ctx.graphs[g].reset();
      return {};
    });
    return h;
  }();
  return *fns;
}

}  // namespace edgecar::nn
