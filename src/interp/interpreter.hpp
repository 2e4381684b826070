// The dispatch loop's internal entry (the runtime's entry points are in runtime/tier.hpp).
#pragma once

#include <optional>

#include "interp/code.hpp"
#include "runtime/objects.hpp"

namespace edgecar::interp {

// run() of runtime/tier.hpp; with table_out, only reports the handler table.
std::optional<TrapKind> run_loop(Store::Impl* S, FuncInst* cur, uint64_t* fp, const Cell* pc,
                                 const Cell** table_out);

}  // namespace edgecar::interp
