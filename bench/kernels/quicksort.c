// Quicksort of 200k pseudo-random integers, repeated: recursion, compares, swaps.
#include "kernel.h"
#define N 200000
static int32_t data[N];
static void qs(int32_t* a, int lo, int hi) {
  while (lo < hi) {
    int32_t p = a[(lo + hi) / 2];
    int i = lo, j = hi;
    while (i <= j) {
      while (a[i] < p) i++;
      while (a[j] > p) j--;
      if (i <= j) {
        int32_t t = a[i];
        a[i++] = a[j];
        a[j--] = t;
      }
    }
    if (j - lo < hi - i) {
      qs(a, lo, j);
      lo = i;
    } else {
      qs(a, i, hi);
      hi = j;
    }
  }
}
EXPORT uint32_t run(uint32_t reps) {
  uint32_t s = 42, h = 2166136261u;
  for (uint32_t r = 0; r < reps; ++r) {
    for (int i = 0; i < N; ++i) data[i] = (int32_t)rng_next(&s);
    qs(data, 0, N - 1);
    h = mix(h, (uint32_t)data[N / 2]);
  }
  return h;
}
