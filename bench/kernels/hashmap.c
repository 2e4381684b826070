// Open-addressing hash map: inserts, lookups and deletions of integer keys.
#include "kernel.h"
#define CAP (1 << 18)
static uint32_t keys[CAP], vals[CAP];
static uint8_t used[CAP];
EXPORT uint32_t run(uint32_t reps) {
  uint32_t h = 0;
  for (uint32_t r = 0; r < reps; ++r) {
    for (uint32_t i = 0; i < CAP; ++i) used[i] = 0;
    uint32_t s = 12345 + r;
    for (uint32_t i = 0; i < CAP / 2; ++i) {
      uint32_t k = rng_next(&s) | 1, slot = (k * 2654435761u) & (CAP - 1);
      while (used[slot] && keys[slot] != k) slot = (slot + 1) & (CAP - 1);
      used[slot] = 1;
      keys[slot] = k;
      vals[slot] = i;
    }
    s = 12345 + r;
    uint32_t found = 0;
    for (uint32_t i = 0; i < CAP / 2; ++i) {
      uint32_t k = (i & 1) ? (rng_next(&s) | 1) : (i * 2), slot = (k * 2654435761u) & (CAP - 1);
      while (used[slot]) {
        if (keys[slot] == k) {
          found += vals[slot];
          break;
        }
        slot = (slot + 1) & (CAP - 1);
      }
    }
    h = mix(h, found);
  }
  return h;
}
