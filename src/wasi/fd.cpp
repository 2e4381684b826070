// fd_* functions: reading and writing through guest iovecs (straight into guest memory,
// no copies for host descriptors), seeking, metadata, directories and preopens.
#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>

#include "wasi/functions.hpp"

namespace edgecar::wasi {

bool write_filestat(const GuestMemory& mem, uint32_t ptr, const struct stat& st) {
  uint8_t buf[64] = {};
  auto put64 = [&](size_t off, uint64_t v) { std::memcpy(buf + off, &v, 8); };
  put64(0, st.st_dev);
  put64(8, st.st_ino);
  buf[16] = static_cast<uint8_t>(filetype_of_mode(st.st_mode));
  put64(24, st.st_nlink);
  put64(32, static_cast<uint64_t>(st.st_size));
  auto ns = [](const timespec& t) {
    return static_cast<uint64_t>(t.tv_sec) * 1000000000ull + static_cast<uint64_t>(t.tv_nsec);
  };
  put64(40, ns(st.st_atim));
  put64(48, ns(st.st_mtim));
  put64(56, ns(st.st_ctim));
  return mem.write(ptr, buf, sizeof buf);
}

Errno make_times(uint64_t atim, uint64_t mtim, uint16_t fst, timespec out[2]) {
  using namespace fstflags;
  if (((fst & kAtim) && (fst & kAtimNow)) || ((fst & kMtim) && (fst & kMtimNow)))
    return err::kInval;
  auto one = [](uint64_t v, bool set, bool now, timespec& t) {
    if (now) {
      t.tv_sec = 0;
      t.tv_nsec = UTIME_NOW;
    } else if (set) {
      t.tv_sec = static_cast<time_t>(v / 1000000000ull);
      t.tv_nsec = static_cast<long>(v % 1000000000ull);
    } else {
      t.tv_sec = 0;
      t.tv_nsec = UTIME_OMIT;
    }
  };
  one(atim, fst & kAtim, fst & kAtimNow, out[0]);
  one(mtim, fst & kMtim, fst & kMtimNow, out[1]);
  return err::kSuccess;
}

constexpr size_t kMaxIovs = 1024;  // IOV_MAX: longer lists are a partial transfer

Errno guest_iovecs(const GuestMemory& mem, uint32_t ptr, uint32_t count, std::vector<iovec>& out) {
  if (!mem.valid(ptr, 8ull * count)) return err::kFault;
  out.clear();
  for (uint32_t i = 0; i < count && out.size() < kMaxIovs; ++i) {
    uint32_t buf = 0, len = 0;
    mem.load(ptr + 8 * i, buf);
    mem.load(ptr + 8 * i + 4, len);
    if (!mem.valid(buf, len)) return err::kFault;
    out.push_back(iovec{mem.at(buf), len});
  }
  return err::kSuccess;
}

namespace fn {

namespace {

Errno store_size(const GuestMemory& mem, uint32_t ptr, uint64_t n) {
  return mem.store<uint32_t>(ptr, static_cast<uint32_t>(n)) ? err::kSuccess : err::kFault;
}

// Reading from a descriptor not open for reading (or writing to one not open for
// writing) is EBADF, as read(2) and write(2) say and wasmtime and WAMR answer; other
// missing rights stay ENOTCAPABLE.
Errno not_open_for(Impl& ctx, uint32_t fd, uint64_t right, Errno e) {
  Fd* f = ctx.get(fd);
  return f && !(f->rights_base & right) ? err::kBadf : e;
}

Errno do_read(Impl& ctx, HostCall& c, const GuestMemory& mem, std::optional<uint64_t> offset,
              uint32_t out_ptr) {
  Errno e;
  Fd* f = ctx.checked(c.u32(0), rights::kFdRead | (offset ? rights::kFdSeek : 0), e);
  if (!f) return not_open_for(ctx, c.u32(0), rights::kFdRead, e);
  std::vector<iovec> iov;
  if ((e = guest_iovecs(mem, c.u32(1), c.u32(2), iov))) return e;
  if (!mem.valid(out_ptr, 4)) return err::kFault;
  if (f->kind == FdKind::InputBuffer) {
    if (offset) return err::kSpipe;
    size_t total = 0;
    for (const auto& v : iov) {
      size_t n = std::min(v.iov_len, f->input->size() - f->input_pos);
      std::memcpy(v.iov_base, f->input->data() + f->input_pos, n);
      f->input_pos += n;
      total += n;
    }
    return store_size(mem, out_ptr, total);
  }
  if (f->kind != FdKind::Host) return err::kBadf;
  if (f->type == Filetype::Directory) return err::kIsdir;
  // A socket, pipe or terminal may have nothing to read for ever: wait interruptibly.
  if (!offset && f->type != Filetype::RegularFile && !guest_nonblocking(*f))
    if ((e = wait_ready(ctx, c, f->host, POLLIN))) return e;
  ssize_t n;
  do {
    n = offset
            ? preadv(f->host, iov.data(), static_cast<int>(iov.size()), static_cast<off_t>(*offset))
            : readv(f->host, iov.data(), static_cast<int>(iov.size()));
  } while (n < 0 && errno == EINTR);
  if (n < 0) return from_host_errno(errno);
  return store_size(mem, out_ptr, static_cast<uint64_t>(n));
}

Errno do_write(Impl& ctx, HostCall& c, const GuestMemory& mem, std::optional<uint64_t> offset,
               uint32_t out_ptr) {
  Errno e;
  Fd* f = ctx.checked(c.u32(0), rights::kFdWrite | (offset ? rights::kFdSeek : 0), e);
  if (!f) return not_open_for(ctx, c.u32(0), rights::kFdWrite, e);
  std::vector<iovec> iov;
  if ((e = guest_iovecs(mem, c.u32(1), c.u32(2), iov))) return e;
  if (!mem.valid(out_ptr, 4)) return err::kFault;
  if (f->kind == FdKind::OutputBuffer) {
    if (offset) return err::kSpipe;
    size_t total = 0;
    for (const auto& v : iov) total += v.iov_len;
    if (f->output->size() + total > f->output_limit) {
      if (f->output_overflow_traps) {
        if (f->overflowed) *f->overflowed = true;
        ctx.pending_trap = host_error("output limit: the guest wrote more than " +
                                      std::to_string(f->output_limit) + " bytes to stdout");
        return err::kFbig;
      }
      // Past the limit, the rest is dropped (but reported written).
      for (const auto& v : iov) {
        size_t room = f->output_limit - std::min<uint64_t>(f->output_limit, f->output->size());
        f->output->append(static_cast<const char*>(v.iov_base), std::min<size_t>(room, v.iov_len));
      }
      return store_size(mem, out_ptr, total);
    }
    for (const auto& v : iov) f->output->append(static_cast<const char*>(v.iov_base), v.iov_len);
    return store_size(mem, out_ptr, total);
  }
  if (f->kind != FdKind::Host) return err::kBadf;
  // A socket whose peer does not read blocks a write for ever: wait interruptibly.
  if (!offset && (f->type == Filetype::SocketStream || f->type == Filetype::SocketDgram) &&
      !guest_nonblocking(*f))
    if ((e = wait_ready(ctx, c, f->host, POLLOUT))) return e;
  ssize_t n;
  do {
    n = offset ? pwritev(f->host, iov.data(), static_cast<int>(iov.size()),
                         static_cast<off_t>(*offset))
               : writev(f->host, iov.data(), static_cast<int>(iov.size()));
  } while (n < 0 && errno == EINTR);
  if (n < 0) return from_host_errno(errno);
  return store_size(mem, out_ptr, static_cast<uint64_t>(n));
}

Fd* host_fd(Impl& ctx, uint32_t fd, uint64_t need, Errno& e) {
  Fd* f = ctx.checked(fd, need, e);
  if (f && f->kind != FdKind::Host) {
    e = err::kSpipe;  // in-memory streams have no file behind them
    return nullptr;
  }
  return f;
}

}  // namespace

Errno fd_read(Impl& ctx, HostCall& c, const GuestMemory& mem) {
  ++ctx.io_ops;
  return do_read(ctx, c, mem, std::nullopt, c.u32(3));
}
Errno fd_pread(Impl& ctx, HostCall& c, const GuestMemory& mem) {
  return do_read(ctx, c, mem, c.u64(3), c.u32(4));
}
Errno fd_write(Impl& ctx, HostCall& c, const GuestMemory& mem) {
  ++ctx.io_ops;
  return do_write(ctx, c, mem, std::nullopt, c.u32(3));
}
Errno fd_pwrite(Impl& ctx, HostCall& c, const GuestMemory& mem) {
  return do_write(ctx, c, mem, c.u64(3), c.u32(4));
}

Errno fd_close(Impl& ctx, HostCall& c, const GuestMemory&) {
  uint32_t fd = c.u32(0);
  if (!ctx.get(fd)) return err::kBadf;
  ctx.fds[fd].reset();
  return err::kSuccess;
}

Errno fd_seek(Impl& ctx, HostCall& c, const GuestMemory& mem) {
  int64_t offset = static_cast<int64_t>(c.u64(1));
  uint32_t whence = c.u32(2);
  uint64_t need = (offset == 0 && whence == 1) ? rights::kFdTell : rights::kFdSeek;
  Errno e;
  Fd* f = host_fd(ctx, c.u32(0), need, e);
  if (!f) return e;
  int w = whence == 0 ? SEEK_SET : whence == 1 ? SEEK_CUR : whence == 2 ? SEEK_END : -1;
  if (w < 0) return err::kInval;
  if (!mem.valid(c.u32(3), 8)) return err::kFault;
  off_t r = lseek(f->host, offset, w);
  if (r < 0) return from_host_errno(errno);
  mem.store<uint64_t>(c.u32(3), static_cast<uint64_t>(r));
  return err::kSuccess;
}

Errno fd_tell(Impl& ctx, HostCall& c, const GuestMemory& mem) {
  Errno e;
  Fd* f = host_fd(ctx, c.u32(0), rights::kFdTell, e);
  if (!f) return e;
  if (!mem.valid(c.u32(1), 8)) return err::kFault;
  off_t r = lseek(f->host, 0, SEEK_CUR);
  if (r < 0) return from_host_errno(errno);
  mem.store<uint64_t>(c.u32(1), static_cast<uint64_t>(r));
  return err::kSuccess;
}

Errno fd_fdstat_get(Impl& ctx, HostCall& c, const GuestMemory& mem) {
  Fd* f = ctx.get(c.u32(0));
  if (!f) return err::kBadf;
  uint8_t buf[24] = {};
  buf[0] = static_cast<uint8_t>(f->type);
  uint16_t flags = 0;
  bool socket = f->type == Filetype::SocketStream || f->type == Filetype::SocketDgram;
  if (f->kind == FdKind::Host && socket) {
    // A socket's only flag is non-blocking, cached (tokio asks before every write).
    if (guest_nonblocking(*f)) flags |= fdflags::kNonblock;
  } else if (f->kind == FdKind::Host) {
    int fl = fcntl(f->host, F_GETFL);
    if (fl >= 0) {
      if (fl & O_APPEND) flags |= fdflags::kAppend;
      if (fl & O_NONBLOCK) flags |= fdflags::kNonblock;
      if ((fl & O_SYNC) == O_SYNC) flags |= fdflags::kSync;
      if (fl & O_DSYNC) flags |= fdflags::kDsync;
    }
  }
  std::memcpy(buf + 2, &flags, 2);
  std::memcpy(buf + 8, &f->rights_base, 8);
  std::memcpy(buf + 16, &f->rights_inheriting, 8);
  return mem.write(c.u32(1), buf, sizeof buf) ? err::kSuccess : err::kFault;
}

Errno fd_fdstat_set_flags(Impl& ctx, HostCall& c, const GuestMemory&) {
  Errno e;
  Fd* f = host_fd(ctx, c.u32(0), rights::kFdFdstatSetFlags, e);
  if (!f) return e;
  uint32_t want = c.u32(1);
  if (want & (fdflags::kDsync | fdflags::kRsync | fdflags::kSync)) return err::kNotsup;
  int fl = fcntl(f->host, F_GETFL);
  if (fl < 0) return from_host_errno(errno);
  fl &= ~(O_APPEND | O_NONBLOCK);
  if (want & fdflags::kAppend) fl |= O_APPEND;
  if (want & fdflags::kNonblock) fl |= O_NONBLOCK;
  if (fcntl(f->host, F_SETFL, fl) != 0) return from_host_errno(errno);
  f->nonblock = (want & fdflags::kNonblock) != 0;
  return err::kSuccess;
}

Errno fd_fdstat_set_rights(Impl& ctx, HostCall& c, const GuestMemory&) {
  Fd* f = ctx.get(c.u32(0));
  if (!f) return err::kBadf;
  uint64_t base = c.u64(1), inh = c.u64(2);
  // Rights can only be dropped, never gained.
  if ((base & ~f->rights_base) || (inh & ~f->rights_inheriting)) return err::kNotcapable;
  f->rights_base = base;
  f->rights_inheriting = inh;
  return err::kSuccess;
}

Errno fd_filestat_get(Impl& ctx, HostCall& c, const GuestMemory& mem) {
  Errno e;
  Fd* f = ctx.checked(c.u32(0), rights::kFdFilestatGet, e);
  if (!f) return e;
  struct stat st = {};
  if (f->kind == FdKind::Host) {
    if (fstat(f->host, &st) != 0) return from_host_errno(errno);
  } else {
    st.st_mode = S_IFCHR;
  }
  return write_filestat(mem, c.u32(1), st) ? err::kSuccess : err::kFault;
}

Errno fd_filestat_set_size(Impl& ctx, HostCall& c, const GuestMemory&) {
  Errno e;
  Fd* f = host_fd(ctx, c.u32(0), rights::kFdFilestatSetSize, e);
  // Truncating a descriptor not open for writing is EINVAL, as ftruncate(2) says.
  if (!f) return e == err::kNotcapable ? err::kInval : e;
  if (ftruncate(f->host, static_cast<off_t>(c.u64(1))) != 0) return from_host_errno(errno);
  return err::kSuccess;
}

Errno fd_filestat_set_times(Impl& ctx, HostCall& c, const GuestMemory&) {
  Errno e;
  Fd* f = host_fd(ctx, c.u32(0), rights::kFdFilestatSetTimes, e);
  if (!f) return e;
  timespec ts[2];
  if ((e = make_times(c.u64(1), c.u64(2), static_cast<uint16_t>(c.u32(3)), ts))) return e;
  if (futimens(f->host, ts) != 0) return from_host_errno(errno);
  return err::kSuccess;
}

Errno fd_advise(Impl& ctx, HostCall& c, const GuestMemory&) {
  Errno e;
  Fd* f = host_fd(ctx, c.u32(0), rights::kFdAdvise, e);
  if (!f) return e;
  static constexpr int kAdvice[] = {POSIX_FADV_NORMAL,   POSIX_FADV_SEQUENTIAL, POSIX_FADV_RANDOM,
                                    POSIX_FADV_WILLNEED, POSIX_FADV_DONTNEED,   POSIX_FADV_NOREUSE};
  uint32_t a = c.u32(3);
  if (a >= 6) return err::kInval;
  int r = posix_fadvise(f->host, static_cast<off_t>(c.u64(1)), static_cast<off_t>(c.u64(2)),
                        kAdvice[a]);
  return from_host_errno(r);
}

Errno fd_allocate(Impl& ctx, HostCall& c, const GuestMemory&) {
  Errno e;
  Fd* f = host_fd(ctx, c.u32(0), rights::kFdAllocate, e);
  if (!f) return e;
  int r = posix_fallocate(f->host, static_cast<off_t>(c.u64(1)), static_cast<off_t>(c.u64(2)));
  return from_host_errno(r);
}

Errno fd_sync(Impl& ctx, HostCall& c, const GuestMemory&) {
  Errno e;
  Fd* f = host_fd(ctx, c.u32(0), rights::kFdSync, e);
  if (!f) return e;
  return fsync(f->host) == 0 ? err::kSuccess : from_host_errno(errno);
}

Errno fd_datasync(Impl& ctx, HostCall& c, const GuestMemory&) {
  Errno e;
  Fd* f = host_fd(ctx, c.u32(0), rights::kFdDatasync, e);
  if (!f) return e;
  return fdatasync(f->host) == 0 ? err::kSuccess : from_host_errno(errno);
}

Errno fd_prestat_get(Impl& ctx, HostCall& c, const GuestMemory& mem) {
  Fd* f = ctx.get(c.u32(0));
  if (!f || !f->is_preopen) return err::kBadf;
  uint8_t buf[8] = {};
  uint32_t len = static_cast<uint32_t>(f->preopen_name.size());
  std::memcpy(buf + 4, &len, 4);
  return mem.write(c.u32(1), buf, sizeof buf) ? err::kSuccess : err::kFault;
}

Errno fd_prestat_dir_name(Impl& ctx, HostCall& c, const GuestMemory& mem) {
  Fd* f = ctx.get(c.u32(0));
  if (!f || !f->is_preopen) return err::kBadf;
  if (c.u32(2) < f->preopen_name.size()) return err::kNametoolong;
  return mem.write(c.u32(1), f->preopen_name.data(), f->preopen_name.size()) ? err::kSuccess
                                                                             : err::kFault;
}

Errno fd_renumber(Impl& ctx, HostCall& c, const GuestMemory&) {
  uint32_t from = c.u32(0), to = c.u32(1);
  if (!ctx.get(from) || !ctx.get(to)) return err::kBadf;
  if (from == to) return err::kSuccess;
  ctx.fds[to] = std::move(ctx.fds[from]);
  return err::kSuccess;
}

// Directory entries, from position `cookie` (an entry index). Each dirent is a 24-byte
// header and the name; the last one may be cut short when the buffer is full, as the
// interface specifies.
Errno fd_readdir(Impl& ctx, HostCall& c, const GuestMemory& mem) {
  Errno e;
  Fd* f = host_fd(ctx, c.u32(0), rights::kFdReaddir, e);
  if (!f) return e;
  if (f->type != Filetype::Directory) return err::kNotdir;
  uint32_t buf = c.u32(1), buf_len = c.u32(2), used_ptr = c.u32(4);
  uint64_t cookie = c.u64(3);
  if (!mem.valid(buf, buf_len) || !mem.valid(used_ptr, 4)) return err::kFault;
  int dupfd = openat(f->host, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dupfd < 0) return from_host_errno(errno);
  DIR* dir = fdopendir(dupfd);
  if (!dir) {
    ::close(dupfd);
    return from_host_errno(errno);
  }
  uint32_t used = 0;
  uint64_t index = 0;
  while (used < buf_len) {
    errno = 0;
    dirent* d = readdir(dir);
    if (!d) break;
    if (index++ < cookie) continue;
    size_t namelen = std::strlen(d->d_name);
    uint8_t hdr[24] = {};
    uint64_t next = index;
    uint64_t ino = d->d_ino;
    uint32_t nl = static_cast<uint32_t>(namelen);
    Filetype t = Filetype::Unknown;
    switch (d->d_type) {
      case DT_REG:
        t = Filetype::RegularFile;
        break;
      case DT_DIR:
        t = Filetype::Directory;
        break;
      case DT_LNK:
        t = Filetype::SymbolicLink;
        break;
      case DT_CHR:
        t = Filetype::CharacterDevice;
        break;
      case DT_BLK:
        t = Filetype::BlockDevice;
        break;
      case DT_SOCK:
        t = Filetype::SocketStream;
        break;
      default:
        break;
    }
    std::memcpy(hdr, &next, 8);
    std::memcpy(hdr + 8, &ino, 8);
    std::memcpy(hdr + 16, &nl, 4);
    hdr[20] = static_cast<uint8_t>(t);
    uint32_t n = std::min<uint32_t>(24, buf_len - used);
    mem.write(buf + used, hdr, n);
    used += n;
    n = std::min<uint32_t>(nl, buf_len - used);
    mem.write(buf + used, d->d_name, n);
    used += n;
  }
  closedir(dir);
  mem.store<uint32_t>(used_ptr, used);
  return err::kSuccess;
}

}  // namespace fn
}  // namespace edgecar::wasi
