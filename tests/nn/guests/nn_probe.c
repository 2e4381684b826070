/* Runs a preloaded model (MODEL, default "m") on the image on stdin resized to SIZE
 * (default 224) and writes, for the oracle test: u32 input length, the input tensor,
 * u32 output length, the output tensor. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "edgecar_image.h"
#include "wasi_nn.h"

static unsigned char image[8 << 20];
static unsigned char pixels[4096 * 4096 * 3];
static unsigned char out[1 << 20];

static void put_u32(unsigned v) {
  fwrite(&v, 4, 1, stdout);
}

int main(void) {
  size_t n = fread(image, 1, sizeof image, stdin);
  const char* s = getenv("SIZE");
  unsigned size = s ? (unsigned)atoi(s) : 224;
  const char* model = getenv("MODEL") ? getenv("MODEL") : "m";
  unsigned len = size * size * 3;
  int e = edgecar_image_resize_rgb8(image, (unsigned)n, size, size, pixels, len);
  if (e) {
    fprintf(stderr, "resize: %d\n", e);
    return 1;
  }
  uint32_t g, c, written = 0;
  if ((e = wasi_nn_load_by_name(model, strlen(model), &g))) {
    fprintf(stderr, "load_by_name: %d\n", e);
    return 1;
  }
  if ((e = wasi_nn_init_execution_context(g, &c))) {
    fprintf(stderr, "init: %d\n", e);
    return 1;
  }
  uint32_t dims[] = {1, size, size, 3};
  wasi_nn_tensor t = {dims, 4, WASI_NN_TYPE_U8, pixels, len};
  if ((e = wasi_nn_set_input(c, 0, &t))) {
    fprintf(stderr, "set_input: %d\n", e);
    return 1;
  }
  if ((e = wasi_nn_compute(c))) {
    fprintf(stderr, "compute: %d\n", e);
    return 1;
  }
  if ((e = wasi_nn_get_output(c, 0, out, sizeof out, &written))) {
    fprintf(stderr, "get_output: %d\n", e);
    return 1;
  }
  put_u32(len);
  fwrite(pixels, 1, len, stdout);
  put_u32(written);
  fwrite(out, 1, written, stdout);
  return 0;
}
