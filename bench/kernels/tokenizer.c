// A JSON-like tokenizer: branches on characters, number parsing, string scanning.
#include "kernel.h"
#define N (512 * 1024)
static char text[N];
EXPORT uint32_t run(uint32_t reps) {
  uint32_t s = 99, p = 0;
  while (p + 64 < N) {
    uint32_t k = rng_next(&s) % 6;
    const char* frag = k == 0   ? "{\"name\": \"edgecar\", "
                       : k == 1 ? "\"n\": 12345, "
                       : k == 2 ? "[1, 2.5, -3], "
                       : k == 3 ? "true, false, null, "
                       : k == 4 ? "\"s\\\"q\": \"x y z\"}, "
                                : "  \n\t";
    while (*frag) text[p++] = *frag++;
  }
  text[p] = 0;
  uint32_t h = 2166136261u;
  for (uint32_t r = 0; r < reps; ++r) {
    uint32_t tokens = 0, numbers = 0, strings = 0;
    int64_t numsum = 0;
    for (const char* c = text; *c;) {
      char ch = *c;
      if (ch == ' ' || ch == '\n' || ch == '\t' || ch == ',' || ch == ':') {
        c++;
      } else if (ch == '{' || ch == '}' || ch == '[' || ch == ']') {
        tokens++;
        c++;
      } else if (ch == '"') {
        c++;
        while (*c && *c != '"') c += (*c == '\\') ? 2 : 1;
        if (*c) c++;
        strings++;
      } else if (ch == '-' || (ch >= '0' && ch <= '9')) {
        int neg = ch == '-';
        if (neg) c++;
        int64_t v = 0;
        while (*c >= '0' && *c <= '9') v = v * 10 + (*c++ - '0');
        if (*c == '.') {
          c++;
          while (*c >= '0' && *c <= '9') c++;
        }
        numsum += neg ? -v : v;
        numbers++;
      } else {
        while (*c >= 'a' && *c <= 'z') c++;
        tokens++;
      }
    }
    h = mix(mix(mix(h, tokens), numbers + strings), (uint32_t)numsum);
  }
  return h;
}
