// Native code on disk: `edgecar compile` artifacts and the cache (docs/aot.md,
// "Artifacts and the cache"). A file is untrusted input: its header (magic, format, the
// edgecar build, the target CPU, the module's SHA-256, the object's size and SHA-256) is
// checked whole before the object is handed to the linker; a file that fails any check is
// refused with the reason, and the module is compiled (or stays interpreted) instead.
#include <dirent.h>
#include <fcntl.h>
#include <link.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "aot/aot.hpp"

namespace edgecar::aot {

namespace {

using Hash = std::array<uint8_t, 32>;

constexpr char kMagic[12] = "EDGECAR-AOT";
constexpr uint32_t kFormat = 2;  // 2: the object is a bundle of objects (aot.hpp)
constexpr size_t kHeaderSize = 12 + 4 + 4 + 32 * 3 + 8 + 32;
constexpr uint64_t kMaxObject = 1ull << 30;      // larger claims are refused unread
constexpr uint64_t kCacheBudget = 512ull << 20;  // the cache keeps its newest entries within
constexpr time_t kStaleTemporary = 600;          // seconds: a write's temporary file is gone
// Native compilation of a larger module is refused (about a minute and 1.5 GB of LLVM at
// 16,000 instructions a second); such a module stays interpreted.
constexpr uint64_t kMaxInstructions = 1'000'000;

Hash sha256(const void* data, size_t n) {
  Hash h{};
  unsigned len = 0;
  if (EVP_Digest(data, n, h.data(), &len, EVP_sha256(), nullptr) != 1 || len != h.size())
    std::abort();  // libcrypto without SHA-256: not a usable build
  return h;
}
Hash sha256(const std::string& s) {
  return sha256(s.data(), s.size());
}
std::string hex(const Hash& h) {
  static const char* d = "0123456789abcdef";
  std::string s;
  for (uint8_t b : h) {
    s += d[b >> 4];
    s += d[b & 15];
  }
  return s;
}

// This edgecar build: the executable's GNU build-id (the runtime is linked in statically,
// so a rebuild changes it), or a hash of the executable when it has none.
int find_build_id(dl_phdr_info* info, size_t, void* out) {
  auto* id = static_cast<std::string*>(out);
  for (int i = 0; i < info->dlpi_phnum; ++i) {
    const ElfW(Phdr)& ph = info->dlpi_phdr[i];
    if (ph.p_type != PT_NOTE) continue;
    const char* p = reinterpret_cast<const char*>(info->dlpi_addr + ph.p_vaddr);
    const char* end = p + ph.p_memsz;
    while (p + sizeof(ElfW(Nhdr)) <= end) {
      auto* n = reinterpret_cast<const ElfW(Nhdr)*>(p);
      const char* name = p + sizeof(ElfW(Nhdr));
      const char* desc = name + ((n->n_namesz + 3) & ~3u);
      if (n->n_type == NT_GNU_BUILD_ID && n->n_namesz == 4 && std::memcmp(name, "GNU", 4) == 0) {
        id->assign(desc, n->n_descsz);
        return 1;
      }
      p = desc + ((n->n_descsz + 3) & ~3u);
    }
  }
  return 1;  // only the first object: the executable
}

const Hash& build_hash() {
  static const Hash h = [] {
    std::string id;
    dl_iterate_phdr(find_build_id, &id);
    if (id.empty()) {
      int fd = ::open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
      char buf[1 << 16];
      ssize_t n;
      while (fd >= 0 && (n = ::read(fd, buf, sizeof buf)) > 0)
        id.append(buf, static_cast<size_t>(n));
      if (fd >= 0) ::close(fd);
    }
    return sha256("edgecar " EDGECAR_VERSION " " + id);
  }();
  return h;
}

const Hash& target_hash() {
  static const Hash h = sha256(target_description());
  return h;
}

void put(std::string& out, const void* p, size_t n) {
  out.append(static_cast<const char*>(p), n);
}

// What a file holds (the header's kind field): a whole module's code (an artifact or a
// cache entry), or one batch of per-function tiering (the cache's tier-* folders).
enum class Kind : uint32_t { Module = 0, TierBatch = 1 };

std::string header(const Hash& module, const std::vector<char>& object, Kind kind = Kind::Module) {
  std::string h;
  put(h, kMagic, sizeof kMagic);
  put(h, &kFormat, 4);
  put(h, &kind, 4);
  put(h, build_hash().data(), 32);
  put(h, target_hash().data(), 32);
  put(h, module.data(), 32);
  uint64_t size = object.size();
  put(h, &size, 8);
  put(h, sha256(object.data(), object.size()).data(), 32);
  return h;
}

// Reads and checks a file; the object, or why it is refused.
Expected<std::vector<char>> read_checked(const std::string& path, const Hash& module,
                                         Kind kind = Kind::Module) {
  auto refuse = [&](const std::string& why) {
    return Error{ErrorKind::Invalid, path + " refused: " + why};
  };
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0 && errno == ENOENT) return Error{ErrorKind::Io, ""};  // none: not worth a note
  if (fd < 0) return refuse(std::strerror(errno));
  struct stat st{};
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    return refuse("not a regular file");
  }
  std::string head(kHeaderSize, '\0');
  ssize_t got = ::pread(fd, head.data(), kHeaderSize, 0);
  auto field = [&](size_t at) { return reinterpret_cast<const uint8_t*>(head.data()) + at; };
  Error bad{};
  bool ok = false;
  if (got != static_cast<ssize_t>(kHeaderSize) || std::memcmp(head.data(), kMagic, 12) != 0) {
    bad = refuse("not an edgecar native-code artifact (no header)");
  } else if (uint32_t f; std::memcpy(&f, field(12), 4), f != kFormat) {
    bad = refuse("artifact format " + std::to_string(f) + ", this edgecar reads " +
                 std::to_string(kFormat));
  } else if (uint32_t k; std::memcpy(&k, field(16), 4), k != static_cast<uint32_t>(kind)) {
    bad = refuse(kind == Kind::Module ? "a per-function tiering cache entry, not a module's code"
                                      : "a module's code, not a per-function tiering entry");
  } else if (std::memcmp(field(20), build_hash().data(), 32) != 0) {
    bad = refuse("made by another edgecar build (stale: recompile with this one)");
  } else if (std::memcmp(field(52), target_hash().data(), 32) != 0) {
    bad = refuse("compiled for another CPU or target (" + target_description() + " here)");
  } else if (std::memcmp(field(84), module.data(), 32) != 0) {
    bad = refuse("compiled from another module (its SHA-256 differs from this module's)");
  } else {
    ok = true;
  }
  if (!ok) {
    ::close(fd);
    return bad;
  }
  uint64_t size;
  std::memcpy(&size, field(116), 8);
  if (size > kMaxObject || static_cast<uint64_t>(st.st_size) != kHeaderSize + size) {
    ::close(fd);
    return refuse("truncated or padded (header says " + std::to_string(size) +
                  " bytes of code, the file has " +
                  std::to_string(st.st_size - static_cast<off_t>(kHeaderSize)) + ")");
  }
  std::vector<char> object(size);
  size_t done = 0;
  while (done < size) {
    ssize_t n =
        ::pread(fd, object.data() + done, size - done, static_cast<off_t>(kHeaderSize + done));
    if (n <= 0) break;
    done += static_cast<size_t>(n);
  }
  ::close(fd);
  if (done != size) return refuse("truncated while reading");
  if (std::memcmp(field(124), sha256(object.data(), size).data(), 32) != 0)
    return refuse("its code does not match the hash in its header (corrupt or tampered with)");
  return object;
}

