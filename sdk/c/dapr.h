/* Dapr's building blocks for C and C++ guests of edgecar (manifest: host_modules: [dapr]).
 *
 *   dapr_response r = dapr_invoke("classify", "classify", "POST", img, img_len, "image/jpeg");
 *   if (r.status == 200) { ... r.body, r.body_len ... }
 *   else fprintf(stderr, "%s\n", r.body);   // daprd's {"errorCode","message"}
 *   dapr_response_free(&r);
 *
 * Each call is one request to Dapr's HTTP API, answered by the app's daprd or, when the
 * app runs without one, by edgecar's embedded Dapr (same results, same code). status is
 * the HTTP status of that answer (503 when the sidecar cannot be reached); negative
 * values are guest mistakes: -1 a buffer outside memory, -2 too many open responses,
 * -3 the function was not granted the dapr module. Bodies are NUL-terminated copies
 * owned by the response.
 *
 * Raw imports (module "dapr"), every string a (ptr, len) pair, each returning a
 * response handle: invoke(app, method, verb, body, content_type, header_lines),
 * state_get(store, key), state_save(store, key, value, etag, first_write),
 * state_delete(store, key, etag, first_write), state_bulk_get(store, keys_json),
 * state_transaction(store, operations_json), publish(pubsub, topic, data, content_type),
 * secret_get(store, key), binding_invoke(name, operation, data, metadata_json);
 * response_status(h), response_read(h, buf, cap) -> body length,
 * response_header(h, name, name_len, buf, cap) -> length or -4, response_close(h). */
