// The native code generator's internals (see codegen.hpp for its interface): the class
// Gen, which translates one module, with its members defined by instruction family in
// codegen/*.cpp (control, calls, memory, numeric, SIMD, exceptions). Only those include it.
#pragma once

#include <llvm/IR/IRBuilder.h>
#include <llvm/IR/Intrinsics.h>
#include <llvm/IR/IntrinsicsX86.h>
#include <llvm/IR/MDBuilder.h>

#include <map>
#include <string>
#include <vector>

#include "aot/aot.hpp"
#include "aot/codegen.hpp"
#include "binary/opcode_info.hpp"
#include "runtime/tier.hpp"

namespace edgecar::aot::gen {

using binary::Instr;
using binary::Opcode;

struct Unsupported {
  std::string what;
};

struct Ctl {
  enum Kind { Block, Loop, If, Func } kind = Block;
  llvm::BasicBlock* end = nullptr;      // after the construct (Func: the return block)
  llvm::BasicBlock* header = nullptr;   // loops: the branch target
  llvm::BasicBlock* else_bb = nullptr;  // ifs
  std::vector<llvm::PHINode*> end_phis, loop_phis;
  std::vector<llvm::Value*> if_params;
  size_t height = 0;  // operand stack height below the construct's parameters
  bool has_else = false;
  bool holds_try = false;      // a branch to it may leave try_tables: it sets the handler again
  llvm::Value* rec = nullptr;  // try_table, try: its handler record (aot::Entry) while the
                               // body runs
  // Legacy try: the landing code's exception, and where its next catch's test goes (null
  // after a catch_all).
  bool legacy = false;
  llvm::Value* exn = nullptr;
  llvm::BasicBlock* land_next = nullptr;
};

// The runtime functions (runtime_functions.def): their LLVM types come from their C
// declarations.
enum RuntimeFn {
#define EDGECAR_AOT_RUNTIME(name, returns, result, params) rt_##name,
#include "aot/runtime_functions.def"
#undef EDGECAR_AOT_RUNTIME
};

class Gen {
 public:
  Gen(const binary::Module& m, llvm::LLVMContext& C)
      : m_(m), C_(C), B_(C), M_(std::make_unique<llvm::Module>("wasm", C)) {
    i8_ = B_.getInt8Ty();
    i32_ = B_.getInt32Ty();
    i64_ = B_.getInt64Ty();
    ptr_ = B_.getPtrTy();
    v128_ = llvm::FixedVectorType::get(i64_, 2);
    llvm::MDBuilder md(C_);
    llvm::MDNode* root = md.createTBAARoot("edgecar");
    llvm::MDNode* guest = md.createTBAAScalarTypeNode("guest memory", root);
    llvm::MDNode* vm = md.createTBAAScalarTypeNode("runtime", root);
    tbaa_guest_ = md.createTBAAStructTagNode(guest, guest, 0);
    tbaa_vm_ = md.createTBAAStructTagNode(vm, vm, 0);
  }

  // Defines the functions `define` (indices). With `declare_all` every defined function
  // of the module is declared and called directly (the whole module is compiled);
  // without, only `define` are, and calls to the others go through their FuncInst (native
  // entry when it has one, else the runtime on slots): per-function tiering.
  std::unique_ptr<llvm::Module> run(const std::vector<uint32_t>& define, bool declare_all);

  // On-stack replacement entries (tiering): for each function N, `void wasm_oN(Ctx*,
  // uint64_t* frame, uint32_t loop)` takes over an interpreted call of N at the header of
  // loop instruction `loop`: its locals come from the interpreter's frame slots, it runs
  // from there to the end, and its results land in the frame's first slots. Only loops
  // entered with an empty operand stack, in functions without try blocks, have an entry:
  // `loops` gets them, per function.
  std::unique_ptr<llvm::Module> run_osr(const std::vector<uint32_t>& define,
                                        std::vector<std::vector<uint32_t>>& loops);

 private:
  const binary::Module& m_;
  llvm::LLVMContext& C_;
  llvm::IRBuilder<> B_;
  std::unique_ptr<llvm::Module> M_;
  llvm::Type *i8_, *i32_, *i64_, *ptr_;
  llvm::FixedVectorType* v128_;  // a v128 is <2 x i64> between instructions
  llvm::MDNode *tbaa_guest_, *tbaa_vm_;
  std::map<uint32_t, llvm::Function*> funcs_;

