// The WASI context: descriptor table, preopens, registration of the host functions, and
// the small functions (arguments, environment, clocks, randomness, process).
#include <fcntl.h>
#include <sched.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "wasi/functions.hpp"

namespace edgecar::wasi {

Fd::~Fd() {
  if (kind == FdKind::Host && owns_host && host >= 0) ::close(host);
}

Filetype filetype_of_mode(unsigned mode) {
  switch (mode & S_IFMT) {
    case S_IFBLK:
      return Filetype::BlockDevice;
    case S_IFCHR:
      return Filetype::CharacterDevice;
    case S_IFDIR:
      return Filetype::Directory;
    case S_IFREG:
      return Filetype::RegularFile;
    case S_IFSOCK:
      return Filetype::SocketStream;
    case S_IFLNK:
      return Filetype::SymbolicLink;
    default:
      return Filetype::Unknown;
  }
}

uint32_t Context::Impl::insert(std::unique_ptr<Fd> fd) {
  for (uint32_t i = 0; i < fds.size(); ++i) {
    if (!fds[i]) {
      fds[i] = std::move(fd);
      return i;
    }
  }
  fds.push_back(std::move(fd));
  return static_cast<uint32_t>(fds.size() - 1);
}

namespace {

std::unique_ptr<Fd> stdio_fd(int host, bool is_input) {
  auto fd = std::make_unique<Fd>();
  fd->host = host;
  fd->owns_host = false;
  struct stat st;
  fd->type = fstat(host, &st) == 0 ? filetype_of_mode(st.st_mode) : Filetype::CharacterDevice;
  fd->rights_base = (is_input ? rights::kFdRead : rights::kFdWrite) | rights::kFdFdstatSetFlags |
                    rights::kFdFilestatGet | rights::kPollFdReadwrite | rights::kFdSeek |
                    rights::kFdTell;
  return fd;
}

}  // namespace

Context::Context(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Context::~Context() = default;

Expected<std::unique_ptr<Context>> Context::create(Config config) {
  auto impl = std::make_unique<Impl>();
  // fds 0-2: stdio, from the process or from buffers.
  if (config.stdin_from_buffer) {
    auto fd = std::make_unique<Fd>();
    fd->kind = FdKind::InputBuffer;
    fd->type = Filetype::CharacterDevice;
    fd->rights_base = rights::kFdRead | rights::kPollFdReadwrite | rights::kFdFilestatGet;
    fd->input = std::make_shared<const std::string>(std::move(config.stdin_data));
    impl->fds.push_back(std::move(fd));
  } else {
    impl->fds.push_back(stdio_fd(0, true));
  }
  for (int i = 1; i <= 2; ++i) {
    std::string* capture = i == 1 ? config.stdout_capture : config.stderr_capture;
    if (capture) {
      auto fd = std::make_unique<Fd>();
      fd->kind = FdKind::OutputBuffer;
      fd->type = Filetype::CharacterDevice;
      fd->rights_base = rights::kFdWrite | rights::kPollFdReadwrite | rights::kFdFilestatGet;
      fd->output = capture;
      fd->output_limit = i == 1 ? config.stdout_limit : config.stderr_limit;
      fd->output_overflow_traps = i == 1;
      if (i == 1) fd->overflowed = config.stdout_overflow;
      impl->fds.push_back(std::move(fd));
    } else {
      impl->fds.push_back(stdio_fd(i, false));
    }
  }
  for (const auto& p : config.preopens) {
    int h = ::open(p.host_path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (h < 0)
      return Error{ErrorKind::Usage,
                   "cannot preopen directory " + p.host_path + ": " + std::strerror(errno)};
    auto fd = std::make_unique<Fd>();
    fd->host = h;
    fd->type = Filetype::Directory;
    fd->rights_base = rights::kDir;
    fd->rights_inheriting = rights::kAll;
    fd->preopen_name = p.guest_path.empty() ? p.host_path : p.guest_path;
    fd->is_preopen = true;
    impl->fds.push_back(std::move(fd));
  }
  impl->config = std::move(config);
  return std::unique_ptr<Context>(new Context(std::move(impl)));
}

namespace {
const char kStoreKey = 0;  // Store::context key of the WASI context
}

void Context::attach(Store& store) {
  store.set_context(&kStoreKey, impl_.get());
}

const HostFunctions& Context::shared_functions() {
  static const HostFunctions* fns = [] {
    auto* h = new HostFunctions;
    auto type_of = [](const char* sig) {
      FuncType t;
      for (const char* c = sig; *c; ++c)
        t.params.push_back(*c == 'I' ? ValType::I64 : ValType::I32);
      t.results.push_back(ValType::I32);
      return t;
    };
    using Handler = Errno (*)(Impl&, HostCall&, const GuestMemory&);
    auto add = [&](const char* name, const char* sig, Handler handler) {
      h->add("wasi_snapshot_preview1", name, type_of(sig),
             [handler](HostCall& call) -> Expected<void> {
               auto* ctx = static_cast<Impl*>(call.store().context(&kStoreKey));
               if (!ctx) return host_error("WASI is not configured for this store");
               GuestMemory mem(call.memory());
               call.set_i32(0, handler(*ctx, call, mem));
               if (ctx->pending_trap) {
                 Error e = std::move(*ctx->pending_trap);
                 ctx->pending_trap.reset();
                 return e;
               }
               return {};
             });
    };
#define WASI_FN(name, sig) add(#name, sig, &fn::name);
#define WASI_ALT(name, impl, sig) add(#name, sig, &fn::impl);
#define WASI_ALIAS(name, impl, sig) add(#name, sig, &fn::impl);
#include "wasi/functions.def"
#undef WASI_ALIAS
#undef WASI_ALT
#undef WASI_FN
    h->add("wasi_snapshot_preview1", "proc_exit", FuncType{{ValType::I32}, {}},
           [](HostCall& call) -> Expected<void> { return exit_request(call.i32(0)); });
    return h;
  }();
  return *fns;
}

namespace fn {

namespace {
// Writes a list of strings the way args_get/environ_get define: pointers, then the
// NUL-terminated bytes.
Errno write_strings(const std::vector<std::string>& list, const GuestMemory& mem, uint32_t ptrs,
                    uint32_t buf) {
  uint64_t total = 0;
  for (const auto& s : list) total += s.size() + 1;
  if (!mem.valid(ptrs, 4ull * list.size()) || !mem.valid(buf, total)) return err::kFault;
  uint32_t at = buf;
  for (size_t i = 0; i < list.size(); ++i) {
    mem.store<uint32_t>(ptrs + 4 * static_cast<uint32_t>(i), at);
    mem.write(at, list[i].c_str(), list[i].size() + 1);
    at += static_cast<uint32_t>(list[i].size() + 1);
  }
  return err::kSuccess;
}

Errno write_sizes(const std::vector<std::string>& list, const GuestMemory& mem, uint32_t count_ptr,
                  uint32_t size_ptr) {
  uint32_t total = 0;
  for (const auto& s : list) total += static_cast<uint32_t>(s.size() + 1);
  if (!mem.store<uint32_t>(count_ptr, static_cast<uint32_t>(list.size())) ||
      !mem.store<uint32_t>(size_ptr, total))
    return err::kFault;
  return err::kSuccess;
}

std::optional<clockid_t> host_clock(uint32_t id) {
  switch (id) {
    case 0:
      return CLOCK_REALTIME;
    case 1:
      return CLOCK_MONOTONIC;
    case 2:
      return CLOCK_PROCESS_CPUTIME_ID;
    case 3:
      return CLOCK_THREAD_CPUTIME_ID;
    default:
      return std::nullopt;
  }
}
}  // namespace

Errno args_get(Impl& ctx, HostCall& c, const GuestMemory& mem) {
  return write_strings(ctx.config.args, mem, c.u32(0), c.u32(1));
}
Errno args_sizes_get(Impl& ctx, HostCall& c, const GuestMemory& mem) {
  return write_sizes(ctx.config.args, mem, c.u32(0), c.u32(1));
}
Errno environ_get(Impl& ctx, HostCall& c, const GuestMemory& mem) {
  return write_strings(ctx.config.env, mem, c.u32(0), c.u32(1));
}
Errno environ_sizes_get(Impl& ctx, HostCall& c, const GuestMemory& mem) {
  return write_sizes(ctx.config.env, mem, c.u32(0), c.u32(1));
}

Errno clock_res_get(Impl&, HostCall& c, const GuestMemory& mem) {
  auto id = host_clock(c.u32(0));
  if (!id) return err::kInval;
  timespec ts;
  if (clock_getres(*id, &ts) != 0) return from_host_errno(errno);
  uint64_t ns =
      static_cast<uint64_t>(ts.tv_sec) * 1000000000ull + static_cast<uint64_t>(ts.tv_nsec);
  return mem.store<uint64_t>(c.u32(1), ns) ? err::kSuccess : err::kFault;
}

Errno clock_time_get(Impl&, HostCall& c, const GuestMemory& mem) {
  auto id = host_clock(c.u32(0));
  if (!id) return err::kInval;
  timespec ts;
  if (clock_gettime(*id, &ts) != 0) return from_host_errno(errno);
  uint64_t ns =
      static_cast<uint64_t>(ts.tv_sec) * 1000000000ull + static_cast<uint64_t>(ts.tv_nsec);
  return mem.store<uint64_t>(c.u32(2), ns) ? err::kSuccess : err::kFault;
}

Errno random_get(Impl&, HostCall& c, const GuestMemory& mem) {
  uint32_t buf = c.u32(0), len = c.u32(1);
  if (!mem.valid(buf, len)) return err::kFault;
  uint8_t* p = mem.at(buf);
  size_t done = 0;
  while (done < len) {
    ssize_t n = getrandom(p + done, len - done, 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      return from_host_errno(errno);
    }
    done += static_cast<size_t>(n);
  }
  return err::kSuccess;
}

Errno proc_raise(Impl&, HostCall&, const GuestMemory&) {
  return err::kNosys;
}

Errno sched_yield(Impl& ctx, HostCall&, const GuestMemory&) {
  flush_held_sends(ctx);
  ::sched_yield();
  return err::kSuccess;
}

}  // namespace fn
}  // namespace edgecar::wasi
