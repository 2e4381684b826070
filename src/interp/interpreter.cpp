// The dispatch loop. Direct threading with computed goto: every handler ends by jumping
// straight to the next handler, whose address is a 32-bit offset stored in the code.
// Operands are frame slots named by the code; the loop keeps pc, fp and the current
// memory's base and size in locals. Wasm-to-wasm calls push a Frame and stay in this
// loop (no host recursion), so deep guest recursion ends in a trap, not a crash.
#include <algorithm>
#include <cstring>

#include "interp/gc.hpp"
#include "interp/interpreter.hpp"
#include "interp/numeric.hpp"
#include "interp/simd.hpp"
#include "validate/types.hpp"

namespace edgecar::interp {

namespace {
Cell g_exit_code[1];

// An i32 operand, zero-extended.
uint64_t zext32(uint64_t v) {
  return static_cast<uint32_t>(v);
}
}  // namespace

const Cell* exit_code() {
  return g_exit_code;
}

std::optional<TrapKind> run(Store::Impl* S, FuncInst* cur, uint64_t* fp, const Cell* pc) {
  return run_loop(S, cur, fp, pc, nullptr);
}

#define LIKELY(x) __builtin_expect(!!(x), 1)
#define UNLIKELY(x) __builtin_expect(!!(x), 0)

// Runs from the frame the caller set up until its sentinel frame returns.
// Returns std::nullopt on success. Aligned to a cache line: the loop's speed depends on
// where its handlers fall within 64-byte lines (docs/interpreter.md); with the default
// 16-byte alignment that moved with whatever the linker put before it, and linking in the
// native tier made fannkuch 2.2x and quicksort 2x slower with identical object code.
__attribute__((aligned(64))) std::optional<TrapKind> run_loop(Store::Impl* S, FuncInst* cur,
                                                              uint64_t* fp, const Cell* pc,
                                                              const Cell** table_out) {
  static const int32_t kTable[] = {
#define HANDLER(name) \
  static_cast<int32_t>(static_cast<char*>(&&L_##name) - static_cast<char*>(&&L_Exit)),
#include "interp/handlers.def"
#undef HANDLER
  };
  if (table_out) {
    *table_out = reinterpret_cast<const Cell*>(kTable);
    return std::nullopt;
  }

#define NEXT() goto*(static_cast<char*>(&&L_Exit) + static_cast<int32_t>(*pc))
#define TRAP(kind)         \
  do {                     \
    trap = TrapKind::kind; \
    goto trap_exit;        \
  } while (0)
#define CHECK_INTERRUPT() \
  if (UNLIKELY(S->interrupt.load(std::memory_order_relaxed))) TRAP(Interrupted)

  InstanceImpl* inst = cur->inst;
  ExnInst* exn = nullptr;  // the exception being unwound
  uint8_t* mem = nullptr;
  uint64_t memsize = 0;
  TrapKind trap = TrapKind::Unreachable;
  // A trap in native code called from here: S->trap_frames already names its native
  // frames (the backtrace goes on with ours); `replaced`: the native code took over this
  // very frame (on-stack replacement), which it names itself.
  bool native_frames = false, replaced = false;
  const uint32_t entry_depth = S->depth - 1;  // the sentinel frame pushed by the caller
  Frame* const frames = S->frames;
  const uint32_t max_depth = S->max_frames;
  uint64_t* const stack_end = S->stack + S->stack_slots;

#define LOAD_MEMORY()              \
  do {                             \
    MemoryInst* m0 = inst->mem0;   \
    mem = m0 ? m0->data : nullptr; \
    memsize = m0 ? m0->size : 0;   \
  } while (0)

  LOAD_MEMORY();

#define U32(i) static_cast<uint32_t>(fp[pc[i]])
#define I32(i) static_cast<int32_t>(static_cast<uint32_t>(fp[pc[i]]))
#define U64(i) (fp[pc[i]])
#define I64(i) static_cast<int64_t>(fp[pc[i]])
#define F32(i) f32_of(static_cast<uint32_t>(fp[pc[i]]))
#define F64(i) f64_of(fp[pc[i]])
#define OUT_U32(v) fp[pc[1]] = static_cast<uint32_t>(v)
#define OUT_U64(v) fp[pc[1]] = static_cast<uint64_t>(v)
#define OUT_F32(v) fp[pc[1]] = bits_of(static_cast<float>(v))
#define OUT_F64(v) fp[pc[1]] = bits_of(static_cast<double>(v))
#define BIN(name, stmt) \
  L_##name : {          \
    stmt;               \
    pc += 4;            \
    NEXT();             \
  }
#define UN(name, stmt) \
  L_##name : {         \
    stmt;              \
    pc += 3;           \
    NEXT();            \
  }

  NEXT();

L_Exit:
  return std::nullopt;

L_Unreachable:
  TRAP(Unreachable);

L_Jump:
  pc = pc + 1 + static_cast<int32_t>(pc[1]);
  NEXT();
L_JumpLoop:
  CHECK_INTERRUPT();
  pc = pc + 1 + static_cast<int32_t>(pc[1]);
  NEXT();
L_JumpIf:
  if (U32(1)) {
    pc = pc + 2 + static_cast<int32_t>(pc[2]);
  } else {
    pc += 3;
  }
  NEXT();
L_JumpIfLoop:
  if (U32(1)) {
    CHECK_INTERRUPT();
    pc = pc + 2 + static_cast<int32_t>(pc[2]);
  } else {
    pc += 3;
  }
  NEXT();
L_JumpIfNot:
  if (!U32(1)) {
    pc = pc + 2 + static_cast<int32_t>(pc[2]);
  } else {
    pc += 3;
  }
  NEXT();
L_JumpIfNotLoop:  // br_if to a loop fused with eqz: a back-edge like JumpIfLoop
  if (!U32(1)) {
    CHECK_INTERRUPT();
    pc = pc + 2 + static_cast<int32_t>(pc[2]);
  } else {
    pc += 3;
  }
  NEXT();
L_BrTable: {
  uint32_t i = U32(1);
  uint32_t last = pc[2];
  if (i > last) i = last;
  const Cell* c = pc + 3 + i;
  pc = c + static_cast<int32_t>(*c);
  CHECK_INTERRUPT();
  NEXT();
}
L_Copy:
  fp[pc[1]] = fp[pc[2]];
  pc += 3;
  NEXT();
L_CopyN: {
  uint64_t* d = fp + pc[1];
  const uint64_t* s = fp + pc[2];
  for (uint32_t i = 0, n = pc[3]; i < n; ++i) d[i] = s[i];  // d < s: ascending is safe
  pc += 4;
  NEXT();
}

#define RETURN_TO_CALLER()                \
  do {                                    \
    const Frame& fr = frames[--S->depth]; \
    pc = fr.ret_pc;                       \
    fp = fr.fp;                           \
    cur = fr.fn;                          \
    inst = cur->inst;                     \
    LOAD_MEMORY();                        \
    NEXT();                               \
  } while (0)

// Per-function tiering (aot/tierup.cpp): the function's counter, shared by every
// instance of the module; at zero the tier is told (it queues the function for the
// compiler, installs native code ready for this instance and sets the counter again).
// At a loop header the tier may hand back an on-stack replacement entry: the rest of this
// call runs natively from the loop (locals read from this frame, results written to its
// first slots), then this frame returns as usual.
L_TierCount: {
  std::atomic<int32_t>& left = inst->md->hot[pc[1]];
  int32_t n = left.load(std::memory_order_relaxed) - 1;
  left.store(n, std::memory_order_relaxed);
  if (UNLIKELY(n <= 0)) {
    if (void* osr = aot::tier_tick(inst, pc[1], pc[2])) {
      uint64_t* saved_top = S->stack_top;
      S->stack_top = fp + inst->md->code.funcs[pc[1]].frame_slots;
      TrapKind native_trap;
      bool ok = aot::enter(S, osr, inst->native_ctx.get(), fp, native_trap, pc[2]);
      S->stack_top = saved_top;
      if (UNLIKELY(!ok)) {
        if (native_trap == TrapKind::UncaughtException && S->uncaught != nullptr) {
          exn = S->uncaught;  // the search goes on at the caller's call
          S->uncaught = nullptr;
          goto unwind_caller;
        }
        trap = native_trap;
        native_frames = replaced = true;
        goto trap_exit;
      }
      RETURN_TO_CALLER();
    }
  }
  pc += 3;
  NEXT();
}
L_Return0:
  RETURN_TO_CALLER();
L_Return1:
  fp[0] = fp[pc[1]];
  RETURN_TO_CALLER();
L_ReturnN: {
  const uint64_t* s = fp + pc[1];
  for (uint32_t i = 0, n = pc[2]; i < n; ++i) fp[i] = s[i];
  RETURN_TO_CALLER();
}

// A host function called from the guest: a frame for backtraces, the operand stack's top
// past its argument and result slots. An exception it throws (or passes on from a guest
// it called) unwinds from the call: handlers around it may take it; after a tail call,
// from the caller's call.
#define HOST_CALL(callee, args, ret, tail)                                      \
  do {                                                                          \
    if (UNLIKELY(S->depth >= max_depth)) TRAP(CallStackExhausted);              \
    frames[S->depth++] = Frame{(ret), fp, cur};                                 \
    uint64_t* saved_top = S->stack_top;                                         \
    S->stack_top = (args) + (callee)->host_slots;                               \
    TrapKind host_trap;                                                         \
    bool ok = call_host(S, (callee), inst, (args), host_trap);                  \
    S->stack_top = saved_top;                                                   \
    S->depth--;                                                                 \
    if (UNLIKELY(!ok)) {                                                        \
      if (host_trap == TrapKind::UncaughtException && S->uncaught != nullptr) { \
        exn = S->uncaught;                                                      \
        S->uncaught = nullptr;                                                  \
        if (tail) goto unwind_caller;                                           \
        pc = (ret) - 1; /* within the call instruction */                       \
        goto unwind;                                                            \
      }                                                                         \
      trap = host_trap;                                                         \
      native_frames = (callee)->native_slots != nullptr;                        \
      goto trap_exit;                                                           \
    }                                                                           \
  } while (0)

// call_indirect's callee ([op][type][table][...], the index in cell idx_cell), or a trap.
#define INDIRECT_CALLEE(f, idx_cell)                                                      \
  TrapKind callee_trap;                                                                   \
  FuncInst* f =                                                                           \
      inst->tables[pc[2]]->callee(U32(idx_cell), inst->md->type_ids[pc[1]], callee_trap); \
  if (UNLIKELY(f == nullptr)) {                                                           \
    trap = callee_trap;                                                                   \
    goto trap_exit;                                                                       \
  }

// Entering a compiled callee whose frame starts at `base`: the depth and stack checks
// (call_limit is 0 while an interrupt is pending: a recursion needs no loop to run for
// ages, so calls notice interrupts too, at the cost of this one check), then its locals
// zeroed and its code.
#define CHECK_FRAME(fc, base)                                               \
  if (UNLIKELY(S->depth >= S->call_limit.load(std::memory_order_relaxed) || \
               (base) + (fc)->frame_slots > stack_end)) {                   \
    if (S->interrupt.load(std::memory_order_relaxed)) TRAP(Interrupted);    \
    TRAP(CallStackExhausted);                                               \
  }
#define ENTER(callee, fc)                                                     \
  std::memset(fp + (fc)->num_params, 0, sizeof(uint64_t) * (fc)->num_locals); \
  pc = (callee)->entry;                                                       \
  cur = (callee);                                                             \
  if ((callee)->inst != inst) {                                               \
    inst = (callee)->inst;                                                    \
    LOAD_MEMORY();                                                            \
  }                                                                           \
  NEXT()

#define DO_CALL(f_expr, args_expr, ret_expr)    \
  do {                                          \
    FuncInst* callee = (f_expr);                \
    uint64_t* args = (args_expr);               \
    const Cell* ret = (ret_expr);               \
    if (LIKELY(callee->code != nullptr)) {      \
      const FuncCode* fc = callee->code;        \
      CHECK_FRAME(fc, args);                    \
      frames[S->depth++] = Frame{ret, fp, cur}; \
      fp = args;                                \
      ENTER(callee, fc);                        \
    }                                           \
    HOST_CALL(callee, args, ret, false);        \
    LOAD_MEMORY();                              \
    pc = ret;                                   \
    NEXT();                                     \
  } while (0)

L_Call:
  DO_CALL(inst->funcs[pc[1]], fp + pc[2], pc + 3);
L_CallIndirect: {
  INDIRECT_CALLEE(f, 4);
  DO_CALL(f, fp + pc[3], pc + 5);
}

// A tail call (return_call, return_call_indirect): the callee takes over this frame. Its
// arguments move down to fp; the caller's caller is where it returns, so a chain of tail
// calls runs in constant stack. A host callee is called as usual and its results are
// this function's.
#define DO_TAIL_CALL(f_expr, args_expr)                                                      \
  do {                                                                                       \
    FuncInst* callee = (f_expr);                                                             \
    uint64_t* args = (args_expr);                                                            \
    if (LIKELY(callee->code != nullptr)) {                                                   \
      const FuncCode* fc = callee->code;                                                     \
      CHECK_FRAME(fc, fp);                                                                   \
      for (uint32_t i = 0, n = fc->num_params; i < n; ++i) fp[i] = args[i];                  \
      ENTER(callee, fc);                                                                     \
    }                                                                                        \
    HOST_CALL(callee, args, pc, true);                                                       \
    for (uint32_t i = 0, n = slot_count(callee->type->results); i < n; ++i) fp[i] = args[i]; \
    RETURN_TO_CALLER();                                                                      \
  } while (0)

L_ReturnCall:
  DO_TAIL_CALL(inst->funcs[pc[1]], fp + pc[2]);
L_ReturnCallIndirect: {
  INDIRECT_CALLEE(f, 4);
  DO_TAIL_CALL(f, fp + pc[3]);
}
L_CallRef: {
  FuncInst* f = reinterpret_cast<FuncInst*>(fp[pc[2]]);
  if (UNLIKELY(f == nullptr)) TRAP(NullFunctionReference);
  DO_CALL(f, fp + pc[1], pc + 3);
}
L_ReturnCallRef: {
  FuncInst* f = reinterpret_cast<FuncInst*>(fp[pc[2]]);
  if (UNLIKELY(f == nullptr)) TRAP(NullFunctionReference);
  DO_TAIL_CALL(f, fp + pc[1]);
}
L_JumpIfNull:
  if (fp[pc[1]] == 0) {
    pc = pc + 2 + static_cast<int32_t>(pc[2]);
  } else {
    pc += 3;
  }
  NEXT();
L_JumpIfNonNull:
  if (fp[pc[1]] != 0) {
    pc = pc + 2 + static_cast<int32_t>(pc[2]);
  } else {
    pc += 3;
  }
  NEXT();
L_Gc: {
  const Cell* next = gc_run(S, cur, fp, pc, trap);
  if (UNLIKELY(next == nullptr)) goto trap_exit;
  pc = next;
  NEXT();
}
L_StructGet: {
  uint64_t r = fp[pc[2]];
  if (UNLIKELY(r == 0)) TRAP(NullStructReference);
  load_field(GcObject::data_of(r) + pc[3], pc[4], fp + pc[1]);
  pc += 5;
  NEXT();
}
L_StructSet: {
  uint64_t r = fp[pc[1]];
  if (UNLIKELY(r == 0)) TRAP(NullStructReference);
  store_field(GcObject::data_of(r) + pc[3], pc[4], fp + pc[2]);
  pc += 5;
  NEXT();
}
L_ArrayGet: {
  uint64_t r = fp[pc[2]];
  if (UNLIKELY(r == 0)) TRAP(NullArrayReference);
  uint32_t i = U32(3);
  if (UNLIKELY(i >= reinterpret_cast<GcObject*>(r)->length)) TRAP(ArrayOutOfBounds);
  load_field(GcObject::data_of(r) + uint64_t{i} * field_bytes(static_cast<FieldKind>(pc[4])), pc[4],
             fp + pc[1]);
  pc += 5;
  NEXT();
}
L_ArraySet: {
  uint64_t r = fp[pc[1]];
  if (UNLIKELY(r == 0)) TRAP(NullArrayReference);
  uint32_t i = U32(2);
  if (UNLIKELY(i >= reinterpret_cast<GcObject*>(r)->length)) TRAP(ArrayOutOfBounds);
  store_field(GcObject::data_of(r) + uint64_t{i} * field_bytes(static_cast<FieldKind>(pc[4])),
              pc[4], fp + pc[3]);
  pc += 5;
  NEXT();
}
L_ArrayLen: {
  uint64_t r = fp[pc[2]];
  if (UNLIKELY(r == 0)) TRAP(NullArrayReference);
  fp[pc[1]] = reinterpret_cast<GcObject*>(r)->length;
  pc += 3;
  NEXT();
}
L_RefAsNonNull:
  if (UNLIKELY(fp[pc[1]] == 0)) TRAP(NullReference);
  pc += 2;
  NEXT();

L_Select:  // [op][dst][a][b][cond]
  fp[pc[1]] = U32(4) ? fp[pc[2]] : fp[pc[3]];
  pc += 5;
  NEXT();
L_GlobalGet:
  fp[pc[1]] = inst->globals[pc[2]]->value;
  pc += 3;
  NEXT();
L_GlobalSet:
  inst->globals[pc[2]]->value = fp[pc[1]];
  pc += 3;
  NEXT();
L_Const32:
  fp[pc[1]] = pc[2];
  pc += 3;
  NEXT();
L_Const64:
  fp[pc[1]] = static_cast<uint64_t>(pc[2]) | (static_cast<uint64_t>(pc[3]) << 32);
  pc += 4;
  NEXT();

L_TableGet: {
  TableInst* t = inst->tables[pc[2]];
  uint32_t i = U32(1);
  if (UNLIKELY(i >= t->elems.size())) TRAP(TableOutOfBounds);
  fp[pc[1]] = t->elems[i];
  pc += 3;
  NEXT();
}
L_TableSet: {
  TableInst* t = inst->tables[pc[2]];
  uint64_t* b = fp + pc[1];
  uint32_t i = static_cast<uint32_t>(b[0]);
  if (UNLIKELY(i >= t->elems.size())) TRAP(TableOutOfBounds);
  t->elems[i] = b[1];
  pc += 3;
  NEXT();
}
L_TableSize:
  fp[pc[1]] = static_cast<uint32_t>(inst->tables[pc[2]]->elems.size());
  pc += 3;
  NEXT();
L_TableGrow: {
  uint64_t* b = fp + pc[1];
  int64_t old = inst->tables[pc[2]]->grow_elems(static_cast<uint32_t>(b[1]), b[0]);
  b[0] = static_cast<uint32_t>(static_cast<int32_t>(old));
  pc += 3;
  NEXT();
}
L_TableFill: {
  TableInst* t = inst->tables[pc[2]];
  uint64_t* b = fp + pc[1];
  if (UNLIKELY(!t->fill(zext32(b[0]), b[1], zext32(b[2])))) TRAP(TableOutOfBounds);
  pc += 3;
  NEXT();
}
L_TableCopy: {
  TableInst* dt = inst->tables[pc[2]];
  TableInst* st = inst->tables[pc[3]];
  uint64_t* b = fp + pc[1];
  if (UNLIKELY(!dt->copy_from(zext32(b[0]), *st, zext32(b[1]), zext32(b[2]))))
    TRAP(TableOutOfBounds);
  pc += 4;
  NEXT();
}
L_TableInit: {
  ElemInst& e = inst->elems[pc[2]];
  TableInst* t = inst->tables[pc[3]];
  uint64_t* b = fp + pc[1];
  if (UNLIKELY(!t->init_from(zext32(b[0]), e.refs, zext32(b[1]), zext32(b[2]))))
    TRAP(TableOutOfBounds);
  pc += 4;
  NEXT();
}
L_ElemDrop:
  inst->elems[pc[1]].refs = {};
  pc += 2;
  NEXT();

L_RefIsNull:
  fp[pc[1]] = fp[pc[2]] == 0 ? 1 : 0;
  pc += 3;
  NEXT();
L_RefFunc:
  fp[pc[1]] = reinterpret_cast<uintptr_t>(inst->funcs[pc[2]]);
  pc += 3;
  NEXT();

L_MemorySize:
  fp[pc[1]] = static_cast<uint32_t>(memsize / kPageSize);
  pc += 2;
  NEXT();
L_MemoryGrow: {  // [op][operand and result][memory index]
  int64_t old = inst->memories[pc[2]]->grow_pages(U32(1));
  fp[pc[1]] = static_cast<uint32_t>(static_cast<int32_t>(old));
  LOAD_MEMORY();
  pc += 3;
  NEXT();
}
L_Addr64: {  // the i64 address plus the offset, below 2^32 or out of bounds
  uint64_t a = fp[pc[2]], off = uint64_t{pc[3]} | uint64_t{pc[4]} << 32;
  uint64_t ea = a + off;
  if (UNLIKELY(ea < a || ea > 0xFFFFFFFFu)) TRAP(MemoryOutOfBounds);
  fp[pc[1]] = ea;
  pc += 5;
  NEXT();
}
L_Bulk64: {
  if (UNLIKELY(!bulk64(inst, pc, fp + pc[2]))) TRAP(MemoryOutOfBounds);
  LOAD_MEMORY();
  pc += 6;
  NEXT();
}
// Exception handling. Throw makes an exception (the store's, reused once caught without
// an exnref), ThrowRef rethrows one; both unwind: the innermost try_table around the
// throwing cell whose clause matches takes it (payload to the clause's slots, then its
// landing stub), else the frame is popped and the search goes on at the caller's call.
// Reaching this entry's sentinel ends the call with UncaughtException.
L_Throw: {
  TagInst* tag = inst->tags[pc[1]];
  exn = S->new_exn(tag);
  if (UNLIKELY(exn == nullptr)) {
    S->host_error = too_many_exceptions();
    TRAP(Host);
  }
  exn->payload.assign(fp + pc[2], fp + pc[2] + tag->payload_slots);
  goto unwind;
}
L_ThrowRef:
  exn = reinterpret_cast<ExnInst*>(fp[pc[1]]);
  if (UNLIKELY(exn == nullptr)) TRAP(NullExceptionReference);
  goto unwind;
unwind: {
  const Cell* at = pc;  // a cell of the throwing instruction or call, or a delegate's target
  for (;;) {
    const Code& code = inst->md->code;
    uint32_t idx = static_cast<uint32_t>(at - code.cells.data());
    bool moved = false;
    for (const Handler& h : code.handlers) {
      if (idx < h.start || idx >= h.end) continue;
      if (h.delegates) {         // a legacy try ending in delegate: go on from its target, or
        if (!h.delegates_out) {  // in the caller
          at = code.cells.data() + h.delegate_at;
          moved = true;
        }
        break;
      }
      for (const CatchClause& c : h.clauses) {
        if (c.kind < 2 && inst->tags[c.tag] != exn->tag) continue;
        uint64_t* dst = fp + c.base;
        if (c.kind < 2) std::copy(exn->payload.begin(), exn->payload.end(), dst);
        if (c.kind == 1 || c.kind == 3) {
          dst[c.kind == 1 ? exn->payload.size() : 0] = reinterpret_cast<uint64_t>(exn);
          exn->referenced = true;
        } else if (c.ref_slot != UINT32_MAX) {
          fp[c.ref_slot] = reinterpret_cast<uint64_t>(exn);  // legacy: kept for rethrow
        } else if (!exn->referenced) {
          S->free_exns.push_back(exn);  // nothing can reach it any more
        }
        pc = code.cells.data() + c.stub;
        LOAD_MEMORY();
        NEXT();
      }
    }
    if (!moved) break;
  }
}
// Not caught in this function (or thrown by a host function it tail-called, whose frame
// is gone): the search goes on at the caller's call.
unwind_caller:
  if (S->depth - 1 == entry_depth) {  // the caller is the embedder: uncaught
    S->uncaught = exn;
    TRAP(UncaughtException);
  }
  {
    const Frame& fr = frames[--S->depth];
    fp = fr.fp;
    cur = fr.fn;
    inst = cur->inst;
    pc = fr.ret_pc - 1;  // within the call instruction
  }
  goto unwind;
L_Index64:  // a 64-bit table's index: below 2^32, or the trap named by the code
  if (UNLIKELY(fp[pc[2]] > 0xFFFFFFFFu)) {
    trap = static_cast<TrapKind>(pc[3]);
    goto trap_exit;
  }
  fp[pc[1]] = fp[pc[2]];
  pc += 4;
  NEXT();
L_Table64: {
  if (UNLIKELY(!table64(inst, pc, fp + pc[2]))) TRAP(TableOutOfBounds);
  pc += 6;
  NEXT();
}
L_UseMemory: {
  MemoryInst* m = inst->memories[pc[1]];
  mem = m->data;
  memsize = m->size;
  pc += 2;
  NEXT();
}
L_MemoryCopyBetween: {  // 32-bit operands, between two memories
  const uint64_t* b = fp + pc[1];
  if (UNLIKELY(!inst->memories[pc[2]]->copy_from(
          static_cast<uint32_t>(b[0]), *inst->memories[pc[3]], static_cast<uint32_t>(b[1]),
          static_cast<uint32_t>(b[2]))))
    TRAP(MemoryOutOfBounds);
  pc += 4;
  NEXT();
}
L_MemoryInit: {
  DataInst& di = inst->datas[pc[2]];
  uint64_t* b = fp + pc[1];
  uint64_t d = static_cast<uint32_t>(b[0]), s = static_cast<uint32_t>(b[1]),
           n = static_cast<uint32_t>(b[2]);
  if (UNLIKELY(s + n > di.bytes.size() || d + n > memsize)) TRAP(MemoryOutOfBounds);
  if (n) std::memcpy(mem + d, di.bytes.data() + s, n);
  pc += 3;
  NEXT();
}
L_DataDrop:
  inst->datas[pc[1]].bytes = {};
  pc += 2;
  NEXT();
L_MemoryCopy: {
  uint64_t* b = fp + pc[1];
  uint64_t d = static_cast<uint32_t>(b[0]), s = static_cast<uint32_t>(b[1]),
           n = static_cast<uint32_t>(b[2]);
  if (UNLIKELY(s + n > memsize || d + n > memsize)) TRAP(MemoryOutOfBounds);
  if (n) std::memmove(mem + d, mem + s, n);
  pc += 2;
  NEXT();
}
L_MemoryFill: {
  uint64_t* b = fp + pc[1];
  uint64_t d = static_cast<uint32_t>(b[0]), n = static_cast<uint32_t>(b[2]);
  if (UNLIKELY(d + n > memsize)) TRAP(MemoryOutOfBounds);
  if (n) std::memset(mem + d, static_cast<int>(b[1] & 0xFF), n);
  pc += 2;
  NEXT();
}

// Loads: [op][dst][addr][offset]; stores: [op][addr][value][offset].
#define LOAD(name, T, expr)                                          \
  L_##name : {                                                       \
    uint64_t ea = static_cast<uint64_t>(U32(2)) + pc[3];             \
    if (UNLIKELY(ea + sizeof(T) > memsize)) TRAP(MemoryOutOfBounds); \
    T v;                                                             \
    std::memcpy(&v, mem + ea, sizeof(T));                            \
    fp[pc[1]] = (expr);                                              \
    pc += 4;                                                         \
    NEXT();                                                          \
  }
#define STORE(name, T)                                               \
  L_##name : {                                                       \
    uint64_t ea = static_cast<uint64_t>(U32(1)) + pc[3];             \
    if (UNLIKELY(ea + sizeof(T) > memsize)) TRAP(MemoryOutOfBounds); \
    T v = static_cast<T>(fp[pc[2]]);                                 \
    std::memcpy(mem + ea, &v, sizeof(T));                            \
    pc += 4;                                                         \
    NEXT();                                                          \
  }

  LOAD(I32Load, uint32_t, v)
  LOAD(I64Load, uint64_t, v)
  LOAD(F32Load, uint32_t, v)
  LOAD(F64Load, uint64_t, v)
  LOAD(I32Load8S, int8_t, static_cast<uint32_t>(static_cast<int32_t>(v)))
  LOAD(I32Load8U, uint8_t, v)
  LOAD(I32Load16S, int16_t, static_cast<uint32_t>(static_cast<int32_t>(v)))
  LOAD(I32Load16U, uint16_t, v)
  LOAD(I64Load8S, int8_t, static_cast<uint64_t>(static_cast<int64_t>(v)))
  LOAD(I64Load8U, uint8_t, v)
  LOAD(I64Load16S, int16_t, static_cast<uint64_t>(static_cast<int64_t>(v)))
  LOAD(I64Load16U, uint16_t, v)
  LOAD(I64Load32S, int32_t, static_cast<uint64_t>(static_cast<int64_t>(v)))
  LOAD(I64Load32U, uint32_t, v)
  STORE(I32Store, uint32_t)
  STORE(I64Store, uint64_t)
  STORE(F32Store, uint32_t)
  STORE(F64Store, uint64_t)
  STORE(I32Store8, uint8_t)
  STORE(I32Store16, uint16_t)
  STORE(I64Store8, uint8_t)
  STORE(I64Store16, uint16_t)
  STORE(I64Store32, uint32_t)

  // Integer binary operations: register form [op][dst][a][b] and, where listed in
  // imm_handlers.def, immediate form [op][dst][a][imm32] (sign-extended for i64).
