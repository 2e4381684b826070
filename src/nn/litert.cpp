// TensorFlow Lite backend: the LiteRT runtime's C API (libLiteRt.so from the PyPI
// package ai-edge-litert, pinned by scripts/setup), loaded with dlopen at first use so
// that edgecar builds and runs without it. The declarations below are written for the
// pinned release (2.3.0); the library ships no headers.
//
// Model bytes may come from a guest: LiteRT verifies the flatbuffer before using it,
// and edgecar additionally checks every tensor it exchanges with the guest (type, shape,
// byte size) so that no copy reads or writes outside a buffer.
#include <dlfcn.h>
#include <fcntl.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>

#include "nn/backend.hpp"

namespace edgecar::nn {

size_t element_size(TensorType t) {
  switch (t) {
    case TensorType::F16:
      return 2;
    case TensorType::F32:
      return 4;
    case TensorType::U8:
      return 1;
    case TensorType::I32:
      return 4;
  }
  return 0;
}

const char* to_string(TensorType t) {
  switch (t) {
    case TensorType::F16:
      return "f16";
    case TensorType::F32:
      return "f32";
    case TensorType::U8:
      return "u8";
    case TensorType::I32:
      return "i32";
  }
  return "?";
}

namespace {

using Status = int;
using Handle = void*;

// LiteRtRankedTensorType: the element type, then a layout whose first word holds the
// rank in its low 7 bits, then up to 8 dimensions. Kept as an opaque, generously sized
// blob filled by the library itself.
struct alignas(16) RankedType {
  int32_t words[128];
  int32_t element_type() const { return words[0]; }
  uint32_t rank() const { return static_cast<uint32_t>(words[1]) & 0x7f; }
  int32_t dim(uint32_t i) const { return words[2 + i]; }
};
constexpr uint32_t kMaxRank = 8;
constexpr int kOpCodeCustom = 32;  // BuiltinOperator_CUSTOM

struct Api {
  std::string error;  // set when the library or a symbol is missing
  Handle env = nullptr;
  Status (*CreateEnvironment)(int, const void*, Handle*);
  Status (*CreateModelFromBuffer)(Handle, const void*, size_t, Handle*);
  void (*DestroyModel)(Handle);
  Status (*CreateOptions)(Handle*);
  void (*DestroyOptions)(Handle);
  Status (*SetOptionsHardwareAccelerators)(Handle, int);
  Status (*CreateOpaqueOptions)(const char*, void*, void (*)(void*), Handle*);
  Status (*AddOpaqueOptions)(Handle, Handle);
  Status (*CreateCompiledModel)(Handle, Handle, Handle, Handle*);
  void (*DestroyCompiledModel)(Handle);
  Status (*GetNumModelSignatures)(Handle, size_t*);
  Status (*GetModelSignature)(Handle, size_t, Handle*);
  Status (*GetSignatureSubgraph)(Handle, Handle*);
  Status (*GetNumSignatureInputs)(Handle, size_t*);
  Status (*GetNumSignatureOutputs)(Handle, size_t*);
  Status (*GetSignatureInputTensorByIndex)(Handle, size_t, Handle*);
  Status (*GetSignatureOutputTensorByIndex)(Handle, size_t, Handle*);
  Status (*GetRankedTensorType)(Handle, RankedType*);
  Status (*GetNumSubgraphOps)(Handle, size_t*);
  Status (*GetSubgraphOp)(Handle, size_t, Handle*);
  Status (*GetOpCode)(Handle, int*);
  Status (*GetCustomCode)(Handle, const char**);
  Status (*GetCompiledModelInputBufferRequirements)(Handle, size_t, size_t, Handle*);
  Status (*GetCompiledModelOutputBufferRequirements)(Handle, size_t, size_t, Handle*);
  Status (*CreateManagedTensorBufferFromRequirements)(Handle, const RankedType*, Handle, Handle*);
  void (*DestroyTensorBuffer)(Handle);
  Status (*GetTensorBufferHostMemory)(Handle, void**);
  Status (*GetTensorBufferPackedSize)(Handle, size_t*);
  Status (*RunCompiledModel)(Handle, size_t, size_t, Handle*, size_t, Handle*);
};

std::string library_path() {
  if (const char* env = std::getenv("EDGECAR_LITERT_LIBRARY"); env && *env) return env;
#ifdef EDGECAR_LITERT_DEFAULT
  return EDGECAR_LITERT_DEFAULT;
#else
  return "libLiteRt.so";
#endif
}

// Runs f with the process's stderr sent to a temporary file: LiteRT logs its accelerator
// probing (no GPU, no NPU) and delegate creation at INFO level, which would read as
// problems in edgecar's log. Lines that are not LiteRT's INFO chatter (including any
// another thread wrote meanwhile) are written back to stderr; the captured text is
// returned for error messages.
template <class F>
std::string quietly(F&& f) {
  static std::mutex mu;
  std::lock_guard<std::mutex> lock(mu);
  std::fflush(stderr);
  int saved = dup(2);
  char path[] = "/tmp/edgecar-litert-XXXXXX";
  int tmp = mkstemp(path);
  if (saved < 0 || tmp < 0) {
    if (saved >= 0) close(saved);
    if (tmp >= 0) close(tmp);
    f();
    return "";
  }
  unlink(path);
  dup2(tmp, 2);
  f();
  std::fflush(stderr);
  dup2(saved, 2);
  close(saved);
  std::string out;
  char buf[4096];
  ssize_t n;
  lseek(tmp, 0, SEEK_SET);
  while ((n = read(tmp, buf, sizeof buf)) > 0) out.append(buf, static_cast<size_t>(n));
  close(tmp);
  size_t at = 0;
  while (at < out.size()) {
    size_t end = out.find('\n', at);
    end = end == std::string::npos ? out.size() : end + 1;
    std::string_view line(out.data() + at, end - at);
    bool chatter = line.starts_with("INFO: ") || line.starts_with("WARNING: [npu_registry") ||
                   line.starts_with("WARNING: [gpu_registry");
    if (!chatter) std::fwrite(line.data(), 1, line.size(), stderr);
    at = end;
  }
  return out;
}

const Api& api() {
  static Api* a = [] {
    auto* a = new Api{};
    std::string path = library_path();
    void* lib = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (!lib) {
      a->error =
          "the TensorFlow Lite runtime (LiteRT) is not available: " + std::string(dlerror()) +
          " (scripts/setup installs it; EDGECAR_LITERT_LIBRARY names another libLiteRt.so)";
      return a;
    }
    auto sym = [&](auto& fn, const char* name) {
      fn = reinterpret_cast<std::remove_reference_t<decltype(fn)>>(dlsym(lib, name));
      if (!fn && a->error.empty())
        a->error = path + " lacks " + name +
                   ": not the LiteRT release edgecar was built for (ai-edge-litert 2.3.0)";
    };
#define EDGECAR_LITERT_SYM(name) sym(a->name, "LiteRt" #name)
    EDGECAR_LITERT_SYM(CreateEnvironment);
    EDGECAR_LITERT_SYM(CreateModelFromBuffer);
    EDGECAR_LITERT_SYM(DestroyModel);
    EDGECAR_LITERT_SYM(CreateOptions);
    EDGECAR_LITERT_SYM(DestroyOptions);
    EDGECAR_LITERT_SYM(SetOptionsHardwareAccelerators);
    EDGECAR_LITERT_SYM(CreateOpaqueOptions);
    EDGECAR_LITERT_SYM(AddOpaqueOptions);
    EDGECAR_LITERT_SYM(CreateCompiledModel);
    EDGECAR_LITERT_SYM(DestroyCompiledModel);
    EDGECAR_LITERT_SYM(GetNumModelSignatures);
    EDGECAR_LITERT_SYM(GetModelSignature);
    EDGECAR_LITERT_SYM(GetSignatureSubgraph);
    EDGECAR_LITERT_SYM(GetNumSignatureInputs);
    EDGECAR_LITERT_SYM(GetNumSignatureOutputs);
    EDGECAR_LITERT_SYM(GetSignatureInputTensorByIndex);
    EDGECAR_LITERT_SYM(GetSignatureOutputTensorByIndex);
    EDGECAR_LITERT_SYM(GetRankedTensorType);
    EDGECAR_LITERT_SYM(GetNumSubgraphOps);
    EDGECAR_LITERT_SYM(GetSubgraphOp);
    EDGECAR_LITERT_SYM(GetOpCode);
    EDGECAR_LITERT_SYM(GetCustomCode);
    EDGECAR_LITERT_SYM(GetCompiledModelInputBufferRequirements);
    EDGECAR_LITERT_SYM(GetCompiledModelOutputBufferRequirements);
    EDGECAR_LITERT_SYM(CreateManagedTensorBufferFromRequirements);
    EDGECAR_LITERT_SYM(DestroyTensorBuffer);
    EDGECAR_LITERT_SYM(GetTensorBufferHostMemory);
    EDGECAR_LITERT_SYM(GetTensorBufferPackedSize);
    EDGECAR_LITERT_SYM(RunCompiledModel);
#undef EDGECAR_LITERT_SYM
    if (!a->error.empty()) return a;
    Status s = 0;
    std::string log = quietly([&] { s = a->CreateEnvironment(0, nullptr, &a->env); });
    if (s != 0)
      a->error =
          "LiteRT could not create its environment (status " + std::to_string(s) + "): " + log;
    return a;
  }();
  return *a;
}

Expected<TensorType> wasi_type(int32_t element_type, const char* what, size_t index) {
  switch (element_type) {
    case 1:
      return TensorType::F32;
    case 2:
      return TensorType::I32;
    case 3:
      return TensorType::U8;
    case 10:
      return TensorType::F16;
  }
  return nn_error(Errno::UnsupportedOperation,
                  std::string(what) + " " + std::to_string(index) + " has element type " +
                      std::to_string(element_type) +
                      ", which wasi-nn cannot express (f16, f32, u8, i32 only)");
}

std::string dims_string(std::span<const uint32_t> dims) {
  std::string s = "[";
  for (size_t i = 0; i < dims.size(); ++i) s += (i ? "," : "") + std::to_string(dims[i]);
  return s + "]";
}

class LiteRtGraph;

// One compiled model with its buffers: the interpreter state of one execution context.
struct Compiled {
  Handle model = nullptr;  // the compiled model
  std::vector<Handle> inputs, outputs;
  std::vector<uint8_t*> in_mem, out_mem;
  ~Compiled() {
    const Api& a = api();
    for (Handle b : inputs) a.DestroyTensorBuffer(b);
    for (Handle b : outputs) a.DestroyTensorBuffer(b);
    if (model) a.DestroyCompiledModel(model);
  }
};

class LiteRtGraph final : public Graph, public std::enable_shared_from_this<LiteRtGraph> {
 public:
  ~LiteRtGraph() override {
    const Api& a = api();
    pool_.clear();
    if (options_) a.DestroyOptions(options_);
    if (model_) a.DestroyModel(model_);
  }
  const std::vector<TensorInfo>& inputs() const override { return inputs_; }
  const std::vector<TensorInfo>& outputs() const override { return outputs_; }
  Expected<std::unique_ptr<Execution>> create_execution() override;

