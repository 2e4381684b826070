// An LZ77-style compressor with a hash table of previous positions over generated text.
#include "kernel.h"
#define N (256 * 1024)
static uint8_t in[N];
static uint8_t out[N + N / 8 + 16];
static int32_t table[1 << 14];
static const char* words[] = {"edge",    "car", "wasm", "dapr", "side",  "function",
                              "runtime", "the", "a",    "of",   "image", "gray"};
EXPORT uint32_t run(uint32_t reps) {
  uint32_t s = 7, pos = 0;
  while (pos < N) {
    const char* w = words[rng_next(&s) % 12];
    while (*w && pos < N) in[pos++] = (uint8_t)*w++;
    if (pos < N) in[pos++] = ' ';
  }
  uint32_t total = 0;
  for (uint32_t r = 0; r < reps; ++r) {
    for (int i = 0; i < (1 << 14); ++i) table[i] = -1;
    uint32_t o = 0, i = 0;
    while (i + 4 <= N) {
      uint32_t v = (uint32_t)in[i] | (uint32_t)in[i + 1] << 8 | (uint32_t)in[i + 2] << 16 |
                   (uint32_t)in[i + 3] << 24;
      uint32_t hsh = (v * 2654435761u) >> 18;
      int32_t cand = table[hsh];
      table[hsh] = (int32_t)i;
      uint32_t len = 0;
      if (cand >= 0 && i - (uint32_t)cand < 65535)
        while (i + len < N && len < 255 && in[(uint32_t)cand + len] == in[i + len]) len++;
      if (len >= 4) {
        out[o++] = 0xFF;
        out[o++] = (uint8_t)len;
        out[o++] = (uint8_t)(i - (uint32_t)cand);
        out[o++] = (uint8_t)((i - (uint32_t)cand) >> 8);
        i += len;
      } else {
        out[o++] = in[i++];
      }
    }
    total += o;
  }
  return total;
}