#define I32_OP(name, expr)           \
  L_##name : {                       \
    uint32_t a = U32(2), b = U32(3); \
    OUT_U32(expr);                   \
    pc += 4;                         \
    NEXT();                          \
  }                                  \
  L_##name##Imm : {                  \
    uint32_t a = U32(2), b = pc[3];  \
    OUT_U32(expr);                   \
    pc += 4;                         \
    NEXT();                          \
  }
#define I64_OP(name, OUT, expr)                                                  \
  L_##name : {                                                                   \
    uint64_t a = U64(2), b = U64(3);                                             \
    OUT(expr);                                                                   \
    pc += 4;                                                                     \
    NEXT();                                                                      \
  }                                                                              \
  L_##name##Imm : {                                                              \
    uint64_t a = U64(2), b = static_cast<uint64_t>(static_cast<int32_t>(pc[3])); \
    OUT(expr);                                                                   \
    pc += 4;                                                                     \
    NEXT();                                                                      \
  }
#define S32(x) static_cast<int32_t>(x)
#define S64(x) static_cast<int64_t>(x)

  UN(I32Eqz, OUT_U32(U32(2) == 0))
  // i32 comparisons: cmp_branch.def (also their fused branches, below).
#define CMP(cond, expr) I32_OP(I32##cond, expr)
#include "interp/cmp_branch.def"
#undef CMP
  UN(I64Eqz, OUT_U32(U64(2) == 0))
  I64_OP(I64Eq, OUT_U32, a == b)
  I64_OP(I64Ne, OUT_U32, a != b)
  I64_OP(I64LtS, OUT_U32, S64(a) < S64(b))
  I64_OP(I64LtU, OUT_U32, a < b)
  I64_OP(I64GtS, OUT_U32, S64(a) > S64(b))
  I64_OP(I64GtU, OUT_U32, a > b)
  I64_OP(I64LeS, OUT_U32, S64(a) <= S64(b))
  I64_OP(I64LeU, OUT_U32, a <= b)
  I64_OP(I64GeS, OUT_U32, S64(a) >= S64(b))
  I64_OP(I64GeU, OUT_U32, a >= b)
  BIN(F32Eq, OUT_U32(F32(2) == F32(3)))
  BIN(F32Ne, OUT_U32(F32(2) != F32(3)))
  BIN(F32Lt, OUT_U32(F32(2) < F32(3)))
  BIN(F32Gt, OUT_U32(F32(2) > F32(3)))
  BIN(F32Le, OUT_U32(F32(2) <= F32(3)))
  BIN(F32Ge, OUT_U32(F32(2) >= F32(3)))
  BIN(F64Eq, OUT_U32(F64(2) == F64(3)))
  BIN(F64Ne, OUT_U32(F64(2) != F64(3)))
  BIN(F64Lt, OUT_U32(F64(2) < F64(3)))
  BIN(F64Gt, OUT_U32(F64(2) > F64(3)))
  BIN(F64Le, OUT_U32(F64(2) <= F64(3)))
  BIN(F64Ge, OUT_U32(F64(2) >= F64(3)))

  UN(I32Clz, OUT_U32(std::countl_zero(U32(2))))
  UN(I32Ctz, OUT_U32(std::countr_zero(U32(2))))
  UN(I32Popcnt, OUT_U32(std::popcount(U32(2))))
  I32_OP(I32Add, a + b)
  I32_OP(I32Sub, a - b)
  I32_OP(I32Mul, a * b)
  // Division and remainder trap on a zero divisor; signed division also on MIN / -1.
