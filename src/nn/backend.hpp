// The inference backends behind WASI-NN. Inside src/nn an Error's guest_code carries the
// nn_errno the guest receives (see nn_error); the message is for the log.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "edgecar/nn.hpp"

namespace edgecar::nn {

inline Error nn_error(Errno code, std::string message) {
  Error e{ErrorKind::Usage, std::move(message)};
  e.guest_code = static_cast<int32_t>(code);
  return e;
}
inline Errno errno_of(const Error& e) {
  return e.guest_code ? static_cast<Errno>(e.guest_code) : Errno::RuntimeError;
}

size_t element_size(TensorType t);
const char* to_string(TensorType t);

struct TensorInfo {
  TensorType type = TensorType::U8;
  std::vector<uint32_t> dims;
  size_t bytes = 0;
};

// Per-context interpreter state: input and output buffers of one graph.
class Execution {
 public:
  virtual ~Execution() = default;
  virtual Expected<void> set_input(uint32_t index, TensorType type, std::span<const uint32_t> dims,
                                   std::span<const uint8_t> data) = 0;
  virtual Expected<void> compute() = 0;
  virtual Expected<std::span<const uint8_t>> output(uint32_t index) = 0;
};

class Graph {
 public:
  virtual ~Graph() = default;
  // Thread-safe: many stores create executions of one graph at once.
  virtual Expected<std::unique_ptr<Execution>> create_execution() = 0;
  virtual const std::vector<TensorInfo>& inputs() const = 0;
  virtual const std::vector<TensorInfo>& outputs() const = 0;
};

// TensorFlow Lite models through the LiteRT runtime library (libLiteRt.so, loaded at
// first use). `origin` names the model in messages (a path, or "guest bytes").
Expected<std::shared_ptr<Graph>> load_tflite(std::vector<uint8_t> bytes, const Options& options,
                                             const std::string& origin);

}  // namespace edgecar::nn
