// Sockets: preview 1's sock_accept/recv/send/shutdown, and WasmEdge's socket extension
// (sock_open, bind, connect, listen, accept, recv_from, send_to, getlocaladdr,
// getpeeraddr, getsockopt, setsockopt, getaddrinfo and the _v2 forms), as the crate
// wasmedge_wasi_socket calls them. docs/sockets.md says where edgecar differs.
//
// Every bind, connect, send_to and name lookup is checked against the guest's grants
// (Config::network) before it reaches the network. A guest blocking in accept, recv,
// send or connect waits in ppoll() beside the store's interrupt descriptor, so a
// timeout or SIGINT stops it there as anywhere else.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include "wasi/functions.hpp"

namespace edgecar::wasi::fn {

bool guest_nonblocking(Fd& f) {
  if (f.nonblock < 0) {
    int fl = fcntl(f.host, F_GETFL);
    f.nonblock = fl >= 0 && (fl & O_NONBLOCK);
  }
  return f.nonblock;
}

Errno interrupted(Impl& ctx) {
  Error e{ErrorKind::Trap, std::string(to_string(TrapKind::Interrupted))};
  e.trap = TrapKind::Interrupted;
  ctx.pending_trap = std::move(e);
  return err::kIntr;
}

// Waits until `host` is ready for `events` or the store is interrupted (the guest is
// then stopped with a trap). Honours SO_RCVTIMEO/SO_SNDTIMEO: EAGAIN when they pass.
Errno wait_ready(Impl& ctx, HostCall& c, int host, short events) {
  if (events & POLLIN) flush_held_sends(ctx);
  timeval tv{};
  socklen_t len = sizeof tv;
  getsockopt(host, SOL_SOCKET, events == POLLIN ? SO_RCVTIMEO : SO_SNDTIMEO, &tv, &len);
  timespec ts{tv.tv_sec, tv.tv_usec * 1000};
  timespec* tp = (tv.tv_sec || tv.tv_usec) ? &ts : nullptr;
  pollfd p[2] = {{host, events, 0}, {c.store().interrupt_fd(), POLLIN, 0}};
  for (;;) {
    int r = ppoll(p, 2, tp, nullptr);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) return from_host_errno(errno);
    if (p[1].revents & POLLIN) return interrupted(ctx);
    if (r == 0) return err::kAgain;
    return err::kSuccess;
  }
}