#define DIV_REM(W, S, U, GET_S, GET_U, OUT, MIN)              \
  L_I##W##DivS : {                                            \
    S a = GET_S(2), b = GET_S(3);                             \
    if (UNLIKELY(b == 0)) TRAP(IntegerDivideByZero);          \
    if (UNLIKELY(a == MIN && b == -1)) TRAP(IntegerOverflow); \
    OUT(a / b);                                               \
    pc += 4;                                                  \
    NEXT();                                                   \
  }                                                           \
  L_I##W##DivU : {                                            \
    U a = GET_U(2), b = GET_U(3);                             \
    if (UNLIKELY(b == 0)) TRAP(IntegerDivideByZero);          \
    OUT(a / b);                                               \
    pc += 4;                                                  \
    NEXT();                                                   \
  }                                                           \
  L_I##W##RemS : {                                            \
    S a = GET_S(2), b = GET_S(3);                             \
    if (UNLIKELY(b == 0)) TRAP(IntegerDivideByZero);          \
    OUT(b == -1 ? 0 : a % b);                                 \
    pc += 4;                                                  \
    NEXT();                                                   \
  }                                                           \
  L_I##W##RemU : {                                            \
    U a = GET_U(2), b = GET_U(3);                             \
    if (UNLIKELY(b == 0)) TRAP(IntegerDivideByZero);          \
    OUT(a % b);                                               \
    pc += 4;                                                  \
    NEXT();                                                   \
  }
  DIV_REM(32, int32_t, uint32_t, I32, U32, OUT_U32, INT32_MIN)
  DIV_REM(64, int64_t, uint64_t, I64, U64, OUT_U64, INT64_MIN)
  I32_OP(I32And, a & b)
  I32_OP(I32Or, a | b)
  I32_OP(I32Xor, a ^ b)
  I32_OP(I32Shl, a << (b & 31))
  I32_OP(I32ShrS, S32(a) >> (b & 31))
  I32_OP(I32ShrU, a >> (b & 31))
  I32_OP(I32Rotl, std::rotl(a, static_cast<int>(b & 31)))
  I32_OP(I32Rotr, std::rotr(a, static_cast<int>(b & 31)))

  UN(I64Clz, OUT_U64(std::countl_zero(U64(2))))
  UN(I64Ctz, OUT_U64(std::countr_zero(U64(2))))
  UN(I64Popcnt, OUT_U64(std::popcount(U64(2))))
  I64_OP(I64Add, OUT_U64, a + b)
  I64_OP(I64Sub, OUT_U64, a - b)
  I64_OP(I64Mul, OUT_U64, a * b)
  I64_OP(I64And, OUT_U64, a & b)
  I64_OP(I64Or, OUT_U64, a | b)
  I64_OP(I64Xor, OUT_U64, a ^ b)
  I64_OP(I64Shl, OUT_U64, a << (b & 63))
  I64_OP(I64ShrS, OUT_U64, S64(a) >> (b & 63))
  I64_OP(I64ShrU, OUT_U64, a >> (b & 63))
  I64_OP(I64Rotl, OUT_U64, std::rotl(a, static_cast<int>(b & 63)))
  I64_OP(I64Rotr, OUT_U64, std::rotr(a, static_cast<int>(b & 63)))

  // Fused i32 compare-and-branch: [op][a][b or imm32][disp], the displacement relative
  // to its own cell. Taken branches check for interruption (they may close a loop).
