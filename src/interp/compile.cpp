// Lowering of validated function bodies into interpreter cells: the entry point and a
// function's frame (compile.hpp has the design; the instruction families are in
// compile_*.cpp).
#include "interp/compile.hpp"

namespace edgecar::interp::lowering {

FuncCode FunctionCompiler::run() {
  fc_.entry = static_cast<uint32_t>(cells_.size());
  count(kNone);
  label_pos_ = here();
  ctrls_.push_back(Ctrl{
      static_cast<uint16_t>(Opcode::Block), 0, 0, fc_.num_results, 0, {}, kNone, {}, results_});
  for (const Instr& in : body_.code) {
    if (unreachable_) {
      skip(in);
    } else {
      instr(in);
    }
    if (ctrls_.empty()) break;
  }
  fc_.frame_slots = base_ + max_height_;
  return fc_;
}

}  // namespace edgecar::interp::lowering

namespace edgecar::interp {

using lowering::FunctionCompiler;

// Whether any body has a GC instruction (0xFB prefix): one pass over the module.
static bool uses_gc(const binary::Module& m, uint64_t& read) {
  for (const auto& b : m.bodies)
    for (const auto& in : b.code) {
      ++read;
      if ((in.op & 0xFF00) == 0xFB00) return true;
    }
  return false;
}

Code compile(const binary::Module& module, bool counting) {
  Code code;
  size_t total = 0;
  for (const auto& b : module.bodies) total += b.code.size() * 3;
  const bool with_maps = uses_gc(module, code.instructions_read);
  code.gc = with_maps;
  counting = counting && !with_maps;  // GC modules are not tiered
  code.cells.reserve(total);
  code.funcs.reserve(module.bodies.size());
  for (size_t i = 0; i < module.bodies.size(); ++i) {
    code.funcs.push_back(FunctionCompiler(module,
                                          static_cast<uint32_t>(module.num_imported_funcs + i),
                                          code, with_maps, counting)
                             .run());
    code.instructions_read +=
        2 * module.bodies[i].code.size();  // the legacy-try scan, then lowering
  }
  code.cells.shrink_to_fit();
  return code;
}

}  // namespace edgecar::interp
