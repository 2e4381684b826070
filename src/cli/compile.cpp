// `edgecar compile`: a module's native code written once, for `edgecar run` and
// `edgecar serve` to map instead of compiling (docs/aot.md, "Artifacts and the cache").
#include <chrono>
#include <cstdio>

#include "cli/commands.hpp"
#include "edgecar/edgecar.hpp"

namespace edgecar::cli {

int compile(const std::string& path, std::string out) {
  if (out.empty()) out = path + ".aot";
  LoadOptions load;
  load.engine = Engine::Native;  // compiled here: no artifact, no cache
  auto start = std::chrono::steady_clock::now();
  auto module = Module::from_file(path, load);
  if (!module) {
    std::fprintf(stderr, "edgecar: %s\n", module.error().to_string().c_str());
    return kExitLoad;
  }
  double ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
  if (auto w = (*module)->save_native(out); !w) {
    std::fprintf(stderr, "edgecar: %s\n", w.error().message.c_str());
    return kExitLoad;
  }
  std::printf("%s: native code for this CPU in %s (compiled in %.0f ms)\n", path.c_str(),
              out.c_str(), ms);
  return 0;
}

}  // namespace edgecar::cli
