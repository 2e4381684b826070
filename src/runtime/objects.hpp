// Runtime objects (spec 4.2): function, table, memory and global instances, module
// instances and the per-store execution state. The public classes of edgecar.hpp are
// the bases; these structs carry the data the interpreter reads directly.
#pragma once

#include <atomic>
#include <memory>
#include <span>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "binary/module.hpp"
#include "edgecar/edgecar.hpp"
#include "runtime/gc.hpp"
#include "runtime/tier.hpp"
#include "util/limits.hpp"
#include "validate/types.hpp"

namespace edgecar {

struct InstanceImpl;

namespace detail {
// The initial contents of a module's own memory 0 (its active data segments applied)
// in a sealed memfd, mapped copy-on-write into every instance: instantiation copies no
// bytes and touches no page the guest does not use. Built when every active segment
// has a constant offset within the initial size; otherwise segments are copied.
struct MemoryImage {
  int fd = -1;
  uint64_t size = 0;               // bytes: the initial memory size
  const uint8_t* bytes = nullptr;  // the same contents, mapped read-only (for resets)
  MemoryImage() = default;
  MemoryImage(const MemoryImage&) = delete;
  MemoryImage& operator=(const MemoryImage&) = delete;
  ~MemoryImage();
  static std::unique_ptr<MemoryImage> build(const binary::Module& m);
};

// Everything derived from a module once: its description, canonical type ids, the
// interpreter's code and the initial memory image.
struct ModuleData {
  binary::Module module;
  std::vector<uint32_t> type_ids;  // canonical id of each type (equal types, equal ids)
  Code code;
  std::unique_ptr<MemoryImage> memory_image;
  std::unordered_map<std::string, uint32_t> export_index;  // name -> position in module.exports
  std::shared_ptr<aot::NativeModule> native;               // set when loaded with Engine::Native
  std::string native_notes;                                // refused artifacts or cache entries
  // Per-function tiering (aot/tierup.cpp), when loaded with it: for each defined
  // function, the calls and loop iterations left before the interpreter next reports it
  // (the TierCount cells count down; shared by every instance), and the compiler's state.
  std::unique_ptr<std::atomic<int32_t>[]> hot;
  std::shared_ptr<aot::TierUp> tier;
  ModuleData() = default;
  ModuleData(const ModuleData&) = delete;
  ModuleData& operator=(const ModuleData&) = delete;
  ~ModuleData();  // stops tiering
};

// What this thread's kept memories did (objects.cpp): for tests that check a reuse
// really happened, and how it was reset.
struct MemoryReuseStats {
  uint64_t scanned = 0;  // reused, the written pages found by the kernel's page scan
  uint64_t copied = 0;   // reused, reset by copying the whole (small) image
  uint64_t dropped = 0;  // found but too much to reset: unmapped instead
};
MemoryReuseStats memory_reuse_stats();

}  // namespace detail

struct FuncInst : Function {
  const FuncType* type = nullptr;
  uint32_t type_id = 0;
  InstanceImpl* inst = nullptr;    // nullptr for host functions
  const FuncCode* code = nullptr;  // wasm functions
  const Cell* entry = nullptr;
  HostFunc host;            // host functions
  uint32_t host_slots = 0;  // host functions: slots for parameters or results (the larger)
  std::unique_ptr<FuncType> owned_type;  // host functions own their type
  uint32_t index = 0;                    // function index in its module
  std::string debug_name;
  // Natively compiled functions (code == nullptr): entries taking native_ctx first, the
  // typed one (`R f(Ctx*, params...)`) and the one on slots (`void s(Ctx*, uint64_t*)`).
  void* native = nullptr;
  void* native_slots = nullptr;
  void* native_ctx = nullptr;
};

struct MemoryInst : Memory {
  uint8_t* data = nullptr;
  uint64_t size = 0;       // bytes, a multiple of the page size
  uint64_t reserved = 0;   // bytes of address space reserved (the cap)
  uint64_t committed = 0;  // bytes accessible (>= size); those past size are zero
  const detail::MemoryImage* image = nullptr;  // where the initial contents came from
  Limits limits;                               // in pages
  uint32_t max_pages = 0;                      // min(declared max, store cap)
  Store::Impl* store = nullptr;  // whose GC heap shares the memory budget (docs/gc.md)
  ~MemoryInst();
  // Reserves the address range for the largest permitted size and commits the initial
  // pages, from `image` (copy-on-write) when given.
  bool init(Limits l, uint32_t cap_pages, const detail::MemoryImage* image = nullptr);
  int64_t grow_pages(uint32_t delta);  // old size in pages or -1

