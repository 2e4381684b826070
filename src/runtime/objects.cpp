// Function, memory, table, global and instance objects: growth within limits and the
// bounds-checked accessors of the public API.
#include <fcntl.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cxxabi.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <unordered_set>

#include "runtime/objects.hpp"
#include "validate/types.hpp"

namespace edgecar {

// ---- Function ----
const FuncType& Function::type() const {
  return *impl(this)->type;
}
bool Function::is_host() const {
  return impl(this)->code == nullptr && impl(this)->native == nullptr;
}
Instance* Function::instance() const {
  return impl(this)->inst;
}
namespace {
// C++ and (legacy-mangled) Rust symbols from the name section, readable.
std::string demangle(const std::string& name) {
  if (name.rfind("_Z", 0) != 0) return name;
  int status = 0;
  char* out = abi::__cxa_demangle(name.c_str(), nullptr, nullptr, &status);
  if (status != 0 || !out) return name;
  std::string r(out);
  std::free(out);
  return r;
}
}  // namespace

std::string Function::name() const {
  const FuncInst* f = impl(this);
  if (!f->debug_name.empty()) return f->debug_name;
  if (f->inst) {
    const auto& names = f->inst->md->module.func_names;
    auto it = names.find(f->index);
    if (it != names.end()) return demangle(it->second);
  }
  return "func[" + std::to_string(f->index) + "]";
}

// ---- Memory ----
// A memory reserves address space for its largest permitted size once, so its base
// never moves and growth is an mprotect; untouched pages cost nothing.
namespace {
// Linear memories released on this thread, kept mapped for the next instance needing
// the same shape (the same image, or none, and the same reservation): unmapping would
// cost a TLB shootdown across the process's threads on every request (edgecar serve
// creates a store per request), mapping again a page fault per page touched.
struct KeptMemory {
  uint8_t* data;
  uint64_t reserved, committed, high_water;
  const detail::MemoryImage* image;
};
struct MemoryCache {
  std::vector<KeptMemory> kept;
  ~MemoryCache() {
    for (auto& k : kept) munmap(k.data, k.reserved);
  }
};
thread_local MemoryCache t_memories;
thread_local detail::MemoryReuseStats t_reuse;

// Which pages of a memory were written since it was mapped, from the kernel's page
// tables (PAGEMAP_SCAN, Linux 6.7; declared here as the kernel defines it, since
// Debian 12's headers predate it). A written page of the image's private file mapping
// became anonymous, and one of the zero-filled rest is a real page rather than the
// shared zero page (or was swapped out), so "not file-backed, not the zero page, present
// or swapped" is exactly the set to restore. Pages keep their state after a reset (an
// anonymous copy now equal to the image), so the set only grows; a memory whose set
// passes kResetAtMost is dropped instead of kept.
struct PageRegion {
  uint64_t start, end, categories;
};
struct PmScanArg {
  uint64_t size, flags, start, end, walk_end, vec, vec_len, max_pages, category_inverted,
      category_mask, category_anyof_mask, return_mask;
};
constexpr unsigned long kPagemapScan = _IOWR('f', 16, PmScanArg);
constexpr uint64_t kPageIsFile = 1 << 2, kPageIsPresent = 1 << 3, kPageIsSwapped = 1 << 4,
                   kPageIsPfnZero = 1 << 5;
// Enough for every other page of the largest memory kept (kKeepCommittedAtMost).
constexpr size_t kMaxRegions = limits::kKeepCommittedAtMost / 4096 / 2;

int pagemap_fd() {
  static const int fd = [] {
    int f = ::open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
    if (f < 0) return -1;
    PmScanArg probe{};
    probe.size = sizeof probe;  // an empty range: succeeds where the ioctl exists
    if (ioctl(f, kPagemapScan, &probe) < 0) {
      ::close(f);
      return -1;
    }
    return f;
  }();
  return fd;
}

// The written ranges of [data, data + bytes), as offsets; false when the kernel cannot
// tell or there are more ranges than kMaxRegions.
bool written_ranges(uint8_t* data, uint64_t bytes, std::vector<PageRegion>& out) {
  int fd = pagemap_fd();
  if (fd < 0) return false;
  out.resize(kMaxRegions);
  PmScanArg a{};
  a.size = sizeof a;
  a.start = reinterpret_cast<uint64_t>(data);
  a.end = a.start + bytes;
  a.vec = reinterpret_cast<uint64_t>(out.data());
  a.vec_len = out.size();
  a.category_inverted = kPageIsFile | kPageIsPfnZero;
  a.category_mask = kPageIsFile | kPageIsPfnZero;
  a.category_anyof_mask = kPageIsPresent | kPageIsSwapped;
  a.return_mask = kPageIsPresent | kPageIsSwapped;
  long n = ioctl(fd, kPagemapScan, &a);
  if (n < 0 || a.walk_end != a.end) return false;
  out.resize(static_cast<size_t>(n));
  for (auto& r : out) {
    r.start -= a.start;
    r.end -= a.start;
  }
  return true;
}

// Puts a kept memory back to its initial state: the image (or zeros) over what the last
// instance wrote, zeros past it. With the kernel's page scan only written pages are
// restored; without it, everything up to the high-water mark (small images only).
bool reset(const KeptMemory& k, const detail::MemoryImage* image) {
  uint64_t image_size = image ? image->size : 0;
  thread_local std::vector<PageRegion> ranges;
  if (written_ranges(k.data, k.committed, ranges)) {
    uint64_t total = 0;
    for (const auto& r : ranges) total += r.end - r.start;
    if (total > limits::kResetAtMost) return false;
    ++t_reuse.scanned;
    for (const auto& r : ranges) {
      uint64_t from_image = r.start < image_size ? std::min(r.end, image_size) - r.start : 0;
      if (from_image) std::memcpy(k.data + r.start, image->bytes + r.start, from_image);
      if (r.end - r.start > from_image)
        std::memset(k.data + r.start + from_image, 0, r.end - r.start - from_image);
    }
    return true;
  }
  if (std::max(image_size, k.high_water) > limits::kKeepImageAtMost) return false;
  ++t_reuse.copied;
  if (image_size) std::memcpy(k.data, image->bytes, image_size);
  if (k.high_water > image_size) std::memset(k.data + image_size, 0, k.high_water - image_size);
  return true;
}
}  // namespace

MemoryInst::~MemoryInst() {
  if (!data) return;
  // Kept are memories made for an image (which identifies the module) or with none. The
  // reset restores every written byte, so even an entry left by a since-freed image at a
  // reused address would come back exact.
  if (committed <= limits::kKeepCommittedAtMost &&
      (pagemap_fd() >= 0 || std::max(image ? image->size : 0, size) <= limits::kKeepImageAtMost)) {
    auto& kept = t_memories.kept;
    if (kept.size() == limits::kKeptMemories) {  // the least recently kept goes
      munmap(kept.front().data, kept.front().reserved);
      kept.erase(kept.begin());
    }
    kept.push_back(KeptMemory{data, reserved, committed, size, image});
    return;
  }
  munmap(data, reserved);
}

bool MemoryInst::init(Limits l, uint32_t cap_pages, const detail::MemoryImage* image) {
  limits = l;
  uint64_t max = std::min<uint64_t>(l.max.value_or(limits::kMaxPages), cap_pages);
  if (l.min > max) return false;
  max_pages = static_cast<uint32_t>(max);
  reserved = std::max<uint64_t>(max * kPageSize, kPageSize);
  if (image && image->size != l.min * kPageSize) image = nullptr;
  // An image always holds bytes (MemoryImage::build), so it identifies its module.
  auto& kept = t_memories.kept;
  for (size_t i = 0; i < kept.size(); ++i) {
    if (kept[i].image != image || kept[i].reserved != reserved) continue;
    KeptMemory k = kept[i];
    kept.erase(kept.begin() + static_cast<ptrdiff_t>(i));
    if (!reset(k, image)) {
      ++t_reuse.dropped;
      munmap(k.data, k.reserved);
      break;
    }
    data = k.data;
    committed = k.committed;
    size = 0;
    this->image = image;
    if (image) {
      size = image->size;
      return true;
    }
    return grow_pages(static_cast<uint32_t>(l.min)) == 0;
  }
  void* p = mmap(nullptr, reserved, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (p == MAP_FAILED) {
    reserved = 0;
    return false;
  }
  data = static_cast<uint8_t*>(p);
  size = 0;
  if (image && image->size > 0) {
    if (mmap(data, image->size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_FIXED, image->fd, 0) ==
        MAP_FAILED)
      return false;
    size = committed = image->size;
    this->image = image;
    return true;
  }
  return grow_pages(static_cast<uint32_t>(l.min)) == 0;
}

namespace detail {

MemoryReuseStats memory_reuse_stats() {
  return t_reuse;
}

MemoryImage::~MemoryImage() {
  // Kept memories of this thread made from this image must not outlive it: a later
  // image at the same address would otherwise match them.
  auto& kept = t_memories.kept;
  for (size_t i = kept.size(); i-- > 0;) {
    if (kept[i].image == this) {
      munmap(kept[i].data, kept[i].reserved);
      kept.erase(kept.begin() + static_cast<ptrdiff_t>(i));
    }
  }
  if (bytes) munmap(const_cast<uint8_t*>(bytes), size);
  if (fd >= 0) ::close(fd);
}

std::unique_ptr<MemoryImage> MemoryImage::build(const binary::Module& m) {
  // One defined memory only: the image stands for every active segment.
  if (m.memories.size() != 1 || m.num_imported_memories > 0) return nullptr;
  uint64_t size = m.memories[0].limits.min * kPageSize;
  uint64_t data_bytes = 0;
  for (const auto& d : m.datas) {
    if (d.mode != binary::SegmentMode::Active) continue;
    if (d.offset.code.size() != 1 ||
        d.offset.code[0].op != static_cast<uint16_t>(binary::Opcode::I32Const))
      return nullptr;
    uint64_t off = static_cast<uint32_t>(d.offset.code[0].imm);
    if (off + d.bytes.size() > size) return nullptr;  // instantiation will trap: no image
    data_bytes += d.bytes.size();
  }
  if (data_bytes == 0) return nullptr;  // fresh anonymous memory is already lazy
  auto img = std::make_unique<MemoryImage>();
  img->fd = memfd_create("edgecar-memory-image", MFD_CLOEXEC | MFD_ALLOW_SEALING);
  if (img->fd < 0 || ftruncate(img->fd, static_cast<off_t>(size)) != 0) return nullptr;
  for (const auto& d : m.datas) {
    if (d.mode != binary::SegmentMode::Active || d.bytes.empty()) continue;
    uint64_t off = static_cast<uint32_t>(d.offset.code[0].imm);
    size_t done = 0;
    while (done < d.bytes.size()) {
      ssize_t n = pwrite(img->fd, d.bytes.data() + done, d.bytes.size() - done,
                         static_cast<off_t>(off + done));
      if (n <= 0) return nullptr;
      done += static_cast<size_t>(n);
    }
  }
  fcntl(img->fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL);
  void* view = mmap(nullptr, size, PROT_READ, MAP_SHARED, img->fd, 0);
  if (view == MAP_FAILED) return nullptr;
  img->bytes = static_cast<const uint8_t*>(view);
  img->size = size;
  return img;
}

}  // namespace detail

int64_t MemoryInst::grow_pages(uint32_t delta) {
  uint64_t old_pages = size / kPageSize;
  if (delta == 0) return static_cast<int64_t>(old_pages);
  if (old_pages + delta > max_pages) return -1;
  uint64_t new_size = (old_pages + delta) * kPageSize;
  // The store's GC objects count against the same budget as its memories.
  if (store && store->gc &&
      new_size + store->gc->bytes() > uint64_t{store->limits.max_memory_pages} * kPageSize)
    return -1;
  if (new_size > committed) {
    if (mprotect(data + committed, new_size - committed, PROT_READ | PROT_WRITE) != 0) return -1;
    committed = new_size;
  }
  size = new_size;
  return static_cast<int64_t>(old_pages);
}

uint8_t* Memory::data() {
  return impl(this)->data;
}
const uint8_t* Memory::data() const {
  return static_cast<const MemoryInst*>(this)->data;
}
uint64_t Memory::size_bytes() const {
  return static_cast<const MemoryInst*>(this)->size;
}
uint32_t Memory::size_pages() const {
  return static_cast<uint32_t>(size_bytes() / kPageSize);
}
const Limits& Memory::limits() const {
  return static_cast<const MemoryInst*>(this)->limits;
}

Expected<void> Memory::read(uint64_t offset, std::span<uint8_t> out) const {
  if (offset > size_bytes() || out.size() > size_bytes() - offset)
    return Error{ErrorKind::Usage, "memory read out of bounds"};
  if (!out.empty()) std::memcpy(out.data(), data() + offset, out.size());
  return {};
}

Expected<void> Memory::write(uint64_t offset, std::span<const uint8_t> in) {
  if (offset > size_bytes() || in.size() > size_bytes() - offset)
    return Error{ErrorKind::Usage, "memory write out of bounds"};
  if (!in.empty()) std::memcpy(data() + offset, in.data(), in.size());
  return {};
}

std::optional<uint32_t> Memory::grow(uint32_t delta_pages) {
  int64_t r = impl(this)->grow_pages(delta_pages);
  if (r < 0) return std::nullopt;
  return static_cast<uint32_t>(r);
}

// ---- Table ----
int64_t MemoryInst::grow(uint64_t delta) {
  return delta > 0xFFFFFFFFu ? -1 : grow_pages(static_cast<uint32_t>(delta));
}

bool MemoryInst::fill(uint64_t d, uint8_t value, uint64_t n) {
  if (!within(d, n, size)) return false;
  if (n) std::memset(data + d, value, n);
  return true;
}

bool MemoryInst::copy_from(uint64_t d, const MemoryInst& src, uint64_t s, uint64_t n) {
  if (!within(d, n, size) || !within(s, n, src.size)) return false;
  if (n) std::memmove(data + d, src.data + s, n);
  return true;
}

bool MemoryInst::init_from(uint64_t d, std::span<const uint8_t> bytes, uint64_t s, uint64_t n) {
  if (!within(s, n, bytes.size()) || !within(d, n, size)) return false;
  if (n) std::memcpy(data + d, bytes.data() + s, n);
  return true;
}

int64_t TableInst::grow(uint64_t delta, uint64_t init) {
  return delta > 0xFFFFFFFFu ? -1 : grow_elems(static_cast<uint32_t>(delta), init);
}

bool TableInst::fill(uint64_t i, uint64_t value, uint64_t n) {
  if (!within(i, n, elems.size())) return false;
  std::fill_n(elems.begin() + static_cast<ptrdiff_t>(i), n, value);
  return true;
}

bool TableInst::copy_from(uint64_t d, const TableInst& src, uint64_t s, uint64_t n) {
  if (!within(d, n, elems.size()) || !within(s, n, src.elems.size())) return false;
  if (n) std::memmove(elems.data() + d, src.elems.data() + s, n * sizeof(uint64_t));
  return true;
}

bool TableInst::init_from(uint64_t d, std::span<const uint64_t> refs, uint64_t s, uint64_t n) {
  if (!within(s, n, refs.size()) || !within(d, n, elems.size())) return false;
  if (n) std::memcpy(elems.data() + d, refs.data() + s, n * sizeof(uint64_t));
  return true;
}

int64_t TableInst::grow_elems(uint32_t delta, uint64_t init) {
  uint64_t old = elems.size();
  if (old + delta > max_elems) return -1;
  elems.resize(old + delta, init);
  return static_cast<int64_t>(old);
}

bool value_fits(const Value& v, ValType declared) {
  if (!declared.is_ref()) return v.type == declared;
  if (!v.type.is_ref()) return false;
  if (v.bits == 0) return declared.nullable();
  if (declared.is_abstract()) {
    switch (declared.abstract()) {
      case ValType::None:  // the bottom types hold null only
      case ValType::NoFunc:
      case ValType::NoExtern:
      case ValType::NoExn:
        return false;
      default:
        break;
    }
  }
  // A module-relative defined type cannot be resolved here: its hierarchy is not checked.
  auto top = [](ValType t) -> std::optional<ValType::Heap> {
    if (t.is_defined() && !t.is_canonical()) return std::nullopt;
    return validate::top_heap(t);
  };
  auto a = top(v.type), b = top(declared);
  if (a && b && *a != *b) return false;
  // A function where a defined function type is expected: its own type must match, or a
  // call_ref would call it with the wrong signature.
  if (declared.is_canonical() && b == ValType::Func) {
    if (a != ValType::Func) return false;  // only a function of a known hierarchy
    const FuncInst* f = impl(v.as_funcref());
    return validate::is_subtype_id(f->type_id, declared.type_index());
  }
  return true;
}

ValType Table::elem_type() const {
  return static_cast<const TableInst*>(this)->elem;
}
uint32_t Table::size() const {
  return static_cast<uint32_t>(static_cast<const TableInst*>(this)->elems.size());
}
Expected<Value> Table::get(uint32_t index) const {
  const TableInst* t = static_cast<const TableInst*>(this);
  if (index >= t->elems.size()) return Error{ErrorKind::Usage, "table index out of bounds"};
  return Value{t->elem, t->store ? t->store->hand_out(t->elem, t->elems[index]) : t->elems[index]};
}
Expected<void> Table::set(uint32_t index, Value v) {
  TableInst* t = impl(this);
  if (!value_fits(v, t->elem))
    return Error{ErrorKind::Usage, "table element type mismatch: " + to_string(t->elem) +
                                       " cannot hold " + v.to_string()};
  if (index >= t->elems.size()) return Error{ErrorKind::Usage, "table index out of bounds"};
  t->elems[index] = t->store ? t->store->admit(t->elem, v.bits) : v.bits;
  return {};
}

// ---- Global ----
ValType Global::type() const {
  return static_cast<const GlobalInst*>(this)->type;
}
bool Global::is_mutable() const {
  return static_cast<const GlobalInst*>(this)->mut;
}
Value Global::get() const {
  const GlobalInst* g = static_cast<const GlobalInst*>(this);
  return Value{g->type, g->store ? g->store->hand_out(g->type, g->value) : g->value, g->value_hi};
}
Expected<void> Global::set(Value v) {
  GlobalInst* g = impl(this);
  if (!g->mut) return Error{ErrorKind::Usage, "global is immutable"};
  if (!value_fits(v, g->type))
    return Error{ErrorKind::Usage,
                 "global type mismatch: " + to_string(g->type) + " cannot hold " + v.to_string()};
  g->value = g->store ? g->store->admit(g->type, v.bits) : v.bits;
  g->value_hi = v.hi;
  return {};
}

// ---- Instance ----
const Module& Instance::module() const {
  return *impl(this)->module_ref;
}

Extern InstanceImpl::extern_of(const binary::Export& e) const {
  switch (e.kind) {
    case ExternKind::Func:
      return static_cast<Function*>(funcs[e.index]);
    case ExternKind::Table:
      return static_cast<Table*>(tables[e.index]);
    case ExternKind::Memory:
      return static_cast<Memory*>(memories[e.index]);
    case ExternKind::Tag:
      return static_cast<Tag*>(tags[e.index]);
    case ExternKind::Global:
      break;
  }
  return static_cast<Global*>(globals[e.index]);
}

namespace {
// Every word of this thread's stack from this function's frame up to `top` (a higher
// address), the registers the callers kept values in saved into the frame first: a
// conservative scan of native frames. Not instrumented: it reads other frames' redzones.
template <class F>
__attribute__((noinline, no_sanitize_address)) void for_each_stack_word(const void* top, F& f) {
  __builtin_unwind_init();  // callee-saved registers to this frame
  uint64_t here = 0;
  auto end = reinterpret_cast<uintptr_t>(top);
  for (uintptr_t p = reinterpret_cast<uintptr_t>(&here) & ~uintptr_t{7}; p < end; p += 8)
    f(*reinterpret_cast<const volatile uint64_t*>(p));
}
}  // namespace

const FuncType& Tag::type() const {
  return *static_cast<const TagInst*>(this)->type;
}

// At the limit, the exceptions nothing can reach go back to the free list: a conservative
// scan (any value stack slot, exnref global or table element, or payload of a kept
// exception, equal to an exception's address keeps it). Legacy catch blocks keep their
// exception in a hidden slot for rethrow, so a loop of them depends on this. Native frames
// keep values in registers and their own stack slots: while native code is on the stack,
// every word of the thread's stack from here to the outermost native entry counts too.
void Store::Impl::collect_exns() {
  std::unordered_set<const ExnInst*> all;
  for (const auto& e : exns) all.insert(e.get());
  std::unordered_set<const ExnInst*> live;
  std::vector<const ExnInst*> work;
  auto mark = [&](uint64_t v) {
    auto* p = reinterpret_cast<const ExnInst*>(v);
    if (all.count(p) && live.insert(p).second) work.push_back(p);
  };
  for (size_t i = 0; i < stack_slots; ++i) mark(stack[i]);
  // Globals and tables of any reference type: (ref exn) and exnref alike, and marking
  // is by address (a value that is no exception marks nothing).
  for (const auto& g : globals)
    if (g->type.is_ref()) mark(g->value);
  for (const auto& t : tables)
    for (uint64_t v : t->elems) mark(v);
  if (uncaught) mark(reinterpret_cast<uint64_t>(uncaught));
  if (gc) gc->for_each_ref(mark);  // an exnref in a struct field or an array
  for (uint64_t v : pinned) mark(v);
  if (native_stack_top) for_each_stack_word(native_stack_top, mark);
  while (!work.empty()) {
    const ExnInst* e = work.back();
    work.pop_back();
    for (uint64_t v : e->payload) mark(v);
  }
  free_exns.clear();
  for (const auto& e : exns)
    if (!live.count(e.get())) free_exns.push_back(e.get());
}

Error too_many_exceptions() {
  return host_error("too many live exceptions in this store (at most " +
                    std::to_string(limits::kMaxExceptions) + ")");
}

ExnInst* Store::Impl::new_exn(TagInst* tag) {
  ExnInst* e;
  if (free_exns.empty() && exns.size() >= limits::kMaxExceptions) collect_exns();
  if (!free_exns.empty()) {
    e = free_exns.back();
    free_exns.pop_back();
  } else {
    if (exns.size() >= limits::kMaxExceptions) return nullptr;
    exns.push_back(std::make_unique<ExnInst>());
    e = exns.back().get();
  }
  e->tag = tag;
  e->referenced = false;
  e->payload.clear();
  return e;
}

std::optional<Extern> Instance::get_export(std::string_view name) const {
  const InstanceImpl* in = impl(this);
  auto it = in->md->export_index.find(std::string(name));
  if (it == in->md->export_index.end()) return std::nullopt;
  return in->extern_of(in->md->module.exports[it->second]);
}

template <class T>
static T* export_as(const Instance* i, std::string_view name) {
  auto e = i->get_export(name);
  if (!e) return nullptr;
  T* const* p = std::get_if<T*>(&*e);
  return p ? *p : nullptr;
}

Function* Instance::get_function(std::string_view name) const {
  return export_as<Function>(this, name);
}
Memory* Instance::get_memory(std::string_view name) const {
  return export_as<Memory>(this, name);
}
Global* Instance::get_global(std::string_view name) const {
  return export_as<Global>(this, name);
}
Memory* Instance::memory0() const {
  return impl(this)->mem0;
}

std::vector<std::pair<std::string, Extern>> Instance::exports() const {
  std::vector<std::pair<std::string, Extern>> out;
  const InstanceImpl* in = impl(this);
  for (const auto& e : in->md->module.exports) out.emplace_back(e.name, in->extern_of(e));
  return out;
}

// ---- Imports ----
void Imports::add(std::string module, std::string name, Extern ext) {
  map_[{std::move(module), std::move(name)}] = ext;
}

void Imports::add_instance(const std::string& module, Instance& instance) {
  for (auto& [name, ext] : instance.exports()) add(module, name, ext);
}

void Imports::add_all(const Imports& other) {
  for (const auto& [key, ext] : other.map_) map_[key] = ext;
  for (const auto& [key, fns] : other.alternatives_) alternatives_[key] = fns;
}

void Imports::add_alternative(std::string module, std::string name, Function* fn) {
  alternatives_[{std::move(module), std::move(name)}].push_back(fn);
}

std::span<Function* const> Imports::alternatives(std::string_view module,
                                                 std::string_view name) const {
  auto it = alternatives_.find(std::pair<std::string, std::string>(module, name));
  if (it == alternatives_.end()) return {};
  return it->second;
}

const Extern* Imports::find(std::string_view module, std::string_view name) const {
  auto it = map_.find(std::pair<std::string, std::string>(module, name));
  return it == map_.end() ? nullptr : &it->second;
}

}  // namespace edgecar
