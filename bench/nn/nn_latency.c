/* The guest side of bench/nn_bench.py: runs the preloaded model "m" ITERATIONS times on
 * one uint8 image (SIZE x SIZE x 3) and prints the median and 90th percentile time of
 * set_input + compute + get_output, in microseconds, measured inside the guest. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "wasi_nn.h"

static unsigned char pixels[512 * 512 * 3];
static unsigned char out[1 << 16];
static double times[10000];

static double now_us(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

static int cmp(const void* a, const void* b) {
  double x = *(const double*)a, y = *(const double*)b;
  return x < y ? -1 : x > y;
}

int main(void) {
  unsigned size = getenv("SIZE") ? (unsigned)atoi(getenv("SIZE")) : 224;
  int iterations = getenv("ITERATIONS") ? atoi(getenv("ITERATIONS")) : 50;
  if (iterations < 1 || iterations > 10000 || size > 512) return 2;
  for (size_t i = 0; i < size * size * 3; ++i) pixels[i] = (unsigned char)(i * 31 % 251);
  uint32_t g, c, w;
  uint32_t dims[] = {1, size, size, 3};
  wasi_nn_tensor t = {dims, 4, WASI_NN_TYPE_U8, pixels, size * size * 3};
  if (wasi_nn_load_by_name("m", 1, &g) || wasi_nn_init_execution_context(g, &c)) return 1;
  for (int i = -3; i < iterations; ++i) { /* three warm-up runs */
    double t0 = now_us();
    if (wasi_nn_set_input(c, 0, &t) || wasi_nn_compute(c) ||
        wasi_nn_get_output(c, 0, out, sizeof out, &w))
      return 1;
    if (i >= 0) times[i] = now_us() - t0;
  }
  qsort(times, (size_t)iterations, sizeof times[0], cmp);
  printf("%.1f %.1f\n", times[iterations / 2], times[iterations * 9 / 10]);
  return 0;
}
