// WebAssembly to LLVM IR: one LLVM function per WebAssembly function, built from the
// validated instruction list with a control stack. Blocks, loops and ifs become basic
// blocks; values carried by branches become PHI nodes; locals are allocas that mem2reg
// promotes. Everything the interpreter checks at run time is checked here too, with the
// same trap kinds (docs/aot.md). Typed entries use the `tailcc` convention so that
// return_call is a guaranteed tail call whatever the signatures.
#include "aot/codegen.hpp"

#include <llvm/IR/IRBuilder.h>
#include <llvm/IR/InlineAsm.h>
#include <llvm/IR/Intrinsics.h>
#include <llvm/IR/IntrinsicsX86.h>
#include <llvm/IR/MDBuilder.h>
#include <llvm/IR/Verifier.h>
#include <llvm/Support/raw_ostream.h>

#include <map>

#include "aot/aot.hpp"
#include "runtime/tier.hpp"

namespace edgecar::aot {

using binary::Instr;
using binary::Opcode;

namespace {

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

template <class T>
llvm::Type* llvm_type(llvm::LLVMContext& C) {
  if constexpr (std::is_void_v<T>) {
    return llvm::Type::getVoidTy(C);
  } else if constexpr (std::is_pointer_v<T>) {
    return llvm::PointerType::getUnqual(C);
  } else if constexpr (std::is_same_v<T, uint32_t>) {
    return llvm::Type::getInt32Ty(C);
  } else {
    static_assert(std::is_same_v<T, uint64_t>, "runtime functions take pointers, u32 and u64");
    return llvm::Type::getInt64Ty(C);
  }
}

template <class R, class... A>
llvm::FunctionType* llvm_function_type(R (*)(A...), llvm::LLVMContext& C) {
  return llvm::FunctionType::get(llvm_type<R>(C), {llvm_type<A>(C)...}, false);
}

struct RuntimeFnInfo {
  const char* name;
  bool noreturn;
  llvm::FunctionType* (*type)(llvm::LLVMContext&);
};

constexpr bool kNoreturn_Returns = false, kNoreturn_Noreturn = true;

const RuntimeFnInfo kRuntimeFns[] = {
#define EDGECAR_AOT_RUNTIME(name, returns, result, params) \
  {"edgecar_aot_" #name, kNoreturn_##returns,              \
   [](llvm::LLVMContext& C) { return llvm_function_type(&edgecar_aot_##name, C); }},
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
  std::unique_ptr<llvm::Module> run(const std::vector<uint32_t>& define, bool declare_all) {
    uint32_t nimp = m_.num_imported_funcs;
    auto declare = [&](uint32_t f) {
      auto* fn = llvm::Function::Create(fn_type(m_.func_type(f)), llvm::Function::ExternalLinkage,
                                        entry_name(f), M_.get());
      fn->setCallingConv(llvm::CallingConv::Tail);
      fn->addFnAttr("frame-pointer", "none");
      funcs_[f] = fn;
    };
    if (declare_all) {
      for (uint32_t i = 0; i < m_.bodies.size(); ++i) declare(nimp + i);
    } else {
      for (uint32_t f : define) declare(f);
    }
    for (uint32_t f : define) {
      gen_function(f, funcs_[f]);
      gen_slot_entry(f);
    }
    return std::move(M_);
  }

  // On-stack replacement entries (tiering): for each function N, `void wasm_oN(Ctx*,
  // uint64_t* frame, uint32_t loop)` takes over an interpreted call of N at the header of
  // loop instruction `loop`: its locals come from the interpreter's frame slots, it runs
  // from there to the end, and its results land in the frame's first slots. Only loops
  // entered with an empty operand stack, in functions without try blocks, have an entry:
  // `loops` gets them, per function.
  std::unique_ptr<llvm::Module> run_osr(const std::vector<uint32_t>& define,
                                        std::vector<std::vector<uint32_t>>& loops) {
    for (uint32_t f : define) {
      auto* fn =
          llvm::Function::Create(llvm::FunctionType::get(B_.getVoidTy(), {ptr_, ptr_, i32_}, false),
                                 llvm::Function::ExternalLinkage, osr_entry_name(f), M_.get());
      fn->addFnAttr("frame-pointer", "none");
      osr_ = true;
      osr_loops_.clear();
      gen_function(f, fn);
      // The entry block goes on to the header of the loop asked for.
      auto* none = llvm::BasicBlock::Create(C_, "no_entry", F_);
      llvm::IRBuilder<>(none).CreateUnreachable();
      llvm::IRBuilder<> b(osr_from_);
      auto* sw = b.CreateSwitch(F_->getArg(2), none, static_cast<unsigned>(osr_loops_.size()));
      std::vector<uint32_t> at;
      for (auto [k, header] : osr_loops_) {
        sw->addCase(B_.getInt32(k), header);
        at.push_back(k);
      }
      loops.push_back(std::move(at));
      if (llvm::verifyFunction(*F_, &llvm::errs())) throw Unsupported{"internal error: invalid IR"};
    }
    return std::move(M_);
  }

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
  llvm::Type* ty(ValType t) {
    switch (t.kind()) {
      case ValType::Kind::I32:
        return i32_;
      case ValType::Kind::I64:
        return i64_;
      case ValType::Kind::F32:
        return B_.getFloatTy();
      case ValType::Kind::F64:
        return B_.getDoubleTy();
      case ValType::Kind::V128:
        return v128_;
      case ValType::Kind::Ref:
        return i64_;  // exnref: an ExnInst*
      case ValType::Kind::Bot:
        break;
    }
    throw Unsupported{"a value type of this module"};
  }
  // Typed entries: R f(ctx, params...) for zero or one result; with several, void f(ctx,
  // params..., out) writing them to `out` in the slot layout (LLVM's own lowering of
  // aggregate returns misaligns vectors in them under tailcc).
  static bool multi(const FuncType& ft) { return ft.results.size() > 1; }
  llvm::FunctionType* fn_type(const FuncType& ft) {
    std::vector<llvm::Type*> ps{ptr_};
    for (ValType t : ft.params) ps.push_back(ty(t));
    if (multi(ft)) ps.push_back(ptr_);
    llvm::Type* r = ft.results.size() == 1 ? ty(ft.results[0]) : B_.getVoidTy();
    return llvm::FunctionType::get(r, ps, false);
  }
  // A buffer for a callee's several results (slot layout), and the results read back.
  llvm::Value* results_buffer(const FuncType& ft) {
    llvm::AllocaInst* a = entry_alloca(i64_, static_cast<uint32_t>(slot_count(ft.results)));
    a->setAlignment(llvm::Align(16));
    return a;
  }
  std::vector<llvm::Value*> read_results(llvm::Value* buf, const FuncType& ft) {
    std::vector<llvm::Value*> rs;
    for (size_t i = 0, at = 0; i < ft.results.size(); at += slot_width(ft.results[i++]))
      rs.push_back(load_slot(B_.CreateConstGEP1_64(i64_, buf, at), ft.results[i]));
    return rs;
  }
  void write_results(llvm::Value* buf, const std::vector<llvm::Value*>& vs) {
    for (size_t i = 0, at = 0; i < vs.size(); ++i) {
      B_.CreateAlignedStore(to_slot(vs[i]), B_.CreateConstGEP1_64(i64_, buf, at), llvm::Align(8));
      at += vs[i]->getType() == v128_ ? 2 : 1;
    }
  }
  // ---- helpers ----
  llvm::Value* ctx_field(size_t offset, llvm::Type* t) {
    llvm::Value* p = B_.CreateConstInBoundsGEP1_64(i8_, ctx_, offset);
    auto* l = B_.CreateLoad(t, p);
    l->setMetadata(llvm::LLVMContext::MD_invariant_load, llvm::MDNode::get(C_, {}));
    return l;
  }
  llvm::LoadInst* load_vm(llvm::Type* t, llvm::Value* base, uint64_t offset) {
    llvm::Value* p = offset ? B_.CreateConstInBoundsGEP1_64(i8_, base, offset) : base;
    auto* l = B_.CreateLoad(t, p);
    l->setMetadata(llvm::LLVMContext::MD_tbaa, tbaa_vm_);
    return l;
  }
  llvm::Value* invariant_ptr(llvm::Value* base, uint64_t offset) {
    auto* l = load_vm(ptr_, base, offset);
    l->setMetadata(llvm::LLVMContext::MD_invariant_load, llvm::MDNode::get(C_, {}));
    return l;
  }
  // A runtime function (runtime_functions.def), declared in the module on first use.
  llvm::FunctionCallee runtime_fn(RuntimeFn k) {
    const RuntimeFnInfo& info = kRuntimeFns[k];
    llvm::FunctionCallee c = M_->getOrInsertFunction(info.name, info.type(C_));
    if (info.noreturn) {
      if (auto* f = llvm::dyn_cast<llvm::Function>(c.getCallee())) {
        f->setDoesNotReturn();
        f->addFnAttr(llvm::Attribute::Cold);
      }
    }
    return c;
  }
  llvm::BasicBlock* trap_block(TrapKind k) {
    auto it = traps_.find(k);
    if (it != traps_.end()) return it->second;
    llvm::IRBuilderBase::InsertPointGuard g(B_);
    auto* bb = llvm::BasicBlock::Create(C_, "trap", F_);
    B_.SetInsertPoint(bb);
    call_runtime(rt_trap, {ctx_, B_.getInt32(static_cast<uint32_t>(k))});
    B_.CreateUnreachable();
    traps_[k] = bb;
    return bb;
  }
  // Traps with `k` when `cond` holds.
  void trap_if(llvm::Value* cond, TrapKind k) {
    auto* cont = llvm::BasicBlock::Create(C_, "ok", F_);
    llvm::MDBuilder md(C_);
    B_.CreateCondBr(cond, trap_block(k), cont, md.createBranchWeights(1, 1u << 20));
    B_.SetInsertPoint(cont);
  }
  llvm::Value* pop() {
    llvm::Value* v = stack_.back();
    stack_.pop_back();
    return v;
  }
  void push(llvm::Value* v) { stack_.push_back(v); }
  llvm::Value* bool32(llvm::Value* i1) { return B_.CreateZExt(i1, i32_); }
  llvm::Value* intrinsic(llvm::Intrinsic::ID id, std::vector<llvm::Type*> tys,
                         std::vector<llvm::Value*> args) {
    return B_.CreateCall(llvm::Intrinsic::getDeclaration(M_.get(), id, tys), args);
  }
  llvm::AllocaInst* entry_alloca(llvm::Type* t, uint32_t n = 1) {
    llvm::IRBuilder<> eb(entry_, entry_->getFirstInsertionPt());
    return eb.CreateAlloca(t, eb.getInt32(n));
  }

  // Values to and from the interpreter's 64-bit slots.
  llvm::Value* to_slot(llvm::Value* v) {
    llvm::Type* t = v->getType();
    if (t->isFloatTy()) return B_.CreateZExt(B_.CreateBitCast(v, i32_), i64_);
    if (t->isDoubleTy()) return B_.CreateBitCast(v, i64_);
    if (t == i32_) return B_.CreateZExt(v, i64_);
    return v;
  }
  // A value of type t from the slot(s) at p (a v128 takes two: bytes 0-7, then 8-15).
  llvm::Value* load_slot(llvm::Value* p, ValType t) {
    if (t == ValType::V128) return B_.CreateAlignedLoad(v128_, p, llvm::Align(8));
    return from_slot(B_.CreateLoad(i64_, p), t);
  }
  llvm::Value* from_slot(llvm::Value* s, ValType t) {
    switch (t.kind()) {
      case ValType::Kind::I32:
        return B_.CreateTrunc(s, i32_);
      case ValType::Kind::F32:
        return B_.CreateBitCast(B_.CreateTrunc(s, i32_), B_.getFloatTy());
      case ValType::Kind::F64:
        return B_.CreateBitCast(s, B_.getDoubleTy());
      default:
        return s;
    }
  }

  // ---- function ----
  void gen_slot_entry(uint32_t f) {
    const FuncType& ft = m_.func_type(f);
    auto* s = llvm::Function::Create(llvm::FunctionType::get(B_.getVoidTy(), {ptr_, ptr_}, false),
                                     llvm::Function::ExternalLinkage, slot_entry_name(f), M_.get());
    B_.SetInsertPoint(llvm::BasicBlock::Create(C_, "entry", s));
    llvm::Value* slots = s->getArg(1);
    std::vector<llvm::Value*> args{s->getArg(0)};
    for (size_t i = 0, at = 0; i < ft.params.size(); at += slot_width(ft.params[i++]))
      args.push_back(load_slot(B_.CreateConstGEP1_64(i64_, slots, at), ft.params[i]));
    if (multi(ft)) args.push_back(slots);  // the results land in the slots directly
    auto* call = B_.CreateCall(funcs_[f], args);
    call->setCallingConv(llvm::CallingConv::Tail);
    // Slots are 8-byte aligned: a v128 result must not be stored as if 16-byte aligned.
    if (ft.results.size() == 1) B_.CreateAlignedStore(to_slot(call), slots, llvm::Align(8));
    B_.CreateRetVoid();
  }

  void prologue(uint32_t f) {
    // The interpreter's depth limit (0 while an interrupt is pending), then the native
    // stack: deep recursion must end in a trap, never in a fault past the thread's stack.
    depth_ptr_ = ctx_field(offsetof(Ctx, depth), ptr_);
    depth_ = load_vm(i32_, depth_ptr_, 0);
    auto* lim = load_vm(i32_, ctx_field(offsetof(Ctx, call_limit), ptr_), 0);
    lim->setAtomic(llvm::AtomicOrdering::Monotonic);
    lim->setAlignment(llvm::Align(4));
    {
      auto* cont = llvm::BasicBlock::Create(C_, "depth_ok", F_);
      auto* bad = llvm::BasicBlock::Create(C_, "depth_bad", F_);
      llvm::MDBuilder md(C_);
      B_.CreateCondBr(B_.CreateICmpUGE(depth_, lim), bad, cont,
                      md.createBranchWeights(1, 1u << 20));
      B_.SetInsertPoint(bad);
      call_runtime(rt_call_limit, {ctx_});
      B_.CreateUnreachable();
      B_.SetInsertPoint(cont);
    }
    llvm::Value* marker = entry_alloca(i8_);
    llvm::Value* sp = B_.CreatePtrToInt(marker, i64_);
    llvm::Value* limit = load_vm(i64_, ctx_field(offsetof(Ctx, stack_limit), ptr_), 0);
    trap_if(B_.CreateICmpULT(sp, limit), TrapKind::CallStackExhausted);
    const Layout& L = layout();
    llvm::Value* frames = ctx_field(offsetof(Ctx, frames), ptr_);
    llvm::Value* self = invariant_ptr(ctx_field(offsetof(Ctx, funcs), ptr_), uint64_t{f} * 8);
    llvm::Value* at = B_.CreateGEP(
        i8_, frames,
        B_.CreateAdd(B_.CreateMul(B_.CreateZExt(depth_, i64_), B_.getInt64(L.frame_size)),
                     B_.getInt64(L.frame_fn)));
    B_.CreateStore(self, at)->setMetadata(llvm::LLVMContext::MD_tbaa, tbaa_vm_);
    B_.CreateStore(B_.CreateAdd(depth_, B_.getInt32(1)), depth_ptr_)
        ->setMetadata(llvm::LLVMContext::MD_tbaa, tbaa_vm_);
    mems_.clear();
    bases_.clear();
    if (!m_.memories.empty()) {
      llvm::Value* array = ctx_field(offsetof(Ctx, mems), ptr_);
      for (size_t k = 0; k < m_.memories.size(); ++k) {
        // Loaded in the entry block for every memory; the unused ones are deleted.
        llvm::Value* mi =
            k == 0 ? ctx_field(offsetof(Ctx, mem0), ptr_) : invariant_ptr(array, 8 * k);
        mems_.push_back(mi);
        bases_.push_back(invariant_ptr(mi, L.mem_data));
      }
    }
  }

  void gen_function(uint32_t f, llvm::Function* F) {
    const FuncType& ft = m_.func_type(f);
    const binary::FunctionBody& body = m_.bodies[f - m_.num_imported_funcs];
    F_ = F;
    entry_ = llvm::BasicBlock::Create(C_, "entry", F_);
    B_.SetInsertPoint(entry_);
    ctx_ = F_->getArg(0);
    traps_.clear();
    locals_.clear();
    stack_.clear();
    ctl_.clear();
    dead_ = false;
    skip_ = 0;
    scan_tries(body, ft.params.size());
    if (osr() && eh_) throw Unsupported{"an entry at a loop of a function with try blocks"};
    // On-stack replacement: every local as the interpreter left it in its frame slots.
    osr_frame_ = osr() ? F_->getArg(1) : nullptr;
    size_t slot = 0;
    auto from_frame = [&](ValType t) {
      llvm::Value* v = load_slot(B_.CreateConstGEP1_64(i64_, osr_frame_, slot), t);
      slot += slot_width(t);
      return v;
    };
    for (size_t i = 0; i < ft.params.size(); ++i) {
      auto* a = B_.CreateAlloca(ty(ft.params[i]));
      B_.CreateStore(osr() ? from_frame(ft.params[i]) : F_->getArg(static_cast<unsigned>(i + 1)),
                     a);
      locals_.push_back(a);
    }
    for (ValType t : body.locals) {
      auto* a = B_.CreateAlloca(ty(t));
      B_.CreateStore(osr() ? from_frame(t) : llvm::Constant::getNullValue(ty(t)), a);
      locals_.push_back(a);
    }
    prologue(f);
    if (osr()) {
      // The code before the loop is generated as usual but unreachable (LLVM deletes it):
      // this block branches to the loop's header once open() has made it.
      osr_from_ = B_.GetInsertBlock();
      B_.SetInsertPoint(llvm::BasicBlock::Create(C_, "before_loop", F_));
    }
    if (eh_) {
      handler_slot_ = invariant_ptr(ctx_, offsetof(Ctx, aot_entry));
      entry_handler_ = load_vm(ptr_, handler_slot_, 0);
    }

    Ctl fn;
    fn.kind = Ctl::Func;
    fn.end = llvm::BasicBlock::Create(C_, "return", F_);
    for (ValType t : ft.results) fn.end_phis.push_back(llvm::PHINode::Create(ty(t), 2, "", fn.end));
    ctl_.push_back(fn);

    for (at_ = 0; at_ < body.code.size(); ++at_) {
      const Instr& in = body.code[at_];
      if (ctl_.empty()) break;
      if (dead_) {
        switch (static_cast<Opcode>(in.op)) {
          case Opcode::Block:
          case Opcode::Loop:
          case Opcode::If:
          case Opcode::TryTable:
          case Opcode::Try:
            skip_++;
            continue;
          case Opcode::Else:
            if (skip_ == 0) do_else();
            continue;
          case Opcode::Catch:
          case Opcode::CatchAll:
            if (skip_ == 0) do_catch(in);
            continue;
          case Opcode::Delegate:
            if (skip_ > 0) {
              skip_--;
            } else {
              do_delegate(in.a);
            }
            continue;
          case Opcode::End:
            if (skip_ > 0) {
              skip_--;
            } else {
              do_end();
            }
            continue;
          default:
            continue;
        }
      }
      instr(in, body);
    }
    if (!osr() && llvm::verifyFunction(*F_, &llvm::errs()))
      throw Unsupported{"internal error: invalid IR"};
  }

  void emit_return(const Ctl& fn) {
    B_.SetInsertPoint(fn.end);
    B_.CreateStore(depth_, depth_ptr_)->setMetadata(llvm::LLVMContext::MD_tbaa, tbaa_vm_);
    if (eh_) set_handler(entry_handler_);
    if (osr()) {  // the results go to the interpreter's frame
      write_results(osr_frame_, {fn.end_phis.begin(), fn.end_phis.end()});
      B_.CreateRetVoid();
    } else if (fn.end_phis.empty()) {
      B_.CreateRetVoid();
    } else if (fn.end_phis.size() == 1) {
      B_.CreateRet(fn.end_phis[0]);
    } else {
      write_results(F_->getArg(F_->arg_size() - 1), {fn.end_phis.begin(), fn.end_phis.end()});
      B_.CreateRetVoid();
    }
  }

  // ---- control ----
  void add_incoming(std::vector<llvm::PHINode*>& phis) {
    size_t n = phis.size();
    for (size_t i = 0; i < n; ++i)
      phis[i]->addIncoming(stack_[stack_.size() - n + i], B_.GetInsertBlock());
  }
  void branch(uint32_t depth) {
    Ctl& c = ctl_[ctl_.size() - 1 - depth];
    if (c.kind == Ctl::Loop) {
      add_incoming(c.loop_phis);
      B_.CreateBr(c.header);
    } else {
      add_incoming(c.end_phis);
      B_.CreateBr(c.end);
    }
  }
  llvm::BasicBlock* target_block(uint32_t depth) {
    Ctl& c = ctl_[ctl_.size() - 1 - depth];
    return c.kind == Ctl::Loop ? c.header : c.end;
  }
  void open(Ctl::Kind kind, uint64_t imm) {
    std::vector<ValType> ps, rs;
    m_.block_signature(imm, ps, rs);
    Ctl c;
    c.kind = kind;
    c.holds_try = eh_ && holds_try_[at_];
    llvm::Value* cond = kind == Ctl::If ? pop() : nullptr;
    c.height = stack_.size() - ps.size();
    c.end = llvm::BasicBlock::Create(C_, kind == Ctl::Loop ? "loop_end" : "end", F_);
    for (ValType t : rs) c.end_phis.push_back(llvm::PHINode::Create(ty(t), 2, "", c.end));
    if (kind == Ctl::Loop) {
      c.header = llvm::BasicBlock::Create(C_, "loop", F_);
      for (ValType t : ps) c.loop_phis.push_back(llvm::PHINode::Create(ty(t), 2, "", c.header));
      add_incoming(c.loop_phis);
      B_.CreateBr(c.header);
      if (osr() && stack_.empty()) osr_loops_.emplace_back(static_cast<uint32_t>(at_), c.header);
      B_.SetInsertPoint(c.header);
      if (c.holds_try) restore_handler();
      for (size_t i = 0; i < ps.size(); ++i) stack_[c.height + i] = c.loop_phis[i];
      // Every iteration notices an interrupt (Store::interrupt, timeouts): a one-byte read
      // of the flag in inline assembly that LLVM may neither hoist nor delete (it has side
      // effects) but that clobbers nothing it knows of, so loads and stores of the loop
      // body still optimize as if nothing stood between iterations (an atomic load here
      // would order every memory access around it).
      llvm::Value* fp = ctx_field(offsetof(Ctx, interrupt), ptr_);
      auto* asm_t = llvm::FunctionType::get(i8_, {ptr_}, false);
      auto* check =
          llvm::InlineAsm::get(asm_t, kInterruptCheckAsm, "=r,r,~{dirflag},~{fpsr},~{flags}",
                               /*hasSideEffects=*/true);
      auto* flag = B_.CreateCall(asm_t, check, {fp});
      flag->addFnAttr(llvm::Attribute::NoUnwind);
      flag->setMemoryEffects(llvm::MemoryEffects::inaccessibleMemOnly(llvm::ModRefInfo::ModRef));
      trap_if(B_.CreateICmpNE(flag, B_.getInt8(0)), TrapKind::Interrupted);
    } else if (kind == Ctl::If) {
      auto* then_bb = llvm::BasicBlock::Create(C_, "then", F_);
      c.else_bb = llvm::BasicBlock::Create(C_, "else", F_);
      B_.CreateCondBr(B_.CreateICmpNE(cond, B_.getInt32(0)), then_bb, c.else_bb);
      c.if_params.assign(stack_.begin() + static_cast<ptrdiff_t>(c.height), stack_.end());
      B_.SetInsertPoint(then_bb);
    }
    ctl_.push_back(std::move(c));
  }
  void do_else() {
    Ctl& c = ctl_.back();
    if (!dead_) {
      add_incoming(c.end_phis);
      B_.CreateBr(c.end);
    }
    stack_.resize(c.height);
    stack_.insert(stack_.end(), c.if_params.begin(), c.if_params.end());
    c.has_else = true;
    B_.SetInsertPoint(c.else_bb);
    dead_ = false;
  }
  void do_end() {
    Ctl c = std::move(ctl_.back());
    ctl_.pop_back();
    if (c.legacy && c.land_next) {  // no clause took it: on to the next handler
      llvm::IRBuilderBase::InsertPointGuard g(B_);
      B_.SetInsertPoint(c.land_next);
      throw_ref(c.exn);
    }
    if (!dead_) {
      add_incoming(c.end_phis);
      B_.CreateBr(c.end);
    }
    if (c.kind == Ctl::If && !c.has_else) {
      // No else: the false edge carries the parameters through (they equal the results).
      B_.SetInsertPoint(c.else_bb);
      for (size_t i = 0; i < c.end_phis.size(); ++i)
        c.end_phis[i]->addIncoming(c.if_params[i], c.else_bb);
      B_.CreateBr(c.end);
    }
    stack_.resize(c.height);
    if (c.kind == Ctl::Func) {
      emit_return(c);
      return;
    }
    if (llvm::pred_empty(c.end)) {
      for (auto* p : c.end_phis) p->eraseFromParent();
      c.end->eraseFromParent();
      dead_ = true;
      return;
    }
    B_.SetInsertPoint(c.end);
    if (c.holds_try) restore_handler();
    for (auto* p : c.end_phis) push(p);
    dead_ = false;
  }
  // ---- exception handling ----
  // Whether the function has a try (eh_); which constructs hold one (holds_try_); which
  // locals are written inside a try body: a handler reached by siglongjmp sees the
  // registers of its sigsetjmp, so those locals live in memory (volatile); the others
  // have at the handler the value they had at the try, which their SSA values carry.
  void scan_tries(const binary::FunctionBody& body, size_t params) {
    volatile_locals_.assign(params + body.locals.size(), false);
    eh_ = false;
    holds_try_.assign(body.code.size(), false);
    std::vector<uint8_t> open;    // per construct: 1 while it is a try's body
    std::vector<size_t> openers;  // their instructions
    size_t bodies = 0;            // of them open
    for (size_t i = 0; i < body.code.size(); ++i) {
      const Instr& in = body.code[i];
      switch (static_cast<Opcode>(in.op)) {
        case Opcode::TryTable:
        case Opcode::Try:
          eh_ = true;
          open.push_back(1);
          openers.push_back(i);
          bodies++;
          for (size_t k : openers) holds_try_[k] = true;
          break;
        case Opcode::Block:
        case Opcode::Loop:
        case Opcode::If:
          open.push_back(0);
          openers.push_back(i);
          break;
        case Opcode::Catch:
        case Opcode::CatchAll:
          if (!open.empty() && open.back()) {
            open.back() = 0;
            bodies--;
          }
          break;
        case Opcode::End:
        case Opcode::Delegate:
          if (!open.empty()) {
            bodies -= open.back();
            open.pop_back();
            openers.pop_back();
          }
          break;
        case Opcode::LocalSet:
        case Opcode::LocalTee:
          if (bodies > 0 && in.a < volatile_locals_.size()) volatile_locals_[in.a] = true;
          break;
        default:
          break;
      }
    }
  }
  void set_handler(llvm::Value* rec) {
    B_.CreateStore(rec, handler_slot_)->setMetadata(llvm::LLVMContext::MD_tbaa, tbaa_vm_);
  }
  // The handler of the innermost try_table or try body around the insertion point (ctl_
  // as it is), else the caller's.
  void restore_handler() {
    if (!eh_) return;
    llvm::Value* rec = entry_handler_;
    for (auto it = ctl_.rbegin(); it != ctl_.rend(); ++it)
      if (it->rec) {
        rec = it->rec;
        break;
      }
    set_handler(rec);
  }
  // A handler record pushed and sigsetjmp on it: the body goes on at `body_bb`, an
  // exception arrives at `land`.
  llvm::Value* push_handler(llvm::BasicBlock*& body_bb, llvm::BasicBlock*& land) {
    const Layout& L = layout();
    llvm::AllocaInst* rec = entry_alloca(i8_, L.entry_size);
    rec->setAlignment(llvm::Align(16));
    call_runtime(rt_try, {ctx_, rec});
    llvm::FunctionCallee sj =
        M_->getOrInsertFunction("__sigsetjmp", llvm::FunctionType::get(i32_, {ptr_, i32_}, false));
    if (auto* f = llvm::dyn_cast<llvm::Function>(sj.getCallee()))
      f->addFnAttr(llvm::Attribute::ReturnsTwice);
    auto* jumped =
        B_.CreateCall(sj, {B_.CreateConstGEP1_32(i8_, rec, L.entry_buf), B_.getInt32(0)});
    jumped->addFnAttr(llvm::Attribute::ReturnsTwice);
    body_bb = llvm::BasicBlock::Create(C_, "try_body", F_);
    land = llvm::BasicBlock::Create(C_, "landing", F_);
    B_.CreateCondBr(B_.CreateICmpEQ(jumped, B_.getInt32(0)), body_bb, land);
    return rec;
  }
  void throw_ref(llvm::Value* exn) {
    call_runtime(rt_throw_ref, {ctx_, exn});
    B_.CreateUnreachable();
  }
  // The payload of `exn` (of tag `tag`) onto the operand stack.
  void push_payload(llvm::Value* exn, uint32_t tag) {
    const FuncType& tt = m_.types[m_.tags[tag]];
    llvm::Value* p = call_runtime(rt_exn_payload, {exn});
    for (size_t k = 0, at = 0; k < tt.params.size(); at += slot_width(tt.params[k++]))
      push(load_slot(B_.CreateConstGEP1_64(i64_, p, at), tt.params[k]));
  }
  // try_table: a handler record in the frame, pushed, then sigsetjmp on it. Returning
  // again (an exception thrown inside, aot/runtime.cpp) leads to the landing code, which
  // tries the catch clauses in order (their labels are those around the try_table) and
  // throws the exception on when none matches; the body is a block.
  void try_table(const Instr& in, const binary::FunctionBody& body) {
    llvm::BasicBlock *body_bb, *land;
    llvm::Value* rec = push_handler(body_bb, land);
    std::vector<ValType> ps, rs;
    m_.block_signature(in.imm, ps, rs);
    std::vector<llvm::Value*> saved = stack_;
    size_t height = stack_.size() - ps.size();
    B_.SetInsertPoint(land);
    llvm::Value* exn = call_runtime(rt_caught, {rec});
    bool caught_all = false;
    for (uint32_t i = 0; i < in.b && !caught_all; ++i) {
      const binary::Catch& c = body.catches[in.a + i];
      stack_.assign(saved.begin(), saved.begin() + static_cast<ptrdiff_t>(height));
      llvm::BasicBlock* next = nullptr;
      if (c.kind < 2) {  // catch, catch_ref: this tag's
        llvm::Value* is = call_runtime(rt_exn_is, {ctx_, exn, B_.getInt32(c.tag)});
        auto* take = llvm::BasicBlock::Create(C_, "catch", F_);
        next = llvm::BasicBlock::Create(C_, "catch_next", F_);
        B_.CreateCondBr(B_.CreateICmpNE(is, B_.getInt32(0)), take, next);
        B_.SetInsertPoint(take);
        push_payload(exn, c.tag);
      } else {
        caught_all = true;
      }
      if (c.kind == 1 || c.kind == 3) {  // with the exnref
        call_runtime(rt_exn_keep, {exn});
        push(B_.CreatePtrToInt(exn, i64_));
      } else {
        call_runtime(rt_exn_release, {ctx_, exn});
      }
      branch(c.label);
      if (next) B_.SetInsertPoint(next);
    }
    if (!caught_all) throw_ref(exn);
    stack_ = std::move(saved);
    B_.SetInsertPoint(body_bb);
    open(Ctl::Block, in.imm);
    ctl_.back().rec = rec;
  }
  // The legacy instructions. A try is a block whose body runs with a handler record; its
  // catch blocks follow in the code, each a test added to the landing code's chain (the
  // exception stays with the try for rethrow; the exceptions' collector finds it on the
  // stack); no clause taking it, it goes on. delegate l sends the body's exceptions to
  // the handler at or around label l.
  void legacy_try(const Instr& in) {
    llvm::BasicBlock *body_bb, *land;
    llvm::Value* rec = push_handler(body_bb, land);
    B_.SetInsertPoint(land);
    llvm::Value* exn = call_runtime(rt_caught, {rec});
    B_.SetInsertPoint(body_bb);
    open(Ctl::Block, in.imm);
    Ctl& c = ctl_.back();
    c.rec = rec;
    c.legacy = true;
    c.exn = exn;
    c.land_next = land;
  }
  void do_catch(const Instr& in) {
    Ctl& c = ctl_.back();
    if (!dead_) {  // the body (or the catch block before) ends
      add_incoming(c.end_phis);
      B_.CreateBr(c.end);
    }
    c.rec = nullptr;  // exceptions of catch blocks go to the handlers around the try
    stack_.resize(c.height);
    dead_ = false;
    if (!c.land_next) {  // after a catch_all: never reached
      B_.SetInsertPoint(llvm::BasicBlock::Create(C_, "unreached_catch", F_));
      return;
    }
    B_.SetInsertPoint(c.land_next);
    auto* take = llvm::BasicBlock::Create(C_, "catch", F_);
    if (static_cast<Opcode>(in.op) == Opcode::Catch) {
      llvm::Value* is = call_runtime(rt_exn_is, {ctx_, c.exn, B_.getInt32(in.a)});
      c.land_next = llvm::BasicBlock::Create(C_, "catch_next", F_);
      B_.CreateCondBr(B_.CreateICmpNE(is, B_.getInt32(0)), take, c.land_next);
      B_.SetInsertPoint(take);
      push_payload(c.exn, in.a);
    } else {
      c.land_next = nullptr;
      B_.CreateBr(take);
      B_.SetInsertPoint(take);
    }
  }
  void do_delegate(uint32_t label) {
    Ctl& c = ctl_.back();
    // After the try, label l is ctl_[size - 2 - l]: the innermost handler at or around
    // it takes the exception, else the caller's.
    llvm::Value* target = entry_handler_;
    for (size_t k = ctl_.size() - 1 - label; k-- > 0;)
      if (ctl_[k].rec) {
        target = ctl_[k].rec;
        break;
      }
    {
      llvm::IRBuilderBase::InsertPointGuard g(B_);
      B_.SetInsertPoint(c.land_next);
      set_handler(target);
      throw_ref(c.exn);
    }
    c.land_next = nullptr;
    do_end();
  }
  void throw_tag(uint32_t tag) {
    const FuncType& tt = m_.types[m_.tags[tag]];
    std::vector<llvm::Value*> args = pop_args(tt.params.size());
    llvm::AllocaInst* slots =
        entry_alloca(i64_, static_cast<uint32_t>(std::max<size_t>(slot_count(tt.params), 1)));
    slots->setAlignment(llvm::Align(16));
    for (size_t i = 0, at = 0; i < args.size(); at += slot_width(tt.params[i++]))
      B_.CreateAlignedStore(to_slot(args[i]), B_.CreateConstGEP1_64(i64_, slots, at),
                            llvm::Align(8));
    call_runtime(rt_throw, {ctx_, B_.getInt32(tag), slots});
    B_.CreateUnreachable();
    dead_ = true;
  }
  void br_table(const Instr& in, const binary::FunctionBody& body) {
    llvm::Value* idx = pop();
    std::map<uint32_t, llvm::BasicBlock*> tramp;
    auto tramp_for = [&](uint32_t depth) {
      auto it = tramp.find(depth);
      if (it != tramp.end()) return it->second;
      llvm::IRBuilderBase::InsertPointGuard g(B_);
      auto* bb = llvm::BasicBlock::Create(C_, "br_table", F_);
      B_.SetInsertPoint(bb);
      branch(depth);
      tramp[depth] = bb;
      return bb;
    };
    uint32_t n = in.b - 1;  // the last target is the default
    auto* sw = B_.CreateSwitch(idx, tramp_for(body.br_targets[in.a + n]), n);
    for (uint32_t i = 0; i < n; ++i)
      sw->addCase(B_.getInt32(i), tramp_for(body.br_targets[in.a + i]));
    dead_ = true;
  }

  // ---- calls ----
  std::vector<llvm::Value*> pop_args(size_t n) {
    std::vector<llvm::Value*> args(stack_.end() - static_cast<ptrdiff_t>(n), stack_.end());
    stack_.resize(stack_.size() - n);
    return args;
  }
  // A typed call's results: its value, or those in `buf` for several.
  std::vector<llvm::Value*> typed_results(llvm::Value* call, llvm::Value* buf, const FuncType& ft) {
    if (ft.results.size() == 1) return {call};
    if (ft.results.empty()) return {};
    return read_results(buf, ft);
  }
  // The out argument of a typed call: a fresh buffer, or for a tail call our own.
  llvm::Value* out_arg(const FuncType& ft, bool tail) {
    if (!multi(ft)) return nullptr;
    return tail ? F_->getArg(F_->arg_size() - 1) : results_buffer(ft);
  }
  // Any function through the runtime, on slots: imports (host, interpreted or another
  // instance's native functions) and indirect callees without a native entry.
  std::vector<llvm::Value*> call_on_slots(llvm::Value* fn, const FuncType& ft,
                                          const std::vector<llvm::Value*>& args) {
    uint32_t n =
        static_cast<uint32_t>(std::max<size_t>({slot_count(ft.params), slot_count(ft.results), 1}));
    llvm::AllocaInst* slots = entry_alloca(i64_, n);
    slots->setAlignment(llvm::Align(16));
    for (size_t i = 0, at = 0; i < args.size(); at += slot_width(ft.params[i++]))
      B_.CreateAlignedStore(to_slot(args[i]), B_.CreateConstGEP1_64(i64_, slots, at),
                            llvm::Align(8));
    call_runtime(rt_call, {ctx_, fn, slots});
    std::vector<llvm::Value*> rs;
    for (size_t i = 0, at = 0; i < ft.results.size(); at += slot_width(ft.results[i++]))
      rs.push_back(load_slot(B_.CreateConstGEP1_64(i64_, slots, at), ft.results[i]));
    return rs;
  }
  llvm::Value* func_ptr(uint32_t index) {
    return invariant_ptr(ctx_field(offsetof(Ctx, funcs), ptr_), uint64_t{index} * 8);
  }
  // A call in tail position of a return_call: the frame record is popped first.
  void tail_prepare() {
    B_.CreateStore(depth_, depth_ptr_)->setMetadata(llvm::LLVMContext::MD_tbaa, tbaa_vm_);
    if (eh_) set_handler(entry_handler_);  // the callee is outside our try_tables
  }
  void tail_return(llvm::Value* call) {
    if (F_->getReturnType()->isVoidTy()) {
      B_.CreateRetVoid();
    } else {
      B_.CreateRet(call);
    }
    dead_ = true;
  }
  void call(uint32_t index, bool tail) {
    const FuncType& ft = m_.func_type(index);
    std::vector<llvm::Value*> args = pop_args(ft.params.size());
    if (index < m_.num_imported_funcs) {
      if (tail && eh_) set_handler(entry_handler_);  // the callee is outside our try_tables
      std::vector<llvm::Value*> rs = call_on_slots(func_ptr(index), ft, args);
      for (auto* r : rs) push(r);
      if (tail) do_return();
      return;
    }
    auto callee = funcs_.find(index);
    if (callee == funcs_.end()) {  // tiering: a function compiled apart, or interpreted
      call_function(func_ptr(index), ft, args, tail);
      return;
    }
    args.insert(args.begin(), ctx_);
    llvm::Value* out = out_arg(ft, tail);
    if (out) args.push_back(out);
    if (tail) tail_prepare();
    auto* c = B_.CreateCall(callee->second, args);
    c->setCallingConv(llvm::CallingConv::Tail);
    if (tail) {
      c->setTailCallKind(llvm::CallInst::TCK_MustTail);
      tail_return(c);
      return;
    }
    for (auto* r : typed_results(c, out, ft)) push(r);
  }
  void call_indirect(uint32_t type, uint32_t table, bool tail) {
    const FuncType& ft = m_.types[type];
    llvm::Value* idx = pop();
    if (idx->getType() == i64_) {  // a 64-bit table: no table reaches 2^32 elements
      trap_if(B_.CreateICmpUGT(idx, B_.getInt64(0xFFFFFFFFu)), TrapKind::UndefinedElement);
      idx = B_.CreateTrunc(idx, i32_);
    }
    std::vector<llvm::Value*> args = pop_args(ft.params.size());
    llvm::Value* fn = call_runtime(rt_indirect, {ctx_, B_.getInt32(table), idx, B_.getInt32(type)});
    call_function(fn, ft, args, tail);
  }
  // call_ref, return_call_ref: the reference on top of the arguments; validation proved
  // its type, so only null is checked.
  void call_ref(uint32_t type, bool tail) {
    const FuncType& ft = m_.types[type];
    llvm::Value* ref = pop();
    trap_if(B_.CreateICmpEQ(ref, B_.getInt64(0)), TrapKind::NullFunctionReference);
    std::vector<llvm::Value*> args = pop_args(ft.params.size());
    call_function(B_.CreateIntToPtr(ref, ptr_), ft, args, tail);
  }
  // A call of a FuncInst known only at run time: its native entry when it has one, else
  // through the runtime on slots.
  void call_function(llvm::Value* fn, const FuncType& ft, const std::vector<llvm::Value*>& args,
                     bool tail) {
    const Layout& L = layout();
    llvm::Value* native = load_vm(ptr_, fn, L.func_native);
    auto* native_bb = llvm::BasicBlock::Create(C_, "native", F_);
    auto* slots_bb = llvm::BasicBlock::Create(C_, "slots", F_);
    B_.CreateCondBr(B_.CreateIsNotNull(native), native_bb, slots_bb);
    // Native callees (type-checked: the signature matches) are called directly.
    B_.SetInsertPoint(native_bb);
    std::vector<llvm::Value*> nargs{load_vm(ptr_, fn, L.func_native_ctx)};
    nargs.insert(nargs.end(), args.begin(), args.end());
    llvm::Value* out = out_arg(ft, tail);
    if (out) nargs.push_back(out);
    if (tail) tail_prepare();
    auto* c = B_.CreateCall(fn_type(ft), native, nargs);
    c->setCallingConv(llvm::CallingConv::Tail);
    std::vector<llvm::Value*> nrs;
    if (tail) {
      // Same results as ours (validated), so the tail call's signature is compatible.
      c->setTailCallKind(llvm::CallInst::TCK_MustTail);
      tail_return(c);
      dead_ = false;
    } else {
      nrs = typed_results(c, out, ft);
    }
    llvm::BasicBlock* native_end = B_.GetInsertBlock();
    B_.SetInsertPoint(slots_bb);
    if (tail && eh_) set_handler(entry_handler_);
    std::vector<llvm::Value*> srs = call_on_slots(fn, ft, args);
    if (tail) {
      for (auto* r : srs) push(r);
      do_return();
      return;
    }
    llvm::BasicBlock* slots_end = B_.GetInsertBlock();
    auto* join = llvm::BasicBlock::Create(C_, "called", F_);
    B_.CreateBr(join);
    B_.SetInsertPoint(native_end);
    B_.CreateBr(join);
    B_.SetInsertPoint(join);
    for (size_t i = 0; i < ft.results.size(); ++i) {
      auto* phi = B_.CreatePHI(ty(ft.results[i]), 2);
      phi->addIncoming(nrs[i], native_end);
      phi->addIncoming(srs[i], slots_end);
      push(phi);
    }
  }
  void do_return() {
    branch(static_cast<uint32_t>(ctl_.size() - 1));
    dead_ = true;
  }

  // ---- memory ----
  // The size in bytes of memory 0. Memories never shrink, and an imported memory is at
  // least as large and at most as limited as its import says, so the size lies between the
  // declared minimum and maximum: the range lets LLVM drop checks of accesses it can
  // prove in bounds (static data, loops over it), which also frees those loops for the
  // vectorizer.
  llvm::Value* mem_size(uint32_t k) {
    auto* l = load_vm(i64_, mems_[k], layout().mem_size);
    const Limits& lim = m_.memories[k].limits;
    // No memory exceeds 65536 pages (limits.hpp), 64-bit ones included.
    uint64_t lo = std::min<uint64_t>(lim.min, 65536) * 65536,
             hi = std::min<uint64_t>(lim.max.value_or(65536), 65536) * 65536 + 1;
    if (lo < hi && !(lo == 0 && hi == 65536ull * 65536 + 1)) {
      llvm::MDBuilder md(C_);
      l->setMetadata(llvm::LLVMContext::MD_range,
                     md.createRange(llvm::APInt(64, lo), llvm::APInt(64, hi)));
    }
    return l;
  }
  // The address of an access of `bytes` at `addr` + `offset`, or a trap.
  bool is64(uint32_t k) const { return m_.memories[k].limits.i64; }
  llvm::Value* address(llvm::Value* addr, uint64_t offset, unsigned bytes, uint32_t k) {
    if (is64(k)) {
      // An i64 address: no memory reaches 2^32 bytes, so an address or offset at or above
      // that is out of bounds; below it, the sum cannot overflow.
      if (offset > 0xFFFFFFFFu) {
        trap_if(B_.getTrue(), TrapKind::MemoryOutOfBounds);
        offset = 0;
      }
      trap_if(B_.CreateICmpUGT(addr, B_.getInt64(0xFFFFFFFFu)), TrapKind::MemoryOutOfBounds);
      addr = B_.CreateTrunc(addr, i32_);
    }
    llvm::Value* ea = B_.CreateAdd(B_.CreateZExt(addr, i64_), B_.getInt64(offset));
    llvm::Value* end = B_.CreateAdd(ea, B_.getInt64(bytes));
    trap_if(B_.CreateICmpUGT(end, mem_size(k)), TrapKind::MemoryOutOfBounds);
    return B_.CreateGEP(i8_, bases_[k], ea);
  }
  void load(const Instr& in, llvm::Type* mem_t, llvm::Type* out_t, bool sign) {
    llvm::Value* p = address(pop(), in.imm, mem_t->getPrimitiveSizeInBits() / 8, in.mem);
    auto* l = B_.CreateAlignedLoad(mem_t, p, llvm::Align(1));
    l->setMetadata(llvm::LLVMContext::MD_tbaa, tbaa_guest_);
    llvm::Value* v = l;
    if (mem_t != out_t) v = sign ? B_.CreateSExt(v, out_t) : B_.CreateZExt(v, out_t);
    push(v);
  }
  void store(const Instr& in, llvm::Type* mem_t) {
    llvm::Value* v = pop();
    llvm::Value* p = address(pop(), in.imm, mem_t->getPrimitiveSizeInBits() / 8, in.mem);
    if (v->getType() != mem_t) v = B_.CreateTrunc(v, mem_t);
    B_.CreateAlignedStore(v, p, llvm::Align(1))
        ->setMetadata(llvm::LLVMContext::MD_tbaa, tbaa_guest_);
  }
  // Calls runtime function `k`, checking the arguments against its declaration (a drift
  // would otherwise call it with the wrong signature, silently).
  llvm::CallInst* call_runtime(RuntimeFn k, llvm::ArrayRef<llvm::Value*> args) {
    llvm::FunctionCallee f = runtime_fn(k);
    llvm::FunctionType* ft = f.getFunctionType();
    bool ok = ft->getNumParams() == args.size();
    for (size_t i = 0; ok && i < args.size(); ++i) ok = ft->getParamType(i) == args[i]->getType();
    if (!ok) {
      throw Unsupported{std::string("internal error: ") + kRuntimeFns[k].name +
                        " called with arguments its declaration does not take"};
    }
    return B_.CreateCall(f, args);
  }
  // An instruction done by runtime function `k`: the context, then `args`; its result, if
  // any, is pushed.
  void runtime_instr(RuntimeFn k, std::vector<llvm::Value*> args) {
    args.insert(args.begin(), ctx_);
    llvm::Value* r = call_runtime(k, args);
    if (!r->getType()->isVoidTy()) push(r);
  }
  llvm::Value* wide(llvm::Value* v) { return v->getType() == i64_ ? v : B_.CreateZExt(v, i64_); }
  // memory.init, .copy, .fill: three operands, passed as u64.
  void bulk(RuntimeFn k, std::vector<llvm::Value*> imms) {
    for (llvm::Value* v : pop_args(3)) imms.push_back(wide(v));
    runtime_instr(k, imms);
  }

  // ---- numerics ----
  llvm::Value* fconst(uint64_t bits, bool is64) {
    if (is64)
      return llvm::ConstantFP::get(
          C_, llvm::APFloat(llvm::APFloat::IEEEdouble(), llvm::APInt(64, bits)));
    return llvm::ConstantFP::get(C_, llvm::APFloat(llvm::APFloat::IEEEsingle(),
                                                   llvm::APInt(32, static_cast<uint32_t>(bits))));
  }
  void binop(llvm::Instruction::BinaryOps op) {
    llvm::Value* b = pop();
    llvm::Value* a = pop();
    llvm::Value* r = B_.CreateBinOp(op, a, b);
    if (r->getType()->isFloatingPointTy() && (identity_operand(a) || identity_operand(b))) {
      // LLVM folds x+0, x-0, x*1, x/1, x/-1 to x or -x, which lets a signalling NaN
      // through where WebAssembly requires a quiet one: a NaN result is quieted again
      // (x+x) after the fold. (x86 has no llvm.canonicalize in LLVM 19.)
      r = quiet(r);
    }
    push(r);
  }
  llvm::Value* quiet(llvm::Value* r) {
    return B_.CreateSelect(B_.CreateFCmpUNO(r, r), B_.CreateFAdd(r, r), r);
  }
  static bool identity_operand(llvm::Value* v) {
    auto* c = llvm::dyn_cast<llvm::ConstantFP>(v);
    if (!c) return false;
    const llvm::APFloat& f = c->getValueAPF();
    if (f.isZero()) return true;
    llvm::APFloat one(f.getSemantics(), 1);
    llvm::APFloat abs = llvm::abs(f);
    return abs.compare(one) == llvm::APFloat::cmpEqual;
  }
  void icmp(llvm::CmpInst::Predicate p) {
    llvm::Value* b = pop();
    llvm::Value* a = pop();
    push(bool32(B_.CreateICmp(p, a, b)));
  }
  void fcmp(llvm::CmpInst::Predicate p) {
    llvm::Value* b = pop();
    llvm::Value* a = pop();
    push(bool32(B_.CreateFCmp(p, a, b)));
  }
  void shift(llvm::Instruction::BinaryOps op) {
    llvm::Value* b = pop();
    llvm::Value* a = pop();
    unsigned bits = a->getType()->getIntegerBitWidth();
    push(B_.CreateBinOp(op, a, B_.CreateAnd(b, llvm::ConstantInt::get(a->getType(), bits - 1))));
  }
  void unary_intrinsic(llvm::Intrinsic::ID id) {
    llvm::Value* a = pop();
    push(intrinsic(id, {a->getType()}, {a}));
  }
  void binary_intrinsic(llvm::Intrinsic::ID id) {
    llvm::Value* b = pop();
    llvm::Value* a = pop();
    push(intrinsic(id, {a->getType()}, {a, b}));
  }
  // IEEE minimum/maximum (NaN-propagating, -0 < +0) whose NaN result is quiet, as
  // WebAssembly requires (llvm.minimum may return a signalling NaN operand unchanged).
  void min_max(llvm::Intrinsic::ID id) {
    llvm::Value* b = pop();
    llvm::Value* a = pop();
    llvm::Value* r = intrinsic(id, {a->getType()}, {a, b});
    push(B_.CreateSelect(B_.CreateFCmpUNO(a, b), B_.CreateFAdd(a, b), r));
  }
  void bitcount(llvm::Intrinsic::ID id) {
    llvm::Value* a = pop();
    if (id == llvm::Intrinsic::ctpop) {
      push(intrinsic(id, {a->getType()}, {a}));
    } else {
      push(intrinsic(id, {a->getType()}, {a, B_.getFalse()}));
    }
  }
  void rotate(bool left) {
    llvm::Value* b = pop();
    llvm::Value* a = pop();
    if (b->getType() != a->getType()) b = B_.CreateZExt(b, a->getType());
    push(
        intrinsic(left ? llvm::Intrinsic::fshl : llvm::Intrinsic::fshr, {a->getType()}, {a, a, b}));
  }
  void divide(bool is_signed, bool rem) {
    llvm::Value* b = pop();
    llvm::Value* a = pop();
    llvm::Type* t = a->getType();
    trap_if(B_.CreateICmpEQ(b, llvm::ConstantInt::get(t, 0)), TrapKind::IntegerDivideByZero);
    if (!is_signed) {
      push(rem ? B_.CreateURem(a, b) : B_.CreateUDiv(a, b));
      return;
    }
    unsigned bits = t->getIntegerBitWidth();
    llvm::Value* min = llvm::ConstantInt::get(t, llvm::APInt::getSignedMinValue(bits));
    llvm::Value* minus1 = llvm::ConstantInt::getSigned(t, -1);
    llvm::Value* is_m1 = B_.CreateICmpEQ(b, minus1);
    if (!rem) {
      trap_if(B_.CreateAnd(B_.CreateICmpEQ(a, min), is_m1), TrapKind::IntegerOverflow);
      push(B_.CreateSDiv(a, b));
      return;
    }
    // x rem_s -1 is 0 (INT_MIN rem_s -1 must not overflow).
    llvm::Value* safe = B_.CreateSelect(is_m1, llvm::ConstantInt::get(t, 1), b);
    push(B_.CreateSelect(is_m1, llvm::ConstantInt::get(t, 0), B_.CreateSRem(a, safe)));
  }
  // Trapping float-to-integer conversion: NaN is an invalid conversion, a value whose
  // truncation does not fit an integer overflow. Valid inputs lie in (lo, hi) or [lo, hi).
  void trunc(llvm::Type* to, bool is_signed) {
    llvm::Value* x = pop();
    unsigned bits = to->getIntegerBitWidth();
    double lo, hi;
    bool lo_inclusive;
    if (is_signed) {
      hi = bits == 32 ? 2147483648.0 : 9223372036854775808.0;
      if (bits == 32 && x->getType()->isDoubleTy()) {
        lo = -2147483649.0;
        lo_inclusive = false;
      } else {
        lo = -hi;  // exactly representable; the next value below truncates out of range
        lo_inclusive = true;
      }
    } else {
      hi = bits == 32 ? 4294967296.0 : 18446744073709551616.0;
      lo = -1.0;
      lo_inclusive = false;
    }
    llvm::Value* lo_c = llvm::ConstantFP::get(x->getType(), lo);
    llvm::Value* hi_c = llvm::ConstantFP::get(x->getType(), hi);
    llvm::Value* ok =
        B_.CreateAnd(lo_inclusive ? B_.CreateFCmpOGE(x, lo_c) : B_.CreateFCmpOGT(x, lo_c),
                     B_.CreateFCmpOLT(x, hi_c));
    auto* bad = llvm::BasicBlock::Create(C_, "trunc_bad", F_);
    auto* cont = llvm::BasicBlock::Create(C_, "trunc_ok", F_);
    llvm::MDBuilder md(C_);
    B_.CreateCondBr(ok, cont, bad, md.createBranchWeights(1u << 20, 1));
    B_.SetInsertPoint(bad);
    B_.CreateCondBr(B_.CreateFCmpUNO(x, x), trap_block(TrapKind::InvalidConversionToInteger),
                    trap_block(TrapKind::IntegerOverflow));
    B_.SetInsertPoint(cont);
    push(is_signed ? B_.CreateFPToSI(x, to) : B_.CreateFPToUI(x, to));
  }
  void trunc_sat(llvm::Type* to, bool is_signed) {
    llvm::Value* x = pop();
    push(intrinsic(is_signed ? llvm::Intrinsic::fptosi_sat : llvm::Intrinsic::fptoui_sat,
                   {to, x->getType()}, {x}));
  }
  void extend(llvm::Type* from, llvm::Type* to) {
    llvm::Value* a = pop();
    push(B_.CreateSExt(B_.CreateTrunc(a, from), to));
  }

  // ---- globals and locals ----
  void global_get(uint32_t g) {
    ValType t = m_.global_types[g].type;
    // A v128 global is read and written whole: value then value_hi, adjacent.
    if (t == ValType::V128 && layout().global_value_hi != layout().global_value + 8)
      throw Unsupported{"v128 globals in this build's layout"};
    llvm::Value* gi = invariant_ptr(ctx_field(offsetof(Ctx, globals), ptr_), uint64_t{g} * 8);
    llvm::Value* p = B_.CreateConstInBoundsGEP1_64(i8_, gi, layout().global_value);
    auto* l = B_.CreateLoad(ty(t), p);
    l->setMetadata(llvm::LLVMContext::MD_tbaa, tbaa_vm_);
    push(l);
  }
  void global_set(uint32_t g) {
    if (m_.global_types[g].type == ValType::V128 &&
        layout().global_value_hi != layout().global_value + 8)
      throw Unsupported{"v128 globals in this build's layout"};
    llvm::Value* v = to_slot(pop());
    llvm::Value* gi = invariant_ptr(ctx_field(offsetof(Ctx, globals), ptr_), uint64_t{g} * 8);
    llvm::Value* p = B_.CreateConstInBoundsGEP1_64(i8_, gi, layout().global_value);
    B_.CreateStore(v, p)->setMetadata(llvm::LLVMContext::MD_tbaa, tbaa_vm_);
  }

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
  llvm::Value* half(llvm::Value* a, unsigned from, unsigned n) {
    std::vector<int> m;
    for (unsigned i = 0; i < n; ++i) m.push_back(static_cast<int>(from + i));
    return B_.CreateShuffleVector(a, m);
  }
  // Every other lane of a, from `first`.
  llvm::Value* every_other(llvm::Value* a, unsigned first) {
    unsigned n = llvm::cast<llvm::FixedVectorType>(a->getType())->getNumElements();
    std::vector<int> m;
    for (unsigned i = first; i < n; i += 2) m.push_back(static_cast<int>(i));
    return B_.CreateShuffleVector(a, m);
  }
  llvm::Value* concat(llvm::Value* a, llvm::Value* b) {
    unsigned n = llvm::cast<llvm::FixedVectorType>(a->getType())->getNumElements();
    std::vector<int> m;
    for (unsigned i = 0; i < 2 * n; ++i) m.push_back(static_cast<int>(i));
    return B_.CreateShuffleVector(a, b, m);
  }
  llvm::Value* clamp(llvm::Value* v, int64_t lo, int64_t hi) {
    auto* t = llvm::cast<llvm::FixedVectorType>(v->getType());
    llvm::Value* l = splat(llvm::ConstantInt::getSigned(t->getElementType(), lo), t);
    llvm::Value* h = splat(llvm::ConstantInt::getSigned(t->getElementType(), hi), t);
    v = B_.CreateSelect(B_.CreateICmpSLT(v, l), l, v);
    return B_.CreateSelect(B_.CreateICmpSGT(v, h), h, v);
  }
  // narrow: two vectors of wide lanes, saturated to [lo, hi], into one of half-width lanes.
  void narrow(llvm::FixedVectorType* wide, llvm::FixedVectorType* out, int64_t lo, int64_t hi) {
    llvm::Value* b = popv(wide);
    llvm::Value* a = popv(wide);
    pushv(B_.CreateTrunc(clamp(concat(a, b), lo, hi), out));
  }
  // extend: lanes [from, from + n) of a (lanes of `in`) widened to `out`.
  void extend_half(llvm::FixedVectorType* in, llvm::FixedVectorType* out, bool high, bool sign) {
    llvm::Value* a = popv(in);
    unsigned n = out->getNumElements();
    llvm::Value* h = half(a, high ? n : 0, n);
    pushv(sign ? B_.CreateSExt(h, out) : B_.CreateZExt(h, out));
  }
  void extmul(llvm::FixedVectorType* in, llvm::FixedVectorType* out, bool high, bool sign) {
    llvm::Value* b = popv(in);
    llvm::Value* a = popv(in);
    unsigned n = out->getNumElements();
    auto ext = [&](llvm::Value* v) {
      llvm::Value* h = half(v, high ? n : 0, n);
      return sign ? B_.CreateSExt(h, out) : B_.CreateZExt(h, out);
    };
    pushv(B_.CreateMul(ext(a), ext(b)));
  }
  void extadd_pairwise(llvm::FixedVectorType* in, llvm::FixedVectorType* out, bool sign) {
    llvm::Value* a = popv(in);
    auto ext = [&](llvm::Value* v) { return sign ? B_.CreateSExt(v, out) : B_.CreateZExt(v, out); };
    pushv(B_.CreateAdd(ext(every_other(a, 0)), ext(every_other(a, 1))));
  }
  void vbin(llvm::FixedVectorType* t, llvm::Instruction::BinaryOps op) {
    llvm::Value* b = popv(t);
    llvm::Value* a = popv(t);
    llvm::Value* r = B_.CreateBinOp(op, a, b);
    // As for scalars (binop): a constant operand may let LLVM fold the operation away.
    if (t->getElementType()->isFloatingPointTy() &&
        (llvm::isa<llvm::Constant>(a) || llvm::isa<llvm::Constant>(b)))
      r = quiet(r);
    pushv(r);
  }
  void vbin_intrinsic(llvm::FixedVectorType* t, llvm::Intrinsic::ID id) {
    llvm::Value* b = popv(t);
    llvm::Value* a = popv(t);
    pushv(intrinsic(id, {t}, {a, b}));
  }
  void vun_intrinsic(llvm::FixedVectorType* t, llvm::Intrinsic::ID id) {
    llvm::Value* a = popv(t);
    pushv(intrinsic(id, {t}, {a}));
  }
  void vicmp(llvm::FixedVectorType* t, llvm::CmpInst::Predicate p) {
    llvm::Value* b = popv(t);
    llvm::Value* a = popv(t);
    pushv(mask_lanes(B_.CreateICmp(p, a, b), t));
  }
  void vfcmp(llvm::FixedVectorType* t, llvm::CmpInst::Predicate p) {
    llvm::Value* b = popv(t);
    llvm::Value* a = popv(t);
    auto* it = llvm::VectorType::getInteger(t);
    pushv(mask_lanes(B_.CreateFCmp(p, a, b), llvm::cast<llvm::FixedVectorType>(it)));
  }
  void vminmax(llvm::FixedVectorType* t, llvm::CmpInst::Predicate p) {
    llvm::Value* b = popv(t);
    llvm::Value* a = popv(t);
    pushv(B_.CreateSelect(B_.CreateICmp(p, a, b), a, b));
  }
  void vfminmax(llvm::FixedVectorType* t, llvm::Intrinsic::ID id) {
    llvm::Value* b = popv(t);
    llvm::Value* a = popv(t);
    llvm::Value* r = intrinsic(id, {t}, {a, b});
    llvm::Value* nan = B_.CreateFCmpUNO(a, b);
    pushv(B_.CreateSelect(nan, B_.CreateFAdd(a, b), r));
  }
  void vshift(llvm::FixedVectorType* t, llvm::Instruction::BinaryOps op) {
    llvm::Value* n = pop();
    llvm::Value* a = popv(t);
    unsigned bits = t->getScalarSizeInBits();
    n = B_.CreateAnd(n, B_.getInt32(bits - 1));
    n = B_.CreateZExtOrTrunc(n, t->getElementType());
    pushv(B_.CreateBinOp(op, a, splat(n, t)));
  }
  void avgr(llvm::FixedVectorType* t) {
    llvm::Value* b = popv(t);
    llvm::Value* a = popv(t);
    auto* w = vt(llvm::IntegerType::get(C_, t->getScalarSizeInBits() * 2), t->getNumElements());
    llvm::Value* sum = B_.CreateAdd(B_.CreateAdd(B_.CreateZExt(a, w), B_.CreateZExt(b, w)),
                                    splat(llvm::ConstantInt::get(w->getElementType(), 1), w));
    pushv(B_.CreateTrunc(
        B_.CreateLShr(sum, splat(llvm::ConstantInt::get(w->getElementType(), 1), w)), t));
  }
  void all_true(llvm::FixedVectorType* t) {
    llvm::Value* a = popv(t);
    llvm::Value* ne = B_.CreateICmpNE(a, llvm::Constant::getNullValue(t));
    push(B_.CreateZExt(B_.CreateAndReduce(ne), i32_));
  }
  void bitmask(llvm::FixedVectorType* t) {
    llvm::Value* a = popv(t);
    llvm::Value* neg = B_.CreateICmpSLT(a, llvm::Constant::getNullValue(t));
    llvm::Value* bits = B_.CreateBitCast(neg, llvm::IntegerType::get(C_, t->getNumElements()));
    push(B_.CreateZExt(bits, i32_));
  }
  void q15mulr() {
    llvm::Value* b = popv(i16x8());
    llvm::Value* a = popv(i16x8());
    auto* w = i32x4x2();
    llvm::Value* p = B_.CreateMul(B_.CreateSExt(a, w), B_.CreateSExt(b, w));
    p = B_.CreateAShr(B_.CreateAdd(p, splat(B_.getInt32(0x4000), w)), splat(B_.getInt32(15), w));
    pushv(B_.CreateTrunc(clamp(p, -32768, 32767), i16x8()));
  }
  llvm::FixedVectorType* i32x4x2() { return vt(i32_, 8); }
  void dot_i16x8() {
    llvm::Value* b = popv(i16x8());
    llvm::Value* a = popv(i16x8());
    llvm::Value* p = B_.CreateMul(B_.CreateSExt(a, i32x4x2()), B_.CreateSExt(b, i32x4x2()));
    pushv(B_.CreateAdd(every_other(p, 0), every_other(p, 1)));
  }
  // Lane-wise products of signed bytes summed in pairs (i16, wrapping), as the interpreter.
  llvm::Value* relaxed_dot_i16(llvm::Value* a, llvm::Value* b) {
    llvm::Value* p = B_.CreateMul(B_.CreateSExt(a, i16x8x2()), B_.CreateSExt(b, i16x8x2()));
    return B_.CreateAdd(every_other(p, 0), every_other(p, 1));
  }
  llvm::FixedVectorType* i16x8x2() { return vt(B_.getInt16Ty(), 16); }
  void trunc_sat_vec(llvm::FixedVectorType* from, bool sign, bool zero_high) {
    llvm::Value* a = popv(from);
    unsigned n = from->getNumElements();
    auto* out = vt(i32_, n);
    llvm::Value* r = intrinsic(sign ? llvm::Intrinsic::fptosi_sat : llvm::Intrinsic::fptoui_sat,
                               {out, from}, {a});
    if (zero_high) r = concat(r, llvm::Constant::getNullValue(out));
    pushv(r);
  }
  llvm::Value* v128_const(const Instr& in) {
    uint64_t hi = uint64_t{in.b} << 32 | in.a;
    return llvm::ConstantVector::get({B_.getInt64(in.imm), B_.getInt64(hi)});
  }
  // Loads: v128, widening, splat, zero-extending, lane.
  void vload(const Instr& in, llvm::Type* t, unsigned bytes) {
    llvm::Value* p = address(pop(), in.imm, bytes, in.mem);
    auto* l = B_.CreateAlignedLoad(t, p, llvm::Align(1));
    l->setMetadata(llvm::LLVMContext::MD_tbaa, tbaa_guest_);
    push(l);
  }
  void load_extend(const Instr& in, llvm::FixedVectorType* in_t, llvm::FixedVectorType* out,
                   bool sign) {
    vload(in, in_t, 8);
    llvm::Value* v = pop();
    pushv(sign ? B_.CreateSExt(v, out) : B_.CreateZExt(v, out));
  }
  void load_splat(const Instr& in, llvm::Type* lane, unsigned n) {
    vload(in, lane, lane->getPrimitiveSizeInBits() / 8);
    pushv(splat(pop(), vt(lane, n)));
  }
  void load_zero(const Instr& in, llvm::Type* lane, unsigned n) {
    vload(in, lane, lane->getPrimitiveSizeInBits() / 8);
    llvm::Value* x = pop();
    pushv(B_.CreateInsertElement(llvm::Constant::getNullValue(vt(lane, n)), x, uint64_t{0}));
  }
  void load_lane(const Instr& in, llvm::Type* lane, unsigned n) {
    llvm::Value* v = popv(vt(lane, n));
    vload(in, lane, lane->getPrimitiveSizeInBits() / 8);
    pushv(B_.CreateInsertElement(v, pop(), uint64_t{in.b}));
  }
  void store_lane(const Instr& in, llvm::Type* lane, unsigned n) {
    llvm::Value* v = popv(vt(lane, n));
    llvm::Value* p = address(pop(), in.imm, lane->getPrimitiveSizeInBits() / 8, in.mem);
    B_.CreateAlignedStore(B_.CreateExtractElement(v, uint64_t{in.b}), p, llvm::Align(1))
        ->setMetadata(llvm::LLVMContext::MD_tbaa, tbaa_guest_);
  }
  void extract(llvm::FixedVectorType* t, const Instr& in, int ext) {  // ext: 0 none, 1 s, 2 u
    llvm::Value* x = B_.CreateExtractElement(popv(t), uint64_t{in.a});
    if (ext == 1) x = B_.CreateSExt(x, i32_);
    if (ext == 2) x = B_.CreateZExt(x, i32_);
    push(x);
  }
  void replace(llvm::FixedVectorType* t, const Instr& in) {
    llvm::Value* x = pop();
    llvm::Value* v = popv(t);
    if (x->getType() != t->getElementType()) x = B_.CreateTrunc(x, t->getElementType());
    pushv(B_.CreateInsertElement(v, x, uint64_t{in.a}));
  }
  void vsplat(llvm::FixedVectorType* t) {
    llvm::Value* x = pop();
    if (x->getType() != t->getElementType()) x = B_.CreateTrunc(x, t->getElementType());
    pushv(splat(x, t));
  }
  // swizzle: lane i of the result is a[b[i]], or 0 when b[i] >= 16: pshufb (SSSE3) with
  // out-of-range indices turned into 0x80, else lane by lane.
  void swizzle() {
    llvm::Value* b = popv(i8x16());
    llvm::Value* a = popv(i8x16());
    if (__builtin_cpu_supports("ssse3")) {
      llvm::Value* in_range = B_.CreateICmpULT(b, splat(B_.getInt8(16), i8x16()));
      llvm::Value* idx =
          B_.CreateSelect(in_range, b, splat(B_.getInt8(static_cast<int8_t>(0x80)), i8x16()));
      pushv(intrinsic(llvm::Intrinsic::x86_ssse3_pshuf_b_128, {}, {a, idx}));
      return;
    }
    llvm::Value* r = llvm::Constant::getNullValue(i8x16());
    llvm::Value* idx = B_.CreateAnd(b, splat(B_.getInt8(15), i8x16()));
    for (unsigned i = 0; i < 16; ++i)
      r = B_.CreateInsertElement(
          r, B_.CreateExtractElement(a, B_.CreateExtractElement(idx, uint64_t{i})), uint64_t{i});
    llvm::Value* in_range = B_.CreateICmpULT(b, splat(B_.getInt8(16), i8x16()));
    pushv(B_.CreateSelect(in_range, r, llvm::Constant::getNullValue(i8x16())));
  }
  void shuffle(const Instr& in) {
    llvm::Value* b = popv(i8x16());
    llvm::Value* a = popv(i8x16());
    uint64_t lo = in.imm, hi = uint64_t{in.b} << 32 | in.a;
    std::vector<int> m;
    for (unsigned i = 0; i < 16; ++i)
      m.push_back(static_cast<int>(((i < 8 ? lo >> (8 * i) : hi >> (8 * (i - 8)))) & 0xFF));
    pushv(B_.CreateShuffleVector(a, b, m));
  }
  void bitselect() {
    llvm::Value* c = pop();
    llvm::Value* b = pop();
    llvm::Value* a = pop();
    push(B_.CreateOr(B_.CreateAnd(a, c), B_.CreateAnd(b, B_.CreateNot(c))));
  }

  bool simd(const Instr& in) {
    using O = Opcode;
    namespace I = llvm::Intrinsic;
    using P = llvm::CmpInst::Predicate;
    using BO = llvm::Instruction::BinaryOps;
    llvm::Type* f32 = B_.getFloatTy();
    llvm::Type* i16 = B_.getInt16Ty();
    switch (static_cast<O>(in.op)) {
      case O::V128Load:
        vload(in, v128_, 16);
        break;
      case O::V128Load8x8S:
        load_extend(in, vt(i8_, 8), i16x8(), true);
        break;
      case O::V128Load8x8U:
        load_extend(in, vt(i8_, 8), i16x8(), false);
        break;
      case O::V128Load16x4S:
        load_extend(in, vt(i16, 4), i32x4(), true);
        break;
      case O::V128Load16x4U:
        load_extend(in, vt(i16, 4), i32x4(), false);
        break;
      case O::V128Load32x2S:
        load_extend(in, vt(i32_, 2), i64x2(), true);
        break;
      case O::V128Load32x2U:
        load_extend(in, vt(i32_, 2), i64x2(), false);
        break;
      case O::V128Load8Splat:
        load_splat(in, i8_, 16);
        break;
      case O::V128Load16Splat:
        load_splat(in, i16, 8);
        break;
      case O::V128Load32Splat:
        load_splat(in, i32_, 4);
        break;
      case O::V128Load64Splat:
        load_splat(in, i64_, 2);
        break;
      case O::V128Load32Zero:
        load_zero(in, i32_, 4);
        break;
      case O::V128Load64Zero:
        load_zero(in, i64_, 2);
        break;
      case O::V128Load8Lane:
        load_lane(in, i8_, 16);
        break;
      case O::V128Load16Lane:
        load_lane(in, i16, 8);
        break;
      case O::V128Load32Lane:
        load_lane(in, i32_, 4);
        break;
      case O::V128Load64Lane:
        load_lane(in, i64_, 2);
        break;
      case O::V128Store:
        store(in, v128_);
        break;
      case O::V128Store8Lane:
        store_lane(in, i8_, 16);
        break;
      case O::V128Store16Lane:
        store_lane(in, i16, 8);
        break;
      case O::V128Store32Lane:
        store_lane(in, i32_, 4);
        break;
      case O::V128Store64Lane:
        store_lane(in, i64_, 2);
        break;
      case O::V128Const:
        push(v128_const(in));
        break;
      case O::I8x16Shuffle:
        shuffle(in);
        break;
      case O::I8x16Swizzle:
      case O::I8x16RelaxedSwizzle:
        swizzle();
        break;
      case O::I8x16Splat:
        vsplat(i8x16());
        break;
      case O::I16x8Splat:
        vsplat(i16x8());
        break;
      case O::I32x4Splat:
        vsplat(i32x4());
        break;
      case O::I64x2Splat:
        vsplat(i64x2());
        break;
      case O::F32x4Splat:
        vsplat(f32x4());
        break;
      case O::F64x2Splat:
        vsplat(f64x2());
        break;
      case O::I8x16ExtractLaneS:
        extract(i8x16(), in, 1);
        break;
      case O::I8x16ExtractLaneU:
        extract(i8x16(), in, 2);
        break;
      case O::I16x8ExtractLaneS:
        extract(i16x8(), in, 1);
        break;
      case O::I16x8ExtractLaneU:
        extract(i16x8(), in, 2);
        break;
      case O::I32x4ExtractLane:
        extract(i32x4(), in, 0);
        break;
      case O::I64x2ExtractLane:
        extract(i64x2(), in, 0);
        break;
      case O::F32x4ExtractLane:
        extract(f32x4(), in, 0);
        break;
      case O::F64x2ExtractLane:
        extract(f64x2(), in, 0);
        break;
      case O::I8x16ReplaceLane:
        replace(i8x16(), in);
        break;
      case O::I16x8ReplaceLane:
        replace(i16x8(), in);
        break;
      case O::I32x4ReplaceLane:
        replace(i32x4(), in);
        break;
      case O::I64x2ReplaceLane:
        replace(i64x2(), in);
        break;
      case O::F32x4ReplaceLane:
        replace(f32x4(), in);
        break;
      case O::F64x2ReplaceLane:
        replace(f64x2(), in);
        break;
      case O::I8x16Eq:
        vicmp(i8x16(), P::ICMP_EQ);
        break;
      case O::I8x16Ne:
        vicmp(i8x16(), P::ICMP_NE);
        break;
      case O::I8x16LtS:
        vicmp(i8x16(), P::ICMP_SLT);
        break;
      case O::I8x16LtU:
        vicmp(i8x16(), P::ICMP_ULT);
        break;
      case O::I8x16GtS:
        vicmp(i8x16(), P::ICMP_SGT);
        break;
      case O::I8x16GtU:
        vicmp(i8x16(), P::ICMP_UGT);
        break;
      case O::I8x16LeS:
        vicmp(i8x16(), P::ICMP_SLE);
        break;
      case O::I8x16LeU:
        vicmp(i8x16(), P::ICMP_ULE);
        break;
      case O::I8x16GeS:
        vicmp(i8x16(), P::ICMP_SGE);
        break;
      case O::I8x16GeU:
        vicmp(i8x16(), P::ICMP_UGE);
        break;
      case O::I16x8Eq:
        vicmp(i16x8(), P::ICMP_EQ);
        break;
      case O::I16x8Ne:
        vicmp(i16x8(), P::ICMP_NE);
        break;
      case O::I16x8LtS:
        vicmp(i16x8(), P::ICMP_SLT);
        break;
      case O::I16x8LtU:
        vicmp(i16x8(), P::ICMP_ULT);
        break;
      case O::I16x8GtS:
        vicmp(i16x8(), P::ICMP_SGT);
        break;
      case O::I16x8GtU:
        vicmp(i16x8(), P::ICMP_UGT);
        break;
      case O::I16x8LeS:
        vicmp(i16x8(), P::ICMP_SLE);
        break;
      case O::I16x8LeU:
        vicmp(i16x8(), P::ICMP_ULE);
        break;
      case O::I16x8GeS:
        vicmp(i16x8(), P::ICMP_SGE);
        break;
      case O::I16x8GeU:
        vicmp(i16x8(), P::ICMP_UGE);
        break;
      case O::I32x4Eq:
        vicmp(i32x4(), P::ICMP_EQ);
        break;
      case O::I32x4Ne:
        vicmp(i32x4(), P::ICMP_NE);
        break;
      case O::I32x4LtS:
        vicmp(i32x4(), P::ICMP_SLT);
        break;
      case O::I32x4LtU:
        vicmp(i32x4(), P::ICMP_ULT);
        break;
      case O::I32x4GtS:
        vicmp(i32x4(), P::ICMP_SGT);
        break;
      case O::I32x4GtU:
        vicmp(i32x4(), P::ICMP_UGT);
        break;
      case O::I32x4LeS:
        vicmp(i32x4(), P::ICMP_SLE);
        break;
      case O::I32x4LeU:
        vicmp(i32x4(), P::ICMP_ULE);
        break;
      case O::I32x4GeS:
        vicmp(i32x4(), P::ICMP_SGE);
        break;
      case O::I32x4GeU:
        vicmp(i32x4(), P::ICMP_UGE);
        break;
      case O::I64x2Eq:
        vicmp(i64x2(), P::ICMP_EQ);
        break;
      case O::I64x2Ne:
        vicmp(i64x2(), P::ICMP_NE);
        break;
      case O::I64x2LtS:
        vicmp(i64x2(), P::ICMP_SLT);
        break;
      case O::I64x2GtS:
        vicmp(i64x2(), P::ICMP_SGT);
        break;
      case O::I64x2LeS:
        vicmp(i64x2(), P::ICMP_SLE);
        break;
      case O::I64x2GeS:
        vicmp(i64x2(), P::ICMP_SGE);
        break;
      case O::F32x4Eq:
        vfcmp(f32x4(), P::FCMP_OEQ);
        break;
      case O::F32x4Ne:
        vfcmp(f32x4(), P::FCMP_UNE);
        break;
      case O::F32x4Lt:
        vfcmp(f32x4(), P::FCMP_OLT);
        break;
      case O::F32x4Gt:
        vfcmp(f32x4(), P::FCMP_OGT);
        break;
      case O::F32x4Le:
        vfcmp(f32x4(), P::FCMP_OLE);
        break;
      case O::F32x4Ge:
        vfcmp(f32x4(), P::FCMP_OGE);
        break;
      case O::F64x2Eq:
        vfcmp(f64x2(), P::FCMP_OEQ);
        break;
      case O::F64x2Ne:
        vfcmp(f64x2(), P::FCMP_UNE);
        break;
      case O::F64x2Lt:
        vfcmp(f64x2(), P::FCMP_OLT);
        break;
      case O::F64x2Gt:
        vfcmp(f64x2(), P::FCMP_OGT);
        break;
      case O::F64x2Le:
        vfcmp(f64x2(), P::FCMP_OLE);
        break;
      case O::F64x2Ge:
        vfcmp(f64x2(), P::FCMP_OGE);
        break;
      case O::V128Not:
        push(B_.CreateNot(pop()));
        break;
      case O::V128And:
        vbin(i64x2(), BO::And);
        break;
      case O::V128Or:
        vbin(i64x2(), BO::Or);
        break;
      case O::V128Xor:
        vbin(i64x2(), BO::Xor);
        break;
      case O::V128Andnot: {
        llvm::Value* b = pop();
        llvm::Value* a = pop();
        push(B_.CreateAnd(a, B_.CreateNot(b)));
        break;
      }
      case O::V128Bitselect:
      case O::I8x16RelaxedLaneselect:
      case O::I16x8RelaxedLaneselect:
      case O::I32x4RelaxedLaneselect:
      case O::I64x2RelaxedLaneselect:
        bitselect();
        break;
      case O::V128AnyTrue:
        push(B_.CreateZExt(B_.CreateICmpNE(as(pop(), B_.getInt128Ty()),
                                           llvm::ConstantInt::get(B_.getInt128Ty(), 0)),
                           i32_));
        break;
      case O::F32x4DemoteF64x2Zero: {
        llvm::Value* a = popv(f64x2());
        pushv(concat(B_.CreateFPTrunc(a, vt(f32, 2)), llvm::Constant::getNullValue(vt(f32, 2))));
        break;
      }
      case O::F64x2PromoteLowF32x4:
        pushv(B_.CreateFPExt(half(popv(f32x4()), 0, 2), f64x2()));
        break;
      case O::I8x16Abs:
        vabs(i8x16());
        break;
      case O::I16x8Abs:
        vabs(i16x8());
        break;
      case O::I32x4Abs:
        vabs(i32x4());
        break;
      case O::I64x2Abs:
        vabs(i64x2());
        break;
      case O::I8x16Neg:
        pushv(B_.CreateNeg(popv(i8x16())));
        break;
      case O::I16x8Neg:
        pushv(B_.CreateNeg(popv(i16x8())));
        break;
      case O::I32x4Neg:
        pushv(B_.CreateNeg(popv(i32x4())));
        break;
      case O::I64x2Neg:
        pushv(B_.CreateNeg(popv(i64x2())));
        break;
      case O::I8x16Popcnt:
        vun_intrinsic(i8x16(), I::ctpop);
        break;
      case O::I8x16AllTrue:
        all_true(i8x16());
        break;
      case O::I16x8AllTrue:
        all_true(i16x8());
        break;
      case O::I32x4AllTrue:
        all_true(i32x4());
        break;
      case O::I64x2AllTrue:
        all_true(i64x2());
        break;
      case O::I8x16Bitmask:
        bitmask(i8x16());
        break;
      case O::I16x8Bitmask:
        bitmask(i16x8());
        break;
      case O::I32x4Bitmask:
        bitmask(i32x4());
        break;
      case O::I64x2Bitmask:
        bitmask(i64x2());
        break;
      case O::I8x16NarrowI16x8S:
        narrow(i16x8(), i8x16(), -128, 127);
        break;
      case O::I8x16NarrowI16x8U:
        narrow(i16x8(), i8x16(), 0, 255);
        break;
      case O::I16x8NarrowI32x4S:
        narrow(i32x4(), i16x8(), -32768, 32767);
        break;
      case O::I16x8NarrowI32x4U:
        narrow(i32x4(), i16x8(), 0, 65535);
        break;
      case O::F32x4Ceil:
        vun_intrinsic(f32x4(), I::ceil);
        break;
      case O::F32x4Floor:
        vun_intrinsic(f32x4(), I::floor);
        break;
      case O::F32x4Trunc:
        vun_intrinsic(f32x4(), I::trunc);
        break;
      case O::F32x4Nearest:
        vun_intrinsic(f32x4(), I::roundeven);
        break;
      case O::F64x2Ceil:
        vun_intrinsic(f64x2(), I::ceil);
        break;
      case O::F64x2Floor:
        vun_intrinsic(f64x2(), I::floor);
        break;
      case O::F64x2Trunc:
        vun_intrinsic(f64x2(), I::trunc);
        break;
      case O::F64x2Nearest:
        vun_intrinsic(f64x2(), I::roundeven);
        break;
      case O::I8x16Shl:
        vshift(i8x16(), BO::Shl);
        break;
      case O::I8x16ShrS:
        vshift(i8x16(), BO::AShr);
        break;
      case O::I8x16ShrU:
        vshift(i8x16(), BO::LShr);
        break;
      case O::I16x8Shl:
        vshift(i16x8(), BO::Shl);
        break;
      case O::I16x8ShrS:
        vshift(i16x8(), BO::AShr);
        break;
      case O::I16x8ShrU:
        vshift(i16x8(), BO::LShr);
        break;
      case O::I32x4Shl:
        vshift(i32x4(), BO::Shl);
        break;
      case O::I32x4ShrS:
        vshift(i32x4(), BO::AShr);
        break;
      case O::I32x4ShrU:
        vshift(i32x4(), BO::LShr);
        break;
      case O::I64x2Shl:
        vshift(i64x2(), BO::Shl);
        break;
      case O::I64x2ShrS:
        vshift(i64x2(), BO::AShr);
        break;
      case O::I64x2ShrU:
        vshift(i64x2(), BO::LShr);
        break;
      case O::I8x16Add:
        vbin(i8x16(), BO::Add);
        break;
      case O::I16x8Add:
        vbin(i16x8(), BO::Add);
        break;
      case O::I32x4Add:
        vbin(i32x4(), BO::Add);
        break;
      case O::I64x2Add:
        vbin(i64x2(), BO::Add);
        break;
      case O::I8x16Sub:
        vbin(i8x16(), BO::Sub);
        break;
      case O::I16x8Sub:
        vbin(i16x8(), BO::Sub);
        break;
      case O::I32x4Sub:
        vbin(i32x4(), BO::Sub);
        break;
      case O::I64x2Sub:
        vbin(i64x2(), BO::Sub);
        break;
      case O::I16x8Mul:
        vbin(i16x8(), BO::Mul);
        break;
      case O::I32x4Mul:
        vbin(i32x4(), BO::Mul);
        break;
      case O::I64x2Mul:
        vbin(i64x2(), BO::Mul);
        break;
      case O::I8x16AddSatS:
        vbin_intrinsic(i8x16(), I::sadd_sat);
        break;
      case O::I8x16AddSatU:
        vbin_intrinsic(i8x16(), I::uadd_sat);
        break;
      case O::I8x16SubSatS:
        vbin_intrinsic(i8x16(), I::ssub_sat);
        break;
      case O::I8x16SubSatU:
        vbin_intrinsic(i8x16(), I::usub_sat);
        break;
      case O::I16x8AddSatS:
        vbin_intrinsic(i16x8(), I::sadd_sat);
        break;
      case O::I16x8AddSatU:
        vbin_intrinsic(i16x8(), I::uadd_sat);
        break;
      case O::I16x8SubSatS:
        vbin_intrinsic(i16x8(), I::ssub_sat);
        break;
      case O::I16x8SubSatU:
        vbin_intrinsic(i16x8(), I::usub_sat);
        break;
      case O::I8x16MinS:
        vminmax(i8x16(), P::ICMP_SLT);
        break;
      case O::I8x16MinU:
        vminmax(i8x16(), P::ICMP_ULT);
        break;
      case O::I8x16MaxS:
        vminmax(i8x16(), P::ICMP_SGT);
        break;
      case O::I8x16MaxU:
        vminmax(i8x16(), P::ICMP_UGT);
        break;
      case O::I16x8MinS:
        vminmax(i16x8(), P::ICMP_SLT);
        break;
      case O::I16x8MinU:
        vminmax(i16x8(), P::ICMP_ULT);
        break;
      case O::I16x8MaxS:
        vminmax(i16x8(), P::ICMP_SGT);
        break;
      case O::I16x8MaxU:
        vminmax(i16x8(), P::ICMP_UGT);
        break;
      case O::I32x4MinS:
        vminmax(i32x4(), P::ICMP_SLT);
        break;
      case O::I32x4MinU:
        vminmax(i32x4(), P::ICMP_ULT);
        break;
      case O::I32x4MaxS:
        vminmax(i32x4(), P::ICMP_SGT);
        break;
      case O::I32x4MaxU:
        vminmax(i32x4(), P::ICMP_UGT);
        break;
      case O::I8x16AvgrU:
        avgr(i8x16());
        break;
      case O::I16x8AvgrU:
        avgr(i16x8());
        break;
      case O::I16x8ExtaddPairwiseI8x16S:
        extadd_pairwise(i8x16(), i16x8(), true);
        break;
      case O::I16x8ExtaddPairwiseI8x16U:
        extadd_pairwise(i8x16(), i16x8(), false);
        break;
      case O::I32x4ExtaddPairwiseI16x8S:
        extadd_pairwise(i16x8(), i32x4(), true);
        break;
      case O::I32x4ExtaddPairwiseI16x8U:
        extadd_pairwise(i16x8(), i32x4(), false);
        break;
      case O::I16x8Q15mulrSatS:
      case O::I16x8RelaxedQ15mulrS:
        q15mulr();
        break;
      case O::I16x8ExtendLowI8x16S:
        extend_half(i8x16(), i16x8(), false, true);
        break;
      case O::I16x8ExtendHighI8x16S:
        extend_half(i8x16(), i16x8(), true, true);
        break;
      case O::I16x8ExtendLowI8x16U:
        extend_half(i8x16(), i16x8(), false, false);
        break;
      case O::I16x8ExtendHighI8x16U:
        extend_half(i8x16(), i16x8(), true, false);
        break;
      case O::I32x4ExtendLowI16x8S:
        extend_half(i16x8(), i32x4(), false, true);
        break;
      case O::I32x4ExtendHighI16x8S:
        extend_half(i16x8(), i32x4(), true, true);
        break;
      case O::I32x4ExtendLowI16x8U:
        extend_half(i16x8(), i32x4(), false, false);
        break;
      case O::I32x4ExtendHighI16x8U:
        extend_half(i16x8(), i32x4(), true, false);
        break;
      case O::I64x2ExtendLowI32x4S:
        extend_half(i32x4(), i64x2(), false, true);
        break;
      case O::I64x2ExtendHighI32x4S:
        extend_half(i32x4(), i64x2(), true, true);
        break;
      case O::I64x2ExtendLowI32x4U:
        extend_half(i32x4(), i64x2(), false, false);
        break;
      case O::I64x2ExtendHighI32x4U:
        extend_half(i32x4(), i64x2(), true, false);
        break;
      case O::I16x8ExtmulLowI8x16S:
        extmul(i8x16(), i16x8(), false, true);
        break;
      case O::I16x8ExtmulHighI8x16S:
        extmul(i8x16(), i16x8(), true, true);
        break;
      case O::I16x8ExtmulLowI8x16U:
        extmul(i8x16(), i16x8(), false, false);
        break;
      case O::I16x8ExtmulHighI8x16U:
        extmul(i8x16(), i16x8(), true, false);
        break;
      case O::I32x4ExtmulLowI16x8S:
        extmul(i16x8(), i32x4(), false, true);
        break;
      case O::I32x4ExtmulHighI16x8S:
        extmul(i16x8(), i32x4(), true, true);
        break;
      case O::I32x4ExtmulLowI16x8U:
        extmul(i16x8(), i32x4(), false, false);
        break;
      case O::I32x4ExtmulHighI16x8U:
        extmul(i16x8(), i32x4(), true, false);
        break;
      case O::I64x2ExtmulLowI32x4S:
        extmul(i32x4(), i64x2(), false, true);
        break;
      case O::I64x2ExtmulHighI32x4S:
        extmul(i32x4(), i64x2(), true, true);
        break;
      case O::I64x2ExtmulLowI32x4U:
        extmul(i32x4(), i64x2(), false, false);
        break;
      case O::I64x2ExtmulHighI32x4U:
        extmul(i32x4(), i64x2(), true, false);
        break;
      case O::I32x4DotI16x8S:
        dot_i16x8();
        break;
      case O::F32x4Abs:
        vun_intrinsic(f32x4(), I::fabs);
        break;
      case O::F64x2Abs:
        vun_intrinsic(f64x2(), I::fabs);
        break;
      case O::F32x4Neg:
        pushv(B_.CreateFNeg(popv(f32x4())));
        break;
      case O::F64x2Neg:
        pushv(B_.CreateFNeg(popv(f64x2())));
        break;
      case O::F32x4Sqrt:
        vun_intrinsic(f32x4(), I::sqrt);
        break;
      case O::F64x2Sqrt:
        vun_intrinsic(f64x2(), I::sqrt);
        break;
      case O::F32x4Add:
        vbin(f32x4(), BO::FAdd);
        break;
      case O::F32x4Sub:
        vbin(f32x4(), BO::FSub);
        break;
      case O::F32x4Mul:
        vbin(f32x4(), BO::FMul);
        break;
      case O::F32x4Div:
        vbin(f32x4(), BO::FDiv);
        break;
      case O::F64x2Add:
        vbin(f64x2(), BO::FAdd);
        break;
      case O::F64x2Sub:
        vbin(f64x2(), BO::FSub);
        break;
      case O::F64x2Mul:
        vbin(f64x2(), BO::FMul);
        break;
      case O::F64x2Div:
        vbin(f64x2(), BO::FDiv);
        break;
      case O::F32x4Min:
      case O::F32x4RelaxedMin:
        vfminmax(f32x4(), I::minimum);
        break;
      case O::F32x4Max:
      case O::F32x4RelaxedMax:
        vfminmax(f32x4(), I::maximum);
        break;
      case O::F64x2Min:
      case O::F64x2RelaxedMin:
        vfminmax(f64x2(), I::minimum);
        break;
      case O::F64x2Max:
      case O::F64x2RelaxedMax:
        vfminmax(f64x2(), I::maximum);
        break;
      case O::F32x4Pmin:
        vpminmax(f32x4(), true);
        break;
      case O::F32x4Pmax:
        vpminmax(f32x4(), false);
        break;
      case O::F64x2Pmin:
        vpminmax(f64x2(), true);
        break;
      case O::F64x2Pmax:
        vpminmax(f64x2(), false);
        break;
      case O::I32x4TruncSatF32x4S:
      case O::I32x4RelaxedTruncF32x4S:
        trunc_sat_vec(f32x4(), true, false);
        break;
      case O::I32x4TruncSatF32x4U:
      case O::I32x4RelaxedTruncF32x4U:
        trunc_sat_vec(f32x4(), false, false);
        break;
      case O::I32x4TruncSatF64x2SZero:
      case O::I32x4RelaxedTruncF64x2SZero:
        trunc_sat_vec(f64x2(), true, true);
        break;
      case O::I32x4TruncSatF64x2UZero:
      case O::I32x4RelaxedTruncF64x2UZero:
        trunc_sat_vec(f64x2(), false, true);
        break;
      case O::F32x4ConvertI32x4S:
        pushv(B_.CreateSIToFP(popv(i32x4()), f32x4()));
        break;
      case O::F32x4ConvertI32x4U:
        pushv(B_.CreateUIToFP(popv(i32x4()), f32x4()));
        break;
      case O::F64x2ConvertLowI32x4S:
        pushv(B_.CreateSIToFP(half(popv(i32x4()), 0, 2), f64x2()));
        break;
      case O::F64x2ConvertLowI32x4U:
        pushv(B_.CreateUIToFP(half(popv(i32x4()), 0, 2), f64x2()));
        break;
      case O::F32x4RelaxedMadd:
        madd(f32x4(), false);
        break;
      case O::F32x4RelaxedNmadd:
        madd(f32x4(), true);
        break;
      case O::F64x2RelaxedMadd:
        madd(f64x2(), false);
        break;
      case O::F64x2RelaxedNmadd:
        madd(f64x2(), true);
        break;
      case O::I16x8RelaxedDotI8x16I7x16S: {
        llvm::Value* b = popv(i8x16());
        llvm::Value* a = popv(i8x16());
        pushv(relaxed_dot_i16(a, b));
        break;
      }
      case O::I32x4RelaxedDotI8x16I7x16AddS: {
        llvm::Value* c = popv(i32x4());
        llvm::Value* b = popv(i8x16());
        llvm::Value* a = popv(i8x16());
        // Sums of four 32-bit products per lane, as the interpreter computes them.
        auto* w = vt(i32_, 16);
        llvm::Value* p = B_.CreateMul(B_.CreateSExt(a, w), B_.CreateSExt(b, w));
        llvm::Value* s2 = B_.CreateAdd(every_other(p, 0), every_other(p, 1));
        pushv(B_.CreateAdd(B_.CreateAdd(every_other(s2, 0), every_other(s2, 1)), c));
        break;
      }
      default:
        return false;
    }
    return true;
  }
  void vabs(llvm::FixedVectorType* t) {
    llvm::Value* a = popv(t);
    pushv(intrinsic(llvm::Intrinsic::abs, {t}, {a, B_.getFalse()}));
  }
  // pmin: b < a ? b : a; pmax: a < b ? b : a (pseudo-min/max, no NaN rules).
  void vpminmax(llvm::FixedVectorType* t, bool min) {
    llvm::Value* b = popv(t);
    llvm::Value* a = popv(t);
    pushv(min ? B_.CreateSelect(B_.CreateFCmpOLT(b, a), b, a)
              : B_.CreateSelect(B_.CreateFCmpOLT(a, b), b, a));
  }
  // Relaxed madd/nmadd, unfused like the interpreter: a*b + c, -(a*b) + c.
  void madd(llvm::FixedVectorType* t, bool negate) {
    llvm::Value* c = popv(t);
    llvm::Value* b = popv(t);
    llvm::Value* a = popv(t);
    llvm::Value* p = B_.CreateFMul(a, b);
    if (negate) p = B_.CreateFNeg(p);
    pushv(B_.CreateFAdd(p, c));
  }

  void instr(const Instr& in, const binary::FunctionBody& body) {
    using O = Opcode;
    namespace I = llvm::Intrinsic;
    llvm::Type* f32 = B_.getFloatTy();
    llvm::Type* f64 = B_.getDoubleTy();
    switch (static_cast<O>(in.op)) {
      case O::Unreachable:
        B_.CreateBr(trap_block(TrapKind::Unreachable));
        dead_ = true;
        break;
      case O::Nop:
        break;
      case O::Block:
        open(Ctl::Block, in.imm);
        break;
      case O::Loop:
        open(Ctl::Loop, in.imm);
        break;
      case O::If:
        open(Ctl::If, in.imm);
        break;
      case O::Else:
        do_else();
        break;
      case O::End:
        do_end();
        break;
      case O::Br:
        branch(in.a);
        dead_ = true;
        break;
      case O::BrIf: {
        llvm::Value* c = B_.CreateICmpNE(pop(), B_.getInt32(0));
        auto* cont = llvm::BasicBlock::Create(C_, "br_if_cont", F_);
        Ctl& t = ctl_[ctl_.size() - 1 - in.a];
        add_incoming(t.kind == Ctl::Loop ? t.loop_phis : t.end_phis);
        B_.CreateCondBr(c, target_block(in.a), cont);
        B_.SetInsertPoint(cont);
        break;
      }
      case O::BrTable:
        br_table(in, body);
        break;
      case O::Return:
        do_return();
        break;
      case O::Call:
        call(in.a, false);
        break;
      case O::ReturnCall:
        if (osr()) {  // no tail call from an entry with another signature
          call(in.a, false);
          do_return();
        } else {
          call(in.a, true);
        }
        break;
      case O::CallIndirect:
        call_indirect(in.a, in.b, false);
        break;
      case O::ReturnCallIndirect:
        if (osr()) {  // no tail call from an entry with another signature
          call_indirect(in.a, in.b, false);
          do_return();
        } else {
          call_indirect(in.a, in.b, true);
        }
        break;
      case O::CallRef:
        call_ref(in.a, false);
        break;
      case O::ReturnCallRef:
        if (osr()) {  // no tail call from an entry with another signature
          call_ref(in.a, false);
          do_return();
        } else {
          call_ref(in.a, true);
        }
        break;
      case O::BrOnNull:
      case O::BrOnNonNull: {
        // br_on_null branches without the reference, br_on_non_null with it.
        bool on_null = static_cast<O>(in.op) == O::BrOnNull;
        llvm::Value* r = on_null ? pop() : stack_.back();
        llvm::Value* c =
            on_null ? B_.CreateICmpEQ(r, B_.getInt64(0)) : B_.CreateICmpNE(r, B_.getInt64(0));
        auto* cont = llvm::BasicBlock::Create(C_, "br_on_null_cont", F_);
        Ctl& t = ctl_[ctl_.size() - 1 - in.a];
        add_incoming(t.kind == Ctl::Loop ? t.loop_phis : t.end_phis);
        B_.CreateCondBr(c, target_block(in.a), cont);
        B_.SetInsertPoint(cont);
        if (on_null) {
          push(r);
        } else {
          pop();
        }
        break;
      }
      case O::Drop:
        pop();
        break;
      case O::Select:
      case O::SelectT: {
        llvm::Value* c = B_.CreateICmpNE(pop(), B_.getInt32(0));
        llvm::Value* b = pop();
        llvm::Value* a = pop();
        push(B_.CreateSelect(c, a, b));
        break;
      }
      case O::LocalGet:
        push(B_.CreateLoad(locals_[in.a]->getAllocatedType(), locals_[in.a],
                           volatile_locals_[in.a]));
        break;
      case O::LocalSet:
        B_.CreateStore(pop(), locals_[in.a], volatile_locals_[in.a]);
        break;
      case O::LocalTee:
        B_.CreateStore(stack_.back(), locals_[in.a], volatile_locals_[in.a]);
        break;
      case O::TryTable:
        try_table(in, body);
        break;
      case O::Try:
        legacy_try(in);
        break;
      case O::Catch:
      case O::CatchAll:
        do_catch(in);
        break;
      case O::Delegate:
        do_delegate(in.a);
        break;
      case O::Rethrow:
        throw_ref(ctl_[ctl_.size() - 1 - in.a].exn);
        dead_ = true;
        break;
      case O::Throw:
        throw_tag(in.a);
        break;
      case O::ThrowRef:
        throw_ref(B_.CreateIntToPtr(pop(), ptr_));
        dead_ = true;
        break;
      case O::GlobalGet:
        global_get(in.a);
        break;
      case O::GlobalSet:
        global_set(in.a);
        break;
      // Table runtime functions take u64 indices and lengths (an i32 operand
      // zero-extended) and return u64; an i32 table's results are truncated.
      case O::TableGet: {
        llvm::Value* i = wide(pop());
        runtime_instr(rt_table_get, {B_.getInt32(in.a), i});
        break;
      }
      case O::TableSet: {
        llvm::Value* v = pop();
        llvm::Value* i = wide(pop());
        runtime_instr(rt_table_set, {B_.getInt32(in.a), i, v});
        break;
      }
      case O::TableSize:
        runtime_instr(rt_table_size, {B_.getInt32(in.a)});
        if (!m_.tables[in.a].limits.i64) stack_.back() = B_.CreateTrunc(stack_.back(), i32_);
        break;
      case O::TableGrow: {
        llvm::Value* n = wide(pop());
        llvm::Value* init = pop();
        runtime_instr(rt_table_grow, {B_.getInt32(in.a), init, n});
        if (!m_.tables[in.a].limits.i64) stack_.back() = B_.CreateTrunc(stack_.back(), i32_);
        break;
      }
      case O::TableFill: {
        llvm::Value* n = wide(pop());
        llvm::Value* v = pop();
        llvm::Value* i = wide(pop());
        runtime_instr(rt_table_fill, {B_.getInt32(in.a), i, v, n});
        break;
      }
      case O::TableCopy:
        bulk(rt_table_copy, {B_.getInt32(in.a), B_.getInt32(in.b)});
        break;
      case O::TableInit:
        bulk(rt_table_init, {B_.getInt32(in.b), B_.getInt32(in.a)});
        break;
      case O::ElemDrop:
        runtime_instr(rt_elem_drop, {B_.getInt32(in.a)});
        break;
      case O::I32Load:
        load(in, i32_, i32_, false);
        break;
      case O::I64Load:
        load(in, i64_, i64_, false);
        break;
      case O::F32Load:
        load(in, f32, f32, false);
        break;
      case O::F64Load:
        load(in, f64, f64, false);
        break;
      case O::I32Load8S:
        load(in, i8_, i32_, true);
        break;
      case O::I32Load8U:
        load(in, i8_, i32_, false);
        break;
      case O::I32Load16S:
        load(in, B_.getInt16Ty(), i32_, true);
        break;
      case O::I32Load16U:
        load(in, B_.getInt16Ty(), i32_, false);
        break;
      case O::I64Load8S:
        load(in, i8_, i64_, true);
        break;
      case O::I64Load8U:
        load(in, i8_, i64_, false);
        break;
      case O::I64Load16S:
        load(in, B_.getInt16Ty(), i64_, true);
        break;
      case O::I64Load16U:
        load(in, B_.getInt16Ty(), i64_, false);
        break;
      case O::I64Load32S:
        load(in, i32_, i64_, true);
        break;
      case O::I64Load32U:
        load(in, i32_, i64_, false);
        break;
      case O::I32Store:
        store(in, i32_);
        break;
      case O::I64Store:
        store(in, i64_);
        break;
      case O::F32Store:
        store(in, f32);
        break;
      case O::F64Store:
        store(in, f64);
        break;
      case O::I32Store8:
      case O::I64Store8:
        store(in, i8_);
        break;
      case O::I32Store16:
      case O::I64Store16:
        store(in, B_.getInt16Ty());
        break;
      case O::I64Store32:
        store(in, i32_);
        break;
      case O::MemorySize:
        push(is64(in.mem) ? B_.CreateLShr(mem_size(in.mem), 16)
                          : B_.CreateTrunc(B_.CreateLShr(mem_size(in.mem), 16), i32_));
        break;
      case O::MemoryGrow:
        // The runtime functions take 64-bit operands (an i32 one zero-extended) and memory
        // indices; memory.grow returns the old size or -1 as i64.
        runtime_instr(rt_memory_grow, {B_.getInt32(in.mem), wide(pop())});
        if (!is64(in.mem)) stack_.back() = B_.CreateTrunc(stack_.back(), i32_);
        break;
      case O::MemoryInit:
        bulk(rt_memory_init, {B_.getInt32(in.mem), B_.getInt32(in.a)});
        break;
      case O::DataDrop:
        runtime_instr(rt_data_drop, {B_.getInt32(in.a)});
        break;
      case O::MemoryCopy:
        bulk(rt_memory_copy, {B_.getInt32(in.mem), B_.getInt32(in.b)});
        break;
      case O::MemoryFill:
        bulk(rt_memory_fill, {B_.getInt32(in.mem)});
        break;
      case O::I32Const:
        push(B_.getInt32(static_cast<uint32_t>(in.imm)));
        break;
      case O::I64Const:
        push(B_.getInt64(in.imm));
        break;
      case O::F32Const:
        push(fconst(in.imm, false));
        break;
      case O::F64Const:
        push(fconst(in.imm, true));
        break;
      case O::I32Eqz:
        push(bool32(B_.CreateICmpEQ(pop(), B_.getInt32(0))));
        break;
      case O::I64Eqz:
        push(bool32(B_.CreateICmpEQ(pop(), B_.getInt64(0))));
        break;
      case O::I32Eq:
      case O::I64Eq:
        icmp(llvm::CmpInst::ICMP_EQ);
        break;
      case O::I32Ne:
      case O::I64Ne:
        icmp(llvm::CmpInst::ICMP_NE);
        break;
      case O::I32LtS:
      case O::I64LtS:
        icmp(llvm::CmpInst::ICMP_SLT);
        break;
      case O::I32LtU:
      case O::I64LtU:
        icmp(llvm::CmpInst::ICMP_ULT);
        break;
      case O::I32GtS:
      case O::I64GtS:
        icmp(llvm::CmpInst::ICMP_SGT);
        break;
      case O::I32GtU:
      case O::I64GtU:
        icmp(llvm::CmpInst::ICMP_UGT);
        break;
      case O::I32LeS:
      case O::I64LeS:
        icmp(llvm::CmpInst::ICMP_SLE);
        break;
      case O::I32LeU:
      case O::I64LeU:
        icmp(llvm::CmpInst::ICMP_ULE);
        break;
      case O::I32GeS:
      case O::I64GeS:
        icmp(llvm::CmpInst::ICMP_SGE);
        break;
      case O::I32GeU:
      case O::I64GeU:
        icmp(llvm::CmpInst::ICMP_UGE);
        break;
      case O::F32Eq:
      case O::F64Eq:
        fcmp(llvm::CmpInst::FCMP_OEQ);
        break;
      case O::F32Ne:
      case O::F64Ne:
        fcmp(llvm::CmpInst::FCMP_UNE);
        break;
      case O::F32Lt:
      case O::F64Lt:
        fcmp(llvm::CmpInst::FCMP_OLT);
        break;
      case O::F32Gt:
      case O::F64Gt:
        fcmp(llvm::CmpInst::FCMP_OGT);
        break;
      case O::F32Le:
      case O::F64Le:
        fcmp(llvm::CmpInst::FCMP_OLE);
        break;
      case O::F32Ge:
      case O::F64Ge:
        fcmp(llvm::CmpInst::FCMP_OGE);
        break;
      case O::I32Clz:
      case O::I64Clz:
        bitcount(I::ctlz);
        break;
      case O::I32Ctz:
      case O::I64Ctz:
        bitcount(I::cttz);
        break;
      case O::I32Popcnt:
      case O::I64Popcnt:
        bitcount(I::ctpop);
        break;
      case O::I32Add:
      case O::I64Add:
        binop(llvm::Instruction::Add);
        break;
      case O::I32Sub:
      case O::I64Sub:
        binop(llvm::Instruction::Sub);
        break;
      case O::I32Mul:
      case O::I64Mul:
        binop(llvm::Instruction::Mul);
        break;
      case O::I32DivS:
      case O::I64DivS:
        divide(true, false);
        break;
      case O::I32DivU:
      case O::I64DivU:
        divide(false, false);
        break;
      case O::I32RemS:
      case O::I64RemS:
        divide(true, true);
        break;
      case O::I32RemU:
      case O::I64RemU:
        divide(false, true);
        break;
      case O::I32And:
      case O::I64And:
        binop(llvm::Instruction::And);
        break;
      case O::I32Or:
      case O::I64Or:
        binop(llvm::Instruction::Or);
        break;
      case O::I32Xor:
      case O::I64Xor:
        binop(llvm::Instruction::Xor);
        break;
      case O::I32Shl:
      case O::I64Shl:
        shift(llvm::Instruction::Shl);
        break;
      case O::I32ShrS:
      case O::I64ShrS:
        shift(llvm::Instruction::AShr);
        break;
      case O::I32ShrU:
      case O::I64ShrU:
        shift(llvm::Instruction::LShr);
        break;
      case O::I32Rotl:
      case O::I64Rotl:
        rotate(true);
        break;
      case O::I32Rotr:
      case O::I64Rotr:
        rotate(false);
        break;
      case O::F32Abs:
      case O::F64Abs:
        unary_intrinsic(I::fabs);
        break;
      case O::F32Neg:
      case O::F64Neg:
        push(B_.CreateFNeg(pop()));
        break;
      case O::F32Ceil:
      case O::F64Ceil:
        unary_intrinsic(I::ceil);
        break;
      case O::F32Floor:
      case O::F64Floor:
        unary_intrinsic(I::floor);
        break;
      case O::F32Trunc:
      case O::F64Trunc:
        unary_intrinsic(I::trunc);
        break;
      case O::F32Nearest:
      case O::F64Nearest:
        unary_intrinsic(I::roundeven);
        break;
      case O::F32Sqrt:
      case O::F64Sqrt:
        unary_intrinsic(I::sqrt);
        break;
      case O::F32Add:
      case O::F64Add:
        binop(llvm::Instruction::FAdd);
        break;
      case O::F32Sub:
      case O::F64Sub:
        binop(llvm::Instruction::FSub);
        break;
      case O::F32Mul:
      case O::F64Mul:
        binop(llvm::Instruction::FMul);
        break;
      case O::F32Div:
      case O::F64Div:
        binop(llvm::Instruction::FDiv);
        break;
      case O::F32Min:
      case O::F64Min:
        min_max(I::minimum);
        break;
      case O::F32Max:
      case O::F64Max:
        min_max(I::maximum);
        break;
      case O::F32Copysign:
      case O::F64Copysign:
        binary_intrinsic(I::copysign);
        break;
      case O::I32WrapI64:
        push(B_.CreateTrunc(pop(), i32_));
        break;
      case O::I32TruncF32S:
      case O::I32TruncF64S:
        trunc(i32_, true);
        break;
      case O::I32TruncF32U:
      case O::I32TruncF64U:
        trunc(i32_, false);
        break;
      case O::I64TruncF32S:
      case O::I64TruncF64S:
        trunc(i64_, true);
        break;
      case O::I64TruncF32U:
      case O::I64TruncF64U:
        trunc(i64_, false);
        break;
      case O::I32TruncSatF32S:
      case O::I32TruncSatF64S:
        trunc_sat(i32_, true);
        break;
      case O::I32TruncSatF32U:
      case O::I32TruncSatF64U:
        trunc_sat(i32_, false);
        break;
      case O::I64TruncSatF32S:
      case O::I64TruncSatF64S:
        trunc_sat(i64_, true);
        break;
      case O::I64TruncSatF32U:
      case O::I64TruncSatF64U:
        trunc_sat(i64_, false);
        break;
      case O::I64ExtendI32S:
        push(B_.CreateSExt(pop(), i64_));
        break;
      case O::I64ExtendI32U:
        push(B_.CreateZExt(pop(), i64_));
        break;
      case O::F32ConvertI32S:
      case O::F32ConvertI64S:
        push(B_.CreateSIToFP(pop(), f32));
        break;
      case O::F32ConvertI32U:
      case O::F32ConvertI64U:
        push(B_.CreateUIToFP(pop(), f32));
        break;
      case O::F64ConvertI32S:
      case O::F64ConvertI64S:
        push(B_.CreateSIToFP(pop(), f64));
        break;
      case O::F64ConvertI32U:
      case O::F64ConvertI64U:
        push(B_.CreateUIToFP(pop(), f64));
        break;
      case O::F32DemoteF64:
        // demote(promote(x)) folds to x: a signalling NaN must still come out quiet.
        push(quiet(B_.CreateFPTrunc(pop(), f32)));
        break;
      case O::F64PromoteF32:
        push(B_.CreateFPExt(pop(), f64));
        break;
      case O::I32ReinterpretF32:
        push(B_.CreateBitCast(pop(), i32_));
        break;
      case O::I64ReinterpretF64:
        push(B_.CreateBitCast(pop(), i64_));
        break;
      case O::F32ReinterpretI32:
        push(B_.CreateBitCast(pop(), f32));
        break;
      case O::F64ReinterpretI64:
        push(B_.CreateBitCast(pop(), f64));
        break;
      case O::I32Extend8S:
        extend(i8_, i32_);
        break;
      case O::I32Extend16S:
        extend(B_.getInt16Ty(), i32_);
        break;
      case O::I64Extend8S:
        extend(i8_, i64_);
        break;
      case O::I64Extend16S:
        extend(B_.getInt16Ty(), i64_);
        break;
      case O::I64Extend32S:
        extend(i32_, i64_);
        break;
      case O::RefNull:
        push(B_.getInt64(0));
        break;
      case O::RefIsNull:
        push(bool32(B_.CreateICmpEQ(pop(), B_.getInt64(0))));
        break;
      case O::RefAsNonNull:
        trap_if(B_.CreateICmpEQ(stack_.back(), B_.getInt64(0)), TrapKind::NullReference);
        break;
      case O::RefFunc:
        push(B_.CreatePtrToInt(func_ptr(in.a), i64_));
        break;
      default:
        if (!simd(in)) throw Unsupported{std::string(binary::opcode_name(in.op))};
    }
  }
};

}  // namespace

std::unique_ptr<llvm::Module> generate(const binary::Module& m, llvm::LLVMContext& C,
                                       std::string& error, const std::vector<uint32_t>& define,
                                       bool declare_all) {
  try {
    return Gen(m, C).run(define, declare_all);
  } catch (const Unsupported& u) {
    error = "the native tier does not compile " + u.what + " yet";
    return nullptr;
  }
}

std::unique_ptr<llvm::Module> generate_osr(const binary::Module& m, llvm::LLVMContext& C,
                                           std::string& error, const std::vector<uint32_t>& define,
                                           std::vector<std::vector<uint32_t>>& loops) {
  try {
    return Gen(m, C).run_osr(define, loops);
  } catch (const Unsupported& u) {
    error = "the native tier does not compile " + u.what + " yet";
    return nullptr;
  }
}

}  // namespace edgecar::aot
