// Numeric semantics that C++ operators do not give directly (spec 4.3): float min/max
// with NaN and signed zeros, nearest, bit-exact abs/neg/copysign, and the range checks
// of float-to-integer truncation.
#pragma once

#include <bit>
#include <cmath>
#include <cstdint>
#include <limits>

namespace edgecar::interp {

inline float f32_of(uint32_t b) {
  return std::bit_cast<float>(b);
}
inline double f64_of(uint64_t b) {
  return std::bit_cast<double>(b);
}
inline uint32_t bits_of(float f) {
  return std::bit_cast<uint32_t>(f);
}
inline uint64_t bits_of(double d) {
  return std::bit_cast<uint64_t>(d);
}

template <class F>
inline F wasm_min(F a, F b) {
  if (std::isnan(a) || std::isnan(b)) return a + b;  // a quiet NaN from the operands
  if (a == b) return std::signbit(a) ? a : b;        // min(-0, +0) = -0
  return a < b ? a : b;
}

template <class F>
inline F wasm_max(F a, F b) {
  if (std::isnan(a) || std::isnan(b)) return a + b;
  if (a == b) return std::signbit(a) ? b : a;
  return a > b ? a : b;
}

// Rounding functions of libm may return a signalling NaN unchanged; wasm requires the
// result to be a quiet (arithmetic) NaN, which adding it to itself produces.
template <class F>
inline F wasm_ceil(F a) {
  return std::isnan(a) ? a + a : std::ceil(a);
}
template <class F>
inline F wasm_floor(F a) {
  return std::isnan(a) ? a + a : std::floor(a);
}
template <class F>
inline F wasm_trunc(F a) {
  return std::isnan(a) ? a + a : std::trunc(a);
}
// Round to nearest, ties to even (the default rounding mode is never changed).
template <class F>
inline F wasm_nearest(F a) {
  return std::isnan(a) ? a + a : std::nearbyint(a);
}

inline uint32_t f32_abs(uint32_t b) {
  return b & 0x7FFFFFFFu;
}
inline uint32_t f32_neg(uint32_t b) {
  return b ^ 0x80000000u;
}
inline uint32_t f32_copysign(uint32_t a, uint32_t b) {
  return (a & 0x7FFFFFFFu) | (b & 0x80000000u);
}
inline uint64_t f64_abs(uint64_t b) {
  return b & 0x7FFFFFFFFFFFFFFFull;
}
inline uint64_t f64_neg(uint64_t b) {
  return b ^ 0x8000000000000000ull;
}
inline uint64_t f64_copysign(uint64_t a, uint64_t b) {
  return (a & 0x7FFFFFFFFFFFFFFFull) | (b & 0x8000000000000000ull);
}

// Whether trunc(x) is representable in the target type (NaN is not).
template <class F>
inline bool fits_i32(F x) {
  return x > F(-2147483649.0) && x < F(2147483648.0);
}
template <class F>
inline bool fits_u32(F x) {
  return x > F(-1.0) && x < F(4294967296.0);
}
template <class F>
inline bool fits_i64(F x) {
  return x >= F(-9223372036854775808.0) && x < F(9223372036854775808.0);
}
template <class F>
inline bool fits_u64(F x) {
  return x > F(-1.0) && x < F(18446744073709551616.0);
}
// f32 cannot represent -2147483649; the nearest floats below -2^31 are out of range.
template <>
inline bool fits_i32<float>(float x) {
  return x >= -2147483648.0f && x < 2147483648.0f;
}

template <class I, class F>
inline I trunc_sat(F x) {
  if (std::isnan(x)) return 0;
  if (x <= static_cast<F>(std::numeric_limits<I>::min())) return std::numeric_limits<I>::min();
  if (x >= static_cast<F>(std::numeric_limits<I>::max())) return std::numeric_limits<I>::max();
  return static_cast<I>(x);
}

}  // namespace edgecar::interp