// Writes atomically (a temporary file renamed into place): readers never see half a file.
Expected<void> write_file(const std::string& path, const std::string& head,
                          const std::vector<char>& object) {
  std::string tmp = path + ".tmp." + std::to_string(getpid());
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
  if (fd < 0) return Error{ErrorKind::Io, "cannot write " + tmp + ": " + std::strerror(errno)};
  bool ok = ::write(fd, head.data(), head.size()) == static_cast<ssize_t>(head.size()) &&
            ::write(fd, object.data(), object.size()) == static_cast<ssize_t>(object.size());
  ok = ::close(fd) == 0 && ok;
  if (!ok || ::rename(tmp.c_str(), path.c_str()) != 0) {
    int e = errno;
    ::unlink(tmp.c_str());
    return Error{ErrorKind::Io, "cannot write " + path + ": " + std::strerror(e)};
  }
  return {};
}

// Keeps the cache within its budget: the least recently written entries go first (whole
// modules' code at the top, per-function tiering batches in a folder per module).
void trim_cache(const std::string& dir) {
  std::vector<std::pair<time_t, std::pair<std::string, uint64_t>>> entries;
  uint64_t total = 0;
  auto scan = [&](const std::string& folder, const char* ext, bool descend, auto& self) -> void {
    DIR* d = ::opendir(folder.c_str());
    if (!d) return;
    while (dirent* e = ::readdir(d)) {
      std::string name = e->d_name, path = folder + "/" + name;
      if (descend && name.rfind("tier-", 0) == 0) {
        self(path, ".tier", false, self);
        continue;
      }
      struct stat st{};
      // A temporary file of a write cut short (a process that ended while its compiler
      // thread stored a batch) is removed once it is old enough not to be in progress.
      if (name.find(".tmp.") != std::string::npos) {
        if (::stat(path.c_str(), &st) == 0 && st.st_mtime + kStaleTemporary < ::time(nullptr))
          ::unlink(path.c_str());
        continue;
      }
      size_t n = std::strlen(ext);
      if (name.size() <= n || name.compare(name.size() - n, n, ext) != 0) continue;
      if (::stat(path.c_str(), &st) != 0) continue;
      entries.push_back({st.st_mtime, {path, static_cast<uint64_t>(st.st_size)}});
      total += static_cast<uint64_t>(st.st_size);
    }
    ::closedir(d);
  };
  scan(dir, ".aot", true, scan);
  std::sort(entries.begin(), entries.end());
  for (const auto& [t, f] : entries) {
    if (total <= kCacheBudget) break;
    if (::unlink(f.first.c_str()) == 0) total -= f.second;
  }
}

