// The SIMD instructions, out of the dispatch loop (interp/simd.cpp): one function per
// instruction, found by subopcode; the loop's Simd handler calls it.
#pragma once

#include <array>
#include <cstdint>

#include "interp/code.hpp"

namespace edgecar::interp {

// Runs one SIMD instruction whose cells start at pc (the subopcode, then the
// destination, operands and immediates); returns the cells used after the handler cell,
// or 0 when a memory access is out of bounds.
using SimdFn = uint32_t (*)(uint64_t* fp, const Cell* pc, uint8_t* mem, uint64_t memsize);

// Indexed by subopcode (the low byte of 0xFD00 | subopcode); constant-initialized.
extern const std::array<SimdFn, 256> kSimdFunctions;

}  // namespace edgecar::interp
