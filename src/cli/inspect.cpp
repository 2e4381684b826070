// `edgecar inspect`: what a developer checks first when a module will not link.
#include <cstdio>

#include "binary/module.hpp"
#include "cli/commands.hpp"
#include "runtime/objects.hpp"

namespace edgecar::cli {

int inspect(const std::string& path) {
  auto module = Module::from_file(path);
  if (!module) {
    std::fprintf(stderr, "edgecar: %s\n", module.error().to_string().c_str());
    return kExitLoad;
  }
  const binary::Module& m = (*module)->data().module;
  size_t code_bytes = 0;
  for (const auto& b : m.bodies) code_bytes += b.code.size();
  std::printf("module: %s\n", path.c_str());
  std::printf("functions: %zu imported, %zu defined (%zu instructions)\n", static_cast<size_t>(m.num_imported_funcs), m.bodies.size(), code_bytes);
  auto imports = (*module)->imports();
  std::printf("imports (%zu):\n", imports.size());
  for (const auto& i : imports) std::printf("  %s.%s: %s\n", i.module.c_str(), i.name.c_str(), i.type.c_str());
  auto exports = (*module)->exports();
  std::printf("exports (%zu):\n", exports.size());
  for (const auto& e : exports) std::printf("  %s: %s\n", e.name.c_str(), e.type.c_str());
  std::printf("memories (%zu):\n", m.memories.size());
  for (size_t i = 0; i < m.memories.size(); ++i) {
    const auto& l = m.memories[i].limits;
    std::printf("  memory %zu: %s%llu pages (%llu KiB) initial", i, i < m.num_imported_memories ? "imported, " : "", static_cast<unsigned long long>(l.min), static_cast<unsigned long long>(l.min * 64));
    if (l.max) std::printf(", %llu pages max", static_cast<unsigned long long>(*l.max));
    std::printf("\n");
  }
  size_t data_bytes = 0;
  for (const auto& d : m.datas) data_bytes += d.bytes.size();
  std::printf("tables: %zu, globals: %zu, data segments: %zu (%zu bytes), element segments: %zu\n", m.tables.size(), m.global_types.size(), m.datas.size(), data_bytes, m.elems.size());
  if (m.start) std::printf("start function: %u\n", *m.start);
  if (!m.customs.empty()) {
    std::printf("custom sections:");
    for (const auto& c : m.customs) std::printf(" %s (%zu bytes)", c.name.c_str(), c.bytes.size());
    std::printf("\n");
  }
  return 0;
}

}  // namespace edgecar::cli