bool make_dirs(const std::string& dir) {
  for (size_t i = 1; i <= dir.size(); ++i) {
    if (i == dir.size() || dir[i] == '/') {
      std::string part = dir.substr(0, i);
      if (::mkdir(part.c_str(), 0700) != 0 && errno != EEXIST) return false;
    }
  }
  return true;
}

}  // namespace

Expected<std::shared_ptr<NativeModule>> compile(const binary::Module& module,
                                                const NativeRequest& req) {
  Hash mod = sha256(req.bytes.data(), req.bytes.size());
  if (req.hash_out) *req.hash_out = mod;
  std::string notes;
  auto note = [&](const std::string& s) { notes += (notes.empty() ? "" : "; ") + s; };
  auto from_file = [&](const std::string& path, const char* what) -> std::shared_ptr<NativeModule> {
    auto object = read_checked(path, mod);
    if (!object) {
      if (!object.error().message.empty()) note(object.error().message);
      return nullptr;
    }
    auto nm = link_object(module, std::move(*object));
    if (!nm) {
      note(path + " refused: " + nm.error().message);
      return nullptr;
    }
    (*nm)->origin = std::string(what) + " " + path;
    return *nm;
  };
  std::string cache_entry;
  if (!req.cache_dir.empty()) {
    Hash key = sha256(hex(build_hash()) + hex(target_hash()) + hex(mod));
    cache_entry = req.cache_dir + "/" + hex(key) + ".aot";
  }
  std::shared_ptr<NativeModule> nm;
  if (!req.artifact.empty()) nm = from_file(req.artifact, "artifact");
  if (!nm && !cache_entry.empty()) nm = from_file(cache_entry, "cache entry");
  if (!nm && req.compile) {
    // Compilation costs time and memory roughly in proportion to the code: bounded.
    uint64_t instructions = 0;
    for (const auto& b : module.bodies) instructions += b.code.size();
    uint64_t limit = kMaxInstructions;
    if (const char* e = std::getenv("EDGECAR_AOT_MAX_INSTRUCTIONS"); e && *e)
      limit = std::strtoull(e, nullptr, 10);
    if (instructions > limit)
      return Error{ErrorKind::Unsupported,
                   "the module is too large to compile natively: " + std::to_string(instructions) +
                       " instructions, the limit is " + std::to_string(limit) +
                       " (EDGECAR_AOT_MAX_INSTRUCTIONS)"};
    auto object = emit_object(module, req.threads);
    if (!object) return std::move(object).error();
    auto linked = link_object(module, std::move(*object));
    if (!linked) return std::move(linked).error();
    nm = *linked;
    nm->origin = "compiled";
    if (!cache_entry.empty()) {
      Expected<void> w =
          make_dirs(req.cache_dir)
              ? write_file(cache_entry, header(mod, nm->object), nm->object)
              : Expected<void>(Error{ErrorKind::Io, "cannot create " + req.cache_dir});
      if (w) {
        trim_cache(req.cache_dir);
      } else {
        note("not cached: " + w.error().message);
      }
    }
  }
  if (req.notes) *req.notes = notes;
  if (nm) {
    nm->module_hash = mod;
    nm->notes = notes;
  }
  return nm;
}

std::array<uint8_t, 32> module_hash(std::span<const uint8_t> bytes) {
  return sha256(bytes.data(), bytes.size());
}

Expected<void> save(const NativeModule& nm, const std::string& path) {
  return write_file(path, header(nm.module_hash, nm.object), nm.object);
}

