// Fannkuch-redux: permutations and array reversal (small integer arrays).
#include "kernel.h"
EXPORT uint32_t run(uint32_t n) {
  int perm[16], perm1[16], count[16];
  int max_flips = 0, checksum = 0, r = (int)n, perm_count = 0;
  for (int i = 0; i < (int)n; ++i) perm1[i] = i;
  for (;;) {
    while (r != 1) {
      count[r - 1] = r;
      r--;
    }
    for (int i = 0; i < (int)n; ++i) perm[i] = perm1[i];
    int flips = 0, k;
    while ((k = perm[0]) != 0) {
      for (int i = 0, j = k; i < j; ++i, --j) {
        int t = perm[i];
        perm[i] = perm[j];
        perm[j] = t;
      }
      flips++;
    }
    if (flips > max_flips) max_flips = flips;
    checksum += (perm_count % 2 == 0) ? flips : -flips;
    for (;;) {
      if (r == (int)n) return (uint32_t)(checksum * 1000 + max_flips);
      int p0 = perm1[0];
      for (int i = 0; i < r; ++i) perm1[i] = perm1[i + 1];
      perm1[r] = p0;
      if (--count[r] > 0) break;
      r++;
    }
    perm_count++;
  }
}
