// WASI path handling: arbitrary sequences of path and descriptor calls (open with any
// flags and rights, create, remove, rename, link, symlink with absolute and escaping
// targets, readlink, stat, readdir, read, write, renumber, socket calls on files) from a
// guest whose only preopen is a sandbox directory holding symlinks that point out of it.
// What must hold after every input: nothing outside the sandbox changed (the directory
// beside it still holds one file, with its content, mode and a single link), and no byte
// of a file outside the sandbox ever reached guest memory.
#include <fuzzer/FuzzedDataProvider.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
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
  auto ctx = wasi::Context::create(config);
  if (!ctx) std::abort();
  Store store;
  (*ctx)->attach(store);
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
  auto call = [&](const char* name, std::vector<Value> args) {
    auto r = store.call(*inst, name, args);
    // Every call returns an errno; none may trap (proc_exit is not called here).
    if (!r) {
      std::fprintf(stderr, "fuzz_wasi: %s trapped: %s\n", name, r.error().to_string().c_str());
      std::abort();
    }
  };
  auto i32 = [](uint32_t v) { return Value::i32(static_cast<int32_t>(v)); };
  auto i64 = [](uint64_t v) { return Value::i64(static_cast<int64_t>(v)); };

  for (int op = 0; op < 48 && in.remaining_bytes() > 0; op++) {
    uint32_t a = put(mem, kPathA, make_path(in));
    switch (in.ConsumeIntegralInRange(0, 20)) {
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
    }
    check_outside_untouched(w, mem);
  }
  return 0;
}
