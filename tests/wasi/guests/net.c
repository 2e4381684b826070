// Network probe for the WasmEdge socket extension (tests/wasi/test_sockets.py): each
// argument is one operation, run in order; each prints "NAME errno" (0 is success) and,
// for some, what it saw. Operations:
//   bind A.B.C.D PORT | bind6 PORT | connect A.B.C.D PORT | lookup NAME |
//   sockets N (opens up to N sockets, prints how many it got) |
//   malformed (bad lengths, pointers and enums in every function) |
//   echo A.B.C.D PORT (connects, sends "ping", prints what comes back) |
//   udp PORT (bound UDP socket on 127.0.0.1:PORT sends to itself and receives) |
//   accept PORT (listens on 127.0.0.1:PORT and blocks in accept: for stopping tests) |
//   read A.B.C.D PORT (connects, then blocks in read(), WASI's fd_read, on the socket)
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define IMPORT(name) __attribute__((import_module("wasi_snapshot_preview1"), import_name(name)))

typedef struct {
  uint32_t buf, len;
} address;
typedef struct {
  uint8_t* buf;
  uint32_t len;
} iovec;

IMPORT("sock_open") int32_t sock_open(int32_t family, int32_t type, uint32_t* fd);
IMPORT("sock_bind") int32_t sock_bind(int32_t fd, address* a, int32_t port);
IMPORT("sock_connect") int32_t sock_connect(int32_t fd, address* a, int32_t port);
IMPORT("sock_listen") int32_t sock_listen(int32_t fd, int32_t backlog);
IMPORT("sock_accept") int32_t sock_accept(int32_t fd, uint32_t* out);
IMPORT("sock_send")
int32_t sock_send(int32_t fd, iovec* iov, int32_t n, int32_t flags, uint32_t* sent);
IMPORT("sock_recv")
int32_t sock_recv(int32_t fd, iovec* iov, int32_t n, int32_t flags, uint32_t* got,
                  uint32_t* oflags);
IMPORT("sock_send_to")
int32_t sock_send_to(int32_t fd, iovec* iov, int32_t n, address* a, int32_t port, int32_t flags,
                     uint32_t* sent);
IMPORT("sock_recv_from")
int32_t sock_recv_from(int32_t fd, iovec* iov, int32_t n, address* a, int32_t flags, uint32_t* port,
                       uint32_t* got, uint32_t* oflags);
IMPORT("sock_getlocaladdr")
int32_t sock_getlocaladdr(int32_t fd, address* a, uint32_t* type, uint32_t* port);
IMPORT("sock_getsockopt")
int32_t sock_getsockopt(int32_t fd, int32_t level, int32_t name, int32_t* value, uint32_t* size);
IMPORT("sock_setsockopt")
int32_t sock_setsockopt(int32_t fd, int32_t level, int32_t name, int32_t* value, uint32_t size);
IMPORT("sock_getaddrinfo")
int32_t sock_getaddrinfo(const char* node, uint32_t node_len, const char* service,
                         uint32_t service_len, void* hints, uint32_t* res, uint32_t max,
                         uint32_t* count);
IMPORT("fd_close") int32_t fd_close(int32_t fd);

// The crate's layouts (wasmedge_wasi_socket 0.5.4).
typedef struct __attribute__((packed, aligned(4))) {
  uint16_t flags;
  uint8_t family, socktype, protocol;
  uint8_t pad[3];
  uint32_t addrlen;
  uint32_t addr;  // -> sockaddr below
  uint32_t canonname;
  uint32_t canonnamelen;
  uint32_t next;
} addrinfo;
typedef struct {
  uint8_t family;
  uint8_t pad[3];
  uint32_t data_len;
  uint32_t data;
} sockaddr;

static uint8_t ip[16];
static address addr_of(const char* dotted) {
  unsigned a, b, c, d;
  sscanf(dotted, "%u.%u.%u.%u", &a, &b, &c, &d);
  ip[0] = a, ip[1] = b, ip[2] = c, ip[3] = d;
  return (address){(uint32_t)(uintptr_t)ip, 4};
}

static int tcp(void) {
  uint32_t fd = 0;
  int e = sock_open(1, 2, &fd);
  return e ? -e : (int)fd;
}