#ifndef EDGECAR_DAPR_H
#define EDGECAR_DAPR_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#ifdef __cplusplus
extern "C" {
#endif

#define DAPR_IMPORT(name) __attribute__((import_module("dapr"), import_name(name)))
#define DAPR_S(s) (s), (int32_t)strlen(s)

DAPR_IMPORT("invoke")
int32_t dapr_raw_invoke(const char*, int32_t, const char*, int32_t, const char*, int32_t,
                        const void*, int32_t, const char*, int32_t, const char*, int32_t);
DAPR_IMPORT("state_get") int32_t dapr_raw_state_get(const char*, int32_t, const char*, int32_t);
DAPR_IMPORT("state_save")
int32_t dapr_raw_state_save(const char*, int32_t, const char*, int32_t, const void*, int32_t,
                            const char*, int32_t, int32_t);
DAPR_IMPORT("state_delete")
int32_t dapr_raw_state_delete(const char*, int32_t, const char*, int32_t, const char*, int32_t,
                              int32_t);
DAPR_IMPORT("state_bulk_get")
int32_t dapr_raw_state_bulk_get(const char*, int32_t, const char*, int32_t);
DAPR_IMPORT("state_transaction")
int32_t dapr_raw_state_transaction(const char*, int32_t, const char*, int32_t);
DAPR_IMPORT("publish")
int32_t dapr_raw_publish(const char*, int32_t, const char*, int32_t, const void*, int32_t,
                         const char*, int32_t);
DAPR_IMPORT("secret_get") int32_t dapr_raw_secret_get(const char*, int32_t, const char*, int32_t);
DAPR_IMPORT("binding_invoke")
int32_t dapr_raw_binding_invoke(const char*, int32_t, const char*, int32_t, const void*, int32_t,
                                const char*, int32_t);
DAPR_IMPORT("response_status") int32_t dapr_raw_response_status(int32_t);
DAPR_IMPORT("response_read") int32_t dapr_raw_response_read(int32_t, void*, int32_t);
DAPR_IMPORT("response_header")
int32_t dapr_raw_response_header(int32_t, const char*, int32_t, char*, int32_t);
DAPR_IMPORT("response_close") int32_t dapr_raw_response_close(int32_t);

typedef struct {
  int32_t status; /* HTTP status of Dapr's answer, or a negative guest error */
  char* body;     /* NUL-terminated; NULL when empty */
  int32_t body_len;
  char etag[64]; /* the ETag header of a state_get, "" if none */
  char content_type[128];
} dapr_response;

static inline dapr_response dapr_response_take(int32_t h) {
  dapr_response r;
  memset(&r, 0, sizeof r);
  if (h < 0) {
    r.status = h;
    return r;
  }
  r.status = dapr_raw_response_status(h);
  int32_t n = dapr_raw_response_read(h, NULL, 0);
  if (n > 0) {
    r.body = (char*)malloc((size_t)n + 1);
    if (r.body) {
      dapr_raw_response_read(h, r.body, n);
      r.body[n] = 0;
      r.body_len = n;
    }
  }
  int32_t e = dapr_raw_response_header(h, DAPR_S("ETag"), r.etag, (int32_t)sizeof r.etag - 1);
  if (e < 0 || e >= (int32_t)sizeof r.etag)
    r.etag[0] = 0;
  else
    r.etag[e] = 0;
  e = dapr_raw_response_header(h, DAPR_S("Content-Type"), r.content_type,
                               (int32_t)sizeof r.content_type - 1);
  if (e < 0 || e >= (int32_t)sizeof r.content_type)
    r.content_type[0] = 0;
  else
    r.content_type[e] = 0;
  dapr_raw_response_close(h);
  return r;
}

static inline void dapr_response_free(dapr_response* r) {
  free(r->body);
  r->body = NULL;
  r->body_len = 0;
}

/* Calls METHOD (a path, with an optional query) of app APP_ID with VERB; headers are
 * "Name: value" lines (or NULL). */
static inline dapr_response dapr_invoke_with_headers(const char* app_id, const char* method,
                                                     const char* verb, const void* body,
                                                     size_t body_len, const char* content_type,
                                                     const char* headers) {
  return dapr_response_take(
      dapr_raw_invoke(DAPR_S(app_id), DAPR_S(method), DAPR_S(verb), body, (int32_t)body_len,
                      DAPR_S(content_type ? content_type : ""), DAPR_S(headers ? headers : "")));
}
static inline dapr_response dapr_invoke(const char* app_id, const char* method, const char* verb,
                                        const void* body, size_t body_len,
                                        const char* content_type) {
  return dapr_invoke_with_headers(app_id, method, verb, body, body_len, content_type, NULL);
}
/* 200 with the value (and etag), or 204 when the key has none. */
static inline dapr_response dapr_state_get(const char* store, const char* key) {
  return dapr_response_take(dapr_raw_state_get(DAPR_S(store), DAPR_S(key)));
}
/* value: JSON text (anything else is stored as a JSON string). etag: "" for none;
 * first_write: 1 for first-write concurrency. 204 on success, 409 on an etag conflict. */
static inline dapr_response dapr_state_save(const char* store, const char* key, const char* value,
                                            const char* etag, int first_write) {
  return dapr_response_take(dapr_raw_state_save(DAPR_S(store), DAPR_S(key), DAPR_S(value),
                                                DAPR_S(etag ? etag : ""), first_write));
}
static inline dapr_response dapr_state_delete(const char* store, const char* key, const char* etag,
                                              int first_write) {
  return dapr_response_take(
      dapr_raw_state_delete(DAPR_S(store), DAPR_S(key), DAPR_S(etag ? etag : ""), first_write));
}
static inline dapr_response dapr_state_bulk_get(const char* store, const char* keys_json) {
  return dapr_response_take(dapr_raw_state_bulk_get(DAPR_S(store), DAPR_S(keys_json)));
}
static inline dapr_response dapr_state_transaction(const char* store, const char* operations_json) {
  return dapr_response_take(dapr_raw_state_transaction(DAPR_S(store), DAPR_S(operations_json)));
}
static inline dapr_response dapr_publish(const char* pubsub, const char* topic, const void* data,
                                         size_t len, const char* content_type) {
  return dapr_response_take(dapr_raw_publish(DAPR_S(pubsub), DAPR_S(topic), data, (int32_t)len,
                                             DAPR_S(content_type ? content_type : "")));
}
static inline dapr_response dapr_secret_get(const char* store, const char* key) {
  return dapr_response_take(dapr_raw_secret_get(DAPR_S(store), DAPR_S(key)));
}
static inline dapr_response dapr_binding_invoke(const char* name, const char* operation,
                                                const void* data, size_t len,
                                                const char* metadata_json) {
  return dapr_response_take(dapr_raw_binding_invoke(DAPR_S(name), DAPR_S(operation), data,
                                                    (int32_t)len,
                                                    DAPR_S(metadata_json ? metadata_json : "")));
}

#ifdef __cplusplus
}
#endif

#endif
