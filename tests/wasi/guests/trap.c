// Traps on purpose, a few frames deep, for the trap report and exit code.
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

__attribute__((noinline)) int divide(int a, int b) {
  return a / b;
}
__attribute__((noinline)) int compute(int x) {
  return divide(100, x) + 1;
}

int main(int argc, char** argv) {
  printf("before trap\n");
  fflush(stdout);
  if (argc > 1 && argv[1][0] == 'u') __builtin_trap();
  if (argc > 1 && argv[1][0] == 'l')
    for (;;) {
    }  // spins until --timeout
  if (argc > 1 && argv[1][0] == 's') sleep(30);  // sleeps until --timeout
  return compute(argc - 1);
}