  static Expected<std::shared_ptr<LiteRtGraph>> load(std::vector<uint8_t> bytes,
                                                     const Options& options,
                                                     const std::string& origin);

  Expected<std::unique_ptr<Compiled>> acquire();
  void release(std::unique_ptr<Compiled> c) {
    std::lock_guard<std::mutex> lock(mu_);
    pool_.push_back(std::move(c));
  }

 private:
  std::vector<uint8_t> bytes_;  // LiteRT reads the model in place
  std::string origin_;
  Handle model_ = nullptr;
  Handle options_ = nullptr;
  Handle signature_ = nullptr;
  std::vector<RankedType> in_types_, out_types_;
  std::vector<TensorInfo> inputs_, outputs_;
  std::mutex mu_;
  std::vector<std::unique_ptr<Compiled>> pool_;  // idle compiled models
};

class LiteRtExecution final : public Execution {
 public:
  LiteRtExecution(std::shared_ptr<LiteRtGraph> graph, std::unique_ptr<Compiled> c)
      : graph_(std::move(graph)), c_(std::move(c)) {}
  ~LiteRtExecution() override { graph_->release(std::move(c_)); }

  Expected<void> set_input(uint32_t index, TensorType type, std::span<const uint32_t> dims,
                           std::span<const uint8_t> data) override {
    const auto& ins = graph_->inputs();
    if (index >= ins.size())
      return nn_error(Errno::InvalidArgument, "input index " + std::to_string(index) +
                                                  " out of range (the model has " +
                                                  std::to_string(ins.size()) + ")");
    const TensorInfo& want = ins[index];
    if (type != want.type ||
        !std::equal(dims.begin(), dims.end(), want.dims.begin(), want.dims.end()) ||
        data.size() != want.bytes)
      return nn_error(Errno::InvalidArgument,
                      "input " + std::to_string(index) + " must be " + to_string(want.type) + " " +
                          dims_string(want.dims) + " (" + std::to_string(want.bytes) +
                          " bytes), got " + to_string(type) + " " + dims_string(dims) + " (" +
                          std::to_string(data.size()) + " bytes)");
    std::memcpy(c_->in_mem[index], data.data(), data.size());
    return {};
  }

