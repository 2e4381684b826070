// Reports what a request looks like from inside, and proves isolation: a global
// counter and a static buffer must start fresh on every request.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

extern char** environ;

static int counter;
static char scratch[64];

int main(void) {
  counter++;
  const char* prev = scratch[0] ? scratch : "(empty)";
  printf("Content-Type: text/plain\n\n");
  printf("counter=%d previous=%s\n", counter, prev);
  strcpy(scratch, "dirty");
  const char* vars[] = {"REQUEST_METHOD", "PATH_INFO",      "SCRIPT_NAME", "QUERY_STRING",
                        "CONTENT_TYPE",   "CONTENT_LENGTH", "HTTP_X_TEST", "APP_SETTING"};
  for (size_t i = 0; i < sizeof vars / sizeof vars[0]; ++i) {
    const char* v = getenv(vars[i]);
    printf("%s=%s\n", vars[i], v ? v : "(unset)");
  }
  // ?env: the whole environment, one "env:NAME=VALUE" line each.
  const char* q = getenv("QUERY_STRING");
  if (q && strcmp(q, "env") == 0)
    for (char** e = environ; *e; ++e) printf("env:%s\n", *e);
  return 0;
}
