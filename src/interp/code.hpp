// The interpreter's internal code: each validated function is lowered once into a
// stream of 32-bit cells. A cell sequence is [handler][operands...], where operands are
// frame slot indices (locals and operand-stack positions are both slots, their places
// known statically), immediates, or branch displacements. No LEB128, no block search,
// no operand-stack pointer at run time.
#pragma once

#include <cstdint>

#include "runtime/tier.hpp"

namespace edgecar::interp {

using edgecar::Cell;
using edgecar::Code;
using edgecar::FuncCode;

// Every handler of the dispatch loop.
enum class Op : uint16_t {
#define HANDLER(name) name,
#include "interp/handlers.def"
#undef HANDLER
  Count
};

// The dispatch loop's handler table (cell value of each Op); filled on first use.
const Cell* handler_cells();

}  // namespace edgecar::interp
