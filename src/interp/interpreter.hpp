// The dispatch loop's internal entry (the runtime's entry points are in runtime/tier.hpp).
#pragma once

#include <optional>

#include "interp/code.hpp"
#include "runtime/objects.hpp"

namespace edgecar::interp {

// run() of runtime/tier.hpp; with table_out, only reports the handler table.
std::optional<TrapKind> run_loop(Store::Impl* S, FuncInst* cur, uint64_t* fp, const Cell* pc,
                                 const Cell** table_out);

// memory.grow, .fill, .copy and .init where a 64-bit memory takes part (the Bulk64
// handler), and the same for tables (Table64; interp/bulk64.cpp): the operands at `b` of a
// 64-bit memory or table are full u64, the others 32-bit. False on an out-of-bounds access.
bool bulk64(InstanceImpl* inst, const Cell* pc, uint64_t* b);
bool table64(InstanceImpl* inst, const Cell* pc, uint64_t* b);

}  // namespace edgecar::interp