  // The bulk operations with 64-bit operands (an i32 operand zero-extended), as the
  // interpreter's 64-bit handlers and the native tier run them: false when a range is out
  // of bounds (nothing written then). grow: the old size in pages, or -1.
  int64_t grow(uint64_t delta);
  bool fill(uint64_t d, uint8_t value, uint64_t n);
  bool copy_from(uint64_t d, const MemoryInst& src, uint64_t s, uint64_t n);
  bool init_from(uint64_t d, std::span<const uint8_t> bytes, uint64_t s, uint64_t n);
};

struct TableInst : Table {
  ValType elem = ValType::FuncRef;
  Store::Impl* store = nullptr;  // of the embedder's get and set (GC references)
  Limits limits;
  uint32_t max_elems = 0;
  std::vector<uint64_t> elems;  // 0 is the null reference
  int64_t grow_elems(uint32_t delta, uint64_t init);

  // As MemoryInst's bulk operations, for tables.
  int64_t grow(uint64_t delta, uint64_t init);
  bool fill(uint64_t i, uint64_t value, uint64_t n);
  bool copy_from(uint64_t d, const TableInst& src, uint64_t s, uint64_t n);
  bool init_from(uint64_t d, std::span<const uint64_t> refs, uint64_t s, uint64_t n);

  // call_indirect's callee (spec 4.4.8): the function at `index` when it is of canonical
  // type `type_id` or a subtype of it; else nullptr with `trap` set (an index beyond the
  // table, a null element, a function of another type). Both tiers check calls with it.
  FuncInst* callee(uint64_t index, uint32_t type_id, TrapKind& trap) const {
    if (index >= elems.size()) {
      trap = TrapKind::UndefinedElement;
      return nullptr;
    }
    auto* f = reinterpret_cast<FuncInst*>(elems[index]);
    if (!f) {
      trap = TrapKind::UninitializedElement;
      return nullptr;
    }
    if (f->type_id != type_id && !validate::is_subtype_id(f->type_id, type_id)) {
      trap = TrapKind::IndirectCallTypeMismatch;
      return nullptr;
    }
    return f;
  }
};

// The error of a throw when the store holds limits::kMaxExceptions live exceptions
// (Store::Impl::new_exn gave none): a Host trap.
Error too_many_exceptions();

// Whether a value the embedder passes may be stored where `declared` (canonical, or a
// module's own type) is expected: numbers and vectors of that type; references of its
// hierarchy (func, extern, exn, any), null only where null is a value of the type.
bool value_fits(const Value& v, ValType declared);

// Whether [start, start + n) lies within `size` (64-bit operands, no overflow).
inline bool within(uint64_t start, uint64_t n, uint64_t size) {
  return n <= size && start <= size - n;
}

struct GlobalInst : Global {
  uint64_t value = 0;
  uint64_t value_hi = 0;  // v128 globals: bytes 8-15
  ValType type = ValType::I32;
  bool mut = false;
  Store::Impl* store = nullptr;
};

struct ElemInst {
  std::vector<uint64_t> refs;  // emptied by elem.drop
};

// An exception tag: its identity tells exceptions apart (each instance defines its own).
struct TagInst : Tag {
  const FuncType* type = nullptr;                   // the payload: its params
  uint32_t type_id = 0;                             // canonical, for import matching
  uint32_t payload_slots = 0;                       // slots of the payload (a v128 takes two)
  const std::vector<uint32_t>* type_ids = nullptr;  // of the defining module (host tags: none)
  std::unique_ptr<FuncType> owned_type;             // host tags (Store::create_tag)
};

// A thrown exception (exception handling): its tag and payload, in slots. Owned by the
// store; an exnref value is a pointer to one.
struct ExnInst {
  TagInst* tag = nullptr;
  std::vector<uint64_t> payload;
  bool referenced = false;  // an exnref to it was made: it lives as long as the store
};

struct DataInst {
  std::span<const uint8_t> bytes;  // emptied by data.drop
};

struct InstanceImpl : Instance {
  std::shared_ptr<const Module> module_ref;
  const detail::ModuleData* md = nullptr;
  Store* store = nullptr;
  std::vector<FuncInst*> funcs;           // imported, then own_funcs
  std::unique_ptr<FuncInst[]> own_funcs;  // functions this instance defines
  std::vector<TableInst*> tables;
  std::vector<MemoryInst*> memories;
  std::vector<GlobalInst*> globals;
  std::vector<TagInst*> tags;  // imported, then defined
  std::vector<ElemInst> elems;
  std::vector<DataInst> datas;
  MemoryInst* mem0 = nullptr;
  std::shared_ptr<void> native_ctx;         // the native tier's context (aot::Ctx), if native
  size_t tier_installed = 0;                // tiering: functions of TierUp's list installed
  std::vector<const GcLayout*> gc_layouts;  // by type index, made on first use (GC)