// Per-function tiering's batches in the cache: <cache>/tier-KEY/BATCH.tier, KEY naming
// this edgecar build, the CPU and the module, BATCH the pipeline and the functions. The
// payload (after the usual header) is a manifest, then the bundle of objects:
// u32 level, u32 functions, u32 on-stack replacement entries, their indices (defined
// functions), per entry u32 loops and the loops' instruction indices; then the bundle.
std::string tier_cache_folder(const std::string& cache_dir, const std::array<uint8_t, 32>& module) {
  return cache_dir + "/tier-" + hex(sha256(hex(build_hash()) + hex(target_hash()) + hex(module)));
}

namespace {
void put32(std::vector<char>& out, uint32_t v) {
  out.insert(out.end(), reinterpret_cast<const char*>(&v), reinterpret_cast<const char*>(&v) + 4);
}
}  // namespace

Expected<std::string> save_tier_batch(const std::string& cache_dir,
                                      const std::array<uint8_t, 32>& module, const TierBatch& b) {
  std::string folder = tier_cache_folder(cache_dir, module);
  if (!make_dirs(folder)) return Error{ErrorKind::Io, "cannot create " + folder};
  std::vector<char> payload;
  put32(payload, static_cast<uint32_t>(b.level));
  put32(payload, static_cast<uint32_t>(b.funcs.size()));
  put32(payload, static_cast<uint32_t>(b.osr.size()));
  for (uint32_t f : b.funcs) put32(payload, f);
  for (uint32_t f : b.osr) put32(payload, f);
  for (const auto& loops : b.loops) {
    put32(payload, static_cast<uint32_t>(loops.size()));
    for (uint32_t l : loops) put32(payload, l);
  }
  std::string name(payload.begin(), payload.begin() + 12 +
                                        4 * static_cast<ptrdiff_t>(b.funcs.size() + b.osr.size()));
  payload.insert(payload.end(), b.bundle.begin(), b.bundle.end());
  std::string path = folder + "/" + hex(sha256(name)) + ".tier";
  auto w = write_file(path, header(module, payload, Kind::TierBatch), payload);
  if (!w) return std::move(w).error();
  trim_cache(cache_dir);
  return path;
}

std::vector<TierBatch> load_tier_batches(const std::string& cache_dir,
                                         const std::array<uint8_t, 32>& module,
                                         uint32_t defined_funcs, std::string& notes) {
  std::vector<TierBatch> out;
  std::string folder = tier_cache_folder(cache_dir, module);
  DIR* d = ::opendir(folder.c_str());
  if (!d) return out;
  std::vector<std::string> names;
  while (dirent* e = ::readdir(d)) {
    std::string name = e->d_name;
    if (name.size() > 5 && name.compare(name.size() - 5, 5, ".tier") == 0) names.push_back(name);
  }
  ::closedir(d);
  std::sort(names.begin(), names.end());
  for (const std::string& name : names) {
    std::string path = folder + "/" + name;
    auto payload = read_checked(path, module, Kind::TierBatch);
    auto refuse = [&](const std::string& why) { notes += (notes.empty() ? "" : "; ") + why; };
    if (!payload) {
      if (!payload.error().message.empty()) refuse(payload.error().message);
      continue;
    }
    const std::vector<char>& p = *payload;
    size_t at = 0;
    bool ok = true;
    auto get = [&]() -> uint32_t {
      uint32_t v = 0;
      if (at + 4 > p.size()) {
        ok = false;
        return 0;
      }
      std::memcpy(&v, p.data() + at, 4);
      at += 4;
      return v;
    };
    TierBatch b;
    uint32_t level = get(), nf = get(), no = get();
    ok = ok && level <= static_cast<uint32_t>(Opt::O2) && nf <= defined_funcs &&
         no <= defined_funcs && 12 + 4 * (size_t{nf} + no) <= p.size();
    b.level = static_cast<Opt>(level);
    for (uint32_t i = 0; ok && i < nf; ++i) b.funcs.push_back(get());
    for (uint32_t i = 0; ok && i < no; ++i) b.osr.push_back(get());
    for (uint32_t i = 0; ok && i < no; ++i) {
      uint32_t n = get();
      ok = ok && n <= (p.size() - at) / 4;
      std::vector<uint32_t> loops;
      for (uint32_t k = 0; ok && k < n; ++k) loops.push_back(get());
      b.loops.push_back(std::move(loops));
    }
    for (uint32_t f : b.funcs) ok = ok && f < defined_funcs;
    for (uint32_t f : b.osr) ok = ok && f < defined_funcs;
    if (!ok) {
      refuse(path + " refused: a malformed manifest");
      continue;
    }
    b.bundle.assign(p.begin() + static_cast<ptrdiff_t>(at), p.end());
    b.path = path;
    out.push_back(std::move(b));
  }
  return out;
}

}  // namespace edgecar::aot

namespace edgecar::aot {
const std::string& origin(const NativeModule& native) {
  return native.origin;
}
}  // namespace edgecar::aot
