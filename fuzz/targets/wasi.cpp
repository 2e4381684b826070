// WASI path handling: arbitrary sequences of path and descriptor calls (open with any
// flags and rights, create, remove, rename, link, symlink with absolute and escaping
// targets, readlink, stat, readdir, read, write, renumber, socket calls on files) from a
// guest whose only preopen is a sandbox directory holding symlinks that point out of it.
// What must hold after every input: nothing outside the sandbox changed (the directory
// beside it still holds one file, with its content, mode and a single link), and no byte
// of a file outside the sandbox ever reached guest memory.
//
// Sockets (WasmEdge's extension) with any address bytes, lengths, families, ports,
// options and pointers, under grants for loopback only (listening on and connecting to
// 127.0.0.1 ports 40000-40099, looking up "localhost"): every call answers an errno,
// and a socket bound or connected is on 127.0.0.1. A guest blocking in accept or recv is
// stopped by the store's interrupt after 100 ms, which ends the input.
#include <fuzzer/FuzzedDataProvider.h>
#include <sys/stat.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "edgecar/edgecar.hpp"
#include "edgecar/wasi.hpp"

using namespace edgecar;
namespace fs = std::filesystem;

namespace {

// What lies outside the sandbox, and what the oracle looks for in guest memory. The
// secret is random per process and the search below is not instrumented, so libFuzzer
// cannot learn the bytes from the comparison and write them into memory itself (with a
// fixed needle it did: an input holding "root:x:0:0" as write data looked like a leak).
std::string random_secret() {
  std::string s = "EDGECAR-FUZZ-SECRET-";
  std::ifstream rnd("/dev/urandom", std::ios::binary);
  for (int i = 0; i < 24; ++i) s += "0123456789abcdef"[static_cast<uint8_t>(rnd.get()) % 16];
  return s;
}
const std::string kSecret = random_secret();

// The first 64 bytes of /etc/passwd (empty if it is shorter): the whole run must appear.
std::string passwd_head() {
  std::ifstream in("/etc/passwd", std::ios::binary);
  std::string s(64, '\0');
  in.read(s.data(), 64);
  return in.gcount() == 64 ? s : std::string();
}
const std::string kPasswdHead = passwd_head();

// Whether needle occurs in [hay, hay + n), compared byte by byte out of libFuzzer's sight
// (no memcmp, no comparison tracing).
__attribute__((no_sanitize("coverage"))) bool contains(const uint8_t* hay, size_t n,
                                                       const std::string& needle) {
  if (needle.empty() || n < needle.size()) return false;
  for (size_t i = 0; i + needle.size() <= n; ++i) {
    size_t k = 0;
    while (k < needle.size() && hay[i + k] == static_cast<uint8_t>(needle[k])) ++k;
    if (k == needle.size()) return true;
  }
  return false;
}
// Guest memory layout: two paths, an iovec, result slots, a data buffer.
constexpr uint32_t kPathA = 0x0000, kPathB = 0x1000, kIov = 0x2000, kOut = 0x3000, kBuf = 0x4000,
                   kBufLen = 0xC000;

struct World {
  fs::path root, sandbox, outside, secret;
  std::shared_ptr<const Module> guest;
};

World& world() {
  static World* w = [] {
    auto* w = new World;
    // On tmpfs when there is one: guests may ask for synchronous writes (O_SYNC,
    // fd_sync), which on a busy disk took 24 s for one input in the first campaign.
    std::string tmpl = access("/dev/shm", W_OK) == 0 ? "/dev/shm/edgecar-fuzz-wasi-XXXXXX"
                                                     : "/tmp/edgecar-fuzz-wasi-XXXXXX";
    w->root = mkdtemp(tmpl.data());
    std::atexit([] {
      std::error_code ec;
      fs::remove_all(world().root, ec);
    });
    w->sandbox = w->root / "sandbox";
    w->outside = w->root / "outside";
    w->secret = w->outside / "secret";
    fs::create_directory(w->outside);
    std::ofstream(w->secret) << kSecret;
    chmod(w->secret.c_str(), 0644);
    auto m = Module::from_file(EDGECAR_FUZZ_WASI_GUEST);
    if (!m) {
      std::fprintf(stderr, "fuzz_wasi: %s\n", m.error().to_string().c_str());
      std::abort();
    }
    w->guest = *m;
    return w;
  }();
  return *w;
}

void fresh_sandbox(const World& w) {
  std::error_code ec;
  fs::remove_all(w.sandbox, ec);
  fs::create_directories(w.sandbox / "a" / "b");
  std::ofstream(w.sandbox / "a" / "b" / "file") << "inside";
  std::ofstream(w.sandbox / "file") << "top";
  fs::create_symlink("..", w.sandbox / "up");
  fs::create_symlink("../outside/secret", w.sandbox / "escape");
  fs::create_symlink("../outside", w.sandbox / "outdir");
  fs::create_symlink(w.secret, w.sandbox / "abs");
  fs::create_symlink("/etc/passwd", w.sandbox / "passwd");
  fs::create_symlink("loop", w.sandbox / "loop");
  fs::create_symlink("a/b", w.sandbox / "ab");
  fs::create_symlink("../../..", w.sandbox / "a" / "b" / "far");
}

void check_outside_untouched(const World& w, const Memory& mem) {
  std::vector<std::string> names;
  for (const auto& e : fs::directory_iterator(w.root)) names.push_back(e.path().filename());
  for (const auto& e : fs::directory_iterator(w.outside))
    names.push_back("outside/" + e.path().filename().string());
  std::sort(names.begin(), names.end());
  if (names != std::vector<std::string>{"outside", "outside/secret", "sandbox"}) {
    std::fprintf(stderr, "fuzz_wasi: the guest changed what is beside its sandbox\n");
    std::abort();
  }
  struct stat st{};
  std::ifstream in(w.secret);
  std::string content((std::istreambuf_iterator<char>(in)), {});
  if (lstat(w.secret.c_str(), &st) != 0 || !S_ISREG(st.st_mode) || (st.st_mode & 07777) != 0644 ||
      st.st_nlink != 1 || content != kSecret) {
    std::fprintf(stderr, "fuzz_wasi: the file outside the sandbox was changed or linked\n");
    std::abort();
  }
  if (contains(mem.data(), mem.size_bytes(), kSecret) ||
      contains(mem.data(), mem.size_bytes(), kPasswdHead)) {
    std::fprintf(stderr, "fuzz_wasi: a file outside the sandbox reached guest memory\n");
    std::abort();
  }
}

// A path from components that matter to resolution, and a few raw bytes.
std::string make_path(FuzzedDataProvider& in) {
  static const char* parts[] = {"",    ".",      "..",  "a",    "b",       "file",   "new",
                                "up",  "escape", "abs", "loop", "outdir",  "secret", "ab",
                                "far", "passwd", "/",   "dir",  "outside", "sandbox"};
  std::string p = in.ConsumeBool() ? "" : "/";
  int n = in.ConsumeIntegralInRange(0, 8);
  for (int i = 0; i < n; i++) {
    if (i) p += '/';
    if (in.ConsumeIntegralInRange(0, 15) == 0) {
      p += in.ConsumeBytesAsString(in.ConsumeIntegralInRange(0, 6));
    } else {
      p += parts[in.ConsumeIntegralInRange<size_t>(0, std::size(parts) - 1)];
    }
  }
  if (in.ConsumeIntegralInRange(0, 7) == 0) p += '/';
  return p.substr(0, 0x0fff);
}

uint32_t put(Memory& mem, uint32_t at, const std::string& s) {
  std::memcpy(mem.data() + at, s.data(), s.size());
  return static_cast<uint32_t>(s.size());
}

uint32_t u32_at(const Memory& mem, uint32_t at) {
  uint32_t v;
  std::memcpy(&v, mem.data() + at, 4);
  return v;
}

// The grant for listening; a build with another (-DEDGECAR_FUZZ_LISTEN=...) checks that
// the loopback oracle below catches a socket bound elsewhere.
#ifndef EDGECAR_FUZZ_LISTEN
#define EDGECAR_FUZZ_LISTEN "127.0.0.1:40000-40099"
#endif

// Writes the guest's {buf, len} address pair at kIov + 64 for the address at kBuf + 0x100:
// 4, 16 or 128 bytes (storage form) from a list that matters to the grants, or raw
// bytes with any length.
uint32_t put_address(FuzzedDataProvider& in, Memory& mem) {
  static const char* v4[] = {"127.0.0.1", "0.0.0.0", "10.0.0.1", "127.0.0.2", "255.255.255.255"};
  static const char* v6[] = {"::1", "::", "::ffff:127.0.0.1", "::ffff:10.0.0.1", "fe80::1"};
  uint8_t bytes[128] = {};
  uint32_t len = 4;
  int kind = in.ConsumeIntegralInRange(0, 4);
  if (kind <= 1) {
    inet_pton(AF_INET, v4[in.ConsumeIntegralInRange<size_t>(0, std::size(v4) - 1)], bytes);
  } else if (kind == 2) {
    inet_pton(AF_INET6, v6[in.ConsumeIntegralInRange<size_t>(0, std::size(v6) - 1)], bytes);
    len = 16;
  } else if (kind == 3) {
    uint16_t family = in.ConsumeIntegralInRange<uint16_t>(0, 3);
    std::memcpy(bytes, &family, 2);
    inet_pton(family == 2 ? AF_INET6 : AF_INET, family == 2 ? "::" : "0.0.0.0", bytes + 2);
    len = 128;
  } else {
    std::string raw = in.ConsumeBytesAsString(in.ConsumeIntegralInRange(0, 128));
    std::memcpy(bytes, raw.data(), raw.size());
    len = in.ConsumeBool() ? static_cast<uint32_t>(raw.size()) : in.ConsumeIntegral<uint32_t>();
  }
  std::memcpy(mem.data() + kBuf + 0x100, bytes, sizeof bytes);
  uint32_t pair[2] = {kBuf + 0x100, len};
  std::memcpy(mem.data() + kIov + 64, pair, sizeof pair);
  return kIov + 64;
}

// A socket bound or connected by the guest is on loopback: its grants allow nothing
// else. `storage` is WasmEdge's 128-byte form (u16 family 1 or 2, then the address).
void check_loopback(const uint8_t* storage) {
  uint16_t family;
  std::memcpy(&family, storage, 2);
  const uint8_t* a = storage + 2;
  bool v4 = family == 1 && a[0] == 127 && a[1] == 0 && a[2] == 0 && a[3] == 1;
  bool v6 = family == 2 && a[15] == 1 && std::all_of(a, a + 15, [](uint8_t b) { return b == 0; });
  if (!v4 && !v6) {
    std::fprintf(stderr, "fuzz_wasi: a socket outside loopback was bound or connected\n");
    std::abort();
  }
}

template <class Call, class I32>
void socket_call(FuzzedDataProvider& in, Memory& mem, std::vector<int32_t>& fds, Call& call,
                 I32& i32) {
  auto fd = [&] {
    int pick = in.ConsumeIntegralInRange(0, 7);
    return pick == 0   ? in.ConsumeIntegral<int32_t>()
           : pick <= 3 ? fds.back()  // most often the newest descriptor
                       : fds[in.ConsumeIntegralInRange<size_t>(0, fds.size() - 1)];
  };
  auto ptr = [&](uint32_t good) {
    return in.ConsumeIntegralInRange(0, 15) ? good : in.ConsumeIntegral<uint32_t>();
  };
  uint32_t port = in.ConsumeIntegralInRange(0, 3)
                      ? 40000 + in.ConsumeIntegralInRange<uint32_t>(0, 99)
                      : in.ConsumeIntegral<uint32_t>();
  uint8_t* storage = mem.data() + kBuf + 0x300;
  uint32_t storage_pair[2] = {kBuf + 0x300, 128};
  switch (in.ConsumeIntegralInRange(0, 10)) {
    case 0:
      if (call("sock_open", {i32(in.ConsumeIntegralInRange(0, 3)),
                             i32(in.ConsumeIntegralInRange(0, 3)), i32(ptr(kOut))}) == 0)
        fds.push_back(static_cast<int32_t>(u32_at(mem, kOut)));
      break;
    case 1:
    case 2: {
      bool bind = in.ConsumeBool();
      int32_t s = fd();
      int32_t e = call(bind ? "sock_bind" : "sock_connect",
                       {i32(s), i32(ptr(put_address(in, mem))), i32(port)});
      if (e != 0) break;
      // Where did it end up? Asked through both address forms.
      std::memset(storage, 0, 128);
      std::memcpy(mem.data() + kIov + 96, storage_pair, sizeof storage_pair);
      if (!bind) {
        if (call("sock_getpeeraddr_v2", {i32(s), i32(kIov + 96), i32(kOut)}) == 0)
          check_loopback(storage);
        break;
      }
      uint32_t pair16[2] = {kBuf + 0x302, 16};
      std::memcpy(mem.data() + kIov + 96, pair16, sizeof pair16);
      if (call("sock_getlocaladdr", {i32(s), i32(kIov + 96), i32(kOut + 8), i32(kOut)}) == 0) {
        uint16_t family = u32_at(mem, kOut + 8) == 4 ? 1 : 2;
        std::memcpy(storage, &family, 2);
        check_loopback(storage);
      }
      break;
    }
    case 3:
      call("sock_listen", {i32(fd()), i32(in.ConsumeIntegral<int32_t>())});
      break;
    case 4:
      if (call("sock_accept2", {i32(fd()), i32(ptr(kOut))}) == 0)
        fds.push_back(static_cast<int32_t>(u32_at(mem, kOut)));
      break;
    case 5: {
      uint32_t iov[2] = {kBuf, in.ConsumeIntegralInRange<uint32_t>(0, 4096)};
      std::memcpy(mem.data() + kIov, iov, sizeof iov);
      call("sock_send_to", {i32(fd()), i32(ptr(kIov)), i32(in.ConsumeIntegralInRange(0, 2)),
                            i32(ptr(put_address(in, mem))), i32(port), i32(0), i32(ptr(kOut))});
      break;
    }
    case 6: {
      uint32_t iov[2] = {kBuf, in.ConsumeIntegralInRange<uint32_t>(0, 4096)};
      std::memcpy(mem.data() + kIov, iov, sizeof iov);
      call("sock_recv_from", {i32(fd()), i32(ptr(kIov)), i32(1), i32(ptr(put_address(in, mem))),
                              i32(in.ConsumeIntegralInRange(0, 3)), i32(ptr(kOut)),
                              i32(ptr(kOut + 4)), i32(ptr(kOut + 8))});
      break;
    }
    case 7: {
      uint32_t size = in.ConsumeBool() ? in.ConsumeIntegralInRange<uint32_t>(0, 80)
                                       : in.ConsumeIntegral<uint32_t>();
      std::memcpy(mem.data() + kOut + 16, &size, 4);
      call("sock_getsockopt",
           {i32(fd()), i32(in.ConsumeIntegralInRange(0, 1)), i32(in.ConsumeIntegralInRange(0, 16)),
            i32(ptr(kBuf)), i32(ptr(kOut + 16))});
      break;
    }
    case 8:
      call("sock_setsockopt",
           {i32(fd()), i32(in.ConsumeIntegralInRange(0, 1)), i32(in.ConsumeIntegralInRange(0, 16)),
            i32(ptr(kBuf)), i32(in.ConsumeIntegralInRange<uint32_t>(0, 80))});
      break;
    case 9: {
      // A result list of two entries (addrinfo, sockaddr, data), chained, at kBuf + 0x800.
      static const char* names[] = {"localhost", "127.0.0.1", "::1", "example.invalid", ""};
      std::string node = in.ConsumeBool()
                             ? names[in.ConsumeIntegralInRange<size_t>(0, std::size(names) - 1)]
                             : in.ConsumeBytesAsString(in.ConsumeIntegralInRange(0, 40));
      uint32_t n = put(mem, kPathB, node);
      uint32_t base = kBuf + 0x800;
      for (uint32_t k = 0; k < 2; ++k) {
        uint32_t ai = base + 64 * k, sa = base + 0x200 + 16 * k, data = base + 0x300 + 32 * k;
        uint32_t next =
            k == 0 ? base + 64 : (in.ConsumeBool() ? 0 : in.ConsumeIntegral<uint32_t>());
        uint32_t data_len = in.ConsumeBool() ? 26 : in.ConsumeIntegral<uint32_t>();
        std::memcpy(mem.data() + ai + 12, &sa, 4);
        std::memcpy(mem.data() + ai + 24, &next, 4);
        std::memcpy(mem.data() + sa + 4, &data_len, 4);
        std::memcpy(mem.data() + sa + 8, &data, 4);
      }
      std::memcpy(mem.data() + kOut, &base, 4);
      std::string hints = in.ConsumeBytesAsString(28);
      hints.resize(28);
      std::memcpy(mem.data() + kIov, hints.data(), 28);
      call("sock_getaddrinfo",
           {i32(ptr(kPathB)), i32(n), i32(kPathA), i32(0), i32(ptr(kIov)), i32(ptr(kOut)),
            i32(in.ConsumeIntegralInRange<uint32_t>(0, 4)), i32(ptr(kOut + 4))});
      break;
    }
    default: {
      // One subscription: on a descriptor (read or write), or a 1 ms clock.
      uint8_t sub[48] = {};
      uint8_t tag = in.ConsumeIntegralInRange<uint8_t>(0, 3);
      sub[8] = tag;
      int32_t f = fd();
      uint64_t timeout = 1000000;
      if (tag == 0) {
        sub[16] = 1;
        std::memcpy(sub + 24, &timeout, 8);
      } else {
        std::memcpy(sub + 16, &f, 4);
      }
      std::memcpy(mem.data() + kBuf + 0x600, sub, sizeof sub);
      call("poll_oneoff", {i32(kBuf + 0x600), i32(kBuf + 0x700), i32(1), i32(kOut)});
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  World& w = world();
  fresh_sandbox(w);
  wasi::Config config;
  config.args = {"fuzz"};
  config.preopens = {{w.sandbox.string(), "/sandbox"}};
  std::string out, err;
  config.stdin_from_buffer = true;
  config.stdout_capture = &out;
  config.stderr_capture = &err;
  config.stdout_limit = config.stderr_limit = 1 << 16;
  config.network.listen.push_back(*wasi::NetRule::parse(EDGECAR_FUZZ_LISTEN));
  config.network.connect.push_back(*wasi::NetRule::parse("127.0.0.1:40000-40099"));
  config.network.lookup.push_back("localhost");
  config.network.max_sockets = 16;
  config.network.log_name = "fuzz";
  auto ctx = wasi::Context::create(config);
  if (!ctx) std::abort();
  Store store;
  (*ctx)->attach(store);
  // Blocking socket calls wait interruptibly: the interrupt ends an input that blocks.
  std::mutex mu;
  std::condition_variable cv;
  bool done = false;
  std::thread watchdog([&] {
    std::unique_lock<std::mutex> lock(mu);
    if (!cv.wait_for(lock, std::chrono::milliseconds(100), [&] { return done; })) store.interrupt();
  });
  struct Join {
    std::mutex& mu;
    std::condition_variable& cv;
    bool& done;
    std::thread& t;
    ~Join() {
      {
        std::lock_guard<std::mutex> lock(mu);
        done = true;
      }
      cv.notify_all();
      t.join();
    }
  } join{mu, cv, done, watchdog};
  auto inst = store.instantiate(w.guest, wasi::Context::shared_functions().imports());
  if (!inst) std::abort();
  Memory& mem = *(*inst)->get_memory("memory");

  FuzzedDataProvider in(data, size);
  std::vector<int32_t> fds = {3, 0, 1, 2, 4, 5};
  auto fd = [&] {
    return in.ConsumeIntegralInRange(0, 7) == 0
               ? in.ConsumeIntegral<int32_t>()
               : fds[in.ConsumeIntegralInRange<size_t>(0, fds.size() - 1)];
  };
  bool interrupted = false;
  auto call = [&](const char* name, std::vector<Value> args) -> int32_t {
    if (interrupted) return -1;
    auto r = store.call(*inst, name, args);
    // Every call returns an errno; none may trap (proc_exit is not called here), except
    // a blocking socket call stopped by the watchdog.
    if (!r && r.error().trap == TrapKind::Interrupted) {
      interrupted = true;
      return -1;
    }
    if (!r) {
      std::fprintf(stderr, "fuzz_wasi: %s trapped: %s\n", name, r.error().to_string().c_str());
      std::abort();
    }
    return (*r)[0].as_i32();
  };
  auto i32 = [](uint32_t v) { return Value::i32(static_cast<int32_t>(v)); };
  auto i64 = [](uint64_t v) { return Value::i64(static_cast<int64_t>(v)); };

  for (int op = 0; op < 48 && in.remaining_bytes() > 0 && !interrupted; op++) {
    uint32_t a = put(mem, kPathA, make_path(in));
    switch (in.ConsumeIntegralInRange(0, 27)) {
      case 0: {
        uint64_t base = in.ConsumeBool() ? ~0ull : in.ConsumeIntegral<uint64_t>();
        call("path_open", {i32(fd()), i32(in.ConsumeIntegralInRange(0, 1)), i32(kPathA), i32(a),
                           i32(in.ConsumeIntegral<uint16_t>() & 0xf), i64(base),
                           i64(in.ConsumeIntegral<uint64_t>()),
                           i32(in.ConsumeIntegral<uint16_t>() & 0x1f), i32(kOut)});
        fds.push_back(static_cast<int32_t>(u32_at(mem, kOut)));
        break;
      }
      case 1:
        call("path_create_directory", {i32(fd()), i32(kPathA), i32(a)});
        break;
      case 2:
        call("path_remove_directory", {i32(fd()), i32(kPathA), i32(a)});
        break;
      case 3:
        call("path_unlink_file", {i32(fd()), i32(kPathA), i32(a)});
        break;
      case 4: {
        uint32_t b = put(mem, kPathB, make_path(in));
        call("path_rename", {i32(fd()), i32(kPathA), i32(a), i32(fd()), i32(kPathB), i32(b)});
        break;
      }
      case 5: {
        uint32_t b = put(mem, kPathB, make_path(in));
        call("path_link", {i32(fd()), i32(in.ConsumeIntegralInRange(0, 1)), i32(kPathA), i32(a),
                           i32(fd()), i32(kPathB), i32(b)});
        break;
      }
      case 6: {
        uint32_t b = put(mem, kPathB, make_path(in));
        call("path_symlink", {i32(kPathA), i32(a), i32(fd()), i32(kPathB), i32(b)});
        break;
      }
      case 7:
        call("path_readlink", {i32(fd()), i32(kPathA), i32(a), i32(kBuf),
                               i32(in.ConsumeIntegralInRange<uint32_t>(0, kBufLen)), i32(kOut)});
        break;
      case 8:
        call("path_filestat_get",
             {i32(fd()), i32(in.ConsumeIntegralInRange(0, 1)), i32(kPathA), i32(a), i32(kOut)});
        break;
      case 9:
        call("path_filestat_set_times",
             {i32(fd()), i32(in.ConsumeIntegralInRange(0, 1)), i32(kPathA), i32(a),
              i64(in.ConsumeIntegral<uint64_t>()), i64(in.ConsumeIntegral<uint64_t>()),
              i32(in.ConsumeIntegral<uint8_t>() & 0xf)});
        break;
      case 10:
        call("fd_readdir",
             {i32(fd()), i32(kBuf), i32(in.ConsumeIntegralInRange<uint32_t>(0, kBufLen)),
              i64(in.ConsumeIntegralInRange<uint64_t>(0, 64)), i32(kOut)});
        break;
      case 11:
      case 12: {
        bool write = in.ConsumeBool();
        uint32_t len =
            write ? put(mem, kBuf, in.ConsumeBytesAsString(in.ConsumeIntegralInRange(0, 4096)))
                  : in.ConsumeIntegralInRange<uint32_t>(0, kBufLen);
        uint32_t iov[2] = {kBuf, len};
        std::memcpy(mem.data() + kIov, iov, sizeof iov);
        call(write ? "fd_write" : "fd_read", {i32(fd()), i32(kIov), i32(1), i32(kOut)});
        break;
      }
      case 13:
        call("fd_seek", {i32(fd()), i64(in.ConsumeIntegralInRange<int64_t>(-100, 1 << 20)),
                         i32(in.ConsumeIntegralInRange(0, 3)), i32(kOut)});
        break;
      case 14:
        call("fd_close", {i32(fd())});
        break;
      case 15:
        call("fd_renumber", {i32(fd()), i32(fd())});
        break;
      case 16:
        call("fd_filestat_get", {i32(fd()), i32(kOut)});
        call("fd_fdstat_get", {i32(fd()), i32(kOut)});
        break;
      case 17:
        call("fd_prestat_get", {i32(fd()), i32(kOut)});
        call("fd_prestat_dir_name",
             {i32(fd()), i32(kBuf), i32(in.ConsumeIntegralInRange<uint32_t>(0, 64))});
        break;
      case 18:  // sizes stay small: the fuzzing host's disk is not what is tested here
        call("fd_filestat_set_size",
             {i32(fd()), i64(in.ConsumeIntegralInRange<uint64_t>(0, 1 << 20))});
        break;
      case 19: {
        bool write = in.ConsumeBool();
        uint32_t iov[2] = {kBuf, in.ConsumeIntegralInRange<uint32_t>(0, 4096)};
        std::memcpy(mem.data() + kIov, iov, sizeof iov);
        call(write ? "fd_pwrite" : "fd_pread",
             {i32(fd()), i32(kIov), i32(1), i64(in.ConsumeIntegralInRange<uint64_t>(0, 1 << 20)),
              i32(kOut)});
        break;
      }
      case 20:
        switch (in.ConsumeIntegralInRange(0, 3)) {
          case 0:
            call("sock_accept", {i32(fd()), i32(0), i32(kOut)});
            break;
          case 1:
            call("sock_recv", {i32(fd()), i32(kIov), i32(1), i32(0), i32(kOut), i32(kOut + 4)});
            break;
          case 2:
            call("sock_send", {i32(fd()), i32(kIov), i32(1), i32(0), i32(kOut)});
            break;
          default:
            call("sock_shutdown", {i32(fd()), i32(in.ConsumeIntegralInRange(0, 3))});
        }
        break;
      default:  // 21-27: a quarter of the calls are socket calls
        socket_call(in, mem, fds, call, i32);
        break;
    }
    check_outside_untouched(w, mem);
  }
  return 0;
}