  Extern extern_of(const binary::Export& e) const;
};

// Interpreter call frame: where to continue in the caller.
struct Frame {
  const Cell* ret_pc;
  uint64_t* fp;
  FuncInst* fn;
};

// Where a collection starts in the running interpreter frame (garbage collection).
struct GcSafepoint {
  const FuncInst* fn;
  const uint64_t* fp;
  const Cell* pc;
};

struct Store::Impl {
  Store* owner = nullptr;
  StoreLimits limits;
  std::vector<std::pair<const void*, void*>> contexts;
  std::vector<std::unique_ptr<InstanceImpl>> instances;
  std::vector<std::unique_ptr<FuncInst>> funcs;
  std::vector<std::unique_ptr<MemoryInst>> memories;
  std::vector<std::unique_ptr<TableInst>> tables;
  std::vector<std::unique_ptr<GlobalInst>> globals;
  std::vector<std::unique_ptr<TagInst>> tags;
  // Exceptions: those an exnref may reach stay; the others return to `free_exns` once
  // caught, so a guest throwing in a loop reuses a few. At most kMaxExceptions live.
  std::vector<std::unique_ptr<ExnInst>> exns;
  std::vector<ExnInst*> free_exns;
  ExnInst* uncaught = nullptr;  // of the last call that ended in UncaughtException
  ExnInst* new_exn(TagInst* tag);
  void collect_exns();

  // Garbage collection (runtime/gc.hpp, docs/gc.md): the heap, made on first use; values
  // handed to the embedder stay alive with the store.
  std::unique_ptr<GcHeap> gc;
  std::unordered_set<uint64_t> pinned;
  int gc_paused = 0;  // constant expressions: their values are no roots
  GcHeap& heap() {
    if (!gc) gc = std::make_unique<GcHeap>(limits.max_gc_heap_bytes);
    return *gc;
  }
  // An object of the heap, collecting first when due; nullptr beyond the heap's limit.
  // `at`: the running interpreter frame and the allocating instruction, when there is one
  // (the suspended frames are in `frames`).
  GcObject* gc_alloc(const GcLayout* l, GcKind kind, uint32_t length, const GcSafepoint* at,
                     bool zero = true);
  void gc_collect(const GcSafepoint* at);
  // any.convert_extern and extern.convert_any of a non-null word (0 when out of memory).
  uint64_t internalize(uint64_t word, const GcSafepoint* at);
  uint64_t externalize(uint64_t word);
  // A reference of (canonical) type t from the embedder or a host function: in the any
  // hierarchy a host value is boxed (0 when the heap is full). And one handed to the
  // embedder: a box gives its host value back; an object is kept alive with the store.
  uint64_t admit(ValType t, uint64_t word);
  uint64_t hand_out(ValType t, uint64_t word);

  // Execution state, reused by every call (and nested host -> wasm calls).
  // One anonymous mapping holds the value stack and the frame stack; pages are
  // committed only when touched, so a store costs one mmap however deep it may go.
  void* mapping = nullptr;
  size_t mapping_bytes = 0;
  uint64_t* stack = nullptr;
  size_t stack_slots = 0;
  uint64_t* stack_top = nullptr;  // first free slot for a new (nested) entry
  Frame* frames = nullptr;
  uint32_t max_frames = 0;
  uint32_t depth = 0;
  std::atomic<bool> interrupt{false};
  // The depth a wasm call may reach: max_frames, or 0 while an interrupt is pending, so
  // the interpreter's call path notices an interrupt with the depth check it makes anyway.
  std::atomic<uint32_t> call_limit{0};
  std::atomic<int> wake_fd{-1};        // eventfd signalled by interrupt(), created on demand
  std::optional<Error> host_error;     // set when a host function failed
  std::vector<FuncInst*> trap_frames;  // of the last trap, innermost first
  uint32_t host_nesting = 0;
  void* aot_entry = nullptr;               // the innermost native entry (aot::Entry), for traps
  const void* native_stack_top = nullptr;  // the outermost native entry's record (its frame)
  uintptr_t native_stack_limit = 0;        // native code traps below this stack address

  explicit Impl(StoreLimits l);
  ~Impl();
  Expected<void> invoke(FuncInst* fn, uint64_t* args_and_results);
};

inline FuncInst* impl(Function* f) {
  return static_cast<FuncInst*>(f);
}
inline const FuncInst* impl(const Function* f) {
  return static_cast<const FuncInst*>(f);
}
inline MemoryInst* impl(Memory* m) {
  return static_cast<MemoryInst*>(m);
}
inline TableInst* impl(Table* t) {
  return static_cast<TableInst*>(t);
}
inline GlobalInst* impl(Global* g) {
  return static_cast<GlobalInst*>(g);
}
inline InstanceImpl* impl(Instance* i) {
  return static_cast<InstanceImpl*>(i);
}
inline const InstanceImpl* impl(const Instance* i) {
  return static_cast<const InstanceImpl*>(i);
}

using limits::kPageSize;

}  // namespace edgecar
