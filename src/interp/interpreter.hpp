// Entry points of the dispatch loop for the runtime.
#pragma once

#include <optional>

#include "runtime/objects.hpp"

namespace edgecar::interp {

// Runs `cur` from `pc` with frame `fp` until the sentinel frame the caller pushed
// returns (nullopt) or a trap unwinds to it. With table_out, only reports the handler
// table.
std::optional<TrapKind> run(Store::Impl* S, FuncInst* cur, uint64_t* fp, const Cell* pc,
                            const Cell** table_out = nullptr);

// A one-cell program that leaves the loop: the return address of sentinel frames.
const Cell* exit_code();

// Calls a host function on the value-stack slots; on failure records the error in the
// store and sets `trap`.
bool call_host(Store::Impl* S, FuncInst* f, InstanceImpl* caller, uint64_t* slots, TrapKind& trap);

}  // namespace edgecar::interp