  Expected<void> compute() override {
    Status s = api().RunCompiledModel(c_->model, 0, c_->inputs.size(), c_->inputs.data(),
                                      c_->outputs.size(), c_->outputs.data());
    if (s != 0)
      return nn_error(
          Errno::RuntimeError,
          "the TensorFlow Lite runtime failed to run the model (status " + std::to_string(s) + ")");
    computed_ = true;
    return {};
  }

  Expected<std::span<const uint8_t>> output(uint32_t index) override {
    const auto& outs = graph_->outputs();
    if (index >= outs.size())
      return nn_error(Errno::InvalidArgument, "output index " + std::to_string(index) +
                                                  " out of range (the model has " +
                                                  std::to_string(outs.size()) + ")");
    if (!computed_) return nn_error(Errno::InvalidArgument, "get_output before compute");
    return std::span<const uint8_t>(c_->out_mem[index], outs[index].bytes);
  }

 private:
  std::shared_ptr<LiteRtGraph> graph_;
  std::unique_ptr<Compiled> c_;
  bool computed_ = false;
};

Expected<std::unique_ptr<Execution>> LiteRtGraph::create_execution() {
  auto c = acquire();
  if (!c) return std::move(c).error();
  return std::unique_ptr<Execution>(new LiteRtExecution(shared_from_this(), std::move(*c)));
}

Expected<std::unique_ptr<Compiled>> LiteRtGraph::acquire() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!pool_.empty()) {
      auto c = std::move(pool_.back());
      pool_.pop_back();
      return c;
    }
  }
  const Api& a = api();
  auto c = std::make_unique<Compiled>();
  Status s = 0;
  std::string log = quietly([&] { s = a.CreateCompiledModel(a.env, model_, options_, &c->model); });
  if (s != 0) {
    // The runtime's own reason (e.g. an operator it has no kernel for) is in its log.
    std::string reason;
    for (size_t at = 0; at < log.size();) {
      size_t end = log.find('\n', at);
      if (end == std::string::npos) end = log.size();
      if (log.compare(at, 6, "INFO: ") != 0 && end > at)
        reason += (reason.empty() ? "" : "; ") + log.substr(at, end - at);
      at = end + 1;
    }
    return nn_error(Errno::InvalidEncoding,
                    origin_ + ": the TensorFlow Lite runtime could not prepare the model (status " +
                        std::to_string(s) + ")" + (reason.empty() ? "" : ": " + reason));
  }
  auto make = [&](bool input, size_t i, std::vector<Handle>& bufs, std::vector<uint8_t*>& mem,
                  const TensorInfo& info, const RankedType& type) -> Expected<void> {
    Handle req = nullptr, buf = nullptr;
    Status st = input ? a.GetCompiledModelInputBufferRequirements(c->model, 0, i, &req)
                      : a.GetCompiledModelOutputBufferRequirements(c->model, 0, i, &req);
    if (st == 0) st = a.CreateManagedTensorBufferFromRequirements(a.env, &type, req, &buf);
    void* host = nullptr;
    size_t packed = 0;
    if (st == 0) bufs.push_back(buf);
    if (st == 0) st = a.GetTensorBufferHostMemory(buf, &host);
    if (st == 0) st = a.GetTensorBufferPackedSize(buf, &packed);
    if (st != 0 || !host || packed != info.bytes)
      return nn_error(Errno::RuntimeError, origin_ + ": could not allocate " +
                                               (input ? "input " : "output ") + std::to_string(i) +
                                               " (status " + std::to_string(st) + ")");
    mem.push_back(static_cast<uint8_t*>(host));
    return {};
  };
  for (size_t i = 0; i < inputs_.size(); ++i)
    if (auto r = make(true, i, c->inputs, c->in_mem, inputs_[i], in_types_[i]); !r)
      return std::move(r).error();
  for (size_t i = 0; i < outputs_.size(); ++i)
    if (auto r = make(false, i, c->outputs, c->out_mem, outputs_[i], out_types_[i]); !r)
      return std::move(r).error();
  return c;
}

