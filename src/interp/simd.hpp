// The SIMD instructions, out of the dispatch loop (interp/simd.cpp): one function per
// instruction, found by subopcode; the loop's Simd handler calls it.
#pragma once

#include <array>
#include <cstdint>

#include "interp/code.hpp"

namespace edgecar::interp {

// Runs the SIMD instructions from pc ([Simd][instruction][destination][operands...]
// [immediates...]) up to the first cell that is not `simd_cell` (the Simd handler's
// cell), and returns it; nullptr when a memory access was out of bounds.
using SimdRun = const Cell* (*)(uint64_t* fp, const Cell* pc, uint8_t* mem, uint64_t memsize,
                                Cell simd_cell, const Cell** cells_out);

// The runner for this CPU, chosen once at start-up (simd.cpp).
extern const SimdRun kSimdRun;

// SIMD instructions by subopcode, relaxed SIMD's included (0-0x113).
constexpr uint32_t kSimdCount = 0x114;

// The cell compile.cpp writes after [Simd] for a subopcode (binary::simd_index): where
// the runner finds that instruction.
const Cell* simd_cells();

// simd_cells() index of the runner's v128 constant, [Simd][cell][dst][16 bytes in 4
// cells]: v128.const's subopcode (no SIMD instruction of its own there, since
// compile.cpp folds constants into their uses).
constexpr uint32_t kSimdConstCell = 0x0C;

// The instruction-set level of that table: "avx2", "sse2" or "generic".
const char* simd_level();

}  // namespace edgecar::interp
