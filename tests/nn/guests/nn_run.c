/* Runs the preloaded model "m" on one tensor read from stdin (u32 type, u32 rank, rank
 * u32 dimensions, then the data) and writes output 0's bytes to stdout. */
#include <stdio.h>
#include <stdlib.h>

#include "wasi_nn.h"

static unsigned char in[16 << 20];
static unsigned char out[16 << 20];

int main(void) {
  size_t n = fread(in, 1, sizeof in, stdin);
  uint32_t* head = (uint32_t*)in;
  if (n < 8 || head[1] > 8 || n < 8 + 4 * head[1]) return 2;
  uint32_t rank = head[1], g, c, written = 0;
  size_t at = 8 + 4 * rank;
  wasi_nn_tensor t = {head + 2, rank, (uint8_t)head[0], in + at, (uint32_t)(n - at)};
  int e;
  if ((e = wasi_nn_load_by_name("m", 1, &g)) || (e = wasi_nn_init_execution_context(g, &c)) ||
      (e = wasi_nn_set_input(c, 0, &t)) || (e = wasi_nn_compute(c)) ||
      (e = wasi_nn_get_output(c, 0, out, sizeof out, &written))) {
    fprintf(stderr, "wasi-nn error %d\n", e);
    return 1;
  }
  fwrite(out, 1, written, stdout);
  return 0;
}
