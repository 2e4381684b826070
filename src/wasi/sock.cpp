// sock_* functions on socket descriptors the embedder handed to the guest. Anything
// that is not a socket gives ENOTSOCK.
#include <sys/socket.h>
#include <sys/stat.h>

#include "wasi/functions.hpp"

namespace edgecar::wasi::fn {

namespace {
// What a descriptor is comes before what it may do: a file or directory gives ENOTSOCK
// whatever its rights (as in wasmtime and WAMR, and POSIX).
Fd* socket_fd(Impl& ctx, uint32_t fd, uint64_t need, Errno& e) {
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
}  // namespace

Errno sock_accept(Impl& ctx, HostCall& c, const GuestMemory& mem) {
  Errno e;
  Fd* f = socket_fd(ctx, c.u32(0), rights::kSockAccept, e);
  if (!f) return e;
  if (!mem.valid(c.u32(2), 4)) return err::kFault;
  int flags = SOCK_CLOEXEC | ((c.u32(1) & fdflags::kNonblock) ? SOCK_NONBLOCK : 0);
  int h = accept4(f->host, nullptr, nullptr, flags);
  if (h < 0) return from_host_errno(errno);
  auto fd = std::make_unique<Fd>();
  fd->host = h;
  fd->type = Filetype::SocketStream;
  fd->rights_base = rights::kFdRead | rights::kFdWrite | rights::kPollFdReadwrite |
                    rights::kSockShutdown | rights::kFdFdstatSetFlags | rights::kFdFilestatGet;
  mem.store<uint32_t>(c.u32(2), ctx.insert(std::move(fd)));
  return err::kSuccess;
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
  int flags = ((riflags & 1) ? MSG_PEEK : 0) | ((riflags & 2) ? MSG_WAITALL : 0);
  ssize_t n = recvmsg(f->host, &msg, flags);
  if (n < 0) return from_host_errno(errno);
  mem.store<uint32_t>(c.u32(4), static_cast<uint32_t>(n));
  mem.store<uint16_t>(c.u32(5), (msg.msg_flags & MSG_TRUNC) ? 1 : 0);
  return err::kSuccess;
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
  ssize_t n = sendmsg(f->host, &msg, MSG_NOSIGNAL);
  if (n < 0) return from_host_errno(errno);
  mem.store<uint32_t>(c.u32(4), static_cast<uint32_t>(n));
  return err::kSuccess;
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

}  // namespace edgecar::wasi::fn
