// The manifest parser (yaml-cpp underneath) on arbitrary text: a manifest or an error
// naming the file and line, never a crash or an escaped exception.
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <string>

#include "serve/manifest.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const std::string path = [] {
    char dir[] = "/tmp/edgecar-fuzz-manifest-XXXXXX";
    return std::string(mkdtemp(dir)) + "/edgecar.yaml";
  }();
  FILE* f = std::fopen(path.c_str(), "wb");
  if (!f) return 0;
  std::fwrite(data, 1, size, f);
  std::fclose(f);
  auto m = edgecar::serve::load_manifest(path);
  if (!m) (void)m.error().message;
  return 0;
}
