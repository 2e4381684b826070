// Sieve of Eratosthenes over 1 MB, repeated: byte loads and stores in tight loops.
#include "kernel.h"
#define N (1 << 20)
static uint8_t flags[N];
EXPORT uint32_t run(uint32_t reps) {
  uint32_t count = 0;
  for (uint32_t r = 0; r < reps; ++r) {
    for (uint32_t i = 0; i < N; ++i) flags[i] = 1;
    count = 0;
    for (uint32_t i = 2; i < N; ++i) {
      if (flags[i]) {
        count++;
        for (uint32_t k = i + i; k < N; k += i) flags[k] = 0;
      }
    }
  }
  return count;
}
