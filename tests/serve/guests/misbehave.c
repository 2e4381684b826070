// Fails on request (?trap, ?loop, ?exit, ?status, ?sleep, ?mem, ?bomb, ?errbomb) to
// exercise the limits;
// without a query, the environment variable MISBEHAVE says how (for pub/sub deliveries).
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int main(void) {
  const char* q = getenv("QUERY_STRING");
  if (!q || !*q) q = getenv("MISBEHAVE");
  if (!q) q = "";
  if (!strcmp(q, "trap")) __builtin_trap();
  if (!strcmp(q, "loop"))
    for (volatile int i = 0;; ++i) {
    }
  if (!strcmp(q, "exit")) exit(3);
  if (!strcmp(q, "bomb") || !strcmp(q, "errbomb")) {  // 1000 MiB to stdout or stderr
    static char chunk[1 << 20];
    memset(chunk, 'x', sizeof chunk);
    FILE* f = !strcmp(q, "bomb") ? stdout : stderr;
    if (f == stdout) printf("Content-Type: text/plain\n\n");
    for (int i = 0; i < 1000; ++i) fwrite(chunk, 1, sizeof chunk, f);
    if (f == stderr) exit(3);
    return 0;
  }
  if (!strcmp(q, "status")) {
    printf("Status: 404 Not Found\nContent-Type: text/plain\n\nmissing\n");
    return 0;
  }
  if (!strcmp(q, "sleep")) usleep(500 * 1000);
  if (!strcmp(q, "mem")) {
    static void* volatile keep[4096];  // kept, so the allocations cannot be elided
    int n = 0;
    while (n < 4096 && (keep[n] = malloc(1 << 20)) != NULL) n++;
    printf("Content-Type: text/plain\n\nallocated %d MiB\n", n);
    return 0;
  }
  printf("Content-Type: text/plain\n\nfine\n");
  return 0;
}
