/* WASI-NN for C and C++ guests: the wasi_ephemeral_nn functions (wasi-nn witx) as edgecar
 * provides them, with the official enum numbering (tensorflowlite = 4; tensor types
 * f16 = 0, f32 = 1, u8 = 2, i32 = 3).
 *
 *   uint32_t g, ctx;
 *   wasi_nn_load_by_name("mobilenet", 9, &g);       // preloaded by the host
 *   wasi_nn_init_execution_context(g, &ctx);
 *   uint32_t dims[] = {1, 224, 224, 3};
 *   wasi_nn_tensor t = {dims, 4, WASI_NN_TYPE_U8, pixels, sizeof pixels};
 *   wasi_nn_set_input(ctx, 0, &t);
 *   wasi_nn_compute(ctx);
 *   wasi_nn_get_output(ctx, 0, scores, sizeof scores, &written);
 *
 * Every function returns a wasi_nn errno (0 on success). finalize_execution_context and
 * unload are edgecar additions; instances release everything when they end anyway. */
#ifndef EDGECAR_WASI_NN_H
#define EDGECAR_WASI_NN_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

enum {
  WASI_NN_SUCCESS = 0,
  WASI_NN_INVALID_ARGUMENT = 1,
  WASI_NN_INVALID_ENCODING = 2,
  WASI_NN_MISSING_MEMORY = 3,
  WASI_NN_BUSY = 4,
  WASI_NN_RUNTIME_ERROR = 5,
  WASI_NN_UNSUPPORTED_OPERATION = 6,
  WASI_NN_TOO_LARGE = 7,
  WASI_NN_NOT_FOUND = 8,
};
enum { WASI_NN_ENCODING_TENSORFLOWLITE = 4 };
enum { WASI_NN_TARGET_CPU = 0 };
enum { WASI_NN_TYPE_F16 = 0, WASI_NN_TYPE_F32 = 1, WASI_NN_TYPE_U8 = 2, WASI_NN_TYPE_I32 = 3 };

typedef struct {
  const uint8_t* data;
  uint32_t size;
} wasi_nn_graph_builder;

/* The witx record layout on wasm32: dims {ptr, len}, type (u8), data {ptr, len}. */
typedef struct {
  const uint32_t* dims;
  uint32_t rank;
  uint8_t type;
  const void* data;
  uint32_t data_size;
} wasi_nn_tensor;

#define WASI_NN_IMPORT(name) __attribute__((import_module("wasi_ephemeral_nn"), import_name(name)))

WASI_NN_IMPORT("load")
int32_t wasi_nn_load(const wasi_nn_graph_builder* builders, uint32_t count, uint32_t encoding,
                     uint32_t target, uint32_t* graph);
WASI_NN_IMPORT("load_by_name")
int32_t wasi_nn_load_by_name(const char* name, uint32_t name_len, uint32_t* graph);
WASI_NN_IMPORT("init_execution_context")
int32_t wasi_nn_init_execution_context(uint32_t graph, uint32_t* context);
WASI_NN_IMPORT("set_input")
int32_t wasi_nn_set_input(uint32_t context, uint32_t index, const wasi_nn_tensor* tensor);
WASI_NN_IMPORT("compute") int32_t wasi_nn_compute(uint32_t context);
WASI_NN_IMPORT("get_output")
int32_t wasi_nn_get_output(uint32_t context, uint32_t index, void* out, uint32_t out_size,
                           uint32_t* written);
WASI_NN_IMPORT("finalize_execution_context")
int32_t wasi_nn_finalize_execution_context(uint32_t context);
WASI_NN_IMPORT("unload") int32_t wasi_nn_unload(uint32_t graph);

#ifdef __cplusplus
}
#endif

#endif
