// WAGI echo: the request body back, with its length in a header (binary safe). The
// buffer is sized from CONTENT_LENGTH, as CGI intends, so the body is read once and
// never copied inside the guest.
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

int main(void) {
  const char* cl = getenv("CONTENT_LENGTH");
  size_t cap = cl ? (size_t)strtoul(cl, NULL, 10) : 0, total = 0;
  char* body = malloc(cap + 1);
  while (total < cap) {
    ssize_t n = read(0, body + total, cap - total);
    if (n <= 0) break;
    total += (size_t)n;
  }
  printf("Content-Type: application/octet-stream\nX-Length: %zu\n\n", total);
  fflush(stdout);
  if (total) write(1, body, total);
  return 0;
}
