/* Calls WASI-NN the wrong way on purpose and prints "check=errno" lines for the test:
 * bad handles, indices, shapes, types and pointers, corrupt and hostile models. The
 * model file is read from /m/model.tflite (a preopened directory). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wasi_nn.h"

static unsigned char model[8 << 20];
static unsigned char copy[8 << 20];
static unsigned char pixels[224 * 224 * 3];
static unsigned char out[2048];

#define CHECK(name, call) printf("%s=%d\n", name, (int)(call))

static unsigned rng = 12345;
static unsigned next(void) {
  rng = rng * 1103515245u + 12345u;
  return rng >> 8;
}

int main(void) {
  FILE* f = fopen("/m/model.tflite", "rb");
  if (!f) {
    perror("model");
    return 1;
  }
  size_t n = fread(model, 1, sizeof model, f);
  fclose(f);
  uint32_t g = 0, c = 0, w = 0, bad = 0;
  wasi_nn_graph_builder b = {model, (uint32_t)n};
  CHECK("load_ok", wasi_nn_load(&b, 1, WASI_NN_ENCODING_TENSORFLOWLITE, WASI_NN_TARGET_CPU, &g));
  wasi_nn_graph_builder trunc = {model, (uint32_t)n / 3};
  CHECK("load_truncated",
        wasi_nn_load(&trunc, 1, WASI_NN_ENCODING_TENSORFLOWLITE, WASI_NN_TARGET_CPU, &bad));
  wasi_nn_graph_builder garbage = {(const uint8_t*)"not a model at all", 18};
  CHECK("load_garbage",
        wasi_nn_load(&garbage, 1, WASI_NN_ENCODING_TENSORFLOWLITE, WASI_NN_TARGET_CPU, &bad));
  CHECK("load_openvino", wasi_nn_load(&b, 1, 0, WASI_NN_TARGET_CPU, &bad));
  CHECK("load_gpu", wasi_nn_load(&b, 1, WASI_NN_ENCODING_TENSORFLOWLITE, 1, &bad));
  wasi_nn_graph_builder oob = {(const uint8_t*)0xfffff000u, 0x10000};
  CHECK("load_oob_builder",
        wasi_nn_load(&oob, 1, WASI_NN_ENCODING_TENSORFLOWLITE, WASI_NN_TARGET_CPU, &bad));
  CHECK("load_oob_array", wasi_nn_load((const wasi_nn_graph_builder*)0xfffffff0u, 1,
                                       WASI_NN_ENCODING_TENSORFLOWLITE, WASI_NN_TARGET_CPU, &bad));
  CHECK("load_zero_builders",
        wasi_nn_load(&b, 0, WASI_NN_ENCODING_TENSORFLOWLITE, WASI_NN_TARGET_CPU, &bad));
  CHECK("load_oob_result", wasi_nn_load(&b, 1, WASI_NN_ENCODING_TENSORFLOWLITE, WASI_NN_TARGET_CPU,
                                        (uint32_t*)0xfffffffeu));
  CHECK("load_by_name_unknown", wasi_nn_load_by_name("nope", 4, &bad));
  CHECK("load_by_name_oob", wasi_nn_load_by_name((const char*)0xfffffff0u, 100, &bad));
  CHECK("init_bad_graph", wasi_nn_init_execution_context(99, &c));
  CHECK("init_ok", wasi_nn_init_execution_context(g, &c));
  uint32_t dims[] = {1, 224, 224, 3};
  wasi_nn_tensor t = {dims, 4, WASI_NN_TYPE_U8, pixels, sizeof pixels};
  CHECK("set_input_bad_context", wasi_nn_set_input(77, 0, &t));
  CHECK("set_input_bad_index", wasi_nn_set_input(c, 5, &t));
  uint32_t wrong_dims[] = {1, 225, 224, 3};
  wasi_nn_tensor t_dims = {wrong_dims, 4, WASI_NN_TYPE_U8, pixels, sizeof pixels};
  CHECK("set_input_wrong_dims", wasi_nn_set_input(c, 0, &t_dims));
  wasi_nn_tensor t_type = {dims, 4, WASI_NN_TYPE_F32, pixels, sizeof pixels};
  CHECK("set_input_wrong_type", wasi_nn_set_input(c, 0, &t_type));
  wasi_nn_tensor t_bad_type = {dims, 4, 9, pixels, sizeof pixels};
  CHECK("set_input_unknown_type", wasi_nn_set_input(c, 0, &t_bad_type));
  wasi_nn_tensor t_short = {dims, 4, WASI_NN_TYPE_U8, pixels, 100};
  CHECK("set_input_short_data", wasi_nn_set_input(c, 0, &t_short));
  wasi_nn_tensor t_oob = {dims, 4, WASI_NN_TYPE_U8, (const void*)0xffff0000u, sizeof pixels};
  CHECK("set_input_oob_data", wasi_nn_set_input(c, 0, &t_oob));
  wasi_nn_tensor t_rank = {dims, 100, WASI_NN_TYPE_U8, pixels, sizeof pixels};
  CHECK("set_input_huge_rank", wasi_nn_set_input(c, 0, &t_rank));
  CHECK("set_input_oob_tensor", wasi_nn_set_input(c, 0, (const wasi_nn_tensor*)0xfffffff8u));
  CHECK("get_output_before_compute", wasi_nn_get_output(c, 0, out, sizeof out, &w));
  CHECK("set_input_ok", wasi_nn_set_input(c, 0, &t));
  CHECK("compute_bad_context", wasi_nn_compute(1234));
  CHECK("compute_ok", wasi_nn_compute(c));
  CHECK("get_output_small_buffer", wasi_nn_get_output(c, 0, out, 10, &w));
  CHECK("get_output_bad_index", wasi_nn_get_output(c, 3, out, sizeof out, &w));
  CHECK("get_output_oob_buffer", wasi_nn_get_output(c, 0, (void*)0xfffffc00u, sizeof out, &w));
  CHECK("get_output_ok", wasi_nn_get_output(c, 0, out, sizeof out, &w));
  printf("output_bytes=%u\n", w);
  CHECK("finalize_ok", wasi_nn_finalize_execution_context(c));
  CHECK("compute_after_finalize", wasi_nn_compute(c));
  CHECK("unload_ok", wasi_nn_unload(g));
  CHECK("init_after_unload", wasi_nn_init_execution_context(g, &c));
  /* Hostile models: random corruption of a valid one must give 0 or an errno, never a
   * crash. */
  int loaded = 0, rejected = 0, other = 0;
  for (int i = 0; i < 24; ++i) {
    memcpy(copy, model, n);
    size_t len = n;
    if (i % 3 == 0) len = next() % n;
    int flips = i % 3 == 1 ? 16 : 64;
    for (int k = 0; k < flips; ++k)
      copy[next() % (i % 3 == 1 ? 4096 : len ? len : 1)] ^= (unsigned char)(1 + next() % 255);
    wasi_nn_graph_builder hb = {copy, (uint32_t)len};
    uint32_t hg;
    int e = wasi_nn_load(&hb, 1, WASI_NN_ENCODING_TENSORFLOWLITE, WASI_NN_TARGET_CPU, &hg);
    if (e == 0) {
      loaded++;
      wasi_nn_unload(hg);
    } else if (e == WASI_NN_INVALID_ENCODING || e == WASI_NN_UNSUPPORTED_OPERATION ||
               e == WASI_NN_TOO_LARGE)
      rejected++;
    else
      other++;
  }
  printf("hostile_loaded=%d\nhostile_rejected=%d\nhostile_other=%d\n", loaded, rejected, other);
  return 0;
}