Expected<std::shared_ptr<LiteRtGraph>> LiteRtGraph::load(std::vector<uint8_t> bytes,
                                                         const Options& options,
                                                         const std::string& origin) {
  const Api& a = api();
  if (!a.error.empty()) return nn_error(Errno::UnsupportedOperation, a.error);
  if (bytes.size() < 8)
    return nn_error(Errno::InvalidEncoding, origin + ": not a TensorFlow Lite model (" +
                                                std::to_string(bytes.size()) + " bytes)");
  if (std::memcmp(bytes.data() + 4, "TFL3", 4) != 0)
    return nn_error(Errno::InvalidEncoding,
                    origin + ": not a TensorFlow Lite model (no TFL3 identifier)");
  auto g = std::shared_ptr<LiteRtGraph>(new LiteRtGraph);
  g->bytes_ = std::move(bytes);
  g->origin_ = origin;
  if (a.CreateModelFromBuffer(a.env, g->bytes_.data(), g->bytes_.size(), &g->model_) != 0)
    return nn_error(
        Errno::InvalidEncoding,
        origin + ": not a valid TensorFlow Lite model (the flatbuffer does not verify)");
  size_t nsig = 0;
  if (a.GetNumModelSignatures(g->model_, &nsig) != 0 || nsig == 0 ||
      a.GetModelSignature(g->model_, 0, &g->signature_) != 0)
    return nn_error(Errno::InvalidEncoding, origin + ": the model has no entry point");
  // Custom operators need kernels the runtime does not have: name them now.
  Handle subgraph = nullptr;
  size_t nops = 0;
  if (a.GetSignatureSubgraph(g->signature_, &subgraph) == 0 &&
      a.GetNumSubgraphOps(subgraph, &nops) == 0) {
    for (size_t i = 0; i < nops; ++i) {
      Handle op = nullptr;
      int code = 0;
      const char* custom = nullptr;
      if (a.GetSubgraphOp(subgraph, i, &op) == 0 && a.GetOpCode(op, &code) == 0 &&
          code == kOpCodeCustom) {
        a.GetCustomCode(op, &custom);
        return nn_error(Errno::UnsupportedOperation, origin + ": unsupported operator CUSTOM(" +
                                                         std::string(custom ? custom : "?") +
                                                         ") at op " + std::to_string(i));
      }
    }
  }
  auto describe = [&](bool input) -> Expected<void> {
    size_t n = 0;
    if ((input ? a.GetNumSignatureInputs(g->signature_, &n)
               : a.GetNumSignatureOutputs(g->signature_, &n)) != 0)
      return nn_error(Errno::InvalidEncoding, origin + ": unreadable signature");
    for (size_t i = 0; i < n; ++i) {
      Handle t = nullptr;
      RankedType rt{};
      if ((input ? a.GetSignatureInputTensorByIndex(g->signature_, i, &t)
                 : a.GetSignatureOutputTensorByIndex(g->signature_, i, &t)) != 0 ||
          a.GetRankedTensorType(t, &rt) != 0 || rt.rank() > kMaxRank)
        return nn_error(Errno::InvalidEncoding, origin + ": " + (input ? "input " : "output ") +
                                                    std::to_string(i) + " has no fixed shape");
      auto type = wasi_type(rt.element_type(), input ? "input" : "output", i);
      if (!type) return nn_error(Errno::UnsupportedOperation, origin + ": " + type.error().message);
      TensorInfo info;
      info.type = *type;
      uint64_t count = 1;
      for (uint32_t d = 0; d < rt.rank(); ++d) {
        if (rt.dim(d) <= 0)
          return nn_error(Errno::UnsupportedOperation,
                          origin + ": " + (input ? "input " : "output ") + std::to_string(i) +
                              " has a dynamic dimension");
        info.dims.push_back(static_cast<uint32_t>(rt.dim(d)));
        count *= static_cast<uint64_t>(rt.dim(d));
        if (count > (1ull << 31)) return nn_error(Errno::TooLarge, origin + ": tensor too large");
      }
      info.bytes = count * element_size(info.type);
      (input ? g->inputs_ : g->outputs_).push_back(std::move(info));
      (input ? g->in_types_ : g->out_types_).push_back(rt);
    }
    return {};
  };
  if (auto r = describe(true); !r) return std::move(r).error();
  if (auto r = describe(false); !r) return std::move(r).error();
  if (a.CreateOptions(&g->options_) != 0) return nn_error(Errno::RuntimeError, "LiteRT options");
  a.SetOptionsHardwareAccelerators(g->options_, 1 /* CPU */);
  // CPU (XNNPACK) settings travel as TOML in opaque options named "xnnpack".
  std::string toml = "num_threads = " + std::to_string(std::max(1, options.threads)) + "\n";
  Handle cpu = nullptr;
  char* payload = strdup(toml.c_str());
  if (a.CreateOpaqueOptions("xnnpack", payload, std::free, &cpu) == 0) {
    a.AddOpaqueOptions(g->options_, cpu);
  } else {
    std::free(payload);
  }
  // Compile once now: a model the runtime cannot prepare fails at load, not per request.
  auto first = g->acquire();
  if (!first) return std::move(first).error();
  g->release(std::move(*first));
  return g;
}

}  // namespace

Expected<std::shared_ptr<Graph>> load_tflite(std::vector<uint8_t> bytes, const Options& options,
                                             const std::string& origin) {
  auto g = LiteRtGraph::load(std::move(bytes), options, origin);
  if (!g) return std::move(g).error();
  return std::shared_ptr<Graph>(*g);
}

Expected<void> tflite_available() {
  const Api& a = api();
  if (!a.error.empty()) return Error{ErrorKind::Usage, a.error};
  return {};
}

}  // namespace edgecar::nn
