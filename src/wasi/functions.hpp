// Declarations of the WASI host functions, implemented by family in wasi/*.cpp. Each
// reads its arguments from the call's slots and returns an errno.
#pragma once

#include "wasi/context.hpp"

namespace edgecar::wasi::fn {

using Impl = Context::Impl;

#define WASI_FN(name, sig) Errno name(Impl& ctx, HostCall& call, const GuestMemory& mem);
#define WASI_ALT(name, impl, sig) WASI_FN(impl, sig)
#include "wasi/functions.def"
#undef WASI_ALT
#undef WASI_FN

// The store was interrupted (a timeout, a signal, serve stopping) while the guest
// waited: the call ends the guest with the Interrupted trap; answers EINTR.
Errno interrupted(Impl& ctx);
// Whether the guest made this host descriptor non-blocking (cached in the Fd: the
// descriptors edgecar makes start blocking, and only fd_fdstat_set_flags changes it).
bool guest_nonblocking(Fd& f);
// Waits until `host` is ready for `events` (POLLIN, POLLOUT) or the store is interrupted
// (the guest is then stopped with a trap: EINTR and ctx.pending_trap). Honours
// SO_RCVTIMEO/SO_SNDTIMEO on sockets (EAGAIN when they pass). What a blocking read,
// write, accept or connect waits in, so that a timeout or a signal reaches the guest.
Errno wait_ready(Impl& ctx, HostCall& c, int host, short events);
// Sends out what TCP sends held back (sock_send passes MSG_MORE, so a response written
// as head and body in two sends leaves as one segment): called where the guest may wait
// for an answer (poll_oneoff, receiving, accepting, reading, sched_yield).
void flush_held_sends(Impl& ctx);

}  // namespace edgecar::wasi::fn
