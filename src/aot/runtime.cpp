// The native tier at run time: binding instances to their native code, entering native
// code from the runtime (traps unwind to the entry with siglongjmp: native frames hold
// nothing the host must release), and the runtime functions generated code calls.
#include <pthread.h>

#include <algorithm>
#include <cstring>

#include "aot/aot.hpp"
#include "validate/types.hpp"

namespace edgecar::aot {

const Layout& layout() {
  static const Layout L = [] {
    Layout l{};
    auto off = [](const auto& obj, const auto& field) {
      return static_cast<uint32_t>(reinterpret_cast<const char*>(&field) -
                                   reinterpret_cast<const char*>(&obj));
    };
    MemoryInst m;
    l.mem_data = off(m, m.data);
    l.mem_size = off(m, m.size);
    GlobalInst g;
    l.global_value = off(g, g.value);
    l.global_value_hi = off(g, g.value_hi);
    FuncInst f;
    l.func_type_id = off(f, f.type_id);
    l.func_native = off(f, f.native);
    l.func_native_ctx = off(f, f.native_ctx);
    l.frame_size = sizeof(Frame);
    l.frame_fn = offsetof(Frame, fn);
    l.entry_size = sizeof(Entry);
    l.entry_buf = offsetof(Entry, buf);
    return l;
  }();
  return L;
}

namespace {

// Headroom kept below native frames for host functions called from deep native code
// (and for the trap path itself).
constexpr uintptr_t kHostStackReserve = 256 * 1024;

// The lowest address native code may use on this thread's stack.
uintptr_t thread_stack_limit() {
  thread_local uintptr_t limit = [] {
    pthread_attr_t attr;
    void* addr = nullptr;
    size_t size = 0;
    if (pthread_getattr_np(pthread_self(), &attr) == 0) {
      pthread_attr_getstack(&attr, &addr, &size);
      pthread_attr_destroy(&attr);
    }
    uintptr_t lo = reinterpret_cast<uintptr_t>(addr);
    if (size <= 2 * kHostStackReserve) return lo + size / 2;
    return lo + kHostStackReserve;
  }();
  return limit;
}

// Unwinds to the innermost native entry. The backtrace gets the native frames above it,
// after those of a callee that trapped (`clear` false: an interpreted callee's frames).
[[noreturn]] void unwind(Store::Impl* S, TrapKind kind, bool clear) {
  auto* e = static_cast<Entry*>(S->aot_entry);
  while (e->handler) e = e->prev;  // handlers (try_table, try) take exceptions only
  if (clear) S->trap_frames.clear();
  for (uint32_t d = S->depth; d-- > e->depth;) S->trap_frames.push_back(S->frames[d].fn);
  e->trap = kind;
  siglongjmp(e->buf, 1);
}

// Throws an exception in native code: the innermost try_table handler takes it (frames
// above it are dropped); with none before the native entry, the call ends with
// UncaughtException and the exception pending for the caller (an interpreted caller's
// handlers may take it, as one a host function threw).
[[noreturn]] void throw_exn(Store::Impl* S, ExnInst* exn) {
  auto* e = static_cast<Entry*>(S->aot_entry);
  if (e->handler) {
    S->aot_entry = e->prev;
    S->depth = e->depth;
    e->exn = exn;
    siglongjmp(e->buf, 1);
  }
  S->uncaught = exn;
  unwind(S, TrapKind::UncaughtException, true);
}

}  // namespace

std::shared_ptr<Ctx> make_ctx(InstanceImpl& inst, Store::Impl& S) {
  auto ctx = std::make_shared<Ctx>();
  ctx->mem0 = inst.memories.empty() ? nullptr : inst.memories[0];
  ctx->mems = inst.memories.data();
  ctx->globals = inst.globals.data();
  ctx->funcs = inst.funcs.data();
  ctx->store = &S;
  ctx->depth = &S.depth;
  ctx->call_limit = &S.call_limit;
  ctx->frames = S.frames;
  ctx->stack_limit = &S.native_stack_limit;
  ctx->interrupt = &S.interrupt;
  ctx->inst = &inst;
  ctx->aot_entry = &S.aot_entry;
  return ctx;
}

void bind(InstanceImpl& inst, Store::Impl& S) {
  const NativeModule& nm = *inst.md->native;
  std::shared_ptr<Ctx> ctx = make_ctx(inst, S);
  for (size_t i = 0; i < nm.entries.size(); ++i) {
    FuncInst& f = inst.own_funcs[i];
    f.code = nullptr;
    f.entry = nullptr;
    f.native = nm.entries[i];
    f.native_slots = nm.slot_entries[i];
    f.native_ctx = ctx.get();
    f.host_slots =
        static_cast<uint32_t>(std::max(slot_count(f.type->params), slot_count(f.type->results)));
  }
  inst.native_ctx = std::move(ctx);
}

bool call(Store::Impl* S, FuncInst* f, uint64_t* slots, TrapKind& trap) {
  return enter(S, f->native_slots, f->native_ctx, slots, trap, kNoLoop);
}

bool enter(Store::Impl* S, void* fn, void* ctx, uint64_t* slots, TrapKind& trap, uint32_t loop) {
  Entry e;
  e.handler = false;
  e.prev = static_cast<Entry*>(S->aot_entry);
  e.depth = S->depth;
  uintptr_t saved_limit = S->native_stack_limit;
  if (!e.prev) {
    S->native_stack_limit = thread_stack_limit();
    S->native_stack_top = &e;
  }
  S->aot_entry = &e;
  auto leave = [&] {
    S->aot_entry = e.prev;
    S->native_stack_limit = saved_limit;
    if (!e.prev) S->native_stack_top = nullptr;
  };
  if (sigsetjmp(e.buf, 0) == 0) {
    if (loop == kNoLoop) {
      reinterpret_cast<void (*)(void*, uint64_t*)>(fn)(ctx, slots);
    } else {
      reinterpret_cast<void (*)(void*, uint64_t*, uint32_t)>(fn)(ctx, slots, loop);
    }
    leave();
    return true;
  }
  leave();
  S->depth = e.depth;
  trap = e.trap;
  return false;
}

namespace {
[[noreturn]] void trap(Ctx* c, TrapKind k) {
  unwind(c->store, k, true);
}
}  // namespace

// Defined in the namespace they are declared in (aot.hpp, from runtime_functions.def): a
// definition whose signature drifts from its row is a second C function of the same name,
// which does not compile.
extern "C" {

void edgecar_aot_trap(Ctx* c, uint32_t kind) {
  trap(c, static_cast<TrapKind>(kind));
}

void edgecar_aot_call_limit(Ctx* c) {
  trap(c, c->interrupt->load(std::memory_order_relaxed) ? TrapKind::Interrupted
                                                        : TrapKind::CallStackExhausted);
}

void edgecar_aot_call(Ctx* c, FuncInst* f, uint64_t* slots) {
  if (f->native_slots) {
    // Another instance's native code: its traps unwind to our entry directly.
    reinterpret_cast<void (*)(void*, uint64_t*)>(f->native_slots)(f->native_ctx, slots);
    return;
  }
  edgecar::Store::Impl* S = c->store;
  std::optional<TrapKind> t;
  {
    // Host and interpreted functions through the runtime, on the store's value stack
    // (an interpreted callee's frame lives there).
    size_t n =
        std::max(edgecar::slot_count(f->type->params), edgecar::slot_count(f->type->results));
    uint64_t* vs = S->stack_top;
    if (vs + n > S->stack + S->stack_slots) trap(c, TrapKind::CallStackExhausted);
    std::memcpy(vs, slots, n * sizeof(uint64_t));
    S->stack_top = vs + n;
    t = edgecar::call_function(S, f, c->inst, vs);
    S->stack_top = vs;
    if (!t) std::memcpy(slots, vs, n * sizeof(uint64_t));
  }
  if (t && *t == TrapKind::UncaughtException && S->uncaught) {
    edgecar::ExnInst* exn = S->uncaught;  // thrown by the callee: our handlers may take it
    S->uncaught = nullptr;
    edgecar::aot::throw_exn(S, exn);
  }
  if (t) edgecar::aot::unwind(S, *t, false);
}

FuncInst* edgecar_aot_indirect(Ctx* c, uint32_t table, uint32_t index, uint32_t type) {
  TrapKind k;
  FuncInst* f = c->inst->tables[table]->callee(index, c->inst->md->type_ids[type], k);
  if (!f) trap(c, k);
  return f;
}

uint64_t edgecar_aot_memory_grow(Ctx* c, uint32_t k, uint64_t delta) {
  return static_cast<uint64_t>(c->mems[k]->grow(delta));
}

void edgecar_aot_memory_init(Ctx* c, uint32_t k, uint32_t seg, uint64_t d, uint64_t s, uint64_t n) {
  if (!c->mems[k]->init_from(d, c->inst->datas[seg].bytes, s, n))
    trap(c, TrapKind::MemoryOutOfBounds);
}

void edgecar_aot_data_drop(Ctx* c, uint32_t seg) {
  c->inst->datas[seg].bytes = {};
}

void edgecar_aot_memory_copy(Ctx* c, uint32_t dk, uint32_t sk, uint64_t d, uint64_t s, uint64_t n) {
  if (!c->mems[dk]->copy_from(d, *c->mems[sk], s, n)) trap(c, TrapKind::MemoryOutOfBounds);
}

void edgecar_aot_memory_fill(Ctx* c, uint32_t k, uint64_t d, uint64_t v, uint64_t n) {
  if (!c->mems[k]->fill(d, static_cast<uint8_t>(v), n)) trap(c, TrapKind::MemoryOutOfBounds);
}

uint64_t edgecar_aot_table_get(Ctx* c, uint32_t t, uint64_t i) {
  auto* tab = c->inst->tables[t];
  if (i >= tab->elems.size()) trap(c, TrapKind::TableOutOfBounds);
  return tab->elems[i];
}

void edgecar_aot_table_set(Ctx* c, uint32_t t, uint64_t i, uint64_t v) {
  auto* tab = c->inst->tables[t];
  if (i >= tab->elems.size()) trap(c, TrapKind::TableOutOfBounds);
  tab->elems[i] = v;
}

uint64_t edgecar_aot_table_size(Ctx* c, uint32_t t) {
  return c->inst->tables[t]->elems.size();
}

uint64_t edgecar_aot_table_grow(Ctx* c, uint32_t t, uint64_t init, uint64_t n) {
  return static_cast<uint64_t>(c->inst->tables[t]->grow(n, init));
}

void edgecar_aot_table_fill(Ctx* c, uint32_t t, uint64_t i, uint64_t v, uint64_t n) {
  if (!c->inst->tables[t]->fill(i, v, n)) trap(c, TrapKind::TableOutOfBounds);
}

void edgecar_aot_table_copy(Ctx* c, uint32_t dt, uint32_t st, uint64_t d, uint64_t s, uint64_t n) {
  if (!c->inst->tables[dt]->copy_from(d, *c->inst->tables[st], s, n))
    trap(c, TrapKind::TableOutOfBounds);
}

void edgecar_aot_table_init(Ctx* c, uint32_t t, uint32_t e, uint64_t d, uint64_t s, uint64_t n) {
  if (!c->inst->tables[t]->init_from(d, c->inst->elems[e].refs, s, n))
    trap(c, TrapKind::TableOutOfBounds);
}

void edgecar_aot_elem_drop(Ctx* c, uint32_t e) {
  c->inst->elems[e].refs = {};
}

void edgecar_aot_try(Ctx* c, edgecar::aot::Entry* h) {
  edgecar::Store::Impl* S = c->store;
  h->prev = static_cast<edgecar::aot::Entry*>(S->aot_entry);
  h->depth = S->depth;
  h->handler = true;
  h->exn = nullptr;
  S->aot_entry = h;
}

edgecar::ExnInst* edgecar_aot_caught(edgecar::aot::Entry* h) {
  return h->exn;
}

void edgecar_aot_throw(Ctx* c, uint32_t tag, const uint64_t* payload) {
  edgecar::Store::Impl* S = c->store;
  edgecar::TagInst* t = c->inst->tags[tag];
  edgecar::ExnInst* e = S->new_exn(t);
  if (!e) {
    S->host_error = edgecar::too_many_exceptions();
    trap(c, TrapKind::Host);
  }
  e->payload.assign(payload, payload + t->payload_slots);
  edgecar::aot::throw_exn(S, e);
}

void edgecar_aot_throw_ref(Ctx* c, edgecar::ExnInst* e) {
  if (!e) trap(c, TrapKind::NullExceptionReference);
  edgecar::aot::throw_exn(c->store, e);
}

uint32_t edgecar_aot_exn_is(Ctx* c, edgecar::ExnInst* e, uint32_t tag) {
  return e->tag == c->inst->tags[tag];
}

const uint64_t* edgecar_aot_exn_payload(edgecar::ExnInst* e) {
  return e->payload.data();
}

void edgecar_aot_exn_keep(edgecar::ExnInst* e) {
  e->referenced = true;
}

void edgecar_aot_exn_release(Ctx* c, edgecar::ExnInst* e) {
  if (!e->referenced) c->store->free_exns.push_back(e);  // nothing can reach it any more
}
}  // extern "C"

}  // namespace edgecar::aot
