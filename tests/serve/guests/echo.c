// WAGI echo: the request body back, with its length in a header (binary safe).
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

int main(void) {
  static char buf[1 << 20];
  size_t total = 0;
  char* body = NULL;
  for (;;) {
    ssize_t n = read(0, buf, sizeof buf);
    if (n <= 0) break;
    body = realloc(body, total + (size_t)n);
    for (ssize_t i = 0; i < n; ++i) body[total + (size_t)i] = buf[i];
    total += (size_t)n;
  }
  printf("Content-Type: application/octet-stream\nX-Length: %zu\n\n", total);
  fflush(stdout);
  if (total) write(1, body, total);
  return 0;
}
