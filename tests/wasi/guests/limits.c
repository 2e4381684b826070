// Allocates 1 MiB blocks until malloc fails; prints how many it got. The blocks are
// kept and read back so the compiler cannot elide the allocations.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char* blocks[256];

int main(void) {
  int n = 0;
  while (n < 256) {
    char* p = malloc(1 << 20);
    if (!p) break;
    memset(p, n + 1, 1 << 20);
    blocks[n++] = p;
  }
  int ok = 1;
  for (int i = 0; i < n; ++i) ok &= blocks[i][(1 << 20) - 1] == (char)(i + 1);
  printf("allocated %d MiB\n", n);
  return ok ? 0 : 1;
}