  // Per function.
  llvm::Function* F_ = nullptr;
  llvm::Value* ctx_ = nullptr;
  std::vector<llvm::Value*> mems_;   // MemoryInst* of each memory
  std::vector<llvm::Value*> bases_;  // their data
  llvm::Value* depth_ptr_ = nullptr;
  llvm::Value* depth_ = nullptr;  // the depth on entry
  llvm::BasicBlock* entry_ = nullptr;
  std::vector<llvm::AllocaInst*> locals_;
  std::vector<llvm::Value*> stack_;
  std::vector<Ctl> ctl_;
  std::map<TrapKind, llvm::BasicBlock*> traps_;
  bool dead_ = false;
  uint32_t skip_ = 0;
  // Functions with a try_table: locals live in memory (volatile: a handler is reached by
  // siglongjmp, which restores registers as they were at the try_table), and the store's
  // innermost handler is set again wherever control arrives from a branch that may have
  // left try_tables (ends of constructs, loop headers) and before returning.
  bool eh_ = false;
  std::vector<bool> volatile_locals_;     // those written inside a try body
  std::vector<bool> holds_try_;           // per instruction: a construct with a try inside
  size_t at_ = 0;                         // the instruction being translated
  llvm::Value* handler_slot_ = nullptr;   // &store->aot_entry
  llvm::Value* entry_handler_ = nullptr;  // its value on entry
  // On-stack replacement (run_osr): the interpreter's frame, the block that branches to
  // the loop asked for, the loops that can be entered (instruction index, header).
  bool osr_ = false;
  llvm::Value* osr_frame_ = nullptr;
  llvm::BasicBlock* osr_from_ = nullptr;
  std::vector<std::pair<uint32_t, llvm::BasicBlock*>> osr_loops_;
  bool osr() const { return osr_; }

  // ---- types ----
  llvm::Type* ty(ValType t);
  // Typed entries: R f(ctx, params...) for zero or one result; with several, void f(ctx,
  // params..., out) writing them to `out` in the slot layout (LLVM's own lowering of
  // aggregate returns misaligns vectors in them under tailcc).
  static bool multi(const FuncType& ft) { return ft.results.size() > 1; }
  llvm::FunctionType* fn_type(const FuncType& ft);
  // A buffer for a callee's several results (slot layout), and the results read back.
  llvm::Value* results_buffer(const FuncType& ft);
  std::vector<llvm::Value*> read_results(llvm::Value* buf, const FuncType& ft);
  void write_results(llvm::Value* buf, const std::vector<llvm::Value*>& vs);
  // ---- helpers ----
  llvm::Value* ctx_field(size_t offset, llvm::Type* t);
  llvm::LoadInst* load_vm(llvm::Type* t, llvm::Value* base, uint64_t offset);
  llvm::Value* invariant_ptr(llvm::Value* base, uint64_t offset);
  // A runtime function (runtime_functions.def), declared in the module on first use.
  llvm::FunctionCallee runtime_fn(RuntimeFn k);
  llvm::BasicBlock* trap_block(TrapKind k);
  // Traps with `k` when `cond` holds.
  void trap_if(llvm::Value* cond, TrapKind k);
  llvm::Value* pop();
  void push(llvm::Value* v) { stack_.push_back(v); }
  llvm::Value* bool32(llvm::Value* i1) { return B_.CreateZExt(i1, i32_); }
  llvm::Value* intrinsic(llvm::Intrinsic::ID id, std::vector<llvm::Type*> tys,
                         std::vector<llvm::Value*> args);
  llvm::AllocaInst* entry_alloca(llvm::Type* t, uint32_t n = 1);

  // Values to and from the interpreter's 64-bit slots.
  llvm::Value* to_slot(llvm::Value* v);
  // A value of type t from the slot(s) at p (a v128 takes two: bytes 0-7, then 8-15).
  llvm::Value* load_slot(llvm::Value* p, ValType t);
  llvm::Value* from_slot(llvm::Value* s, ValType t);

  // ---- function ----
  void gen_slot_entry(uint32_t f);

  void prologue(uint32_t f);

  void gen_function(uint32_t f, llvm::Function* F);

  void emit_return(const Ctl& fn);

