// WASI-NN (wasi_ephemeral_nn, the witx interface guests import) for embedders.
//
// Enum values follow the official wasi-nn witx: graph encoding tensorflowlite = 4,
// execution target cpu = 0, tensor types f16 = 0, f32 = 1, u8 = 2, i32 = 3 (WasmEdge
// renumbered tensor types in a later release; edgecar keeps the official numbers).
//
// Graphs are prepared once per process and shared read-only; every execution context a
// guest creates has its own interpreter state, so requests never share tensors.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "edgecar/edgecar.hpp"

namespace edgecar::nn {

enum class Encoding : uint8_t {
  OpenVino = 0,
  Onnx = 1,
  TensorFlow = 2,
  PyTorch = 3,
  TensorFlowLite = 4,
  Autodetect = 5
};
enum class Target : uint8_t { Cpu = 0, Gpu = 1, Tpu = 2 };
enum class TensorType : uint8_t { F16 = 0, F32 = 1, U8 = 2, I32 = 3 };

// Error codes as the guest sees them (nn_errno). 0-5 are the witx's; the rest are the
// later additions WasmEdge and the wit version also use.
enum class Errno : int32_t {
  Success = 0,
  InvalidArgument = 1,
  InvalidEncoding = 2,
  MissingMemory = 3,
  Busy = 4,
  RuntimeError = 5,
  UnsupportedOperation = 6,
  TooLarge = 7,
  NotFound = 8,
};

// A model the host loads before any guest runs, as WasmEdge's --nn-preload:
// NAME:ENCODING:TARGET:PATH, e.g. "mobilenet:tensorflowlite:cpu:models/m.tflite".
struct Preload {
  std::string name;
  Encoding encoding = Encoding::TensorFlowLite;
  Target target = Target::Cpu;
  std::string path;
};
Expected<Preload> parse_preload(std::string_view spec);

class Graph;  // a prepared model (backend specific), immutable and shared

struct Options {
  int threads = 1;  // backend threads per execution context
  // Whether guests may hand the runtime a model of their own (`load`). Off by default:
  // TensorFlow Lite is not hardened against hostile models (TensorFlow's security
  // policy says to treat a model as a program), and a crafted model can make it allocate
  // tens of gigabytes at compute time (found by fuzz_nn). Guests use the models the
  // operator preloads (`load_by_name`); turn this on only for trusted guests.
  bool allow_guest_models = false;
};

// Loads (or finds, when the same file was loaded before) a preloaded model. Fails with a
// message naming the file and the reason (unreadable, corrupt, unsupported operator).
Expected<std::shared_ptr<Graph>> load_preload(const Preload& preload, const Options& options = {});

// Names of preloaded graphs visible to one function's guests.
using GraphSet = std::map<std::string, std::shared_ptr<Graph>, std::less<>>;

// The WASI-NN state of one store: graph and execution-context handles.
class Context {
 public:
  explicit Context(const GraphSet& graphs, Options options = {});
  ~Context();
  Context(const Context&) = delete;
  Context& operator=(const Context&) = delete;

  // Makes this the WASI-NN context of `store` (its instances link shared_functions()).
  void attach(Store& store);
  // The wasi_ephemeral_nn functions, created once per process.
  static const HostFunctions& shared_functions();

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

// Whether the TensorFlow Lite backend could be loaded, and why not.
Expected<void> tflite_available();

}  // namespace edgecar::nn
