// path_* functions and the capability sandbox. Every path is resolved beneath the
// directory descriptor it is relative to with openat2(RESOLVE_BENEATH): absolute paths,
// ".." escapes and symlinks leading out are refused by the kernel (EXDEV, reported as
// notcapable), with no string checks on paths and no race between check and use.
#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <climits>

#include "util/open_beneath.hpp"
#include "wasi/functions.hpp"

namespace edgecar::wasi::fn {

namespace {

using util::open_beneath;

struct OwnedFd {
  int fd = -1;
  bool owned = false;
  ~OwnedFd() {
    if (owned && fd >= 0) ::close(fd);
  }
};

// A guest path argument, rejected if unreadable or containing NUL.
Errno read_path(const GuestMemory& mem, uint32_t ptr, uint32_t len, std::string& out) {
  auto s = mem.string(ptr, len);
  if (!s) return err::kFault;
  if (s->find('\0') != std::string::npos) return err::kInval;
  out = std::move(*s);
  return err::kSuccess;
}

// Resolves all but the last component of `path` beneath `dir`: the parent directory
// (opened O_PATH) and the final name, for the *at() calls that act on a name.
Errno split(const Fd& dir, const std::string& path, OwnedFd& parent, std::string& name) {
  if (path.empty()) return err::kNoent;
  if (path[0] == '/') return err::kNotcapable;
  size_t end = path.find_last_not_of('/');
  size_t slash = path.rfind('/', end);
  std::string base = path.substr(slash == std::string::npos ? 0 : slash + 1,
                                 end - (slash == std::string::npos ? 0 : slash + 1) + 1);
  name = path.substr(slash == std::string::npos ? 0 : slash + 1);  // keeps a trailing '/'
  if (slash == std::string::npos) {
    parent.fd = dir.host;
  } else {
    parent.fd = open_beneath(dir.host, path.substr(0, slash + 1), O_PATH | O_DIRECTORY);
    if (parent.fd < 0) return from_host_errno(errno);
    parent.owned = true;
  }
  if (base == "..") {
    // "x/.." names a directory that must itself lie beneath the preopen.
    OwnedFd check{open_beneath(dir.host, path, O_PATH), true};
    if (check.fd < 0) return from_host_errno(errno);
  }
  return err::kSuccess;
}

Fd* dir_fd(Impl& ctx, uint32_t fd, uint64_t need, Errno& e) {
  Fd* f = ctx.checked(fd, need, e);
  if (f && (f->kind != FdKind::Host || f->type != Filetype::Directory)) {
    e = err::kNotdir;
    return nullptr;
  }
  return f;
}

// The common shape of calls acting on one name: check the right, resolve the parent
// beneath the directory, apply op(parent_fd, name).
template <class Op>
Errno at_name(Impl& ctx, HostCall& c, const GuestMemory& mem, uint64_t right, Op op) {
  Errno e;
  Fd* dir = dir_fd(ctx, c.u32(0), right, e);
  if (!dir) return e;
  std::string path, name;
  if ((e = read_path(mem, c.u32(1), c.u32(2), path))) return e;
  OwnedFd parent;
  if ((e = split(*dir, path, parent, name))) return e;
  return op(parent.fd, name.c_str()) == 0 ? err::kSuccess : from_host_errno(errno);
}

}  // namespace

Errno path_open(Impl& ctx, HostCall& c, const GuestMemory& mem) {
  uint32_t dirflags = c.u32(1);
  uint32_t oflags = c.u32(4);
  uint64_t base = c.u64(5), inheriting = c.u64(6);
  uint32_t fdfl = c.u32(7);
  uint64_t need = rights::kPathOpen;
  if (oflags & oflags::kCreat) need |= rights::kPathCreateFile;
  if (oflags & oflags::kTrunc) need |= rights::kPathFilestatSetSize;
  Errno e;
  Fd* dir = dir_fd(ctx, c.u32(0), need, e);
  if (!dir) return e;
  std::string path;
  if ((e = read_path(mem, c.u32(2), c.u32(3), path))) return e;
  if (!mem.valid(c.u32(8), 4)) return err::kFault;
  // A new descriptor gets at most what the directory may hand down.
  if ((base & ~dir->rights_inheriting) || (inheriting & ~dir->rights_inheriting))
    return err::kNotcapable;

  bool read = base & (rights::kFdRead | rights::kFdReaddir);
  bool write = base & (rights::kFdWrite | rights::kFdAllocate | rights::kFdFilestatSetSize);
  uint64_t flags = O_NOCTTY;
  if (oflags & oflags::kDirectory) {
    flags |= O_DIRECTORY | O_RDONLY;
  } else {
    flags |= (read && write) ? O_RDWR : write ? O_WRONLY : O_RDONLY;
  }
  if (oflags & oflags::kCreat) flags |= O_CREAT;
  if (oflags & oflags::kExcl) flags |= O_EXCL;
  if (oflags & oflags::kTrunc) flags |= O_TRUNC;
  if (fdfl & fdflags::kAppend) flags |= O_APPEND;
  if (fdfl & fdflags::kNonblock) flags |= O_NONBLOCK;
  if (fdfl & fdflags::kSync) flags |= O_SYNC;
  if (fdfl & fdflags::kDsync) flags |= O_DSYNC;
  if (fdfl & fdflags::kRsync) flags |= O_RSYNC;
  if (!(dirflags & kLookupSymlinkFollow)) flags |= O_NOFOLLOW;

  int h = open_beneath(dir->host, path, flags, 0666);
  if (h < 0) return from_host_errno(errno);
  auto fd = std::make_unique<Fd>();
  fd->host = h;
  struct stat st;
  if (fstat(h, &st) != 0) return from_host_errno(errno);
  fd->type = filetype_of_mode(st.st_mode);
  // A directory cannot be open for writing (open(2) says EISDIR; so do wasmtime and WAMR
  // when the rights ask for it).
  if (fd->type == Filetype::Directory && (base & rights::kFdWrite)) return err::kIsdir;
  fd->rights_base =
      base & (fd->type == Filetype::Directory ? rights::kDir : rights::kFile | rights::kFdReaddir);
  fd->rights_inheriting = inheriting;
  uint32_t n = ctx.insert(std::move(fd));
  mem.store<uint32_t>(c.u32(8), n);
  return err::kSuccess;
}

Errno path_create_directory(Impl& ctx, HostCall& c, const GuestMemory& mem) {
  return at_name(ctx, c, mem, rights::kPathCreateDirectory,
                 [](int fd, const char* name) { return mkdirat(fd, name, 0777); });
}

Errno path_remove_directory(Impl& ctx, HostCall& c, const GuestMemory& mem) {
  return at_name(ctx, c, mem, rights::kPathRemoveDirectory,
                 [](int fd, const char* name) { return unlinkat(fd, name, AT_REMOVEDIR); });
}

Errno path_unlink_file(Impl& ctx, HostCall& c, const GuestMemory& mem) {
  return at_name(ctx, c, mem, rights::kPathUnlinkFile,
                 [](int fd, const char* name) { return unlinkat(fd, name, 0); });
}

Errno path_filestat_get(Impl& ctx, HostCall& c, const GuestMemory& mem) {
  Errno e;
  Fd* dir = dir_fd(ctx, c.u32(0), rights::kPathFilestatGet, e);
  if (!dir) return e;
  std::string path;
  if ((e = read_path(mem, c.u32(2), c.u32(3), path))) return e;
  bool follow = c.u32(1) & kLookupSymlinkFollow;
  OwnedFd f{open_beneath(dir->host, path, O_PATH | (follow ? 0 : O_NOFOLLOW)), true};
  if (f.fd < 0) return from_host_errno(errno);
  struct stat st;
  if (fstat(f.fd, &st) != 0) return from_host_errno(errno);
  return write_filestat(mem, c.u32(4), st) ? err::kSuccess : err::kFault;
}

Errno path_filestat_set_times(Impl& ctx, HostCall& c, const GuestMemory& mem) {
  Errno e;
  Fd* dir = dir_fd(ctx, c.u32(0), rights::kPathFilestatSetTimes, e);
  if (!dir) return e;
  std::string path, name;
  if ((e = read_path(mem, c.u32(2), c.u32(3), path))) return e;
  timespec ts[2];
  if ((e = make_times(c.u64(4), c.u64(5), static_cast<uint16_t>(c.u32(6)), ts))) return e;
  if (c.u32(1) & kLookupSymlinkFollow) {
    OwnedFd f{open_beneath(dir->host, path, O_PATH), true};
    if (f.fd < 0) return from_host_errno(errno);
    std::string proc = "/proc/self/fd/" + std::to_string(f.fd);
    return utimensat(AT_FDCWD, proc.c_str(), ts, 0) == 0 ? err::kSuccess : from_host_errno(errno);
  }
  OwnedFd parent;
  if ((e = split(*dir, path, parent, name))) return e;
  return utimensat(parent.fd, name.c_str(), ts, AT_SYMLINK_NOFOLLOW) == 0 ? err::kSuccess
                                                                          : from_host_errno(errno);
}

Errno path_rename(Impl& ctx, HostCall& c, const GuestMemory& mem) {
  Errno e;
  Fd* from = dir_fd(ctx, c.u32(0), rights::kPathRenameSource, e);
  if (!from) return e;
  Fd* to = dir_fd(ctx, c.u32(3), rights::kPathRenameTarget, e);
  if (!to) return e;
  std::string old_path, new_path, old_name, new_name;
  if ((e = read_path(mem, c.u32(1), c.u32(2), old_path))) return e;
  if ((e = read_path(mem, c.u32(4), c.u32(5), new_path))) return e;
  OwnedFd op, np;
  if ((e = split(*from, old_path, op, old_name))) return e;
  if ((e = split(*to, new_path, np, new_name))) return e;
  return renameat(op.fd, old_name.c_str(), np.fd, new_name.c_str()) == 0 ? err::kSuccess
                                                                         : from_host_errno(errno);
}

Errno path_link(Impl& ctx, HostCall& c, const GuestMemory& mem) {
  Errno e;
  Fd* from = dir_fd(ctx, c.u32(0), rights::kPathLinkSource, e);
  if (!from) return e;
  Fd* to = dir_fd(ctx, c.u32(4), rights::kPathLinkTarget, e);
  if (!to) return e;
  std::string old_path, new_path, old_name, new_name;
  if ((e = read_path(mem, c.u32(2), c.u32(3), old_path))) return e;
  if ((e = read_path(mem, c.u32(5), c.u32(6), new_path))) return e;
  bool follow = c.u32(1) & kLookupSymlinkFollow;
  if (follow) {
    // The followed target must itself lie beneath the directory.
    OwnedFd check{open_beneath(from->host, old_path, O_PATH), true};
    if (check.fd < 0) return from_host_errno(errno);
  }
  OwnedFd op, np;
  if ((e = split(*from, old_path, op, old_name))) return e;
  if ((e = split(*to, new_path, np, new_name))) return e;
  return linkat(op.fd, old_name.c_str(), np.fd, new_name.c_str(), follow ? AT_SYMLINK_FOLLOW : 0) ==
                 0
             ? err::kSuccess
             : from_host_errno(errno);
}

Errno path_symlink(Impl& ctx, HostCall& c, const GuestMemory& mem) {
  Errno e;
  Fd* dir = dir_fd(ctx, c.u32(2), rights::kPathSymlink, e);
  if (!dir) return e;
  std::string target, path, name;
  if ((e = read_path(mem, c.u32(0), c.u32(1), target))) return e;
  if ((e = read_path(mem, c.u32(3), c.u32(4), path))) return e;
  OwnedFd parent;
  if ((e = split(*dir, path, parent, name))) return e;
  // The target is only text and following it later is confined like any other path, but
  // an absolute target can never resolve inside the sandbox: refused, as wasmtime and
  // WAMR do.
  if (!target.empty() && target[0] == '/') return err::kNotcapable;
  return symlinkat(target.c_str(), parent.fd, name.c_str()) == 0 ? err::kSuccess
                                                                 : from_host_errno(errno);
}

Errno path_readlink(Impl& ctx, HostCall& c, const GuestMemory& mem) {
  Errno e;
  Fd* dir = dir_fd(ctx, c.u32(0), rights::kPathReadlink, e);
  if (!dir) return e;
  std::string path, name;
  if ((e = read_path(mem, c.u32(1), c.u32(2), path))) return e;
  uint32_t buf = c.u32(3), buf_len = c.u32(4), used_ptr = c.u32(5);
  if (!mem.valid(buf, buf_len) || !mem.valid(used_ptr, 4)) return err::kFault;
  OwnedFd parent;
  if ((e = split(*dir, path, parent, name))) return e;
  char tmp[PATH_MAX];
  ssize_t n = readlinkat(parent.fd, name.c_str(), tmp, sizeof tmp);
  if (n < 0) return from_host_errno(errno);
  uint32_t copy = std::min<uint32_t>(static_cast<uint32_t>(n), buf_len);
  mem.write(buf, tmp, copy);
  mem.store<uint32_t>(used_ptr, copy);
  return err::kSuccess;
}

}  // namespace edgecar::wasi::fn
