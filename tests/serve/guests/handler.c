// A handler-ABI function written with sdk/c/edgecar.h: greets, echoes, reports headers,
// and misbehaves on request (?badstatus, ?badptr, ?trap, ?headers, ?big).
#include <stdio.h>
#include <string.h>

#include "edgecar.h"

static int calls;  // must be 1 on every request: each runs in a fresh instance

int handle(const edgecar_request* req) {
  calls++;
  if (!strcmp(req->query, "badstatus")) return 42;
  if (!strcmp(req->query, "badptr")) {
    edgecar_response_write((const void*)0x7FFFFFF0, 100);
    return 200;
  }
  if (!strcmp(req->query, "trap")) __builtin_trap();
  if (!strcmp(req->query, "headers")) {  // a million headers
    for (int i = 0; i < 1000000; ++i) edgecar_set_header("X-Bomb", "1");
    return 200;
  }
  if (!strcmp(req->query, "big")) {  // 1000 MiB of body, 1 MiB at a time
    static char chunk[1 << 20];
    for (int i = 0; i < 1000; ++i) edgecar_write(chunk, sizeof chunk);
    return 200;
  }
  if (!strcmp(req->path, "/handler/echo")) {
    edgecar_set_header("Content-Type", "application/octet-stream");
    edgecar_write(req->body, req->body_len);
    return 200;
  }
  char agent[64];
  int32_t n = edgecar_header("x-test", agent, sizeof agent);
  char line[256];
  snprintf(line, sizeof line, "hello from a handler: %s %s calls=%d x-test=%s (%d)\n", req->method,
           req->path, calls, n < 0 ? "(none)" : agent, (int)n);
  edgecar_set_header("Content-Type", "text/plain");
  edgecar_set_header("X-Handler", "yes");
  edgecar_write_str(line);
  return strcmp(req->path, "/handler/missing") ? 200 : 404;
}
