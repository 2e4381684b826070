// `edgecar inspect`: what a developer checks first when a module will not link.
#include <cstdio>

#include "cli/commands.hpp"
#include "edgecar/edgecar.hpp"

namespace edgecar::cli {

int inspect(const std::string& path) {
  auto module = Module::from_file(path);
  if (!module) {
    std::fprintf(stderr, "edgecar: %s\n", module.error().to_string().c_str());
    return kExitLoad;
  }
  ModuleSummary m = (*module)->summary();
  std::printf("module: %s\n", path.c_str());
  std::printf("functions: %zu imported, %zu defined (%zu instructions)\n",
              static_cast<size_t>(m.imported_functions), static_cast<size_t>(m.defined_functions),
              static_cast<size_t>(m.instructions));
  auto imports = (*module)->imports();
  std::printf("imports (%zu):\n", imports.size());
  for (const auto& i : imports)
    std::printf("  %s.%s: %s\n", i.module.c_str(), i.name.c_str(), i.type.c_str());
  auto exports = (*module)->exports();
  std::printf("exports (%zu):\n", exports.size());
  for (const auto& e : exports) std::printf("  %s: %s\n", e.name.c_str(), e.type.c_str());
  std::printf("memories (%zu):\n", m.memories.size());
  for (size_t i = 0; i < m.memories.size(); ++i) {
    const auto& l = m.memories[i].limits;
    std::printf("  memory %zu: %s%llu pages (%llu KiB) initial", i,
                m.memories[i].imported ? "imported, " : "", static_cast<unsigned long long>(l.min),
                static_cast<unsigned long long>(l.min * 64));
    if (l.max) std::printf(", %llu pages max", static_cast<unsigned long long>(*l.max));
    if (l.i64) std::printf(", 64-bit addresses");
    std::printf("\n");
  }
  std::printf("tables: %u, globals: %u, data segments: %u (%llu bytes), element segments: %u\n",
              m.tables, m.globals, m.data_segments, static_cast<unsigned long long>(m.data_bytes),
              m.element_segments);
  if (m.start) std::printf("start function: %u\n", *m.start);
  std::printf("features:");
  if (m.features.empty()) std::printf(" WebAssembly 1.0 only");
  for (size_t i = 0; i < m.features.size(); ++i)
    std::printf("%s %s", i ? "," : "", m.features[i].c_str());
  std::printf("\n");
  if (!m.custom_sections.empty()) {
    std::printf("custom sections:");
    for (const auto& [name, bytes] : m.custom_sections)
      std::printf(" %s (%zu bytes)", name.c_str(), bytes);
    std::printf("\n");
  }
  return 0;
}

}  // namespace edgecar::cli
