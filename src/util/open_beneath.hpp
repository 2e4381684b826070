// Opening a path beneath a directory descriptor, resolved by the kernel (openat2 with
// RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS): absolute paths, ".." escapes and symlinks
// leading out fail with EXDEV, with no string checks and no race between check and use.
// Used by the WASI sandbox and by edgecar serve's static files.
#pragma once

#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <string>

namespace edgecar::util {

// A descriptor, or -1 with errno set.
inline int open_beneath(int dir, const std::string& path, uint64_t flags, uint64_t mode = 0) {
  open_how how = {};
  how.flags = flags | O_CLOEXEC;
  // O_TMPFILE includes the O_DIRECTORY bit: test it whole.
  how.mode = ((flags & O_CREAT) || (flags & O_TMPFILE) == O_TMPFILE) ? mode : 0;
  how.resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS;
  long r;
  do {
    r = syscall(SYS_openat2, dir, path.c_str(), &how, sizeof how);
  } while (r < 0 && (errno == EINTR || errno == EAGAIN));
  return static_cast<int>(r);
}

}  // namespace edgecar::util
