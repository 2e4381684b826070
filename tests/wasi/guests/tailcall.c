// Tail calls from C (clang's [[clang::musttail]], built with -mtail-call): a recursion a
// million calls deep that must run in constant stack. Prints the sum 1 + ... + n.
#include <stdio.h>
#include <stdlib.h>

static long long sum_to(long long n, long long acc) {
  if (n == 0) return acc;
  [[clang::musttail]] return sum_to(n - 1, acc + n);
}

int main(int argc, char** argv) {
  long long n = argc > 1 ? atoll(argv[1]) : 1000000;
  printf("%lld\n", sum_to(n, 0));
  return 0;
}
