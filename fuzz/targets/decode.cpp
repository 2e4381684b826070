// Decoding, validation and lowering of arbitrary bytes: every input is a module or a
// Malformed/Invalid error, never a crash, a hang or undefined behaviour.
#include <cstddef>
#include <cstdint>

#include "edgecar/edgecar.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto m = edgecar::Module::from_bytes({data, size});
  if (m) {
    (void)(*m)->summary();
    (void)(*m)->imports();
    (void)(*m)->exports();
  } else {
    (void)m.error().to_string();
  }
  return 0;
}
