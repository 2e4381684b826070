// Clocks, random bytes, and sleeping through poll_oneoff.
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

static int64_t ns(clockid_t c) {
  struct timespec ts;
  clock_gettime(c, &ts);
  return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int main(void) {
  int64_t wall = ns(CLOCK_REALTIME);
  printf("realtime after 2020: %d\n", wall > (int64_t)1577836800 * 1000000000);
  struct timespec res;
  printf("monotonic resolution ok: %d\n",
         clock_getres(CLOCK_MONOTONIC, &res) == 0 && res.tv_sec == 0 && res.tv_nsec > 0);
  int64_t t0 = ns(CLOCK_MONOTONIC);
  struct timespec req = {0, 50 * 1000 * 1000};
  nanosleep(&req, NULL);
  int64_t slept = ns(CLOCK_MONOTONIC) - t0;
  printf("slept at least 50ms: %d\n", slept >= 50 * 1000 * 1000);
  printf("slept less than 5s: %d\n", slept < (int64_t)5 * 1000 * 1000 * 1000);
  int64_t c0 = ns(CLOCK_PROCESS_CPUTIME_ID);
  volatile uint64_t x = 0;
  for (int i = 0; i < 10000000; ++i) x += (uint64_t)i;
  printf("process cpu time advances: %d\n", ns(CLOCK_PROCESS_CPUTIME_ID) > c0);
  unsigned char a[32], b[32];
  getentropy(a, sizeof a);
  getentropy(b, sizeof b);
  int zeros = 0;
  for (int i = 0; i < 32; ++i) zeros += a[i] == 0;
  printf("random differs: %d, not all zero: %d\n", memcmp(a, b, sizeof a) != 0, zeros < 32);
  return 0;
}
