/* edgecar guest SDK for C and C++: write an HTTP handler for `edgecar serve`
 * (manifest `abi: handler`) in a few lines.
 *
 *   #include "edgecar.h"
 *   int handle(const edgecar_request* req) {
 *     edgecar_set_header("Content-Type", "text/plain");
 *     edgecar_write_str("hello\n");
 *     return 200;
 *   }
 *
 * Build: clang-19 --target=wasm32-wasi -mexec-model=reactor -O2 -I sdk/c f.c -o f.wasm
 *
 * The ABI (what this header implements for you):
 *   exports  edgecar_alloc(size) -> ptr       memory for the request body
 *            edgecar_handle(ptr, len) -> i32  runs the handler; returns the HTTP status
 *   imports  module "edgecar_http":
 *            request_method/path/query(buf, cap) -> len        copy at most cap bytes
 *            request_header(name, name_len, buf, cap) -> len   -1 if absent
 *            response_set_header(name, name_len, value, value_len)
 *            response_write(ptr, len)                          append to the body
 * Define EDGECAR_NO_EXPORTS in all but one file of a multi-file handler. */
#ifndef EDGECAR_H
#define EDGECAR_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#ifdef __cplusplus
extern "C" {
#endif

#define EDGECAR_IMPORT(name) __attribute__((import_module("edgecar_http"), import_name(name)))

EDGECAR_IMPORT("request_method") int32_t edgecar_request_method(char* buf, int32_t cap);
EDGECAR_IMPORT("request_path") int32_t edgecar_request_path(char* buf, int32_t cap);
EDGECAR_IMPORT("request_query") int32_t edgecar_request_query(char* buf, int32_t cap);
EDGECAR_IMPORT("request_header")
int32_t edgecar_request_header(const char* name, int32_t name_len, char* buf, int32_t cap);
EDGECAR_IMPORT("response_set_header")
void edgecar_response_set_header(const char* name, int32_t name_len, const char* value,
                                 int32_t value_len);
EDGECAR_IMPORT("response_write") void edgecar_response_write(const void* data, int32_t len);

typedef struct edgecar_request {
  const uint8_t* body;
  size_t body_len;
  char method[16];
  char path[1024];
  char query[2048];
} edgecar_request;

/* The handler you write: returns the HTTP status (200, 404, ...). */
int handle(const edgecar_request* req);

static inline void edgecar_set_header(const char* name, const char* value) {
  edgecar_response_set_header(name, (int32_t)strlen(name), value, (int32_t)strlen(value));
}
static inline void edgecar_write(const void* data, size_t len) {
  edgecar_response_write(data, (int32_t)len);
}
static inline void edgecar_write_str(const char* s) {
  edgecar_response_write(s, (int32_t)strlen(s));
}
/* Copies a request header's value (NUL-terminated, truncated to cap); returns its full
 * length, or -1 when the request has no such header. */
static inline int32_t edgecar_header(const char* name, char* buf, size_t cap) {
  int32_t n = edgecar_request_header(name, (int32_t)strlen(name), buf, cap ? (int32_t)cap - 1 : 0);
  if (cap) buf[n < 0 ? 0 : ((size_t)n < cap - 1 ? (size_t)n : cap - 1)] = 0;
  return n;
}

#ifndef EDGECAR_NO_EXPORTS
static void edgecar_copy_field(int32_t (*get)(char*, int32_t), char* buf, size_t cap) {
  int32_t n = get(buf, (int32_t)cap - 1);
  buf[n < 0 ? 0 : ((size_t)n < cap - 1 ? (size_t)n : cap - 1)] = 0;
}

__attribute__((export_name("edgecar_alloc"))) void* edgecar_alloc(int32_t size) {
  return malloc(size > 0 ? (size_t)size : 1);
}

__attribute__((export_name("edgecar_handle"))) int32_t edgecar_handle(uint8_t* body, int32_t len) {
  static edgecar_request req;
  req.body = body;
  req.body_len = (size_t)len;
  edgecar_copy_field(edgecar_request_method, req.method, sizeof req.method);
  edgecar_copy_field(edgecar_request_path, req.path, sizeof req.path);
  edgecar_copy_field(edgecar_request_query, req.query, sizeof req.query);
  return handle(&req);
}
#endif

#ifdef __cplusplus
}
#endif
#endif /* EDGECAR_H */
