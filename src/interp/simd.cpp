// The SIMD instructions (interp/simd.hpp). A v128 operand is two adjacent frame slots
// (bytes 0-7, then 8-15); the cells after [Simd][subopcode] are [dst][operands...]
// [immediates...] in the order compile.cpp's simd() emits them, and each function gets
// `pc` pointing at the subopcode cell, so that pc[1] is the destination.
// Lane-wise operations use GCC vector extensions, which the compiler lowers to the
// host's vector instructions (SSE2 at least on x86-64); operations whose WebAssembly
// semantics differ from the machine's (NaN rules, saturation, rounding) go lane by lane.
// They live outside the dispatch loop, which keeps its size and register allocation
// (the scalar kernels measured no slower): one handler there calls them through a table.
#include "interp/simd.hpp"

#include <algorithm>
#include <array>
#include <bit>
#include <cmath>
#include <cstring>
#include <limits>
#include <type_traits>

#include "binary/opcode_info.hpp"
#include "interp/numeric.hpp"

namespace edgecar::interp {

namespace {

#define VEC(name, T, bytes) typedef T name __attribute__((vector_size(bytes)))
VEC(i8x16, int8_t, 16);
VEC(u8x16, uint8_t, 16);
VEC(i16x8, int16_t, 16);
VEC(u16x8, uint16_t, 16);
VEC(i32x4, int32_t, 16);
VEC(u32x4, uint32_t, 16);
VEC(i64x2, int64_t, 16);
VEC(u64x2, uint64_t, 16);
VEC(f32x4, float, 16);
VEC(f64x2, double, 16);
VEC(i8x8, int8_t, 8);
VEC(u8x8, uint8_t, 8);
VEC(i16x4, int16_t, 8);
VEC(u16x4, uint16_t, 8);
VEC(i32x2, int32_t, 8);
VEC(u32x2, uint32_t, 8);
#undef VEC

template <class V>
inline V vload(const uint64_t* p) {
  V v;
  std::memcpy(&v, p, 16);
  return v;
}
template <class V>
inline void vstore(uint64_t* p, V v) {
  static_assert(sizeof(V) == 16);
  std::memcpy(p, &v, 16);
}
// v clamped to T's range.
template <class T>
inline T sat(int64_t v) {
  return static_cast<T>(
      std::clamp<int64_t>(v, std::numeric_limits<T>::min(), std::numeric_limits<T>::max()));
}

#define VIN(T, i) vload<T>(fp + pc[i])
#define VOUT(v) vstore(fp + pc[1], (v))
// One function per instruction; it returns the cells it used, or 0 when a memory access
// is out of bounds.
#define HANDLER_OUT_OF_LINE(name, cells, ...)                                \
  uint32_t name(uint64_t* fp, const Cell* pc, [[maybe_unused]] uint8_t* mem, \
                [[maybe_unused]] uint64_t memsize) {                         \
    __VA_ARGS__;                                                             \
    return cells;                                                            \
  }
#define HANDLER_OUT_OF_LINE_MEM HANDLER_OUT_OF_LINE
#define LANES(R) int(sizeof(R) / sizeof(R{}[0]))
#define VUN(name, T, expr) HANDLER_OUT_OF_LINE(name, 3, T a = VIN(T, 2); VOUT(expr))
#define VBIN(name, T, expr) \
  HANDLER_OUT_OF_LINE(name, 4, T a = VIN(T, 2); T b = VIN(T, 3); VOUT(expr))
// Lane by lane: r[i] = expr of a[i] (and b[i]), results of type R.
#define VLANES1(name, T, R, expr)                      \
  HANDLER_OUT_OF_LINE(name, 3, T a = VIN(T, 2); R r{}; \
                      for (int i = 0; i < LANES(R); ++i) r[i] = (expr); VOUT(r))
#define VLANES2(name, T, R, expr)                                       \
  HANDLER_OUT_OF_LINE(name, 4, T a = VIN(T, 2); T b = VIN(T, 3); R r{}; \
                      for (int i = 0; i < LANES(R); ++i) r[i] = (expr); VOUT(r))
#define VSHIFT(name, T, op)                                                                   \
  HANDLER_OUT_OF_LINE(name, 4, T a = VIN(T, 2);                                               \
                      uint32_t s = static_cast<uint32_t>(fp[pc[3]]) & (sizeof(a[0]) * 8 - 1); \
                      VOUT(a op static_cast<std::remove_reference_t<decltype(a[0])>>(s)))
#define VSPLAT(name, T, value)                          \
  HANDLER_OUT_OF_LINE(name, 3, T r{}; auto x = (value); \
                      for (int i = 0; i < LANES(T); ++i) r[i] = x; VOUT(r))
#define VEXTRACT(name, T, out) HANDLER_OUT_OF_LINE(name, 4, T a = VIN(T, 2); auto l = a[pc[3]]; out)
#define VREPLACE(name, T, value) \
  HANDLER_OUT_OF_LINE(name, 5, T a = VIN(T, 2); a[pc[4]] = (value); VOUT(a))
#define VTEST(name, expr) HANDLER_OUT_OF_LINE(name, 3, fp[pc[1]] = (expr))
// Memory: the effective address and its bounds check, as for scalar loads.
#define VADDR(slot_cell, offset_cell, n)                                                           \
  uint64_t ea = static_cast<uint64_t>(static_cast<uint32_t>(fp[pc[slot_cell]])) + pc[offset_cell]; \
  if (ea + (n) > memsize) return 0
#define VLOAD_EXTEND(name, T, N, R)                                                              \
  HANDLER_OUT_OF_LINE_MEM(name, 4, VADDR(2, 3, 8); T src; std::memcpy(&src, mem + ea, 8); R r{}; \
                          for (int i = 0; i < N; ++i) r[i] = src[i]; VOUT(r))
#define VLOAD_SPLAT(name, T, R)                                        \
  HANDLER_OUT_OF_LINE_MEM(name, 4, VADDR(2, 3, sizeof(T)); T x;        \
                          std::memcpy(&x, mem + ea, sizeof(T)); R r{}; \
                          for (int i = 0; i < LANES(R); ++i) r[i] = x; VOUT(r))
#define VLOAD_LANE(name, R)                                                      \
  HANDLER_OUT_OF_LINE_MEM(name, 6, VADDR(2, 4, sizeof(R{}[0])); R r = VIN(R, 3); \
                          std::remove_reference_t<decltype(r[0])> x;             \
                          std::memcpy(&x, mem + ea, sizeof(x)); r[pc[5]] = x; VOUT(r))
#define VSTORE_LANE(name, R)                                                     \
  HANDLER_OUT_OF_LINE_MEM(name, 5, VADDR(1, 3, sizeof(R{}[0])); R v = VIN(R, 2); \
                          auto x = v[pc[4]]; std::memcpy(mem + ea, &x, sizeof(x)))

// ---- memory ----
HANDLER_OUT_OF_LINE_MEM(V128Load, 4, VADDR(2, 3, 16); std::memcpy(fp + pc[1], mem + ea, 16))
HANDLER_OUT_OF_LINE_MEM(V128Store, 4, VADDR(1, 3, 16); std::memcpy(mem + ea, fp + pc[2], 16))
VLOAD_EXTEND(V128Load8x8S, i8x8, 8, i16x8)
VLOAD_EXTEND(V128Load8x8U, u8x8, 8, u16x8)
VLOAD_EXTEND(V128Load16x4S, i16x4, 4, i32x4)
VLOAD_EXTEND(V128Load16x4U, u16x4, 4, u32x4)
VLOAD_EXTEND(V128Load32x2S, i32x2, 2, i64x2)
VLOAD_EXTEND(V128Load32x2U, u32x2, 2, u64x2)
VLOAD_SPLAT(V128Load8Splat, uint8_t, u8x16)
VLOAD_SPLAT(V128Load16Splat, uint16_t, u16x8)
VLOAD_SPLAT(V128Load32Splat, uint32_t, u32x4)
VLOAD_SPLAT(V128Load64Splat, uint64_t, u64x2)
HANDLER_OUT_OF_LINE_MEM(V128Load32Zero, 4, VADDR(2, 3, 4); uint32_t x; std::memcpy(&x, mem + ea, 4);
                        fp[pc[1]] = x; fp[pc[1] + 1] = 0)
HANDLER_OUT_OF_LINE_MEM(V128Load64Zero, 4, VADDR(2, 3, 8); std::memcpy(fp + pc[1], mem + ea, 8);
                        fp[pc[1] + 1] = 0)
VLOAD_LANE(V128Load8Lane, u8x16)
VLOAD_LANE(V128Load16Lane, u16x8)
VLOAD_LANE(V128Load32Lane, u32x4)
VLOAD_LANE(V128Load64Lane, u64x2)
VSTORE_LANE(V128Store8Lane, u8x16)
VSTORE_LANE(V128Store16Lane, u16x8)
VSTORE_LANE(V128Store32Lane, u32x4)
VSTORE_LANE(V128Store64Lane, u64x2)

// ---- shuffles, splats, lanes ----
HANDLER_OUT_OF_LINE(I8x16Shuffle, 8, u8x16 a = VIN(u8x16, 2); u8x16 b = VIN(u8x16, 3); u8x16 r{};
                    uint8_t idx[16]; std::memcpy(idx, pc + 4, 16);
                    for (int i = 0; i < 16; ++i) r[i] = idx[i] < 16 ? a[idx[i]] : b[idx[i] - 16];
                    VOUT(r))
VLANES2(I8x16Swizzle, u8x16, u8x16, b[i] < 16 ? a[b[i]] : 0)
VSPLAT(I8x16Splat, u8x16, static_cast<uint8_t>(fp[pc[2]]))
VSPLAT(I16x8Splat, u16x8, static_cast<uint16_t>(fp[pc[2]]))
VSPLAT(I32x4Splat, u32x4, static_cast<uint32_t>(fp[pc[2]]))
VSPLAT(I64x2Splat, u64x2, fp[pc[2]])
VSPLAT(F32x4Splat, u32x4, static_cast<uint32_t>(fp[pc[2]]))
VSPLAT(F64x2Splat, u64x2, fp[pc[2]])
VEXTRACT(I8x16ExtractLaneS, i8x16, fp[pc[1]] = static_cast<uint32_t>(int32_t{l}))
VEXTRACT(I8x16ExtractLaneU, u8x16, fp[pc[1]] = uint32_t{l})
VEXTRACT(I16x8ExtractLaneS, i16x8, fp[pc[1]] = static_cast<uint32_t>(int32_t{l}))
VEXTRACT(I16x8ExtractLaneU, u16x8, fp[pc[1]] = uint32_t{l})
VEXTRACT(I32x4ExtractLane, u32x4, fp[pc[1]] = l)
VEXTRACT(I64x2ExtractLane, u64x2, fp[pc[1]] = l)
VEXTRACT(F32x4ExtractLane, u32x4, fp[pc[1]] = l)
VEXTRACT(F64x2ExtractLane, u64x2, fp[pc[1]] = l)
VREPLACE(I8x16ReplaceLane, u8x16, static_cast<uint8_t>(fp[pc[3]]))
VREPLACE(I16x8ReplaceLane, u16x8, static_cast<uint16_t>(fp[pc[3]]))
VREPLACE(I32x4ReplaceLane, u32x4, static_cast<uint32_t>(fp[pc[3]]))
VREPLACE(I64x2ReplaceLane, u64x2, fp[pc[3]])
VREPLACE(F32x4ReplaceLane, u32x4, static_cast<uint32_t>(fp[pc[3]]))
VREPLACE(F64x2ReplaceLane, u64x2, fp[pc[3]])

// ---- comparisons: all-ones lanes where true ----
VBIN(I8x16Eq, i8x16, a == b)
VBIN(I8x16Ne, i8x16, a != b)
VBIN(I8x16LtS, i8x16, a < b)
VBIN(I8x16LtU, u8x16, (u8x16)(a < b))
VBIN(I8x16GtS, i8x16, a > b)
VBIN(I8x16GtU, u8x16, (u8x16)(a > b))
VBIN(I8x16LeS, i8x16, a <= b)
VBIN(I8x16LeU, u8x16, (u8x16)(a <= b))
VBIN(I8x16GeS, i8x16, a >= b)
VBIN(I8x16GeU, u8x16, (u8x16)(a >= b))
VBIN(I16x8Eq, i16x8, a == b)
VBIN(I16x8Ne, i16x8, a != b)
VBIN(I16x8LtS, i16x8, a < b)
VBIN(I16x8LtU, u16x8, (u16x8)(a < b))
VBIN(I16x8GtS, i16x8, a > b)
VBIN(I16x8GtU, u16x8, (u16x8)(a > b))
VBIN(I16x8LeS, i16x8, a <= b)
VBIN(I16x8LeU, u16x8, (u16x8)(a <= b))
VBIN(I16x8GeS, i16x8, a >= b)
VBIN(I16x8GeU, u16x8, (u16x8)(a >= b))
VBIN(I32x4Eq, i32x4, a == b)
VBIN(I32x4Ne, i32x4, a != b)
VBIN(I32x4LtS, i32x4, a < b)
VBIN(I32x4LtU, u32x4, (u32x4)(a < b))
VBIN(I32x4GtS, i32x4, a > b)
VBIN(I32x4GtU, u32x4, (u32x4)(a > b))
VBIN(I32x4LeS, i32x4, a <= b)
VBIN(I32x4LeU, u32x4, (u32x4)(a <= b))
VBIN(I32x4GeS, i32x4, a >= b)
VBIN(I32x4GeU, u32x4, (u32x4)(a >= b))
VBIN(I64x2Eq, i64x2, a == b)
VBIN(I64x2Ne, i64x2, a != b)
VBIN(I64x2LtS, i64x2, a < b)
VBIN(I64x2GtS, i64x2, a > b)
VBIN(I64x2LeS, i64x2, a <= b)
VBIN(I64x2GeS, i64x2, a >= b)
VBIN(F32x4Eq, f32x4, a == b)
VBIN(F32x4Ne, f32x4, a != b)
VBIN(F32x4Lt, f32x4, a < b)
VBIN(F32x4Gt, f32x4, a > b)
VBIN(F32x4Le, f32x4, a <= b)
VBIN(F32x4Ge, f32x4, a >= b)
VBIN(F64x2Eq, f64x2, a == b)
VBIN(F64x2Ne, f64x2, a != b)
VBIN(F64x2Lt, f64x2, a < b)
VBIN(F64x2Gt, f64x2, a > b)
VBIN(F64x2Le, f64x2, a <= b)
VBIN(F64x2Ge, f64x2, a >= b)

// ---- bitwise ----
VUN(V128Not, u64x2, ~a)
VBIN(V128And, u64x2, a& b)
VBIN(V128Andnot, u64x2, a & ~b)
VBIN(V128Or, u64x2, a | b)
VBIN(V128Xor, u64x2, a ^ b)
HANDLER_OUT_OF_LINE(V128Bitselect, 5, u64x2 a = VIN(u64x2, 2); u64x2 b = VIN(u64x2, 3);
                    u64x2 c = VIN(u64x2, 4); VOUT((a & c) | (b & ~c)))
VTEST(V128AnyTrue, (fp[pc[2]] | fp[pc[2] + 1]) != 0)

// ---- integer lanes ----
#define VALL_TRUE(name, T)                                        \
  HANDLER_OUT_OF_LINE(name, 3, T a = VIN(T, 2); uint32_t all = 1; \
                      for (int i = 0; i < LANES(T); ++i) all &= a[i] != 0; fp[pc[1]] = all)
#define VBITMASK(name, T)                       \
  HANDLER_OUT_OF_LINE(                          \
      name, 3, T a = VIN(T, 2); uint32_t m = 0; \
      for (int i = 0; i < LANES(T); ++i) m |= static_cast<uint32_t>(a[i] < 0) << i; fp[pc[1]] = m)
VALL_TRUE(I8x16AllTrue, u8x16)
VALL_TRUE(I16x8AllTrue, u16x8)
VALL_TRUE(I32x4AllTrue, u32x4)
VALL_TRUE(I64x2AllTrue, u64x2)
VBITMASK(I8x16Bitmask, i8x16)
VBITMASK(I16x8Bitmask, i16x8)
VBITMASK(I32x4Bitmask, i32x4)
VBITMASK(I64x2Bitmask, i64x2)

VUN(I8x16Abs, i8x16, (i8x16)(a < 0 ? -(u8x16)a : (u8x16)a))
VUN(I16x8Abs, i16x8, (i16x8)(a < 0 ? -(u16x8)a : (u16x8)a))
VUN(I32x4Abs, i32x4, (i32x4)(a < 0 ? -(u32x4)a : (u32x4)a))
VUN(I64x2Abs, i64x2, (i64x2)(a < 0 ? -(u64x2)a : (u64x2)a))
VUN(I8x16Neg, u8x16, -a)
VUN(I16x8Neg, u16x8, -a)
VUN(I32x4Neg, u32x4, -a)
VUN(I64x2Neg, u64x2, -a)
VLANES1(I8x16Popcnt, u8x16, u8x16, static_cast<uint8_t>(std::popcount(a[i])))
VSHIFT(I8x16Shl, u8x16, <<)
VSHIFT(I8x16ShrS, i8x16, >>)
VSHIFT(I8x16ShrU, u8x16, >>)
VSHIFT(I16x8Shl, u16x8, <<)
VSHIFT(I16x8ShrS, i16x8, >>)
VSHIFT(I16x8ShrU, u16x8, >>)
VSHIFT(I32x4Shl, u32x4, <<)
VSHIFT(I32x4ShrS, i32x4, >>)
VSHIFT(I32x4ShrU, u32x4, >>)
VSHIFT(I64x2Shl, u64x2, <<)
VSHIFT(I64x2ShrS, i64x2, >>)
VSHIFT(I64x2ShrU, u64x2, >>)
VBIN(I8x16Add, u8x16, a + b)
VBIN(I16x8Add, u16x8, a + b)
VBIN(I32x4Add, u32x4, a + b)
VBIN(I64x2Add, u64x2, a + b)
VBIN(I8x16Sub, u8x16, a - b)
VBIN(I16x8Sub, u16x8, a - b)
VBIN(I32x4Sub, u32x4, a - b)
VBIN(I64x2Sub, u64x2, a - b)
VBIN(I16x8Mul, u16x8, a* b)
VBIN(I32x4Mul, u32x4, a* b)
VBIN(I64x2Mul, u64x2, a* b)
VBIN(I8x16MinS, i8x16, a < b ? a : b)
VBIN(I8x16MinU, u8x16, a < b ? a : b)
VBIN(I8x16MaxS, i8x16, a > b ? a : b)
VBIN(I8x16MaxU, u8x16, a > b ? a : b)
VBIN(I16x8MinS, i16x8, a < b ? a : b)
VBIN(I16x8MinU, u16x8, a < b ? a : b)
VBIN(I16x8MaxS, i16x8, a > b ? a : b)
VBIN(I16x8MaxU, u16x8, a > b ? a : b)
VBIN(I32x4MinS, i32x4, a < b ? a : b)
VBIN(I32x4MinU, u32x4, a < b ? a : b)
VBIN(I32x4MaxS, i32x4, a > b ? a : b)
VBIN(I32x4MaxU, u32x4, a > b ? a : b)
VLANES2(I8x16AvgrU, u8x16, u8x16, static_cast<uint8_t>((a[i] + b[i] + 1) >> 1))
VLANES2(I16x8AvgrU, u16x8, u16x8, static_cast<uint16_t>((a[i] + b[i] + 1) >> 1))
VLANES2(I8x16AddSatS, i8x16, i8x16, sat<int8_t>(int{a[i]} + b[i]))
VLANES2(I8x16AddSatU, u8x16, u8x16, sat<uint8_t>(int{a[i]} + b[i]))
VLANES2(I8x16SubSatS, i8x16, i8x16, sat<int8_t>(int{a[i]} - b[i]))
VLANES2(I8x16SubSatU, u8x16, u8x16, sat<uint8_t>(int{a[i]} - b[i]))
VLANES2(I16x8AddSatS, i16x8, i16x8, sat<int16_t>(int{a[i]} + b[i]))
VLANES2(I16x8AddSatU, u16x8, u16x8, sat<uint16_t>(int{a[i]} + b[i]))
VLANES2(I16x8SubSatS, i16x8, i16x8, sat<int16_t>(int{a[i]} - b[i]))
VLANES2(I16x8SubSatU, u16x8, u16x8, sat<uint16_t>(int{a[i]} - b[i]))
VLANES2(I16x8Q15mulrSatS, i16x8, i16x8, sat<int16_t>((int{a[i]} * b[i] + 0x4000) >> 15))
// Narrowing: a's lanes then b's, each saturated to the narrower type.
VLANES2(I8x16NarrowI16x8S, i16x8, i8x16, sat<int8_t>(i < 8 ? a[i] : b[i - 8]))
VLANES2(I8x16NarrowI16x8U, i16x8, u8x16, sat<uint8_t>(i < 8 ? a[i] : b[i - 8]))
VLANES2(I16x8NarrowI32x4S, i32x4, i16x8, sat<int16_t>(i < 4 ? a[i] : b[i - 4]))
VLANES2(I16x8NarrowI32x4U, i32x4, u16x8, sat<uint16_t>(i < 4 ? a[i] : b[i - 4]))
// Widening: the low or high half of a's lanes.
VLANES1(I16x8ExtendLowI8x16S, i8x16, i16x8, a[i])
VLANES1(I16x8ExtendHighI8x16S, i8x16, i16x8, a[i + 8])
VLANES1(I16x8ExtendLowI8x16U, u8x16, u16x8, a[i])
VLANES1(I16x8ExtendHighI8x16U, u8x16, u16x8, a[i + 8])
VLANES1(I32x4ExtendLowI16x8S, i16x8, i32x4, a[i])
VLANES1(I32x4ExtendHighI16x8S, i16x8, i32x4, a[i + 4])
VLANES1(I32x4ExtendLowI16x8U, u16x8, u32x4, a[i])
VLANES1(I32x4ExtendHighI16x8U, u16x8, u32x4, a[i + 4])
VLANES1(I64x2ExtendLowI32x4S, i32x4, i64x2, a[i])
VLANES1(I64x2ExtendHighI32x4S, i32x4, i64x2, a[i + 2])
VLANES1(I64x2ExtendLowI32x4U, u32x4, u64x2, a[i])
VLANES1(I64x2ExtendHighI32x4U, u32x4, u64x2, a[i + 2])
VLANES1(I16x8ExtaddPairwiseI8x16S, i8x16, i16x8, int16_t(a[2 * i] + a[2 * i + 1]))
VLANES1(I16x8ExtaddPairwiseI8x16U, u8x16, u16x8, uint16_t(a[2 * i] + a[2 * i + 1]))
VLANES1(I32x4ExtaddPairwiseI16x8S, i16x8, i32x4, int32_t(a[2 * i]) + a[2 * i + 1])
VLANES1(I32x4ExtaddPairwiseI16x8U, u16x8, u32x4, uint32_t(a[2 * i]) + a[2 * i + 1])
VLANES2(I16x8ExtmulLowI8x16S, i8x16, i16x8, int16_t(a[i] * b[i]))
VLANES2(I16x8ExtmulHighI8x16S, i8x16, i16x8, int16_t(a[i + 8] * b[i + 8]))
VLANES2(I16x8ExtmulLowI8x16U, u8x16, u16x8, uint16_t(a[i] * b[i]))
VLANES2(I16x8ExtmulHighI8x16U, u8x16, u16x8, uint16_t(a[i + 8] * b[i + 8]))
VLANES2(I32x4ExtmulLowI16x8S, i16x8, i32x4, int32_t(a[i]) * b[i])
VLANES2(I32x4ExtmulHighI16x8S, i16x8, i32x4, int32_t(a[i + 4]) * b[i + 4])
VLANES2(I32x4ExtmulLowI16x8U, u16x8, u32x4, uint32_t(a[i]) * b[i])
VLANES2(I32x4ExtmulHighI16x8U, u16x8, u32x4, uint32_t(a[i + 4]) * b[i + 4])
VLANES2(I64x2ExtmulLowI32x4S, i32x4, i64x2, int64_t(a[i]) * b[i])
VLANES2(I64x2ExtmulHighI32x4S, i32x4, i64x2, int64_t(a[i + 2]) * b[i + 2])
VLANES2(I64x2ExtmulLowI32x4U, u32x4, u64x2, uint64_t(a[i]) * b[i])
VLANES2(I64x2ExtmulHighI32x4U, u32x4, u64x2, uint64_t(a[i + 2]) * b[i + 2])
VLANES2(I32x4DotI16x8S, i16x8, u32x4,
        uint32_t(int32_t(a[2 * i]) * b[2 * i]) + uint32_t(int32_t(a[2 * i + 1]) * b[2 * i + 1]))

// ---- float lanes (NaN and signed-zero rules as the scalar instructions) ----
VLANES1(F32x4Abs, u32x4, u32x4, f32_abs(a[i]))
VLANES1(F32x4Neg, u32x4, u32x4, f32_neg(a[i]))
VLANES1(F64x2Abs, u64x2, u64x2, f64_abs(a[i]))
VLANES1(F64x2Neg, u64x2, u64x2, f64_neg(a[i]))
VLANES1(F32x4Sqrt, f32x4, f32x4, std::sqrt(a[i]))
VLANES1(F64x2Sqrt, f64x2, f64x2, std::sqrt(a[i]))
VLANES1(F32x4Ceil, f32x4, f32x4, wasm_ceil(a[i]))
VLANES1(F32x4Floor, f32x4, f32x4, wasm_floor(a[i]))
VLANES1(F32x4Trunc, f32x4, f32x4, wasm_trunc(a[i]))
VLANES1(F32x4Nearest, f32x4, f32x4, wasm_nearest(a[i]))
VLANES1(F64x2Ceil, f64x2, f64x2, wasm_ceil(a[i]))
VLANES1(F64x2Floor, f64x2, f64x2, wasm_floor(a[i]))
VLANES1(F64x2Trunc, f64x2, f64x2, wasm_trunc(a[i]))
VLANES1(F64x2Nearest, f64x2, f64x2, wasm_nearest(a[i]))
VBIN(F32x4Add, f32x4, a + b)
VBIN(F32x4Sub, f32x4, a - b)
VBIN(F32x4Mul, f32x4, a* b)
VBIN(F32x4Div, f32x4, a / b)
VBIN(F64x2Add, f64x2, a + b)
VBIN(F64x2Sub, f64x2, a - b)
VBIN(F64x2Mul, f64x2, a* b)
VBIN(F64x2Div, f64x2, a / b)
VLANES2(F32x4Min, f32x4, f32x4, wasm_min(a[i], b[i]))
VLANES2(F32x4Max, f32x4, f32x4, wasm_max(a[i], b[i]))
VLANES2(F64x2Min, f64x2, f64x2, wasm_min(a[i], b[i]))
VLANES2(F64x2Max, f64x2, f64x2, wasm_max(a[i], b[i]))
// pmin/pmax: b < a ? b : a (and a < b ? b : a), exactly as written: no NaN rule.
VLANES2(F32x4Pmin, f32x4, f32x4, b[i] < a[i] ? b[i] : a[i])
VLANES2(F32x4Pmax, f32x4, f32x4, a[i] < b[i] ? b[i] : a[i])
VLANES2(F64x2Pmin, f64x2, f64x2, b[i] < a[i] ? b[i] : a[i])
VLANES2(F64x2Pmax, f64x2, f64x2, a[i] < b[i] ? b[i] : a[i])

// ---- conversions ----
VLANES1(I32x4TruncSatF32x4S, f32x4, i32x4, trunc_sat<int32_t>(a[i]))
VLANES1(I32x4TruncSatF32x4U, f32x4, u32x4, trunc_sat<uint32_t>(a[i]))
VLANES1(F32x4ConvertI32x4S, i32x4, f32x4, static_cast<float>(a[i]))
VLANES1(F32x4ConvertI32x4U, u32x4, f32x4, static_cast<float>(a[i]))
VLANES1(I32x4TruncSatF64x2SZero, f64x2, i32x4, i < 2 ? trunc_sat<int32_t>(a[i]) : 0)
VLANES1(I32x4TruncSatF64x2UZero, f64x2, u32x4, i < 2 ? trunc_sat<uint32_t>(a[i]) : 0u)
VLANES1(F64x2ConvertLowI32x4S, i32x4, f64x2, static_cast<double>(a[i]))
VLANES1(F64x2ConvertLowI32x4U, u32x4, f64x2, static_cast<double>(a[i]))
VLANES1(F32x4DemoteF64x2Zero, f64x2, f32x4, i < 2 ? static_cast<float>(a[i]) : 0.0f)
VLANES1(F64x2PromoteLowF32x4, f32x4, f64x2, static_cast<double>(a[i]))

#undef VIN
#undef VOUT
#undef HANDLER_OUT_OF_LINE
#undef HANDLER_OUT_OF_LINE_MEM
#undef LANES
#undef VUN
#undef VBIN
#undef VLANES1
#undef VLANES2
#undef VSHIFT
#undef VSPLAT
#undef VEXTRACT
#undef VREPLACE
#undef VTEST
#undef VADDR
#undef VLOAD_EXTEND
#undef VLOAD_SPLAT
#undef VLOAD_LANE
#undef VSTORE_LANE
#undef VALL_TRUE
#undef VBITMASK

constexpr std::array<SimdFn, 256> make_table() {
  std::array<SimdFn, 256> t{};
#define HANDLER_IF_Vector(c, id) t[(c) & 0xFF] = &id;
#define HANDLER_IF_Simple(c, id)
#define HANDLER_IF_Own(c, id)
#define OP(code, id, name, imm, signature, align, lowering) HANDLER_IF_##lowering(code, id)
#include "binary/opcodes.def"
#undef OP
#undef HANDLER_IF_Own
#undef HANDLER_IF_Simple
#undef HANDLER_IF_Vector
  return t;
}
}  // namespace

// make_table() is a constant expression: the table is constant-initialized.
const std::array<SimdFn, 256> kSimdFunctions = make_table();

}  // namespace edgecar::interp
