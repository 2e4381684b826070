// The store (spec 4.2.3) and calls into guest code: argument checking, the value stack,
// sentinel frames, trap reporting with backtraces.
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstring>

#include "runtime/objects.hpp"
#include "util/limits.hpp"
#include "validate/types.hpp"

namespace edgecar {

namespace {
// Stack mappings released by stores of this thread, reused by the next ones (a service
// creates a store per request; this saves the mmap/munmap pair and its page faults).
struct StackCache {
  std::vector<std::pair<void*, size_t>> free;
  ~StackCache() {
    for (auto [p, n] : free) munmap(p, n);
  }
};
thread_local StackCache t_stacks;
}  // namespace

Store::Impl::Impl(StoreLimits l) : limits(l) {
  stack_slots = limits.value_stack_slots;
  max_frames = limits.max_call_depth + 1;
  call_limit = max_frames;
  mapping_bytes = stack_slots * sizeof(uint64_t) + max_frames * sizeof(Frame);
  for (size_t i = 0; i < t_stacks.free.size(); ++i) {
    if (t_stacks.free[i].second == mapping_bytes) {
      mapping = t_stacks.free[i].first;
      t_stacks.free.erase(t_stacks.free.begin() + static_cast<ptrdiff_t>(i));
      break;
    }
  }
  if (!mapping)
    mapping = mmap(nullptr, mapping_bytes, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (mapping == MAP_FAILED) throw std::bad_alloc();
  stack = static_cast<uint64_t*>(mapping);
  stack_top = stack;
  frames = reinterpret_cast<Frame*>(stack + stack_slots);
}

Store::Impl::~Impl() {
  if (t_stacks.free.size() < limits::kCachedStacks) {
    t_stacks.free.emplace_back(mapping, mapping_bytes);
  } else {
    munmap(mapping, mapping_bytes);
  }
  int fd = wake_fd.load();
  if (fd >= 0) ::close(fd);
}

Store::Store(StoreLimits limits) : impl_(std::make_unique<Impl>(limits)) {
  impl_->owner = this;
}

void Store::set_context(const void* key, void* value) {
  for (auto& [k, v] : impl_->contexts) {
    if (k == key) {
      v = value;
      return;
    }
  }
  impl_->contexts.emplace_back(key, value);
}

void* Store::context(const void* key) const {
  for (const auto& [k, v] : impl_->contexts)
    if (k == key) return v;
  return nullptr;
}

struct HostFunctions::Impl {
  std::vector<std::unique_ptr<FuncInst>> funcs;
  Imports imports;
};

HostFunctions::HostFunctions() : impl_(std::make_unique<Impl>()) {}
HostFunctions::~HostFunctions() = default;
const Imports& HostFunctions::imports() const {
  return impl_->imports;
}

Function* HostFunctions::add(const std::string& module, const std::string& name, FuncType type,
                             HostFunc fn) {
  auto f = std::make_unique<FuncInst>();
  f->owned_type = std::make_unique<FuncType>(std::move(type));
  f->type = f->owned_type.get();
  f->type_id = validate::canonical_func_id(*f->type);
  f->host = std::move(fn);
  f->host_slots =
      static_cast<uint32_t>(std::max(slot_count(f->type->params), slot_count(f->type->results)));
  f->debug_name = module + "." + name;
  Function* out = f.get();
  impl_->funcs.push_back(std::move(f));
  if (impl_->imports.find(module, name))
    impl_->imports.add_alternative(module, name, out);
  else
    impl_->imports.add(module, name, out);
  return out;
}
Store::~Store() = default;
const StoreLimits& Store::limits() const {
  return impl_->limits;
}

void Store::interrupt() {
  impl_->interrupt.store(true, std::memory_order_relaxed);
  impl_->call_limit.store(0, std::memory_order_relaxed);
  int fd = impl_->wake_fd.load(std::memory_order_acquire);
  if (fd >= 0) {
    uint64_t one = 1;
    (void)!::write(fd, &one, sizeof one);
  }
}

void Store::clear_interrupt() {
  impl_->interrupt.store(false, std::memory_order_relaxed);
  impl_->call_limit.store(impl_->max_frames, std::memory_order_relaxed);
  int fd = impl_->wake_fd.load(std::memory_order_acquire);
  if (fd >= 0) {
    uint64_t n;
    (void)!::read(fd, &n, sizeof n);
  }
}

int Store::interrupt_fd() {
  int fd = impl_->wake_fd.load(std::memory_order_acquire);
  if (fd >= 0) return fd;
  int created = eventfd(impl_->interrupt.load() ? 1 : 0, EFD_CLOEXEC | EFD_NONBLOCK);
  int expected = -1;
  if (!impl_->wake_fd.compare_exchange_strong(expected, created, std::memory_order_acq_rel)) {
    ::close(created);
    return expected;
  }
  // An interrupt() racing with creation may have missed the new fd: re-check the flag.
  if (impl_->interrupt.load()) {
    uint64_t one = 1;
    (void)!::write(created, &one, sizeof one);
  }
  return created;
}

namespace {

std::string frame_name(const FuncInst* f) {
  if (!f) return "<host>";
  return f->name();
}

Error trap_error(Store::Impl& S, TrapKind kind) {
  Error e;
  e.kind = ErrorKind::Trap;
  e.trap = kind;
  if ((kind == TrapKind::Host || kind == TrapKind::Exit) && S.host_error) {
    e = std::move(*S.host_error);
    S.host_error.reset();
  } else {
    e.message = std::string(to_string(kind));
  }
  for (FuncInst* f : S.trap_frames) e.backtrace.push_back(frame_name(f));
  S.trap_frames.clear();
  return e;
}

}  // namespace

bool call_host(Store::Impl* S, FuncInst* f, InstanceImpl* caller, uint64_t* slots, TrapKind& trap) {
  if (f->native_slots) return aot::call(S, f, slots, trap);
  HostCall call(*S->owner, caller, slots);
  S->uncaught = nullptr;  // set again if this function throws or passes an exception on
  Expected<void> r = f->host(call);
  if (r) {
    // References a host function returns into the any hierarchy are boxed (runtime/gc.hpp).
    // (No collection meanwhile: the results boxed so far are in slots no map describes.)
    const auto& results = f->type->results;
    S->gc_paused++;
    for (size_t i = 0, at = 0; i < results.size(); at += slot_width(results[i++]))
      if (results[i].is_ref()) slots[at] = S->admit(results[i], slots[at]);
    S->gc_paused--;
    return true;
  }
  Error e = std::move(r).error();
  trap = e.trap.value_or(TrapKind::Host);
  if (trap == TrapKind::UncaughtException && S->uncaught) {
    // Thrown by the host function (HostCall::throw_exception) or by a guest it called:
    // the exception unwinds on into the caller.
    S->trap_frames.clear();
    return false;
  }
  if (trap != TrapKind::Exit && trap != TrapKind::Interrupted) trap = TrapKind::Host;
  e.kind = ErrorKind::Trap;
  e.trap = trap;
  S->host_error = std::move(e);
  S->trap_frames.clear();
  return false;
}

std::optional<TrapKind> call_function(Store::Impl* S, FuncInst* fn, InstanceImpl* caller,
                                      uint64_t* slots) {
  if (!fn->code) {
    if (S->host_nesting > 64) {
      S->trap_frames.clear();
      return TrapKind::CallStackExhausted;
    }
    TrapKind trap;
    S->host_nesting++;
    bool ok = call_host(S, fn, caller, slots, trap);
    S->host_nesting--;
    if (!ok) return trap;
    return std::nullopt;
  }
  // An interpreted function entered from the runtime: by the embedder, a host function
  // (counted above) or native code (tiering alternates interpreted and native frames
  // freely: bounded by the native stack those frames use, not by a count).
  const FuncCode* fc = fn->code;
  char here;
  if (S->depth >= S->max_frames || slots + fc->frame_slots > S->stack + S->stack_slots ||
      reinterpret_cast<uintptr_t>(&here) < S->native_stack_limit) {
    S->trap_frames.assign(1, fn);
    return TrapKind::CallStackExhausted;
  }
  S->frames[S->depth++] = Frame{interp::exit_code(), slots, fn};
  std::memset(slots + fc->num_params, 0, sizeof(uint64_t) * fc->num_locals);
  return interp::run(S, fn, slots, fn->entry);
}

Expected<void> Store::Impl::invoke(FuncInst* fn, uint64_t* slots) {
  std::optional<TrapKind> trap = call_function(this, fn, nullptr, slots);
  if (trap) return trap_error(*this, *trap);
  return {};
}

Expected<std::vector<Value>> Store::call(Function* f, std::span<const Value> args) {
  FuncInst* fn = edgecar::impl(f);
  const FuncType& ft = *fn->type;
  if (args.size() != ft.params.size())
    return Error{ErrorKind::Usage, "function " + fn->name() + " expects " +
                                       std::to_string(ft.params.size()) + " argument(s), got " +
                                       std::to_string(args.size())};
  // Types of the callee's module are canonical here (host functions' are abstract).
  static const std::vector<uint32_t> kNoTypes;
  const std::vector<uint32_t>& ids = fn->inst ? fn->inst->md->type_ids : kNoTypes;
  for (size_t i = 0; i < args.size(); ++i) {
    if (!value_fits(args[i], validate::canonical(ft.params[i], ids)))
      return Error{
          ErrorKind::Usage,
          "argument " + std::to_string(i) + " of " + fn->name() + " must be " +
              to_string(ft.params[i]) + ", got " +
              (args[i].type.is_ref() && args[i].bits == 0 ? "null" : to_string(args[i].type))};
  }
  Impl& S = *impl_;
  S.uncaught = nullptr;
  uint64_t* slots = S.stack_top;
  // A v128 takes two slots (bytes 0-7, then 8-15); every other value one.
  size_t need = std::max(slot_count(ft.params), slot_count(ft.results));
  if (slots + need > S.stack + S.stack_slots) return trap_error(S, TrapKind::CallStackExhausted);
  S.gc_paused++;  // the arguments written so far are above the stack's roots
  for (size_t i = 0, s = 0; i < args.size(); ++i) {
    uint64_t b = args[i].bits;
    if (args[i].type == ValType::I32 || args[i].type == ValType::F32) b &= 0xFFFFFFFFu;
    if (args[i].type.is_ref()) b = S.admit(validate::canonical(ft.params[i], ids), b);
    slots[s++] = b;
    if (args[i].type == ValType::V128) slots[s++] = args[i].hi;
  }
  S.gc_paused--;
  uint64_t* saved_top = S.stack_top;
  auto r = S.invoke(fn, slots);
  S.stack_top = saved_top;
  if (!r) return std::move(r).error();
  std::vector<Value> out;
  out.reserve(ft.results.size());
  for (size_t i = 0, s = 0; i < ft.results.size(); ++i) {
    uint64_t b = slots[s++];
    if (ft.results[i] == ValType::I32 || ft.results[i] == ValType::F32) b &= 0xFFFFFFFFu;
    uint64_t hi = ft.results[i] == ValType::V128 ? slots[s++] : 0;
    ValType t = validate::canonical(ft.results[i], ids);
    out.push_back(Value{t, S.hand_out(t, b), hi});
  }
  return out;
}

Expected<std::vector<Value>> Store::call(Instance* instance, std::string_view name,
                                         std::span<const Value> args) {
  Function* f = instance->get_function(name);
  if (!f) return Error{ErrorKind::Usage, "no exported function \"" + std::string(name) + "\""};
  return call(f, args);
}

Function* Store::create_host_function(FuncType type, HostFunc fn, std::string debug_name) {
  auto f = std::make_unique<FuncInst>();
  f->owned_type = std::make_unique<FuncType>(std::move(type));
  f->type = f->owned_type.get();
  f->type_id = validate::canonical_func_id(*f->type);
  f->host = std::move(fn);
  f->host_slots =
      static_cast<uint32_t>(std::max(slot_count(f->type->params), slot_count(f->type->results)));
  f->debug_name = std::move(debug_name);
  impl_->funcs.push_back(std::move(f));
  return impl_->funcs.back().get();
}

// ---- garbage collection ----
// Roots (docs/gc.md): every interpreter frame's reference slots, by the stack map of the
// point it stopped at (a frame without one, of a module without GC instructions, is read
// whole: a word that is an object's address keeps it); globals, tables, element segments
// and exception payloads; what the embedder was handed. No collection runs while native
// code is on the stack: its frames are not read (the heap may then grow to its limit).
void Store::Impl::gc_collect(const GcSafepoint* at) {
  if (!gc || aot_entry != nullptr || gc_paused) return;
  GcHeap& h = *gc;
  auto frame = [&](const FuncInst* fn, const uint64_t* fp, const Cell* pc) {
    if (!fn || !fn->code || !fn->inst) return;
    const Code& code = fn->inst->md->code;
    auto it = code.stack_maps.find(static_cast<uint32_t>(pc - code.cells.data()));
    if (it == code.stack_maps.end()) {
      h.mark_range(fp, fp + fn->code->frame_slots);
      h.note_whole_frame();
      return;
    }
    for (uint32_t s : it->second) h.mark(fp[s]);
  };
  for (uint32_t d = 0; d < depth; ++d)
    if (frames[d].ret_pc != interp::exit_code())  // not an entry from the host
      frame(frames[d].fn, frames[d].fp, frames[d].ret_pc);
  if (at) frame(at->fn, at->fp, at->pc);
  for (const auto& g : globals)
    if (g->type.is_ref()) h.mark(g->value);
  for (const auto& t : tables) h.mark_range(t->elems.data(), t->elems.data() + t->elems.size());
  auto instance_roots = [&](const InstanceImpl& in) {
    for (const auto& e : in.elems) h.mark_range(e.refs.data(), e.refs.data() + e.refs.size());
  };
  for (const auto& in : instances) instance_roots(*in);
  for (const auto& e : exns) h.mark_range(e->payload.data(), e->payload.data() + e->payload.size());
  for (uint64_t v : pinned) h.mark(v);
  h.sweep();
}

GcObject* Store::Impl::gc_alloc(const GcLayout* l, GcKind kind, uint32_t length,
                                const GcSafepoint* at, bool zero) {
  // GC objects and linear memories share the store's memory budget (max_memory_pages):
  // the heap may hold what the memories leave, and at most max_gc_heap_bytes.
  uint64_t budget = uint64_t{limits.max_memory_pages} * kPageSize, in_memories = 0;
  for (const auto& m : memories) in_memories += m->size;
  GcHeap& h = heap();
  h.set_limit(std::min(limits.max_gc_heap_bytes, budget > in_memories ? budget - in_memories : 0));
  return h.alloc(l, kind, length, [&] { gc_collect(at); }, zero);
}

uint64_t Store::Impl::internalize(uint64_t word, const GcSafepoint* at) {
  // i31s and objects come back as they went out; a host value is boxed.
  if (word == 0 || is_i31(word) || (gc && gc->is_object(word))) return word;
  GcObject* box = gc_alloc(nullptr, GcKind::Extern, 0, at);
  if (!box) return 0;
  box->host() = word;
  return reinterpret_cast<uint64_t>(box);
}

uint64_t Store::Impl::externalize(uint64_t word) {
  if (word == 0 || is_i31(word) || !gc || !gc->is_object(word)) return word;
  auto* o = reinterpret_cast<GcObject*>(word);
  return o->kind == GcKind::Extern ? o->host() : word;
}

Store::GcStats Store::gc_stats() const {
  GcStats s;
  s.limit = impl_->limits.max_gc_heap_bytes;
  if (const GcHeap* h = impl_->gc.get()) {
    s.bytes = h->bytes();
    s.objects = h->objects();
    s.collections = h->collections();
    s.frames_read_whole = h->whole_frames();
  }
  return s;
}

Expected<ValType::Heap> Store::reference_kind(const Value& v) const {
  if (!v.type.is_ref())
    return Error{ErrorKind::Usage, "reference_kind of a " + to_string(v.type) + " value"};
  ValType::Heap top = validate::top_heap(v.type);
  if (v.bits == 0) {
    switch (top) {
      case ValType::Func:
        return ValType::NoFunc;
      case ValType::Extern:
        return ValType::NoExtern;
      case ValType::Exn:
        return ValType::NoExn;
      default:
        return ValType::None;
    }
  }
  if (top != ValType::Any) return top;
  if (is_i31(v.bits)) return ValType::I31;
  const GcHeap* h = impl_->gc.get();
  if (!h || !h->is_object(v.bits)) return ValType::Any;  // a host value
  switch (reinterpret_cast<const GcObject*>(v.bits)->kind) {
    case GcKind::Struct:
      return ValType::Struct;
    case GcKind::Array:
      return ValType::Array;
    default:
      return ValType::Any;
  }
}

uint64_t Store::Impl::admit(ValType t, uint64_t word) {
  if (word == 0 || !t.is_ref() || validate::top_heap(t) != ValType::Any) return word;
  return internalize(word, nullptr);
}

uint64_t Store::Impl::hand_out(ValType t, uint64_t word) {
  if (word == 0 || !t.is_ref()) return word;
  if (validate::top_heap(t) == ValType::Any) word = externalize(word);
  if (gc && gc->is_object(word)) pinned.insert(word);
  return word;
}

Memory* Store::create_memory(Limits limits) {
  return create_memory(limits, nullptr);
}

Memory* Store::create_memory(Limits limits, const detail::MemoryImage* image) {
  auto m = std::make_unique<MemoryInst>();
  if (!m->init(limits, impl_->limits.max_memory_pages, image)) return nullptr;
  m->store = impl_.get();
  impl_->memories.push_back(std::move(m));
  return impl_->memories.back().get();
}

Table* Store::create_table(ValType elem_type, Limits limits) {
  auto t = std::make_unique<TableInst>();
  t->elem = elem_type;
  t->store = impl_.get();
  t->limits = limits;
  uint64_t cap =
      std::min<uint64_t>(limits.max.value_or(0xFFFFFFFFu), impl_->limits.max_table_elements);
  if (limits.min > cap) return nullptr;
  t->max_elems = static_cast<uint32_t>(cap);
  t->elems.assign(limits.min, 0);
  impl_->tables.push_back(std::move(t));
  return impl_->tables.back().get();
}

Global* Store::create_global(Value init, bool is_mutable) {
  auto g = std::make_unique<GlobalInst>();
  g->type = init.type;
  g->mut = is_mutable;
  g->store = impl_.get();
  g->value = impl_->admit(init.type, init.bits);
  g->value_hi = init.hi;
  impl_->globals.push_back(std::move(g));
  return impl_->globals.back().get();
}

Tag* Store::create_tag(FuncType type) {
  if (!type.results.empty()) return nullptr;
  auto t = std::make_unique<TagInst>();
  t->owned_type = std::make_unique<FuncType>(std::move(type));
  t->type = t->owned_type.get();
  t->type_id = validate::canonical_func_id(*t->type);
  t->payload_slots = static_cast<uint32_t>(slot_count(t->type->params));
  impl_->tags.push_back(std::move(t));
  return impl_->tags.back().get();
}

namespace {
const std::vector<uint32_t>& tag_type_ids(const TagInst& t) {
  static const std::vector<uint32_t> kNone;  // host tags' types are abstract
  return t.type_ids ? *t.type_ids : kNone;
}
}  // namespace

Error HostCall::throw_exception(Tag* tag, std::span<const Value> payload) {
  Store::Impl& S = *store_.impl_;
  auto* t = static_cast<TagInst*>(tag);
  if (!t) return host_error("throw_exception: no tag");
  const FuncType& ft = *t->type;
  const std::vector<uint32_t>& ids = tag_type_ids(*t);
  bool fits = payload.size() == ft.params.size();
  for (size_t i = 0; fits && i < payload.size(); ++i)
    fits = value_fits(payload[i], validate::canonical(ft.params[i], ids));
  if (!fits)
    return host_error("throw_exception: the payload does not match the tag's type " +
                      ft.to_string());
  ExnInst* e = S.new_exn(t);
  if (!e) return too_many_exceptions();
  S.gc_paused++;  // the references admitted so far are in no root yet
  for (size_t i = 0; i < payload.size(); ++i) {
    uint64_t b = payload[i].bits;
    if (payload[i].type == ValType::I32 || payload[i].type == ValType::F32) b &= 0xFFFFFFFFu;
    if (payload[i].type.is_ref()) b = S.admit(validate::canonical(ft.params[i], ids), b);
    e->payload.push_back(b);
    if (payload[i].type == ValType::V128) e->payload.push_back(payload[i].hi);
  }
  S.gc_paused--;
  S.uncaught = e;
  Error err{ErrorKind::Trap, std::string(to_string(TrapKind::UncaughtException))};
  err.trap = TrapKind::UncaughtException;
  return err;
}

std::optional<Exception> Store::uncaught_exception() {
  const ExnInst* e = impl_->uncaught;
  if (!e) return std::nullopt;
  Exception x;
  x.tag = e->tag;
  const std::vector<uint32_t>& ids = tag_type_ids(*e->tag);
  const auto& params = e->tag->type->params;
  for (size_t i = 0, s = 0; i < params.size(); ++i) {
    uint64_t b = e->payload[s++];
    uint64_t hi = params[i] == ValType::V128 ? e->payload[s++] : 0;
    ValType t = validate::canonical(params[i], ids);
    x.payload.push_back(Value{t, impl_->hand_out(t, b), hi});
  }
  return x;
}

Memory* HostCall::memory() const {
  return caller_ ? caller_->memory0() : nullptr;
}
float HostCall::f32(size_t i) const {
  return std::bit_cast<float>(static_cast<uint32_t>(slots_[i]));
}
double HostCall::f64(size_t i) const {
  return std::bit_cast<double>(slots_[i]);
}
void HostCall::set_f32(size_t i, float v) {
  slots_[i] = std::bit_cast<uint32_t>(v);
}
void HostCall::set_f64(size_t i, double v) {
  slots_[i] = std::bit_cast<uint64_t>(v);
}

Error host_error(std::string message) {
  Error e{ErrorKind::Trap, std::move(message)};
  e.trap = TrapKind::Host;
  return e;
}

Error exit_request(int32_t code) {
  Error e{ErrorKind::Trap, "exit with code " + std::to_string(code)};
  e.trap = TrapKind::Exit;
  e.exit_code = code;
  return e;
}

}  // namespace edgecar