namespace {

// WasmEdge's encodings.
constexpr uint8_t kFamilyInet4 = 1, kFamilyInet6 = 2;
constexpr uint8_t kTypeDgram = 1, kTypeStream = 2;
constexpr uint8_t kProtoIp = 0, kProtoTcp = 1, kProtoUdp = 2;
constexpr Errno kAiAgain = 78, kAiBadflag = 79, kAiFail = 80, kAiFamily = 81, kAiMemory = 82,
                kAiNodata = 83, kAiNoname = 84, kAiService = 85, kAiSocktype = 86, kAiSystem = 87;
constexpr uint16_t kAiCanonname = 1 << 1, kAiNumerichost = 1 << 2, kAiNumericserv = 1 << 3,
                   kAiPassive = 1 << 0;
constexpr uint32_t kMaxAddrinfo = 64;  // results written at most, whatever the guest asks

constexpr uint64_t kSocketRights = rights::kFdRead | rights::kFdWrite | rights::kPollFdReadwrite |
                                   rights::kSockShutdown | rights::kSockAccept |
                                   rights::kFdFdstatSetFlags | rights::kFdFilestatGet;

// What a descriptor is comes before what it may do: a file or directory gives ENOTSOCK
// whatever its rights (as in wasmtime and WAMR, and POSIX).
Fd* socket_fd(Impl& ctx, uint32_t fd, uint64_t need, Errno& e) {
  ++ctx.io_ops;
  Fd* f = ctx.get(fd);
  if (!f) {
    e = err::kBadf;
    return nullptr;
  }
  if (f->kind != FdKind::Host ||
      (f->type != Filetype::SocketStream && f->type != Filetype::SocketDgram)) {
    e = err::kNotsock;
    return nullptr;
  }
  return ctx.checked(fd, need, e);
}

uint32_t open_sockets(const Impl& ctx) {
  uint32_t n = 0;
  for (const auto& f : ctx.fds)
    if (f && f->kind == FdKind::Host &&
        (f->type == Filetype::SocketStream || f->type == Filetype::SocketDgram))
      ++n;
  return n;
}

uint32_t insert_socket(Impl& ctx, int host, Filetype type, bool nonblock) {
  // TCP without Nagle's delay, as Go sets every connection: WasmEdge's socket interface
  // has no TCP_NODELAY option, and guests (hyper on tokio_wasi) write a response's head
  // and body in separate sends, which Nagle holds against the client's delayed ACK
  // (40 ms per keep-alive request).
  if (type == Filetype::SocketStream) {
    int one = 1;
    setsockopt(host, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  }
  auto fd = std::make_unique<Fd>();
  fd->host = host;
  fd->type = type;
  fd->nonblock = nonblock;
  fd->rights_base = kSocketRights;
  return ctx.insert(std::move(fd));
}

// Runs a socket operation the way a blocking socket would, without blocking the thread
// where the store's interrupt cannot reach it: for a blocking socket, wait until it is
// ready (interruptibly), then run the operation without waiting, again until it is done.
template <class Op>
Errno blocking(Impl& ctx, HostCall& c, Fd& f, short events, Op op) {
  int host = f.host;
  bool nonblocking = guest_nonblocking(f);
  for (;;) {
    if (!nonblocking)
      if (Errno e = wait_ready(ctx, c, host, events)) return e;
    if (op()) return err::kSuccess;
    if (errno == EINTR) continue;
    if ((errno != EAGAIN && errno != EWOULDBLOCK) || nonblocking) return from_host_errno(errno);
  }
}

// The guest's address argument: a {buf, len} pair whose buffer holds 4 bytes (IPv4), 16
// (IPv6) or 128 (WasmEdge's address storage: a u16 family, then the address).
struct GuestAddress {
  uint32_t buf = 0, len = 0;
  uint8_t family = 0;
  uint32_t bytes = 0;  // where the address bytes start in guest memory
};

Errno read_address(const GuestMemory& mem, uint32_t ptr, GuestAddress& a) {
  if (!mem.load(ptr, a.buf) || !mem.load(ptr + 4, a.len)) return err::kFault;
  if (!mem.valid(a.buf, a.len)) return err::kFault;
  a.bytes = a.buf;
  if (a.len == 4) {
    a.family = kFamilyInet4;
  } else if (a.len == 16) {
    a.family = kFamilyInet6;
  } else if (a.len == 128) {
    uint16_t fam = 0;
    mem.load(a.buf, fam);
    if (fam != kFamilyInet4 && fam != kFamilyInet6) return err::kAfnosupport;
    a.family = static_cast<uint8_t>(fam);
    a.bytes = a.buf + 2;
  } else {
    return err::kInval;
  }
  return err::kSuccess;
}

sockaddr_storage to_host(const GuestMemory& mem, const GuestAddress& a, uint16_t port,
                         socklen_t& len) {
  sockaddr_storage ss{};
  if (a.family == kFamilyInet4) {
    auto& in = reinterpret_cast<sockaddr_in&>(ss);
    in.sin_family = AF_INET;
    in.sin_port = htons(port);
    std::memcpy(&in.sin_addr, mem.at(a.bytes), 4);
    len = sizeof(sockaddr_in);
  } else {
    auto& in6 = reinterpret_cast<sockaddr_in6&>(ss);
    in6.sin6_family = AF_INET6;
    in6.sin6_port = htons(port);
    std::memcpy(&in6.sin6_addr, mem.at(a.bytes), 16);
    len = sizeof(sockaddr_in6);
  }
  return ss;
}

// Writes a host address into the guest's address buffer (the family goes into the
// storage form's first two bytes); false when it does not fit.
bool write_address(const GuestMemory& mem, const GuestAddress& a, const sockaddr_storage& ss,
                   uint8_t& family, uint16_t& port) {
  HostAddress h = HostAddress::from(ss);
  if (!h.family) return false;
  family = h.family == 4 ? kFamilyInet4 : kFamilyInet6;
  port = h.port;
  uint32_t n = h.family == 4 ? 4 : 16;
  if (a.len == 128) {
    mem.store<uint16_t>(a.buf, family);
    mem.write(a.buf + 2, h.addr, n);
    return true;
  }
  if (a.len < n) return false;
  mem.write(a.buf, h.addr, n);
  return true;
}

int host_family(uint32_t f) {
  return f == kFamilyInet4 ? AF_INET : f == kFamilyInet6 ? AF_INET6 : -1;
}

Errno check(Impl& ctx, const std::vector<NetRule>& rules, const sockaddr_storage& ss,
            const char* what) {
  HostAddress h = HostAddress::from(ss);
  if (allowed(rules, h)) return err::kSuccess;
  ctx.denials.deny(ctx.config.network.log_name, std::string(what) + " " + h.to_string());
  return err::kAcces;
}

// Sends like a blocking or non-blocking socket (as the guest set it) and stores the
// count sent at sent_ptr (checked by the caller).
Errno send_message(Impl& ctx, HostCall& c, const GuestMemory& mem, Fd& f, msghdr& msg,
                   uint32_t sent_ptr, int flags = 0) {
  ssize_t n = -1;
  Errno e = blocking(ctx, c, f, POLLOUT, [&] {
    n = sendmsg(f.host, &msg, MSG_NOSIGNAL | MSG_DONTWAIT | flags);
    return n >= 0;
  });
  if (e) return e;
  mem.store<uint32_t>(sent_ptr, static_cast<uint32_t>(n));
  return err::kSuccess;
}

// The guest's address and port as a host address, if its grants allow `what` there.
Errno granted(Impl& ctx, const GuestMemory& mem, uint32_t addr_ptr, uint32_t port,
              const std::vector<NetRule>& rules, const char* what, sockaddr_storage& ss,
              socklen_t& len) {
  GuestAddress a;
  if (Errno e = read_address(mem, addr_ptr, a)) return e;
  if (port > 65535) return err::kInval;
  ss = to_host(mem, a, static_cast<uint16_t>(port), len);
  // Outgoing: a redirect named by the operator both grants and rewrites the address.
  if (&rules == &ctx.config.network.connect && redirect(ctx.config.network.redirect, ss))
    return err::kSuccess;
  return check(ctx, rules, ss, what);
}

Errno do_open(Impl& ctx, uint32_t family, uint32_t type, uint32_t out, const GuestMemory& mem) {
  ++ctx.io_ops;
  if (!mem.valid(out, 4)) return err::kFault;
  int af = host_family(family);
  if (af < 0) return err::kAfnosupport;
  int st = type == kTypeStream ? SOCK_STREAM : type == kTypeDgram ? SOCK_DGRAM : -1;
  if (st < 0) return err::kInval;
  if (!ctx.config.network.any()) {
    ctx.denials.deny(ctx.config.network.log_name, "opening a socket (no network granted)");
    return err::kAcces;
  }
  if (open_sockets(ctx) >= ctx.config.network.max_sockets) return err::kMfile;
  int h = socket(af, st | SOCK_CLOEXEC, 0);
  if (h < 0) return from_host_errno(errno);
  uint32_t fd = insert_socket(
      ctx, h, st == SOCK_STREAM ? Filetype::SocketStream : Filetype::SocketDgram, false);
  mem.store<uint32_t>(out, fd);
  return err::kSuccess;
}

}  // namespace

Errno sock_bind(Impl& ctx, HostCall& c, const GuestMemory& mem) {
  Errno e;
  Fd* f = socket_fd(ctx, c.u32(0), 0, e);
  if (!f) return e;
  sockaddr_storage ss;
  socklen_t len = 0;
  if ((e = granted(ctx, mem, c.u32(1), c.u32(2), ctx.config.network.listen, "listening on", ss,
                   len)))
    return e;
  return bind(f->host, reinterpret_cast<sockaddr*>(&ss), len) == 0 ? err::kSuccess
                                                                   : from_host_errno(errno);
}

Errno sock_connect(Impl& ctx, HostCall& c, const GuestMemory& mem) {
  Errno e;
  Fd* f = socket_fd(ctx, c.u32(0), 0, e);
  if (!f) return e;
  sockaddr_storage ss;
  socklen_t len = 0;
  if ((e = granted(ctx, mem, c.u32(1), c.u32(2), ctx.config.network.connect, "connecting to", ss,
                   len)))
    return e;
  bool nonblocking = guest_nonblocking(*f);
  int fl = nonblocking ? 0 : fcntl(f->host, F_GETFL);
  if (!nonblocking) fcntl(f->host, F_SETFL, fl | O_NONBLOCK);
  int r = connect(f->host, reinterpret_cast<sockaddr*>(&ss), len);
  int saved = errno;
  if (!nonblocking) fcntl(f->host, F_SETFL, fl);
  if (r == 0) return err::kSuccess;
  if (saved != EINPROGRESS || nonblocking) return from_host_errno(saved);
  // A blocking connect, started without blocking: wait for it (interruptibly) and
  // report how it ended.
  if ((e = wait_ready(ctx, c, f->host, POLLOUT))) return e;
  int so_error = 0;
  socklen_t sl = sizeof so_error;
  getsockopt(f->host, SOL_SOCKET, SO_ERROR, &so_error, &sl);
  return so_error ? from_host_errno(so_error) : err::kSuccess;
}

namespace {

Errno do_accept(Impl& ctx, HostCall& c, const GuestMemory& mem, uint32_t flags, uint32_t out) {
  Errno e;
  Fd* f = socket_fd(ctx, c.u32(0), rights::kSockAccept, e);
  if (!f) return e;
  if (!mem.valid(out, 4)) return err::kFault;
  if (flags & ~fdflags::kNonblock) return err::kInval;
  if (open_sockets(ctx) >= ctx.config.network.max_sockets) return err::kMfile;
  int h = -1;
  int nb = (flags & fdflags::kNonblock) ? SOCK_NONBLOCK : 0;
  e = blocking(ctx, c, *f, POLLIN, [&] {
    h = accept4(f->host, nullptr, nullptr, SOCK_CLOEXEC | nb);
    return h >= 0;
  });
  if (e) return e;
  mem.store<uint32_t>(out, insert_socket(ctx, h, Filetype::SocketStream, nb != 0));
  return err::kSuccess;
}

int recv_flags(uint32_t riflags) {
  return ((riflags & 1) ? MSG_PEEK : 0) | ((riflags & 2) ? MSG_WAITALL : 0);
}

// recv_from's two forms: with an out port (WasmEdge 0.10 and later, the crate) or
// without (the first extension).
Errno do_recv_from(Impl& ctx, HostCall& c, const GuestMemory& mem, bool with_port) {
  Errno e;
  Fd* f = socket_fd(ctx, c.u32(0), rights::kFdRead, e);
  if (!f) return e;
  std::vector<iovec> iov;
  if ((e = guest_iovecs(mem, c.u32(1), c.u32(2), iov))) return e;
  GuestAddress a;
  if ((e = read_address(mem, c.u32(3), a)) && e != err::kAfnosupport) return e;
  uint32_t riflags = c.u32(4);
  uint32_t port_ptr = with_port ? c.u32(5) : 0;
  uint32_t len_ptr = c.u32(with_port ? 6 : 5), flags_ptr = c.u32(with_port ? 7 : 6);
  if ((with_port && !mem.valid(port_ptr, 4)) || !mem.valid(len_ptr, 4) || !mem.valid(flags_ptr, 2))
    return err::kFault;
  sockaddr_storage ss{};
  msghdr msg = {};
  msg.msg_name = &ss;
  msg.msg_namelen = sizeof ss;
  msg.msg_iov = iov.data();
  msg.msg_iovlen = iov.size();
  ssize_t n = -1;
  e = blocking(ctx, c, *f, POLLIN, [&] {
    n = recvmsg(f->host, &msg, recv_flags(riflags) | MSG_DONTWAIT);
    return n >= 0;
  });
  if (e) return e;
  uint8_t family = 0;
  uint16_t port = 0;
  if (msg.msg_namelen > 0) write_address(mem, a, ss, family, port);
  if (with_port) mem.store<uint32_t>(port_ptr, port);
  mem.store<uint32_t>(len_ptr, static_cast<uint32_t>(n));
  mem.store<uint16_t>(flags_ptr, (msg.msg_flags & MSG_TRUNC) ? 1 : 0);
  return err::kSuccess;
}

}  // namespace

Errno sock_send_to(Impl& ctx, HostCall& c, const GuestMemory& mem) {
  Errno e;
  Fd* f = socket_fd(ctx, c.u32(0), rights::kFdWrite, e);
  if (!f) return e;
  std::vector<iovec> iov;
  if ((e = guest_iovecs(mem, c.u32(1), c.u32(2), iov))) return e;
  if (!mem.valid(c.u32(6), 4)) return err::kFault;
  sockaddr_storage ss;
  socklen_t len = 0;
  if ((e = granted(ctx, mem, c.u32(3), c.u32(4), ctx.config.network.connect, "sending to", ss,
                   len)))
    return e;
  msghdr msg = {};
  msg.msg_name = &ss;
  msg.msg_namelen = len;
  msg.msg_iov = iov.data();
  msg.msg_iovlen = iov.size();
  return send_message(ctx, c, mem, *f, msg, c.u32(6));
}

namespace {

// getlocaladdr/getpeeraddr: the first form writes the address bytes and an address
// type (4 or 6, as WasmEdge answers for compatibility), the second the storage form.
Errno do_addr(Impl& ctx, HostCall& c, const GuestMemory& mem, bool peer, bool v2) {
  Errno e;
  Fd* f = socket_fd(ctx, c.u32(0), 0, e);
  if (!f) return e;
  GuestAddress a;
  if (!mem.load(c.u32(1), a.buf) || !mem.load(c.u32(1) + 4, a.len)) return err::kFault;
  if (!mem.valid(a.buf, a.len)) return err::kFault;
  if (v2 ? a.len != 128 : (a.len != 4 && a.len != 16)) return err::kInval;
  uint32_t type_ptr = v2 ? 0 : c.u32(2), port_ptr = c.u32(v2 ? 2 : 3);
  if ((!v2 && !mem.valid(type_ptr, 4)) || !mem.valid(port_ptr, 4)) return err::kFault;
  sockaddr_storage ss{};
  socklen_t len = sizeof ss;
  int r = peer ? getpeername(f->host, reinterpret_cast<sockaddr*>(&ss), &len)
               : getsockname(f->host, reinterpret_cast<sockaddr*>(&ss), &len);
  if (r != 0) return from_host_errno(errno);
  uint8_t family = 0;
  uint16_t port = 0;
  if (!write_address(mem, a, ss, family, port)) return err::kInval;
  if (!v2) mem.store<uint32_t>(type_ptr, family == kFamilyInet4 ? 4 : 6);
  mem.store<uint32_t>(port_ptr, port);
  return err::kSuccess;
}

// WasmEdge's option names, all at level SOL_SOCKET (0).
int host_option(uint32_t level, uint32_t name) {
  if (level != 0) return -1;
  static constexpr int kNames[] = {SO_REUSEADDR, SO_TYPE,      SO_ERROR,    SO_DONTROUTE,
                                   SO_BROADCAST, SO_SNDBUF,    SO_RCVBUF,   SO_KEEPALIVE,
                                   SO_OOBINLINE, SO_LINGER,    SO_RCVLOWAT, SO_RCVTIMEO,
                                   SO_SNDTIMEO,  SO_ACCEPTCONN};
  return name < std::size(kNames) ? kNames[name] : -1;
}

}  // namespace

Errno sock_open(Impl& ctx, HostCall& c, const GuestMemory& mem) {
  return do_open(ctx, c.u32(0), c.u32(1), c.u32(2), mem);
}

Errno sock_listen(Impl& ctx, HostCall& c, const GuestMemory&) {
  Errno e;
  Fd* f = socket_fd(ctx, c.u32(0), 0, e);
  if (!f) return e;
  int backlog = static_cast<int>(std::min<uint32_t>(c.u32(1), SOMAXCONN));
  return listen(f->host, backlog) == 0 ? err::kSuccess : from_host_errno(errno);
}

// Preview 1's form: (fd, flags, out fd).
Errno sock_accept(Impl& ctx, HostCall& c, const GuestMemory& mem) {
  return do_accept(ctx, c, mem, c.u32(1), c.u32(2));
}
// WasmEdge's first form: (fd, out fd); the new socket is blocking.
Errno sock_accept_wasmedge(Impl& ctx, HostCall& c, const GuestMemory& mem) {
  return do_accept(ctx, c, mem, 0, c.u32(1));
}

Errno sock_recv(Impl& ctx, HostCall& c, const GuestMemory& mem) {
  Errno e;
  Fd* f = socket_fd(ctx, c.u32(0), rights::kFdRead, e);
  if (!f) return e;
  std::vector<iovec> iov;
  if ((e = guest_iovecs(mem, c.u32(1), c.u32(2), iov))) return e;
  if (!mem.valid(c.u32(4), 4) || !mem.valid(c.u32(5), 2)) return err::kFault;
  uint32_t riflags = c.u32(3);
  msghdr msg = {};
  msg.msg_iov = iov.data();
  msg.msg_iovlen = iov.size();
  ssize_t n = -1;
  e = blocking(ctx, c, *f, POLLIN, [&] {
    n = recvmsg(f->host, &msg, recv_flags(riflags) | MSG_DONTWAIT);
    return n >= 0;
  });
  if (e) return e;
  mem.store<uint32_t>(c.u32(4), static_cast<uint32_t>(n));
  mem.store<uint16_t>(c.u32(5), (msg.msg_flags & MSG_TRUNC) ? 1 : 0);
  return err::kSuccess;
}

Errno sock_recv_from(Impl& ctx, HostCall& c, const GuestMemory& mem) {
  return do_recv_from(ctx, c, mem, true);
}
Errno sock_recv_from_noport(Impl& ctx, HostCall& c, const GuestMemory& mem) {
  return do_recv_from(ctx, c, mem, false);
}

Errno sock_send(Impl& ctx, HostCall& c, const GuestMemory& mem) {
  Errno e;
  Fd* f = socket_fd(ctx, c.u32(0), rights::kFdWrite, e);
  if (!f) return e;
  std::vector<iovec> iov;
  if ((e = guest_iovecs(mem, c.u32(1), c.u32(2), iov))) return e;
  if (!mem.valid(c.u32(4), 4)) return err::kFault;
  msghdr msg = {};
  msg.msg_iov = iov.data();
  msg.msg_iovlen = iov.size();
  // TCP: held back (MSG_MORE) until the guest next waits, so the pieces of one answer
  // leave together, as a native server's writev sends them; tokio_wasi's vectored write
  // sends only the first buffer, and hyper writes a response as head and body.
  int more = 0;
  if (f->type == Filetype::SocketStream) {
    more = MSG_MORE;
    if (!f->holds_sends) {
      f->holds_sends = true;
      ctx.held_sends.push_back(c.u32(0));
    }
  }
  return send_message(ctx, c, mem, *f, msg, c.u32(4), more);
}

void flush_held_sends(Impl& ctx) {
  // Setting TCP_NODELAY (on already) pushes what MSG_MORE held.
  int one = 1;
  for (uint32_t fd : ctx.held_sends)
    if (Fd* f = ctx.get(fd); f && f->holds_sends) {
      setsockopt(f->host, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
      f->holds_sends = false;
    }
  ctx.held_sends.clear();
}

Errno sock_shutdown(Impl& ctx, HostCall& c, const GuestMemory&) {
  Errno e;
  Fd* f = socket_fd(ctx, c.u32(0), rights::kSockShutdown, e);
  if (!f) return e;
  uint32_t how = c.u32(1);
  int h = how == 1 ? SHUT_RD : how == 2 ? SHUT_WR : how == 3 ? SHUT_RDWR : -1;
  if (h < 0) return err::kInval;
  return shutdown(f->host, h) == 0 ? err::kSuccess : from_host_errno(errno);
}

Errno sock_getlocaladdr(Impl& ctx, HostCall& c, const GuestMemory& mem) {
  return do_addr(ctx, c, mem, false, false);
}
Errno sock_getpeeraddr(Impl& ctx, HostCall& c, const GuestMemory& mem) {
  return do_addr(ctx, c, mem, true, false);
}
Errno sock_getlocaladdr_v2(Impl& ctx, HostCall& c, const GuestMemory& mem) {
  return do_addr(ctx, c, mem, false, true);
}
Errno sock_getpeeraddr_v2(Impl& ctx, HostCall& c, const GuestMemory& mem) {
  return do_addr(ctx, c, mem, true, true);
}

Errno sock_getsockopt(Impl& ctx, HostCall& c, const GuestMemory& mem) {
  Errno e;
  Fd* f = socket_fd(ctx, c.u32(0), 0, e);
  if (!f) return e;
  int opt = host_option(c.u32(1), c.u32(2));
  if (opt < 0) return err::kInval;
  uint32_t val = c.u32(3), size_ptr = c.u32(4), size = 0;
  if (!mem.load(size_ptr, size)) return err::kFault;
  if (!mem.valid(val, size)) return err::kFault;
  uint8_t buf[64] = {};
  socklen_t len = std::min<uint32_t>(size, sizeof buf);
  if (getsockopt(f->host, SOL_SOCKET, opt, buf, &len) != 0) return from_host_errno(errno);
  // Values in the interface's terms: a socket type and an error are WASI's.
  if (opt == SO_TYPE && len >= 4) {
    int t = 0;
    std::memcpy(&t, buf, 4);
    t = t == SOCK_STREAM ? kTypeStream : t == SOCK_DGRAM ? kTypeDgram : 0;
    std::memcpy(buf, &t, 4);
  } else if (opt == SO_ERROR && len >= 4) {
    int v = 0;
    std::memcpy(&v, buf, 4);
    v = v ? from_host_errno(v) : 0;
    std::memcpy(buf, &v, 4);
  }
  mem.write(val, buf, len);
  mem.store<uint32_t>(size_ptr, len);
  return err::kSuccess;
}

Errno sock_setsockopt(Impl& ctx, HostCall& c, const GuestMemory& mem) {
  Errno e;
  Fd* f = socket_fd(ctx, c.u32(0), 0, e);
  if (!f) return e;
  int opt = host_option(c.u32(1), c.u32(2));
  if (opt < 0) return err::kInval;
  if (opt == SO_TYPE || opt == SO_ERROR || opt == SO_ACCEPTCONN) return err::kInval;
  uint32_t val = c.u32(3), size = c.u32(4);
  if (size > 64) return err::kInval;
  if (!mem.valid(val, size)) return err::kFault;
  if (setsockopt(f->host, SOL_SOCKET, opt, mem.at(val), size) != 0) return from_host_errno(errno);
  return err::kSuccess;
}

Errno sock_getaddrinfo(Impl& ctx, HostCall& c, const GuestMemory& mem) {
  uint32_t node_ptr = c.u32(0), node_len = c.u32(1), svc_ptr = c.u32(2), svc_len = c.u32(3);
  uint32_t hints_ptr = c.u32(4), res_ptr = c.u32(5), max = c.u32(6), count_ptr = c.u32(7);
  if (!mem.valid(node_ptr, node_len) || !mem.valid(svc_ptr, svc_len) || !mem.valid(hints_ptr, 28) ||
      !mem.valid(res_ptr, 4) || !mem.valid(count_ptr, 4))
    return err::kFault;
  auto text = [&](uint32_t p, uint32_t n) {
    std::string s(reinterpret_cast<const char*>(mem.at(p)), n);
    s.resize(std::strlen(s.c_str()));  // the crate sends NUL-terminated strings
    return s;
  };
  std::string node = text(node_ptr, node_len), service = text(svc_ptr, svc_len);
  if (node.empty() && service.empty()) return kAiNoname;
  if (max < 1) return kAiMemory;
  uint16_t hflags = 0;
  uint8_t hfamily = 0, htype = 0, hproto = 0;
  mem.load(hints_ptr, hflags);
  mem.load(hints_ptr + 2, hfamily);
  mem.load(hints_ptr + 3, htype);
  mem.load(hints_ptr + 4, hproto);
  if (hflags & ~0x7F) return kAiBadflag;
  if ((hflags & kAiCanonname) && node.empty()) return kAiBadflag;
  if (hfamily > kFamilyInet6) return kAiFamily;
  if (htype > kTypeStream) return kAiSocktype;
  if (hproto > kProtoUdp) return err::kNosys;

  // Numeric addresses reach no name service; every name must be granted.
  in6_addr probe;
  bool numeric = node.empty() || inet_pton(AF_INET, node.c_str(), &probe) == 1 ||
                 inet_pton(AF_INET6, node.c_str(), &probe) == 1;
  if (!numeric && !lookup_allowed(ctx.config.network.lookup, node)) {
    ctx.denials.deny(ctx.config.network.log_name, "looking up \"" + node + "\"");
    return err::kAcces;
  }
  addrinfo hints{};
  hints.ai_family = hfamily == kFamilyInet4 ? AF_INET : hfamily == kFamilyInet6 ? AF_INET6 : 0;
  hints.ai_socktype = htype == kTypeStream ? SOCK_STREAM : htype == kTypeDgram ? SOCK_DGRAM : 0;
  hints.ai_protocol = hproto == kProtoTcp ? IPPROTO_TCP : hproto == kProtoUdp ? IPPROTO_UDP : 0;
  hints.ai_flags = ((hflags & kAiPassive) ? AI_PASSIVE : 0) |
                   ((hflags & kAiNumerichost) ? AI_NUMERICHOST : 0) |
                   ((hflags & kAiNumericserv) ? AI_NUMERICSERV : 0);
  addrinfo* list = nullptr;
  int r = getaddrinfo(node.empty() ? nullptr : node.c_str(),
                      service.empty() ? nullptr : service.c_str(), &hints, &list);
  if (r != 0) {
    switch (r) {
      case EAI_AGAIN:
        return kAiAgain;
      case EAI_BADFLAGS:
        return kAiBadflag;
      case EAI_FAMILY:
        return kAiFamily;
      case EAI_MEMORY:
        return kAiMemory;
      case EAI_NODATA:
        return kAiNodata;
      case EAI_NONAME:
        return kAiNoname;
      case EAI_SERVICE:
        return kAiService;
      case EAI_SOCKTYPE:
        return kAiSocktype;
      case EAI_SYSTEM:
        return kAiSystem;
      default:
        return kAiFail;
    }
  }
  // The guest's result list: entries chained by ai_next from *res, each with its
  // sockaddr {u8 family, u32 data length, u32 data} and data buffer.
  uint32_t entry = 0, written = 0;
  mem.load(res_ptr, entry);
  Errno e = err::kSuccess;
  for (addrinfo* ai = list; ai && written < std::min(max, kMaxAddrinfo); ai = ai->ai_next) {
    if (ai->ai_family != AF_INET && ai->ai_family != AF_INET6) continue;
    uint32_t sa = 0, next = 0, data = 0, data_len = 0;
    if (!mem.valid(entry, 28) || !mem.load(entry + 12, sa) || !mem.load(entry + 24, next) ||
        !mem.valid(sa, 12) || !mem.load(sa + 4, data_len) || !mem.load(sa + 8, data) ||
        !mem.valid(data, data_len)) {
      e = err::kFault;
      break;
    }
    uint8_t bytes[26] = {};
    uint32_t n = 0;
    uint8_t family;
    if (ai->ai_family == AF_INET) {
      auto* in = reinterpret_cast<sockaddr_in*>(ai->ai_addr);
      family = kFamilyInet4;
      std::memcpy(bytes, &in->sin_port, 2);  // network byte order, as sa_data holds it
      std::memcpy(bytes + 2, &in->sin_addr, 4);
      n = 14;
    } else {
      auto* in6 = reinterpret_cast<sockaddr_in6*>(ai->ai_addr);
      family = kFamilyInet6;
      std::memcpy(bytes, &in6->sin6_port, 2);
      std::memcpy(bytes + 2, &in6->sin6_flowinfo, 4);
      std::memcpy(bytes + 6, &in6->sin6_addr, 16);
      std::memcpy(bytes + 22, &in6->sin6_scope_id, 4);
      n = 26;
    }
    uint16_t flags = hflags;
    uint8_t type = ai->ai_socktype == SOCK_STREAM  ? kTypeStream
                   : ai->ai_socktype == SOCK_DGRAM ? kTypeDgram
                                                   : 0;
    uint8_t proto = ai->ai_protocol == IPPROTO_TCP   ? kProtoTcp
                    : ai->ai_protocol == IPPROTO_UDP ? kProtoUdp
                                                     : kProtoIp;
    mem.store<uint16_t>(entry, flags);
    mem.store<uint8_t>(entry + 2, family);
    mem.store<uint8_t>(entry + 3, type);
    mem.store<uint8_t>(entry + 4, proto);
    mem.store<uint32_t>(entry + 8, static_cast<uint32_t>(ai->ai_addrlen));
    mem.store<uint8_t>(sa, family);
    mem.write(data, bytes, std::min(n, data_len));
    ++written;
    if (!next) break;
    entry = next;
  }
  freeaddrinfo(list);
  if (e) return e;
  mem.store<uint32_t>(count_ptr, written);
  return err::kSuccess;
}

}  // namespace edgecar::wasi::fn
