// WAGI hello: CGI headers, then a greeting naming the method and query.
#include <stdio.h>
#include <stdlib.h>

int main(void) {
  const char* q = getenv("QUERY_STRING");
  printf("Content-Type: text/plain\n\nhello from edgecar, method=%s query=%s\n",
         getenv("REQUEST_METHOD"), q ? q : "");
  return 0;
}
