// Decoding, validation and lowering of arbitrary bytes: every input is a module or a
// Malformed/Invalid error, never a crash, a hang or undefined behaviour.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "edgecar/edgecar.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto m = edgecar::Module::from_bytes({data, size});
  if (m) {
    (void)(*m)->summary();
    (void)(*m)->imports();
    (void)(*m)->exports();
  } else {
    std::string text = m.error().to_string();
    // Bytes can only be malformed or invalid: any other kind of error is a bug.
    if (m.error().kind != edgecar::ErrorKind::Malformed &&
        m.error().kind != edgecar::ErrorKind::Invalid) {
      std::fprintf(stderr, "decode: an error of another kind than malformed or invalid: %s\n",
                   text.c_str());
      std::abort();
    }
  }
  return 0;
}
