// Module validation (spec 3): typing of every function body, constant expressions,
// limits, indices, exports and the start function. Errors are ErrorKind::Invalid and
// name the function, instruction and byte offset.
#pragma once

#include "binary/module.hpp"

namespace edgecar::validate {

Expected<void> validate(const binary::Module& module);

// Natural alignment (log2 of the access size) of a load/store opcode, or -1.
int natural_alignment(uint16_t op);

// The simple signature of an opcode from opcodes.def ("ii>i"), or "" when the
// instruction is typed by hand.
const char* simple_signature(uint16_t op);

}  // namespace edgecar::validate
