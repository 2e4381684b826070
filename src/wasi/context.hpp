// WASI internals: the guest's file-descriptor table and bounds-checked access to guest
// memory. Every guest pointer is checked before use; a bad one gives EFAULT.
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

#include "edgecar/wasi.hpp"
#include "wasi/abi.hpp"

namespace edgecar::wasi {

// A view of the caller's linear memory for one host call.
class GuestMemory {
 public:
  explicit GuestMemory(Memory* m) : data_(m ? m->data() : nullptr), size_(m ? m->size_bytes() : 0) {}

  bool valid(uint64_t ptr, uint64_t len) const { return ptr <= size_ && len <= size_ - ptr; }
  uint8_t* at(uint64_t ptr) const { return data_ + ptr; }

  template <class T>
  bool load(uint32_t ptr, T& out) const {
    if (!valid(ptr, sizeof(T))) return false;
    std::memcpy(&out, data_ + ptr, sizeof(T));
    return true;
  }
  template <class T>
  bool store(uint32_t ptr, T v) const {
    if (!valid(ptr, sizeof(T))) return false;
    std::memcpy(data_ + ptr, &v, sizeof(T));
    return true;
  }
  bool write(uint32_t ptr, const void* src, size_t n) const {
    if (!valid(ptr, n)) return false;
    if (n) std::memcpy(data_ + ptr, src, n);
    return true;
  }
  // A guest string (not NUL-terminated); fails on bad pointers.
  std::optional<std::string> string(uint32_t ptr, uint32_t len) const {
    if (!valid(ptr, len)) return std::nullopt;
    return std::string(reinterpret_cast<const char*>(data_ + ptr), len);
  }

 private:
  uint8_t* data_;
  uint64_t size_;
};

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
  uint64_t rights_base = 0;
  uint64_t rights_inheriting = 0;
  std::string preopen_name;  // non-empty for preopened directories
  bool is_preopen = false;
  // Buffers.
  std::string* output = nullptr;
  std::shared_ptr<const std::string> input;
  size_t input_pos = 0;

  ~Fd();
};

struct Context::Impl {
  Config config;
  std::vector<std::unique_ptr<Fd>> fds;  // index = guest fd; null = free
  std::optional<Error> pending_trap;     // set by a call that must end the guest

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
Errno guest_iovecs(const GuestMemory& mem, uint32_t ptr, uint32_t count, std::vector<struct iovec>& out);
// fstflags -> utimensat times; EINVAL for contradictory flags.
Errno make_times(uint64_t atim, uint64_t mtim, uint16_t fst, struct timespec out[2]);

}  // namespace edgecar::wasi
