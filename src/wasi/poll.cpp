// poll_oneoff: clock subscriptions and fd readiness. Waits in ppoll() together with the
// store's interrupt descriptor, so a sleeping guest is still stopped by a timeout
// without any polling loop.
//
// Readiness is level-triggered, as WasmEdge and wasmtime answer, and as tokio on
// WasmEdge's mio needs (its wakers cannot wake a blocked poll, so it relies on the
// always-writable side of its sockets to return). Level answers would then spin an
// idle guest that keeps connections open; so a call that would only repeat the
// previous call's answer, with no I/O by the guest in between, first waits for
// something new (readable data, a connection, a clock, the interrupt) for a short
// back-off that grows while nothing changes (IdlePoll in context.hpp).
#include <poll.h>
#include <sys/ioctl.h>
#include <time.h>

#include <functional>
#include <unordered_map>

#include "wasi/functions.hpp"

namespace edgecar::wasi::fn {

namespace {

constexpr uint8_t kEventClock = 0, kEventFdRead = 1, kEventFdWrite = 2;
constexpr uint16_t kSubclockAbstime = 1;

struct Event {
  uint64_t userdata = 0;
  Errno error;
  uint8_t type;
  uint64_t nbytes;
  uint16_t flags = 0;  // fd events: 1 = hangup (the peer closed)
};

uint64_t now_ns(clockid_t id) {
  timespec ts;
  clock_gettime(id, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000000000ull + static_cast<uint64_t>(ts.tv_nsec);
}

timespec to_timespec(uint64_t ns) {
  return timespec{static_cast<time_t>(ns / 1000000000ull), static_cast<long>(ns % 1000000000ull)};
}

}  // namespace

Errno poll_oneoff(Impl& ctx, HostCall& c, const GuestMemory& mem) {
  uint32_t in = c.u32(0), out = c.u32(1), nsubs = c.u32(2), nevents_ptr = c.u32(3);
  if (nsubs == 0) return err::kInval;
  if (!mem.valid(in, 48ull * nsubs) || !mem.valid(out, 32ull * nsubs) || !mem.valid(nevents_ptr, 4))
    return err::kFault;

  flush_held_sends(ctx);
  std::vector<Event> ready;
  // One pollfd per host descriptor (a guest subscribing to reading and writing gets both
  // events from one): ppoll refuses more entries than the descriptor limit, and a guest
  // may subscribe to every connection twice.
  std::vector<pollfd> pfds;
  struct Watched {
    std::vector<std::pair<uint32_t, uint8_t>> subs;  // subscription index, event type
    bool socket = false;
    short events = 0;  // saved while a back-off waits for less
  };
  std::vector<Watched> watched;          // beside pfds
  std::unordered_map<int, size_t> slot;  // host fd -> index in pfds
  uint64_t timeout_ns = UINT64_MAX;
  std::vector<std::pair<uint32_t, uint64_t>> clocks;  // subscription, remaining ns
  uint64_t signature = nsubs;                         // what was asked, for IdlePoll
  auto mix = [&signature](uint64_t v) { signature = (signature ^ v) * 0x100000001b3ull; };
  for (uint32_t i = 0; i < nsubs; ++i) {
    uint32_t s = in + 48 * i;
    uint64_t userdata = 0;
    uint8_t tag = 0;
    mem.load(s, userdata);
    mem.load(s + 8, tag);
    mix(userdata);
    mix(tag);
    if (tag == kEventClock) {
      uint32_t id = 0;
      uint64_t t = 0;
      uint16_t flags = 0;
      mem.load(s + 16, id);
      mem.load(s + 24, t);
      mem.load(s + 40, flags);
      clockid_t cid = id == 0   ? CLOCK_REALTIME
                      : id == 1 ? CLOCK_MONOTONIC
                      : id == 2 ? CLOCK_PROCESS_CPUTIME_ID
                      : id == 3 ? CLOCK_THREAD_CPUTIME_ID
                                : -1;
      if (cid == -1) {
        ready.push_back({userdata, err::kInval, kEventClock, 0});
        continue;
      }
      uint64_t remaining = t;
      if (flags & kSubclockAbstime) {
        uint64_t now = now_ns(cid);
        remaining = t > now ? t - now : 0;
      }
      clocks.emplace_back(i, remaining);
      timeout_ns = std::min(timeout_ns, remaining);
    } else if (tag == kEventFdRead || tag == kEventFdWrite) {
      uint32_t fd = 0;
      mem.load(s + 16, fd);
      mix(fd);
      Errno e;
      // The poll right, or the right to do what is polled for (wasmtime and WAMR need
      // no right at all; a descriptor open for reading may be polled for reading).
      Fd* f = ctx.get(fd);
      uint64_t io = tag == kEventFdRead ? rights::kFdRead : rights::kFdWrite;
      if (f && !(f->rights_base & (rights::kPollFdReadwrite | io))) {
        f = nullptr;
        e = err::kNotcapable;
      } else if (!f) {
        e = err::kBadf;
      }
      if (!f) {
        ready.push_back({userdata, e, tag, 0});
      } else if (f->kind == FdKind::InputBuffer) {
        ready.push_back({userdata, err::kSuccess, tag, f->input->size() - f->input_pos});
      } else if (f->kind == FdKind::OutputBuffer) {
        ready.push_back({userdata, err::kSuccess, tag, 0});
      } else {
        auto [it, fresh] = slot.emplace(f->host, pfds.size());
        if (fresh) {
          pfds.push_back(pollfd{f->host, 0, 0});
          watched.push_back(
              {{}, f->type == Filetype::SocketStream || f->type == Filetype::SocketDgram});
        }
        pfds[it->second].events |= tag == kEventFdRead ? POLLIN | POLLRDHUP : POLLOUT;
        watched[it->second].subs.emplace_back(i, tag);
      }
    } else {
      return err::kInval;
    }
  }

  int wake = c.store().interrupt_fd();
  pfds.push_back(pollfd{wake, POLLIN, 0});
  uint64_t start = now_ns(CLOCK_MONOTONIC);
  auto wait = [&](uint64_t ns) -> int {
    timespec ts = to_timespec(ns);
    int r = ppoll(pfds.data(), pfds.size(), ns == UINT64_MAX ? nullptr : &ts, nullptr);
    return r < 0 && errno == EINTR ? 0 : r;
  };
  // First look without waiting: what is ready now.
  if (wait(0) < 0) return from_host_errno(errno);
  if (pfds.back().revents & POLLIN) return interrupted(ctx);
  bool any_fd_ready = false;
  for (size_t k = 0; k + 1 < pfds.size(); ++k) {
    if (!pfds[k].revents) continue;
    any_fd_ready = true;
    mix(k);
  }
  IdlePoll& idle = ctx.idle_poll;
  bool repeat =
      any_fd_ready && ready.empty() && signature == idle.signature && ctx.io_ops == idle.io_ops;
  idle.signature = signature;
  if (!repeat) idle.backoff_ns = 0;
  if (repeat || (!any_fd_ready && ready.empty())) {
    // Wait for what is not ready yet (all of it when nothing is); for a repeat, at most
    // the back-off, after which the same answer is given again.
    uint64_t limit = timeout_ns;
    if (repeat) {
      idle.backoff_ns = std::min(IdlePoll::kMaxNs, std::max(IdlePoll::kMinNs, idle.backoff_ns * 2));
      limit = std::min(limit, idle.backoff_ns);
      // What is ready already is not waited for (an idle connection stays writable);
      // a descriptor with nothing else to wait for is left out until restored.
      for (size_t k = 0; k + 1 < pfds.size(); ++k) {
        watched[k].events = pfds[k].events;
        pfds[k].events &= static_cast<short>(~(pfds[k].revents | POLLRDHUP));
        if (pfds[k].revents & (POLLHUP | POLLERR)) pfds[k].events = 0;
        if (!pfds[k].events) pfds[k].fd = ~pfds[k].fd;
      }
    }
    if (wait(limit) < 0) return from_host_errno(errno);
    if (pfds.back().revents & POLLIN) return interrupted(ctx);
    if (repeat) {
      for (size_t k = 0; k + 1 < pfds.size(); ++k) {
        if (pfds[k].fd < 0) pfds[k].fd = ~pfds[k].fd;
        pfds[k].events = watched[k].events;
      }
      if (wait(0) < 0) return from_host_errno(errno);
    }
  }
  idle.io_ops = ctx.io_ops;

  for (size_t k = 0; k + 1 < pfds.size(); ++k) {
    short rev = pfds[k].revents;
    if (!rev) continue;
    for (auto [sub, tag] : watched[k].subs) {
      short want = tag == kEventFdRead ? POLLIN | POLLRDHUP : POLLOUT;
      if (!(rev & (want | POLLHUP | POLLERR | POLLNVAL))) continue;
      uint64_t userdata = 0;
      mem.load(in + 48 * sub, userdata);
      Event ev{userdata, err::kSuccess, tag, 0};
      // A descriptor in error (a refused connection, a pipe whose reader left) is
      // ready: the guest learns why from the read, write or SO_ERROR that follows, as
      // WasmEdge and wasmtime answer. An error here would end tokio's whole reactor
      // (mio treats any event error as fatal).
      if (rev & POLLNVAL) ev.error = err::kBadf;
      if (rev & (POLLHUP | POLLRDHUP)) ev.flags = 1;
      // Bytes available, for files and pipes; not asked of sockets, where no guest
      // runtime reads it and it would cost a system call per event.
      int avail = 0;
      if (tag == kEventFdRead && !watched[k].socket && ioctl(pfds[k].fd, FIONREAD, &avail) == 0)
        ev.nbytes = static_cast<uint64_t>(avail);
      ready.push_back(ev);
    }
  }
  uint64_t elapsed = now_ns(CLOCK_MONOTONIC) - start;
  for (auto [i, remaining] : clocks) {
    if (remaining <= elapsed || (ready.empty() && remaining == timeout_ns)) {
      uint64_t userdata = 0;
      mem.load(in + 48 * i, userdata);
      ready.push_back({userdata, err::kSuccess, kEventClock, 0});
    }
  }
  for (size_t k = 0; k < ready.size(); ++k) {
    uint8_t ev[32] = {};
    std::memcpy(ev, &ready[k].userdata, 8);
    std::memcpy(ev + 8, &ready[k].error, 2);
    ev[10] = ready[k].type;
    std::memcpy(ev + 16, &ready[k].nbytes, 8);
    std::memcpy(ev + 24, &ready[k].flags, 2);
    mem.write(out + 32 * static_cast<uint32_t>(k), ev, sizeof ev);
  }
  mem.store<uint32_t>(nevents_ptr, static_cast<uint32_t>(ready.size()));
  return err::kSuccess;
}

}  // namespace edgecar::wasi::fn
