/* A hostile guest for the dapr host module: pointers and lengths outside its memory,
 * unknown and closed handles, too many open responses. Every call must return an error
 * code (-1 bad argument, -2 too many open) and the guest must run to its end. Prints one
 * "name=result" line per call for tests/dapr/test_embedded.py. */
#include <stdint.h>
#include <stdio.h>

#include "dapr.h"

#define SHOW(name, expr) printf("%s=%d\n", name, (int)(expr))

int main(void) {
  char buf[8];
  const char* far = (const char*)0xFFFFFF00u; /* past any memory this guest has */
  SHOW("state_get_far_key", dapr_raw_state_get(DAPR_S("statestore"), far, 1000));
  SHOW("state_get_len_wraps", dapr_raw_state_get(DAPR_S("statestore"), (const char*)16, -1));
  SHOW("publish_far_data",
       dapr_raw_publish(DAPR_S("pubsub"), DAPR_S("t"), far, 300, DAPR_S("text/plain")));
  SHOW("invoke_far_app", dapr_raw_invoke(far, 8, DAPR_S("m"), DAPR_S("GET"), "", 0, "", 0, "", 0));
  SHOW("status_unknown_handle", dapr_raw_response_status(12345));
  SHOW("status_negative_handle", dapr_raw_response_status(-7));
  SHOW("close_unknown_handle", dapr_raw_response_close(999));

  dapr_response saved = dapr_state_save("statestore", "k", "1", "", 0);
  SHOW("saved", saved.status);
  dapr_response_free(&saved);
  int32_t h = dapr_raw_state_get(DAPR_S("statestore"), DAPR_S("k"));
  SHOW("valid_handle", h >= 0);
  SHOW("read_far_buffer", dapr_raw_response_read(h, (void*)0xFFFFFFF0u, 64));
  SHOW("header_far_name", dapr_raw_response_header(h, far, 200, 0, 0));
  SHOW("header_far_buffer", dapr_raw_response_header(h, DAPR_S("etag"), (char*)0xFFFFFFF0u, 64));
  SHOW("header_absent", dapr_raw_response_header(h, DAPR_S("x-absent"), buf, sizeof buf));
  SHOW("close_once", dapr_raw_response_close(h));
  SHOW("close_twice", dapr_raw_response_close(h));
  SHOW("status_after_close", dapr_raw_response_status(h));
  SHOW("read_after_close", dapr_raw_response_read(h, buf, sizeof buf));

  int32_t last = 0, opened = 0;
  for (int i = 0; i < 100; i++) {
    last = dapr_raw_state_get(DAPR_S("statestore"), DAPR_S("k"));
    if (last < 0) break;
    opened++;
  }
  SHOW("opened_before_limit", opened);
  SHOW("over_the_limit", last);
  SHOW("close_one", dapr_raw_response_close(0));
  SHOW("open_again", dapr_raw_state_get(DAPR_S("statestore"), DAPR_S("k")) >= 0);
  puts("end");
  return 0;
}