#define JUMP_CMP(cond, expr)                     \
  L_JumpIf##cond : {                             \
    uint32_t a = U32(1), b = U32(2);             \
    if (expr) {                                  \
      CHECK_INTERRUPT();                         \
      pc = pc + 3 + static_cast<int32_t>(pc[3]); \
    } else {                                     \
      pc += 4;                                   \
    }                                            \
    NEXT();                                      \
  }                                              \
  L_JumpIf##cond##Imm : {                        \
    uint32_t a = U32(1), b = pc[2];              \
    if (expr) {                                  \
      CHECK_INTERRUPT();                         \
      pc = pc + 3 + static_cast<int32_t>(pc[3]); \
    } else {                                     \
      pc += 4;                                   \
    }                                            \
    NEXT();                                      \
  }
#define CMP(cond, expr) JUMP_CMP(cond, expr)
#include "interp/cmp_branch.def"
#undef CMP

  UN(F32Abs, OUT_U32(f32_abs(U32(2))))
  UN(F32Neg, OUT_U32(f32_neg(U32(2))))
  UN(F32Ceil, OUT_F32(wasm_ceil(F32(2))))
  UN(F32Floor, OUT_F32(wasm_floor(F32(2))))
  UN(F32Trunc, OUT_F32(wasm_trunc(F32(2))))
  UN(F32Nearest, OUT_F32(wasm_nearest(F32(2))))
  UN(F32Sqrt, OUT_F32(std::sqrt(F32(2))))
  BIN(F32Add, OUT_F32(F32(2) + F32(3)))
  BIN(F32Sub, OUT_F32(F32(2) - F32(3)))
  BIN(F32Mul, OUT_F32(F32(2) * F32(3)))
  BIN(F32Div, OUT_F32(F32(2) / F32(3)))
  BIN(F32Min, OUT_F32(wasm_min(F32(2), F32(3))))
  BIN(F32Max, OUT_F32(wasm_max(F32(2), F32(3))))
  BIN(F32Copysign, OUT_U32(f32_copysign(U32(2), U32(3))))
  UN(F64Abs, OUT_U64(f64_abs(U64(2))))
  UN(F64Neg, OUT_U64(f64_neg(U64(2))))
  UN(F64Ceil, OUT_F64(wasm_ceil(F64(2))))
  UN(F64Floor, OUT_F64(wasm_floor(F64(2))))
  UN(F64Trunc, OUT_F64(wasm_trunc(F64(2))))
  UN(F64Nearest, OUT_F64(wasm_nearest(F64(2))))
  UN(F64Sqrt, OUT_F64(std::sqrt(F64(2))))
  BIN(F64Add, OUT_F64(F64(2) + F64(3)))
  BIN(F64Sub, OUT_F64(F64(2) - F64(3)))
  BIN(F64Mul, OUT_F64(F64(2) * F64(3)))
  BIN(F64Div, OUT_F64(F64(2) / F64(3)))
  BIN(F64Min, OUT_F64(wasm_min(F64(2), F64(3))))
  BIN(F64Max, OUT_F64(wasm_max(F64(2), F64(3))))
  BIN(F64Copysign, OUT_U64(f64_copysign(U64(2), U64(3))))

  UN(I32WrapI64, OUT_U32(static_cast<uint32_t>(U64(2))))
