// The interpreter's internal code: each validated function is lowered once into a
// stream of 32-bit cells. A cell sequence is [handler][operands...], where operands are
// frame slot indices (locals and operand-stack positions are both slots, their places
// known statically), immediates, or branch displacements. No LEB128, no block search,
// no operand-stack pointer at run time.
#pragma once

#include <cstdint>
#include <vector>

#include "edgecar/edgecar.hpp"

namespace edgecar::binary {
struct Module;
}

namespace edgecar::interp {

using Cell = uint32_t;

// Every handler of the dispatch loop.
enum class Op : uint16_t {
#define HANDLER(name) name,
#include "interp/handlers.def"
#undef HANDLER
  Count
};

struct FuncCode {
  uint32_t entry = 0;        // cell index of the first instruction
  uint32_t num_params = 0;
  uint32_t num_results = 0;
  uint32_t num_locals = 0;   // declared locals (zeroed on entry), params excluded
  uint32_t frame_slots = 0;  // params + locals + maximal operand stack height
};

struct Code {
  std::vector<Cell> cells;
  std::vector<FuncCode> funcs;  // defined functions, in module order
};

// Lowers every function body of a validated module.
Code compile(const binary::Module& module);

// The dispatch loop's handler table (cell value of each Op); filled on first use.
const Cell* handler_cells();

}  // namespace edgecar::interp
