// Shared by the benchmark kernels: each kernel is one C file defining
//   uint32_t run(uint32_t n)   -- does work proportional to n, returns a checksum
// compiled with clang-19 -O2 both natively and to wasm32 (no imports, no libc).
#pragma once
#include <stddef.h>
#include <stdint.h>

#if defined(__wasm__)
#define EXPORT __attribute__((export_name("run"), visibility("default")))
#else
#define EXPORT __attribute__((visibility("default")))
#endif

static inline uint32_t rng_next(uint32_t* s) {  // xorshift32
  uint32_t x = *s;
  x ^= x << 13;
  x ^= x >> 17;
  x ^= x << 5;
  return *s = x;
}

static inline uint32_t mix(uint32_t h, uint32_t v) {
  return (h ^ v) * 16777619u;
}