int main(int argc, char** argv) {
  // As a WAGI function under edgecar serve: the operations come from the query string,
  // separated by '+' (CGI's ISINDEX form), e.g. /net?connect+127.0.0.1+8080.
  static char* ops[32];
  static char query[1024];
  const char* q = getenv("QUERY_STRING");
  if (getenv("GATEWAY_INTERFACE") && q) {
    printf("Content-Type: text/plain\n\n");
    strncpy(query, q, sizeof query - 1);
    argc = 1;
    ops[0] = argv[0];
    for (char* t = strtok(query, "+"); t && argc < 32; t = strtok(NULL, "+")) ops[argc++] = t;
    argv = ops;
  }
  for (int i = 1; i < argc; ++i) {
    const char* op = argv[i];
    if (!strcmp(op, "bind") && i + 2 < argc) {
      int fd = tcp();
      if (fd < 0) {
        printf("bind %d\n", -fd);
        i += 2;
        continue;
      }
      address a = addr_of(argv[i + 1]);
      int e = sock_bind(fd, &a, atoi(argv[i + 2]));
      if (!e) e = sock_listen(fd, 16);
      printf("bind %d\n", e);
      i += 2;
    } else if (!strcmp(op, "bind6") && i + 1 < argc) {
      uint32_t fd = 0;
      int e = sock_open(2, 2, &fd);
      if (!e) {
        memset(ip, 0, 16);  // [::]
        address a = {(uint32_t)(uintptr_t)ip, 16};
        e = sock_bind(fd, &a, atoi(argv[i + 1]));
      }
      printf("bind6 %d\n", e);
      i += 1;
    } else if (!strcmp(op, "connect") && i + 2 < argc) {
      int fd = tcp();
      int e = fd < 0 ? -fd : 0;
      if (!e) {
        address a = addr_of(argv[i + 1]);
        e = sock_connect(fd, &a, atoi(argv[i + 2]));
      }
      printf("connect %d\n", e);
      i += 2;
    } else if (!strcmp(op, "lookup") && i + 1 < argc) {
      static addrinfo ai[4];
      static sockaddr sa[4];
      static uint8_t data[4][26];
      for (int k = 0; k < 4; ++k) {
        sa[k].data = (uint32_t)(uintptr_t)data[k];
        sa[k].data_len = 26;
        ai[k].addr = (uint32_t)(uintptr_t)&sa[k];
        ai[k].next = k < 3 ? (uint32_t)(uintptr_t)&ai[k + 1] : 0;
      }
      addrinfo hints = {0};
      hints.family = 1;
      hints.socktype = 2;
      uint32_t res = (uint32_t)(uintptr_t)ai, count = 0;
      const char* name = argv[i + 1];
      int e = sock_getaddrinfo(name, strlen(name) + 1, "80", 3, &hints, &res, 4, &count);
      printf("lookup %d", e);
      if (!e && count)
        printf(" %u.%u.%u.%u:%u", data[0][2], data[0][3], data[0][4], data[0][5],
               (data[0][0] << 8) | data[0][1]);
      printf("\n");
      i += 1;
    } else if (!strcmp(op, "sockets") && i + 1 < argc) {
      int want = atoi(argv[i + 1]), got = 0, e = 0;
      while (got < want) {
        uint32_t fd;
        if ((e = sock_open(1, 2, &fd))) break;
        ++got;
      }
      printf("sockets %d got=%d\n", e, got);
      i += 1;
    } else if (!strcmp(op, "echo") && i + 2 < argc) {
      int fd = tcp();
      address a = addr_of(argv[i + 1]);
      int e = fd < 0 ? -fd : sock_connect(fd, &a, atoi(argv[i + 2]));
      char buf[64] = "ping";
      uint32_t n = 0, fl = 0;
      iovec v = {(uint8_t*)buf, 4};
      if (!e) e = sock_send(fd, &v, 1, 0, &n);
      v.len = sizeof buf - 1;
      if (!e) e = sock_recv(fd, &v, 1, 0, &n, &fl);
      buf[e ? 0 : n] = 0;
      uint32_t type = 0, port = 0;
      uint8_t local[16];
      address la = {(uint32_t)(uintptr_t)local, 16};
      int e2 = e ? e : sock_getlocaladdr(fd, &la, &type, &port);
      printf("echo %d %s local=%u.%u.%u.%u type=%u\n", e ? e : e2, buf, local[0], local[1],
             local[2], local[3], type);
      i += 2;
    } else if (!strcmp(op, "sendsleep") && i + 3 < argc) {
      // Two sends (held together by the host), then a sleep: what was sent must leave
      // when the guest starts waiting, not when the sleep or the run ends.
      int fd = tcp();
      address a = addr_of(argv[i + 1]);
      int e = fd < 0 ? -fd : sock_connect(fd, &a, atoi(argv[i + 2]));
      uint32_t n = 0;
      iovec head = {(uint8_t*)"he", 2}, body = {(uint8_t*)"llo", 3};
      if (!e) e = sock_send(fd, &head, 1, 0, &n);
      if (!e) e = sock_send(fd, &body, 1, 0, &n);
      printf("sent %d\n", e);
      fflush(stdout);
      usleep((useconds_t)atoi(argv[i + 3]) * 1000);
      i += 3;
    } else if (!strcmp(op, "udp") && i + 1 < argc) {
      uint32_t fd = 0, n = 0, fl = 0, port = 0;
      int e = sock_open(1, 1, &fd);
      address a = addr_of("127.0.0.1");
      int p = atoi(argv[i + 1]);
      if (!e) e = sock_bind(fd, &a, p);
      char msg[] = "datagram", buf[32] = {0};
      iovec v = {(uint8_t*)msg, 8};
      if (!e) e = sock_send_to(fd, &v, 1, &a, p, 0, &n);
      uint8_t from[128] = {0};
      address fa = {(uint32_t)(uintptr_t)from, 128};
      iovec r = {(uint8_t*)buf, sizeof buf - 1};
      if (!e) e = sock_recv_from(fd, &r, 1, &fa, 0, &port, &n, &fl);
      printf("udp %d %s family=%u from=%u.%u.%u.%u port-match=%d\n", e, e ? "" : buf,
             from[0] | (from[1] << 8), from[2], from[3], from[4], from[5], (int)port == p);
      i += 1;
    } else if (!strcmp(op, "accept") && i + 1 < argc) {
      int fd = tcp();
      address a = addr_of("127.0.0.1");
      int e = fd < 0 ? -fd : sock_bind(fd, &a, atoi(argv[i + 1]));
      if (!e) e = sock_listen(fd, 16);
      printf("listening %d\n", e);
      fflush(stdout);
      uint32_t c = 0;
      if (!e) e = sock_accept(fd, &c);
      printf("accept %d\n", e);
      i += 1;
    } else if (!strcmp(op, "read") && i + 2 < argc) {
      int fd = tcp();
      address a = addr_of(argv[i + 1]);
      int e = fd < 0 ? -fd : sock_connect(fd, &a, atoi(argv[i + 2]));
      printf("connected %d\n", e);
      fflush(stdout);
      char buf[16];
      long n = e ? -1 : read(fd, buf, sizeof buf);
      printf("read %ld\n", n);
      i += 2;
    } else if (!strcmp(op, "malformed")) {
      // Every call gets something wrong; each must answer an errno, never trap.
      uint32_t fd = 0, n = 0;
      int e1 = sock_open(7, 2, &fd);                     // unknown family
      int e2 = sock_open(1, 9, &fd);                     // unknown type
      int e3 = sock_open(1, 2, (uint32_t*)0xFFFFFFF0u);  // out pointer outside memory
      int s = tcp();
      address bad = {(uint32_t)(uintptr_t)ip, 7};  // length neither 4, 16 nor 128
      int e4 = sock_bind(s, &bad, 80);
      address far = {0xFFFFFFF0u, 16};  // buffer outside memory
      int e5 = sock_connect(s, &far, 80);
      int e6 = sock_connect(s, (address*)0xFFFFFFFCu, 80);  // the pair itself outside
      address a = addr_of("127.0.0.1");
      int e7 = sock_connect(s, &a, 70000);  // port out of range
      iovec v = {(uint8_t*)0xFFFFFF00u, 4096};
      int e8 = sock_send(s, &v, 1, 0, &n);                  // data outside memory
      int e9 = sock_setsockopt(s, 0, 99, (int32_t*)ip, 4);  // unknown option
      uint32_t size = 1u << 30;
      int e10 = sock_getsockopt(s, 0, 1, (int32_t*)ip, &size);  // size past memory
      int e11 = sock_getaddrinfo((const char*)0xFFFFFFF0u, 64, "80", 3, ip, &n, 4, &n);
      int e12 = sock_accept(12345, &n);  // no such descriptor
      int e13 = sock_listen(1, 5);       // stdout is no socket
      printf("malformed %d %d %d %d %d %d %d %d %d %d %d %d %d\n", e1, e2, e3, e4, e5, e6, e7, e8,
             e9, e10, e11, e12, e13);
    } else {
      printf("unknown operation %s\n", op);
      return 2;
    }
    fflush(stdout);
  }
  return 0;
}