  // ---- control ----
  void add_incoming(std::vector<llvm::PHINode*>& phis);
  void branch(uint32_t depth);
  llvm::BasicBlock* target_block(uint32_t depth);
  void open(Ctl::Kind kind, uint64_t imm);
  void do_else();
  void do_end();
  // ---- exception handling ----
  // Whether the function has a try (eh_); which constructs hold one (holds_try_); which
  // locals are written inside a try body: a handler reached by siglongjmp sees the
  // registers of its sigsetjmp, so those locals live in memory (volatile); the others
  // have at the handler the value they had at the try, which their SSA values carry.
  void scan_tries(const binary::FunctionBody& body, size_t params);
  void set_handler(llvm::Value* rec) {
    B_.CreateStore(rec, handler_slot_)->setMetadata(llvm::LLVMContext::MD_tbaa, tbaa_vm_);
  }
  // The handler of the innermost try_table or try body around the insertion point (ctl_
  // as it is), else the caller's.
  void restore_handler();
  // A handler record pushed and sigsetjmp on it: the body goes on at `body_bb`, an
  // exception arrives at `land`.
  llvm::Value* push_handler(llvm::BasicBlock*& body_bb, llvm::BasicBlock*& land);
  void throw_ref(llvm::Value* exn);
  // The payload of `exn` (of tag `tag`) onto the operand stack.
  void push_payload(llvm::Value* exn, uint32_t tag);
  // try_table: a handler record in the frame, pushed, then sigsetjmp on it. Returning
  // again (an exception thrown inside, aot/runtime.cpp) leads to the landing code, which
  // tries the catch clauses in order (their labels are those around the try_table) and
  // throws the exception on when none matches; the body is a block.
  void try_table(const Instr& in, const binary::FunctionBody& body);
  // The legacy instructions. A try is a block whose body runs with a handler record; its
  // catch blocks follow in the code, each a test added to the landing code's chain (the
  // exception stays with the try for rethrow; the exceptions' collector finds it on the
  // stack); no clause taking it, it goes on. delegate l sends the body's exceptions to
  // the handler at or around label l.
  void legacy_try(const Instr& in);
  void do_catch(const Instr& in);
  void do_delegate(uint32_t label);
  void throw_tag(uint32_t tag);
  void br_table(const Instr& in, const binary::FunctionBody& body);

  // ---- calls ----
  std::vector<llvm::Value*> pop_args(size_t n);
  // A typed call's results: its value, or those in `buf` for several.
  std::vector<llvm::Value*> typed_results(llvm::Value* call, llvm::Value* buf, const FuncType& ft);
  // The out argument of a typed call: a fresh buffer, or for a tail call our own.
  llvm::Value* out_arg(const FuncType& ft, bool tail);
  // Any function through the runtime, on slots: imports (host, interpreted or another
  // instance's native functions) and indirect callees without a native entry.
  std::vector<llvm::Value*> call_on_slots(llvm::Value* fn, const FuncType& ft,
                                          const std::vector<llvm::Value*>& args);
  llvm::Value* func_ptr(uint32_t index) {
    return invariant_ptr(ctx_field(offsetof(Ctx, funcs), ptr_), uint64_t{index} * 8);
  }
  // A call in tail position of a return_call: the frame record is popped first.
  void tail_prepare();
  void tail_return(llvm::Value* call);
  void call(uint32_t index, bool tail);
  void call_indirect(uint32_t type, uint32_t table, bool tail);
  // call_ref, return_call_ref: the reference on top of the arguments; validation proved
  // its type, so only null is checked.
  void call_ref(uint32_t type, bool tail);
  // A call of a FuncInst known only at run time: its native entry when it has one, else
  // through the runtime on slots.
  void call_function(llvm::Value* fn, const FuncType& ft, const std::vector<llvm::Value*>& args,
                     bool tail);
  void do_return();

