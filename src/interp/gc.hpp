// Garbage collection instructions in the interpreter (WebAssembly 3.0): field and element
// access have handlers of their own (with runtime/gc.hpp's field kinds); one handler, Gc, runs the
// others out of line: [Gc][opcode][base][a][b], operands in slots from base (in the order the
// instruction pops them, first popped last), the result written at base. a and b are the
// instruction's immediates (module type indices, a field, a segment, a count; for casts the heap
// type, with bit 0 of b the nullability).
#pragma once

#include "runtime/objects.hpp"

namespace edgecar::interp {

// Runs the GC instruction at pc (the Gc cell) of function `cur`; nullptr with `trap` set
// when it traps.
const Cell* gc_run(Store::Impl* S, const FuncInst* cur, uint64_t* fp, const Cell* pc,
                   TrapKind& trap);

}  // namespace edgecar::interp
