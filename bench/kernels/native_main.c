// Native driver: runs a kernel's run(n) once and prints the checksum (unsigned).
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
uint32_t run(uint32_t n);
int main(int argc, char** argv) {
  if (argc < 2) return 2;
  printf("%u\n", run((uint32_t)strtoul(argv[1], 0, 10)));
  return 0;
}
