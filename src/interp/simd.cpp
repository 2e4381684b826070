// The SIMD instructions (interp/simd.hpp). A v128 operand is two adjacent frame slots
// (bytes 0-7, then 8-15); the cells after [Simd][instruction] are [dst][operands...]
// [immediates...] in the order compile.cpp's simd() emits them, and each function gets
// `pc` pointing at the instruction cell, so that pc[1] is the destination.
// Lane-wise operations are GCC vector expressions, which the compiler lowers to the
// host's vector instructions; only rare ones (rounding, trunc_sat, popcnt) go lane by
// lane. They run outside the dispatch loop, which keeps its size and register allocation
// (the scalar kernels measured no slower), in a threaded runner of their own (run() in
// simd_ops.inc) that the loop's Simd handler calls.
//
// The functions (simd_ops.inc) are compiled twice: for x86-64's baseline (SSE2) and for
// CPUs with AVX2 (which brings SSSE3's pshufb for shuffles, SSE4.1's min/max, extends,
// rounding and 32-bit multiply, and the 3-operand VEX forms). The runner is chosen once,
// at start-up, from what the CPU reports; EDGECAR_SIMD=baseline forces the first (tests
// run the spec suite both ways).
#include "interp/simd.hpp"

#include <edgecar/edgecar.hpp>

#include <algorithm>
#include <array>
#include <bit>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <string_view>
#include <type_traits>

#include "binary/opcode_info.hpp"
#include "interp/numeric.hpp"

namespace edgecar::interp {

namespace baseline {
#include "interp/simd_ops.inc"
}  // namespace baseline

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define EDGECAR_SIMD_AVX2 1
#pragma GCC push_options
#pragma GCC target("avx2,popcnt")
namespace avx2 {
#include "interp/simd_ops.inc"
}  // namespace avx2
#pragma GCC pop_options
#endif

namespace {
struct Selected {
  SimdRun run;
  const char* name;
};

Selected select() {
  const char* forced = std::getenv("EDGECAR_SIMD");
  bool baseline_only = forced && std::string_view(forced) == "baseline";
#ifdef EDGECAR_SIMD_AVX2
  __builtin_cpu_init();
  if (!baseline_only && __builtin_cpu_supports("avx2") && __builtin_cpu_supports("popcnt"))
    return {&avx2::run, "avx2"};
#endif
  (void)baseline_only;
#if defined(__x86_64__)
  return {&baseline::run, "sse2"};
#else
  return {&baseline::run, "generic"};
#endif
}

const Selected kSelected = select();
}  // namespace

const SimdRun kSimdRun = kSelected.run;

const Cell* simd_cells() {
  static const Cell* cells = [] {
    const Cell* c = nullptr;
    kSelected.run(nullptr, nullptr, nullptr, 0, 0, &c);
    return c;
  }();
  return cells;
}

const char* simd_level() {
  return kSelected.name;
}

}  // namespace edgecar::interp

std::string_view edgecar::simd_level() {
  return interp::simd_level();
}
