/* A WAGI function that exercises the dapr host module and reports what happened, for
 * the tests with a real daprd (and embedded mode). Routes (PATH_INFO):
 *   /state     ETag and first-write concurrency on key "probe" of STATE_STORE
 *   /secret    the secret "demo-greeting" of store "localsecrets"
 *   /publish   publishes the body to pubsub "pubsub", topic from the query ("topic=...")
 *   /invoke    invokes app "app=" method "method=" from the query with the body
 *   /counter   increments key "counter" (ETag retry loop), answers the new value
 *   /flaky     a subscriber: RETRY on an event's first delivery, SUCCESS after; counts
 *   /drop      a subscriber that answers DROP
 *   /trace     the traceparent this request carried
 *   /get       the value of the key "key=" from the query (0 when absent)
 *   /bulk      saves a and b, bulk-gets a, b and a missing key
 *   /tx        a transaction: upsert x, delete a; then reads both
 *   /binding   invokes output binding "files" (create, fileName from "name=") with the body
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dapr.h"

static char body[1 << 20];

static const char* env(const char* n) {
  const char* v = getenv(n);
  return v ? v : "";
}

static const char* query(const char* name, char* out, size_t cap) {
  const char* q = env("QUERY_STRING");
  size_t n = strlen(name);
  out[0] = 0;
  while (*q) {
    if (strncmp(q, name, n) == 0 && q[n] == '=') {
      size_t i = 0;
      q += n + 1;
      while (*q && *q != '&' && i + 1 < cap) out[i++] = *q++;
      out[i] = 0;
      return out;
    }
    q = strchr(q, '&');
    if (!q) break;
    q++;
  }
  return out;
}

static int counter_add(const char* key) {
  const char* store = getenv("STATE_STORE") ? getenv("STATE_STORE") : "statestore";
  for (int i = 0; i < 20; i++) {
    dapr_response g = dapr_state_get(store, key);
    int v = g.status == 200 && g.body ? atoi(g.body) : 0;
    char etag[64];
    strcpy(etag, g.etag);
    dapr_response_free(&g);
    char val[32];
    snprintf(val, sizeof val, "%d", v + 1);
    dapr_response s = dapr_state_save(store, key, val, etag, 1);
    int st = s.status;
    dapr_response_free(&s);
    if (st == 204 || st == 200) return v + 1;
  }
  return -1;
}

int main(void) {
  const char* path = env("PATH_INFO");
  size_t n = fread(body, 1, sizeof body - 1, stdin);
  body[n] = 0;
  const char* store = getenv("STATE_STORE") ? getenv("STATE_STORE") : "statestore";
  printf("Content-Type: application/json\n\n");
  if (strcmp(path, "/state") == 0) {
    dapr_response r1 = dapr_state_save(store, "probe", "{\"n\":1}", "", 0);
    dapr_response g1 = dapr_state_get(store, "probe");
    dapr_response bad = dapr_state_save(store, "probe", "{\"n\":2}", "999999", 1);
    dapr_response good = dapr_state_save(store, "probe", "{\"n\":3}", g1.etag, 1);
    dapr_response stale = dapr_state_save(store, "probe", "{\"n\":4}", g1.etag, 1);
    dapr_response g2 = dapr_state_get(store, "probe");
    dapr_response fw = dapr_state_save(store, "probe", "{\"n\":5}", "", 1);
    dapr_response g3 = dapr_state_get(store, "probe");
    dapr_response del_stale = dapr_state_delete(store, "probe", g1.etag, 1);
    dapr_response del = dapr_state_delete(store, "probe", g3.etag, 1);
    dapr_response g4 = dapr_state_get(store, "probe");
    printf(
        "{\"save\":%d,\"get\":%d,\"value\":%s,\"etag_set\":%d,\"wrong_etag\":%d,\"right_etag\":%d,"
        "\"stale_etag\":%d,"
        "\"after\":%s,\"first_write_without_etag\":%d,\"after_first_write\":%s,\"delete_stale_"
        "etag\":%d,\"delete\":%d,\"get_deleted\":%d}\n",
        r1.status, g1.status, g1.body ? g1.body : "null", g1.etag[0] != 0, bad.status, good.status,
        stale.status, g2.body ? g2.body : "null", fw.status, g3.body ? g3.body : "null",
        del_stale.status, del.status, g4.status);
    return 0;
  }
  if (strcmp(path, "/secret") == 0) {
    dapr_response r = dapr_secret_get("localsecrets", "demo-greeting");
    printf("{\"status\":%d,\"body\":%s}\n", r.status, r.body ? r.body : "null");
    return 0;
  }
  if (strcmp(path, "/publish") == 0) {
    char topic[128];
    dapr_response r =
        dapr_publish("pubsub", query("topic", topic, sizeof topic), body, n, "application/json");
    printf("{\"status\":%d,\"body\":\"%s\"}\n", r.status, r.status < 300 ? "" : "error");
    return 0;
  }
  if (strcmp(path, "/invoke") == 0) {
    char app[128], method[256];
    query("app", app, sizeof app);
    query("method", method, sizeof method);
    dapr_response r = dapr_invoke(app, method, "POST", body, n, "text/plain");
    printf("{\"status\":%d,\"len\":%d}\n", r.status, r.body_len);
    if (r.body_len > 0) {
      fputs("\n", stdout);
      fwrite(r.body, 1, (size_t)r.body_len, stdout);
    }
    return 0;
  }
  if (strcmp(path, "/counter") == 0) {
    printf("{\"counter\":%d}\n", counter_add("counter"));
    return 0;
  }
  if (strcmp(path, "/flaky") == 0) {
    /* Attempts are counted per event id: the first asks for a retry. */
    const char* id = strstr(body, "\"id\":\"");
    char key[160] = "flaky-";
    if (id) {
      id += 6;
      size_t i = strlen(key);
      while (*id && *id != '"' && i + 1 < sizeof key) key[i++] = *id++;
      key[i] = 0;
    }
    int attempt = counter_add(key);
    counter_add("flaky-deliveries");
    if (attempt == 1) {
      printf("{\"status\":\"RETRY\"}\n");
      return 0;
    }
    counter_add("flaky-accepted");
    printf("{\"status\":\"SUCCESS\"}\n");
    return 0;
  }
  if (strcmp(path, "/drop") == 0) {
    counter_add("dropped");
    printf("{\"status\":\"DROP\"}\n");
    return 0;
  }
  if (strcmp(path, "/seen") == 0) {
    /* A pub/sub delivery is a CloudEvent: record that it came as one. */
    const char* ct = getenv("CONTENT_TYPE");
    int is_ce = ct && strncmp(ct, "application/cloudevents+json", 28) == 0;
    dapr_response s = dapr_state_save(store, "seen-cloudevent", is_ce ? "1" : "0", "", 0);
    dapr_response_free(&s);
    printf("{\"seen\":%d}\n", counter_add("seen"));
    return 0;
  }
  if (strcmp(path, "/tick") == 0) {
    printf("{\"ticks\":%d}\n", counter_add("ticks"));
    return 0;
  }
  if (strcmp(path, "/get") == 0) {
    char key[160];
    dapr_response r = dapr_state_get(store, query("key", key, sizeof key));
    printf("%s\n", r.status == 200 && r.body ? r.body : "0");
    return 0;
  }
  if (strcmp(path, "/bulk") == 0) {
    dapr_response a = dapr_state_save(store, "a", "\"alpha\"", "", 0);
    dapr_response b = dapr_state_save(store, "b", "{\"beta\":2}", "", 0);
    dapr_response r = dapr_state_bulk_get(store, "[\"a\",\"b\",\"missing\"]");
    printf("{\"saves\":[%d,%d],\"status\":%d,\"items\":%s}\n", a.status, b.status, r.status,
           r.body ? r.body : "null");
    return 0;
  }
  if (strcmp(path, "/tx") == 0) {
    dapr_response t =
        dapr_state_transaction(store,
                               "{\"operations\":[{\"operation\":\"upsert\",\"request\":{\"key\":"
                               "\"x\",\"value\":{\"in\":\"tx\"}}},"
                               "{\"operation\":\"delete\",\"request\":{\"key\":\"a\"}}]}");
    dapr_response x = dapr_state_get(store, "x");
    dapr_response a = dapr_state_get(store, "a");
    printf("{\"status\":%d,\"x\":%s,\"a_status\":%d}\n", t.status, x.body ? x.body : "null",
           a.status);
    return 0;
  }
  if (strcmp(path, "/binding") == 0) {
    char name[128], meta[256];
    snprintf(meta, sizeof meta, "{\"fileName\":\"%s\"}", query("name", name, sizeof name));
    dapr_response r = dapr_binding_invoke("files", "create", body, n, meta);
    printf("{\"status\":%d}\n", r.status);
    return 0;
  }
  if (strcmp(path, "/trace") == 0) {
    printf("{\"traceparent\":\"%s\"}\n", env("HTTP_TRACEPARENT"));
    return 0;
  }
  printf("{\"error\":\"unknown route %s\"}\n", path);
  return 0;
}