#define TRUNC(name, Src, check, Dst, OUT)                          \
  L_##name : {                                                     \
    auto x = Src(2);                                               \
    if (UNLIKELY(std::isnan(x))) TRAP(InvalidConversionToInteger); \
    if (UNLIKELY(!check(x))) TRAP(IntegerOverflow);                \
    OUT(static_cast<Dst>(x));                                      \
    pc += 3;                                                       \
    NEXT();                                                        \
  }
  TRUNC(I32TruncF32S, F32, fits_i32, int32_t, OUT_U32)
  TRUNC(I32TruncF32U, F32, fits_u32, uint32_t, OUT_U32)
  TRUNC(I32TruncF64S, F64, fits_i32, int32_t, OUT_U32)
  TRUNC(I32TruncF64U, F64, fits_u32, uint32_t, OUT_U32)
  UN(I64ExtendI32S, OUT_U64(static_cast<int64_t>(I32(2))))
  UN(I64ExtendI32U, OUT_U64(U32(2)))
  TRUNC(I64TruncF32S, F32, fits_i64, int64_t, OUT_U64)
  TRUNC(I64TruncF32U, F32, fits_u64, uint64_t, OUT_U64)
  TRUNC(I64TruncF64S, F64, fits_i64, int64_t, OUT_U64)
  TRUNC(I64TruncF64U, F64, fits_u64, uint64_t, OUT_U64)
  UN(F32ConvertI32S, OUT_F32(static_cast<float>(I32(2))))
  UN(F32ConvertI32U, OUT_F32(static_cast<float>(U32(2))))
  UN(F32ConvertI64S, OUT_F32(static_cast<float>(I64(2))))
  UN(F32ConvertI64U, OUT_F32(static_cast<float>(U64(2))))
  UN(F32DemoteF64, OUT_F32(static_cast<float>(F64(2))))
  UN(F64ConvertI32S, OUT_F64(static_cast<double>(I32(2))))
  UN(F64ConvertI32U, OUT_F64(static_cast<double>(U32(2))))
  UN(F64ConvertI64S, OUT_F64(static_cast<double>(I64(2))))
  UN(F64ConvertI64U, OUT_F64(static_cast<double>(U64(2))))
  UN(F64PromoteF32, OUT_F64(static_cast<double>(F32(2))))
  UN(I32ReinterpretF32, OUT_U32(U32(2)))
  UN(I64ReinterpretF64, OUT_U64(U64(2)))
  UN(F32ReinterpretI32, OUT_U32(U32(2)))
  UN(F64ReinterpretI64, OUT_U64(U64(2)))
  UN(I32Extend8S, OUT_U32(static_cast<int32_t>(static_cast<int8_t>(U32(2)))))
  UN(I32Extend16S, OUT_U32(static_cast<int32_t>(static_cast<int16_t>(U32(2)))))
  UN(I64Extend8S, OUT_U64(static_cast<int64_t>(static_cast<int8_t>(U64(2)))))
  UN(I64Extend16S, OUT_U64(static_cast<int64_t>(static_cast<int16_t>(U64(2)))))
  UN(I64Extend32S, OUT_U64(static_cast<int64_t>(static_cast<int32_t>(U64(2)))))
  UN(I32TruncSatF32S, OUT_U32(trunc_sat<int32_t>(F32(2))))
  UN(I32TruncSatF32U, OUT_U32(trunc_sat<uint32_t>(F32(2))))
  UN(I32TruncSatF64S, OUT_U32(trunc_sat<int32_t>(F64(2))))
  UN(I32TruncSatF64U, OUT_U32(trunc_sat<uint32_t>(F64(2))))
  UN(I64TruncSatF32S, OUT_U64(trunc_sat<int64_t>(F32(2))))
  UN(I64TruncSatF32U, OUT_U64(trunc_sat<uint64_t>(F32(2))))
  UN(I64TruncSatF64S, OUT_U64(trunc_sat<int64_t>(F64(2))))
  UN(I64TruncSatF64U, OUT_U64(trunc_sat<uint64_t>(F64(2))))

