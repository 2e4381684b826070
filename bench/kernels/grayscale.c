// RGB to grayscale over a 1024x768 pixel buffer, repeated (the demo's own workload).
#include "kernel.h"
#define W 1024
#define H 768
static uint8_t rgb[W * H * 3];
static uint8_t gray[W * H];
EXPORT uint32_t run(uint32_t reps) {
  uint32_t s = 3;
  for (uint32_t i = 0; i < sizeof rgb; ++i) rgb[i] = (uint8_t)rng_next(&s);
  uint32_t h = 0;
  for (uint32_t r = 0; r < reps; ++r) {
    for (uint32_t i = 0; i < W * H; ++i) {
      uint32_t R = rgb[3 * i], G = rgb[3 * i + 1], B = rgb[3 * i + 2];
      gray[i] = (uint8_t)((R * 77 + G * 150 + B * 29 + 128) >> 8);
    }
    h = mix(h, gray[(r * 7919) % (W * H)]);
    rgb[r % sizeof rgb] ^= 1;
  }
  return h;
}