  // ---- memory ----
  // The size in bytes of memory 0. Memories never shrink, and an imported memory is at
  // least as large and at most as limited as its import says, so the size lies between the
  // declared minimum and maximum: the range lets LLVM drop checks of accesses it can
  // prove in bounds (static data, loops over it), which also frees those loops for the
  // vectorizer.
  llvm::Value* mem_size(uint32_t k);
  // The address of an access of `bytes` at `addr` + `offset`, or a trap.
  bool is64(uint32_t k) const { return m_.memories[k].limits.i64; }
  llvm::Value* address(llvm::Value* addr, uint64_t offset, unsigned bytes, uint32_t k);
  void load(const Instr& in, llvm::Type* mem_t, llvm::Type* out_t, bool sign);
  void store(const Instr& in, llvm::Type* mem_t);
  // Calls runtime function `k`, checking the arguments against its declaration (a drift
  // would otherwise call it with the wrong signature, silently).
  llvm::CallInst* call_runtime(RuntimeFn k, llvm::ArrayRef<llvm::Value*> args);
  // An instruction done by runtime function `k`: the context, then `args`; its result, if
  // any, is pushed.
  void runtime_instr(RuntimeFn k, std::vector<llvm::Value*> args);
  llvm::Value* wide(llvm::Value* v) { return v->getType() == i64_ ? v : B_.CreateZExt(v, i64_); }
  // memory.init, .copy, .fill: three operands, passed as u64.
  void bulk(RuntimeFn k, std::vector<llvm::Value*> imms);

  // ---- numerics ----
  llvm::Value* fconst(uint64_t bits, bool is64);
  void binop(llvm::Instruction::BinaryOps op);
  llvm::Value* quiet(llvm::Value* r) {
    return B_.CreateSelect(B_.CreateFCmpUNO(r, r), B_.CreateFAdd(r, r), r);
  }
  static bool identity_operand(llvm::Value* v);
  void icmp(llvm::CmpInst::Predicate p);
  void fcmp(llvm::CmpInst::Predicate p);
  void shift(llvm::Instruction::BinaryOps op);
  void unary_intrinsic(llvm::Intrinsic::ID id);
  void binary_intrinsic(llvm::Intrinsic::ID id);
  // IEEE minimum/maximum (NaN-propagating, -0 < +0) whose NaN result is quiet, as
  // WebAssembly requires (llvm.minimum may return a signalling NaN operand unchanged).
  void min_max(llvm::Intrinsic::ID id);
  void bitcount(llvm::Intrinsic::ID id);
  void rotate(bool left);
  void divide(bool is_signed, bool rem);
  // Trapping float-to-integer conversion: NaN is an invalid conversion, a value whose
  // truncation does not fit an integer overflow. Valid inputs lie in (lo, hi) or [lo, hi).
  void trunc(llvm::Type* to, bool is_signed);
  void trunc_sat(llvm::Type* to, bool is_signed);
  void extend(llvm::Type* from, llvm::Type* to);

  // ---- globals and locals ----
  void global_get(uint32_t g);
  void global_set(uint32_t g);