L_Simd: {  // [Simd][instruction][dst][operands...][immediates...], and the SIMD ones after it
  const Cell* next = kSimdRun(fp, pc, mem, memsize,
                              static_cast<Cell>(kTable[static_cast<size_t>(Op::Simd)]), nullptr);
  if (UNLIKELY(next == nullptr)) TRAP(MemoryOutOfBounds);
  pc = next;
  NEXT();
}
L_SelectV128:  // [op][dst][a][b][cond]
  if (U32(4)) {
    fp[pc[1]] = fp[pc[2]];
    fp[pc[1] + 1] = fp[pc[2] + 1];
  } else {
    fp[pc[1]] = fp[pc[3]];
    fp[pc[1] + 1] = fp[pc[3] + 1];
  }
  pc += 5;
  NEXT();
L_GlobalGetV128: {
  GlobalInst* g = inst->globals[pc[2]];
  fp[pc[1]] = g->value;
  fp[pc[1] + 1] = g->value_hi;
  pc += 3;
  NEXT();
}
L_GlobalSetV128: {
  GlobalInst* g = inst->globals[pc[2]];
  g->value = fp[pc[1]];
  g->value_hi = fp[pc[1] + 1];
  pc += 3;
  NEXT();
}

trap_exit:
  // Backtrace: the trapping function, then its callers up to this entry's sentinel.
  if (!native_frames) S->trap_frames.clear();
  if (!replaced) S->trap_frames.push_back(cur);
  for (uint32_t d = S->depth; d-- > entry_depth + 1;) S->trap_frames.push_back(frames[d].fn);
  S->depth = entry_depth;
  return trap;
}

const Cell* handler_cells() {
  static const Cell* table = [] {
    const Cell* t = nullptr;
    run_loop(nullptr, nullptr, nullptr, nullptr, &t);
    g_exit_code[0] = t[static_cast<size_t>(Op::Exit)];
    return t;
  }();
  return table;
}

}  // namespace edgecar::interp
