// WASI internals: the guest's file-descriptor table. Every guest pointer is checked
// before use (GuestMemory); a bad one gives EFAULT.
#pragma once

#include <sys/stat.h>
#include <sys/uio.h>

#include <cstring>
#include <ctime>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "edgecar/guest_memory.hpp"
#include "edgecar/wasi.hpp"
#include "wasi/abi.hpp"
#include "wasi/network.hpp"

namespace edgecar::wasi {

// Guest pointers are checked through edgecar::GuestMemory (edgecar/guest_memory.hpp).
using edgecar::GuestMemory;

enum class FdKind : uint8_t {
  Host,          // a host file descriptor (file, directory, stdio, socket)
  InputBuffer,   // stdin fed from memory
  OutputBuffer,  // stdout/stderr captured to memory
};

struct Fd {
  FdKind kind = FdKind::Host;
  int host = -1;
  bool owns_host = true;  // close the host fd with the entry (not for inherited stdio)
  Filetype type = Filetype::Unknown;
  int8_t nonblock = -1;      // O_NONBLOCK on the host descriptor: -1 not looked up yet
  bool holds_sends = false;  // a TCP socket whose last sock_send passed MSG_MORE
  uint64_t rights_base = 0;
  uint64_t rights_inheriting = 0;
  std::string preopen_name;  // non-empty for preopened directories
  bool is_preopen = false;
  // Buffers.
  std::string* output = nullptr;
  uint64_t output_limit = UINT64_MAX;
  bool output_overflow_traps = false;  // stdout: past the limit the guest is stopped
  bool* overflowed = nullptr;          // told when it is
  std::shared_ptr<const std::string> input;
  size_t input_pos = 0;

  ~Fd();
};

// poll_oneoff's memory of its previous answer (poll.cpp): a call asking the same and
// finding the same ready, with no I/O by the guest since, waits up to a back-off
// (doubling from kMinNs to kMaxNs) for something new before answering again.
struct IdlePoll {
  uint64_t signature = 0;  // the subscriptions and which were ready
  uint64_t io_ops = 0;     // Impl::io_ops then
  uint64_t backoff_ns = 0;
  static constexpr uint64_t kMinNs = 1000000, kMaxNs = 25000000;
};

struct Context::Impl {
  Config config;
  std::vector<std::unique_ptr<Fd>> fds;  // index = guest fd; null = free
  std::optional<Error> pending_trap;     // set by a call that must end the guest
  DenialLog denials;                     // network operations refused (Config::network)
  IdlePoll idle_poll;
  uint64_t io_ops = 0;               // socket calls, reads and writes: activity between polls
  std::vector<uint32_t> held_sends;  // guest fds with holds_sends set (flush_held_sends)

  Fd* get(uint32_t fd) { return fd < fds.size() ? fds[fd].get() : nullptr; }
  uint32_t insert(std::unique_ptr<Fd> fd);  // lowest free number

  // Looks up fd and checks that it holds `need` rights; sets e on failure.
  Fd* checked(uint32_t fd, uint64_t need, Errno& e) {
    Fd* f = get(fd);
    if (!f) {
      e = err::kBadf;
      return nullptr;
    }
    if ((f->rights_base & need) != need) {
      e = err::kNotcapable;
      return nullptr;
    }
    return f;
  }
};

Filetype filetype_of_mode(unsigned mode);
// The 64-byte filestat of the interface, written at ptr; false on a bad pointer.
bool write_filestat(const GuestMemory& mem, uint32_t ptr, const struct stat& st);
// Guest iovec array -> host iovecs pointing into guest memory (EFAULT on bad ranges).
Errno guest_iovecs(const GuestMemory& mem, uint32_t ptr, uint32_t count,
                   std::vector<struct iovec>& out);
// fstflags -> utimensat times; EINVAL for contradictory flags.
Errno make_times(uint64_t atim, uint64_t mtim, uint16_t fst, struct timespec out[2]);

}  // namespace edgecar::wasi