  // ---- SIMD (v128 as <2 x i64> between instructions; each lowering views it as lanes) ----
  llvm::FixedVectorType* vt(llvm::Type* lane, unsigned n) {
    return llvm::FixedVectorType::get(lane, n);
  }
  llvm::FixedVectorType* i8x16() { return vt(i8_, 16); }
  llvm::FixedVectorType* i16x8() { return vt(B_.getInt16Ty(), 8); }
  llvm::FixedVectorType* i32x4() { return vt(i32_, 4); }
  llvm::FixedVectorType* i64x2() { return v128_; }
  llvm::FixedVectorType* f32x4() { return vt(B_.getFloatTy(), 4); }
  llvm::FixedVectorType* f64x2() { return vt(B_.getDoubleTy(), 2); }
  llvm::Value* as(llvm::Value* v, llvm::Type* t) { return B_.CreateBitCast(v, t); }
  llvm::Value* popv(llvm::Type* t) { return as(pop(), t); }
  void pushv(llvm::Value* v) { push(as(v, v128_)); }
  llvm::Value* splat(llvm::Value* x, llvm::FixedVectorType* t) {
    return B_.CreateVectorSplat(t->getNumElements(), x);
  }
  llvm::Value* mask_lanes(llvm::Value* i1s, llvm::FixedVectorType* t) {
    return B_.CreateSExt(i1s, t);
  }
  // Lanes [from, from + n) of a.
  llvm::Value* half(llvm::Value* a, unsigned from, unsigned n);
  // Every other lane of a, from `first`.
  llvm::Value* every_other(llvm::Value* a, unsigned first);
  llvm::Value* concat(llvm::Value* a, llvm::Value* b);
  llvm::Value* clamp(llvm::Value* v, int64_t lo, int64_t hi);
  // narrow: two vectors of wide lanes, saturated to [lo, hi], into one of half-width lanes.
  void narrow(llvm::FixedVectorType* wide, llvm::FixedVectorType* out, int64_t lo, int64_t hi);
  // extend: lanes [from, from + n) of a (lanes of `in`) widened to `out`.
  void extend_half(llvm::FixedVectorType* in, llvm::FixedVectorType* out, bool high, bool sign);
  void extmul(llvm::FixedVectorType* in, llvm::FixedVectorType* out, bool high, bool sign);
  void extadd_pairwise(llvm::FixedVectorType* in, llvm::FixedVectorType* out, bool sign);
  void vbin(llvm::FixedVectorType* t, llvm::Instruction::BinaryOps op);
  void vbin_intrinsic(llvm::FixedVectorType* t, llvm::Intrinsic::ID id);
  void vun_intrinsic(llvm::FixedVectorType* t, llvm::Intrinsic::ID id);
  void vicmp(llvm::FixedVectorType* t, llvm::CmpInst::Predicate p);
  void vfcmp(llvm::FixedVectorType* t, llvm::CmpInst::Predicate p);
  void vminmax(llvm::FixedVectorType* t, llvm::CmpInst::Predicate p);
  void vfminmax(llvm::FixedVectorType* t, llvm::Intrinsic::ID id);
  void vshift(llvm::FixedVectorType* t, llvm::Instruction::BinaryOps op);
  void avgr(llvm::FixedVectorType* t);
  void all_true(llvm::FixedVectorType* t);
  void bitmask(llvm::FixedVectorType* t);
  void q15mulr();
  llvm::FixedVectorType* i32x4x2() { return vt(i32_, 8); }
  void dot_i16x8();
  // Lane-wise products of signed bytes summed in pairs (i16, wrapping), as the interpreter.
  llvm::Value* relaxed_dot_i16(llvm::Value* a, llvm::Value* b);
  llvm::FixedVectorType* i16x8x2() { return vt(B_.getInt16Ty(), 16); }
  void trunc_sat_vec(llvm::FixedVectorType* from, bool sign, bool zero_high);
  llvm::Value* v128_const(const Instr& in);
  // Loads: v128, widening, splat, zero-extending, lane.
  void vload(const Instr& in, llvm::Type* t, unsigned bytes);
  void load_extend(const Instr& in, llvm::FixedVectorType* in_t, llvm::FixedVectorType* out,
                   bool sign);
  void load_splat(const Instr& in, llvm::Type* lane, unsigned n);
  void load_zero(const Instr& in, llvm::Type* lane, unsigned n);
  void load_lane(const Instr& in, llvm::Type* lane, unsigned n);
  void store_lane(const Instr& in, llvm::Type* lane, unsigned n);
  void extract(llvm::FixedVectorType* t, const Instr& in, int ext);
  void replace(llvm::FixedVectorType* t, const Instr& in);
  void vsplat(llvm::FixedVectorType* t);
  // swizzle: lane i of the result is a[b[i]], or 0 when b[i] >= 16: pshufb (SSSE3) with
  // out-of-range indices turned into 0x80, else lane by lane.
  void swizzle();
  void shuffle(const Instr& in);
  void bitselect();

  void vabs(llvm::FixedVectorType* t);
  // pmin: b < a ? b : a; pmax: a < b ? b : a (pseudo-min/max, no NaN rules).
  void vpminmax(llvm::FixedVectorType* t, bool min);
  // Relaxed madd/nmadd, unfused like the interpreter: a*b + c, -(a*b) + c.
  void madd(llvm::FixedVectorType* t, bool negate);

  // One instruction: by its rule in lowering.def, else by its family's function
  // (codegen/*.cpp).
  void instr(const Instr& in, const binary::FunctionBody& body);

  // The instructions lowering.def gives a rule (false if `in` is not one of them).
  bool regular_instr(const Instr& in);
  // Instruction families (codegen/<family>.cpp): true if `in` is one of theirs.
  bool control_instr(const Instr& in, const binary::FunctionBody& body);
  bool call_instr(const Instr& in, const binary::FunctionBody& body);
  bool variable_instr(const Instr& in, const binary::FunctionBody& body);
  bool exception_instr(const Instr& in, const binary::FunctionBody& body);
  bool reference_instr(const Instr& in, const binary::FunctionBody& body);
  bool memory_instr(const Instr& in, const binary::FunctionBody& body);
  bool numeric_instr(const Instr& in, const binary::FunctionBody& body);
  bool simd(const Instr& in);
};

}  // namespace edgecar::aot::gen
