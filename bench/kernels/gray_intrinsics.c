// RGB to grayscale like grayscale.c, written with explicit wasm_simd128.h intrinsics
// when built with -msimd128 (16 pixels per step: three loads, byte shuffles to split the
// channels, 16-bit multiply-adds, a narrowing store), plain C otherwise. Both paths
// compute the same bytes, so every build has the same checksum.
#include "kernel.h"
#if defined(__wasm_simd128__)
#include <wasm_simd128.h>
#endif
#define W 1024
#define H 768
static uint8_t rgb[W * H * 3];
static uint8_t gray[W * H];

#if defined(__wasm_simd128__)
// Bytes 3j+o (j = 0..15) of three consecutive vectors a, b, c: the first shuffle gathers
// those in a and b (11 or 10 of them), the second appends those in c.
#define R_AB 0, 3, 6, 9, 12, 15, 18, 21, 24, 27, 30, 0, 0, 0, 0, 0
#define R_C 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 17, 20, 23, 26, 29
#define G_AB 1, 4, 7, 10, 13, 16, 19, 22, 25, 28, 31, 0, 0, 0, 0, 0
#define G_C 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 18, 21, 24, 27, 30
#define B_AB 2, 5, 8, 11, 14, 17, 20, 23, 26, 29, 0, 0, 0, 0, 0, 0
#define B_C 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 16, 19, 22, 25, 28, 31
#define CHANNEL(a, b, c, AB, C) wasm_i8x16_shuffle(wasm_i8x16_shuffle(a, b, AB), c, C)

static void convert(void) {
  const v128_t kr = wasm_i16x8_splat(77), kg = wasm_i16x8_splat(150), kb = wasm_i16x8_splat(29);
  const v128_t round = wasm_i16x8_splat(128);
  for (uint32_t i = 0; i < W * H; i += 16) {
    const uint8_t* p = rgb + 3 * i;
    v128_t a = wasm_v128_load(p), b = wasm_v128_load(p + 16), c = wasm_v128_load(p + 32);
    v128_t r = CHANNEL(a, b, c, R_AB, R_C);
    v128_t g = CHANNEL(a, b, c, G_AB, G_C);
    v128_t bl = CHANNEL(a, b, c, B_AB, B_C);
    v128_t lo =
        wasm_i16x8_add(wasm_i16x8_add(wasm_i16x8_mul(wasm_u16x8_extend_low_u8x16(r), kr),
                                      wasm_i16x8_mul(wasm_u16x8_extend_low_u8x16(g), kg)),
                       wasm_i16x8_add(wasm_i16x8_mul(wasm_u16x8_extend_low_u8x16(bl), kb), round));
    v128_t hi =
        wasm_i16x8_add(wasm_i16x8_add(wasm_i16x8_mul(wasm_u16x8_extend_high_u8x16(r), kr),
                                      wasm_i16x8_mul(wasm_u16x8_extend_high_u8x16(g), kg)),
                       wasm_i16x8_add(wasm_i16x8_mul(wasm_u16x8_extend_high_u8x16(bl), kb), round));
    wasm_v128_store(gray + i,
                    wasm_u8x16_narrow_i16x8(wasm_u16x8_shr(lo, 8), wasm_u16x8_shr(hi, 8)));
  }
}
#else
static void convert(void) {
  for (uint32_t i = 0; i < W * H; ++i) {
    uint32_t R = rgb[3 * i], G = rgb[3 * i + 1], B = rgb[3 * i + 2];
    gray[i] = (uint8_t)((R * 77 + G * 150 + B * 29 + 128) >> 8);
  }
}
#endif

EXPORT uint32_t run(uint32_t reps) {
  uint32_t s = 3;
  for (uint32_t i = 0; i < sizeof rgb; ++i) rgb[i] = (uint8_t)rng_next(&s);
  uint32_t h = 0;
  for (uint32_t r = 0; r < reps; ++r) {
    convert();
    h = mix(h, gray[(r * 7919) % (W * H)]);
    rgb[r % sizeof rgb] ^= 1;
  }
  return h;
}
