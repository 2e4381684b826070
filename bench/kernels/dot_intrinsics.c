// A quantized dense layer: y = W x with 16-bit weights and activations and 32-bit sums
// (256x256, the inner loop of an int8/int16 network), fed back as the next input. With
// -msimd128 the inner loop is explicit wasm_simd128.h code around i32x4.dot_i16x8_s
// (eight multiply-adds per instruction); otherwise plain C. Sums wrap modulo 2^32 in both,
// so every build has the same checksum.
#include "kernel.h"
#if defined(__wasm_simd128__)
#include <wasm_simd128.h>
#endif
#define N 256
static int16_t w[N * N];
static int16_t x[N];
static int32_t y[N];

#if defined(__wasm_simd128__)
static int32_t row_dot(const int16_t* row, const int16_t* v) {
  v128_t acc0 = wasm_i32x4_splat(0), acc1 = wasm_i32x4_splat(0);
  for (int k = 0; k < N; k += 16) {
    acc0 =
        wasm_i32x4_add(acc0, wasm_i32x4_dot_i16x8(wasm_v128_load(row + k), wasm_v128_load(v + k)));
    acc1 = wasm_i32x4_add(
        acc1, wasm_i32x4_dot_i16x8(wasm_v128_load(row + k + 8), wasm_v128_load(v + k + 8)));
  }
  v128_t acc = wasm_i32x4_add(acc0, acc1);
  return (int32_t)((uint32_t)wasm_i32x4_extract_lane(acc, 0) +
                   (uint32_t)wasm_i32x4_extract_lane(acc, 1) +
                   (uint32_t)wasm_i32x4_extract_lane(acc, 2) +
                   (uint32_t)wasm_i32x4_extract_lane(acc, 3));
}
#else
static int32_t row_dot(const int16_t* row, const int16_t* v) {
  uint32_t acc = 0;
  for (int k = 0; k < N; ++k) acc += (uint32_t)((int32_t)row[k] * v[k]);
  return (int32_t)acc;
}
#endif

EXPORT uint32_t run(uint32_t reps) {
  uint32_t s = 7;
  for (int i = 0; i < N * N; ++i) w[i] = (int16_t)(rng_next(&s) & 0x3ff) - 512;
  for (int i = 0; i < N; ++i) x[i] = (int16_t)(rng_next(&s) & 0xff) - 128;
  uint32_t h = 0;
  for (uint32_t r = 0; r < reps; ++r) {
    for (int i = 0; i < N; ++i) y[i] = row_dot(w + i * N, x);
    for (int i = 0; i < N; ++i) x[i] = (int16_t)(y[i] >> 10);  // requantize: stays in range
    h = mix(h, (uint32_t)y[r % N]);
  }
  return h;
}
