// The code generator's core: modules, functions, their entries and prologues, the operand
// stack, slots, traps, runtime calls; instructions are dispatched to their family.
#include "aot/codegen/gen.hpp"

#include <llvm/IR/Verifier.h>
#include <llvm/Support/raw_ostream.h>

namespace edgecar::aot::gen {

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

std::unique_ptr<llvm::Module> Gen::run(const std::vector<uint32_t>& define, bool declare_all) {
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

std::unique_ptr<llvm::Module> Gen::run_osr(const std::vector<uint32_t>& define,
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

llvm::Type* Gen::ty(ValType t) {
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

llvm::FunctionType* Gen::fn_type(const FuncType& ft) {
  std::vector<llvm::Type*> ps{ptr_};
  for (ValType t : ft.params) ps.push_back(ty(t));
  if (multi(ft)) ps.push_back(ptr_);
  llvm::Type* r = ft.results.size() == 1 ? ty(ft.results[0]) : B_.getVoidTy();
  return llvm::FunctionType::get(r, ps, false);
}

llvm::Value* Gen::results_buffer(const FuncType& ft) {
  llvm::AllocaInst* a = entry_alloca(i64_, static_cast<uint32_t>(slot_count(ft.results)));
  a->setAlignment(llvm::Align(16));
  return a;
}

std::vector<llvm::Value*> Gen::read_results(llvm::Value* buf, const FuncType& ft) {
  std::vector<llvm::Value*> rs;
  for (size_t i = 0, at = 0; i < ft.results.size(); at += slot_width(ft.results[i++]))
    rs.push_back(load_slot(B_.CreateConstGEP1_64(i64_, buf, at), ft.results[i]));
  return rs;
}

void Gen::write_results(llvm::Value* buf, const std::vector<llvm::Value*>& vs) {
  for (size_t i = 0, at = 0; i < vs.size(); ++i) {
    B_.CreateAlignedStore(to_slot(vs[i]), B_.CreateConstGEP1_64(i64_, buf, at), llvm::Align(8));
    at += vs[i]->getType() == v128_ ? 2 : 1;
  }
}

llvm::Value* Gen::ctx_field(size_t offset, llvm::Type* t) {
  llvm::Value* p = B_.CreateConstInBoundsGEP1_64(i8_, ctx_, offset);
  auto* l = B_.CreateLoad(t, p);
  l->setMetadata(llvm::LLVMContext::MD_invariant_load, llvm::MDNode::get(C_, {}));
  return l;
}

llvm::LoadInst* Gen::load_vm(llvm::Type* t, llvm::Value* base, uint64_t offset) {
  llvm::Value* p = offset ? B_.CreateConstInBoundsGEP1_64(i8_, base, offset) : base;
  auto* l = B_.CreateLoad(t, p);
  l->setMetadata(llvm::LLVMContext::MD_tbaa, tbaa_vm_);
  return l;
}

llvm::Value* Gen::invariant_ptr(llvm::Value* base, uint64_t offset) {
  auto* l = load_vm(ptr_, base, offset);
  l->setMetadata(llvm::LLVMContext::MD_invariant_load, llvm::MDNode::get(C_, {}));
  return l;
}

llvm::FunctionCallee Gen::runtime_fn(RuntimeFn k) {
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

llvm::BasicBlock* Gen::trap_block(TrapKind k) {
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

void Gen::trap_if(llvm::Value* cond, TrapKind k) {
  auto* cont = llvm::BasicBlock::Create(C_, "ok", F_);
  llvm::MDBuilder md(C_);
  B_.CreateCondBr(cond, trap_block(k), cont, md.createBranchWeights(1, 1u << 20));
  B_.SetInsertPoint(cont);
}

llvm::Value* Gen::pop() {
  llvm::Value* v = stack_.back();
  stack_.pop_back();
  return v;
}

llvm::Value* Gen::intrinsic(llvm::Intrinsic::ID id, std::vector<llvm::Type*> tys,
                            std::vector<llvm::Value*> args) {
  return B_.CreateCall(llvm::Intrinsic::getDeclaration(M_.get(), id, tys), args);
}

llvm::AllocaInst* Gen::entry_alloca(llvm::Type* t, uint32_t n) {
  llvm::IRBuilder<> eb(entry_, entry_->getFirstInsertionPt());
  return eb.CreateAlloca(t, eb.getInt32(n));
}

llvm::Value* Gen::to_slot(llvm::Value* v) {
  llvm::Type* t = v->getType();
  if (t->isFloatTy()) return B_.CreateZExt(B_.CreateBitCast(v, i32_), i64_);
  if (t->isDoubleTy()) return B_.CreateBitCast(v, i64_);
  if (t == i32_) return B_.CreateZExt(v, i64_);
  return v;
}

llvm::Value* Gen::load_slot(llvm::Value* p, ValType t) {
  if (t == ValType::V128) return B_.CreateAlignedLoad(v128_, p, llvm::Align(8));
  return from_slot(B_.CreateLoad(i64_, p), t);
}

llvm::Value* Gen::from_slot(llvm::Value* s, ValType t) {
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

void Gen::gen_slot_entry(uint32_t f) {
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

void Gen::prologue(uint32_t f) {
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
    B_.CreateCondBr(B_.CreateICmpUGE(depth_, lim), bad, cont, md.createBranchWeights(1, 1u << 20));
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
      llvm::Value* mi = k == 0 ? ctx_field(offsetof(Ctx, mem0), ptr_) : invariant_ptr(array, 8 * k);
      mems_.push_back(mi);
      bases_.push_back(invariant_ptr(mi, L.mem_data));
    }
  }
}

void Gen::gen_function(uint32_t f, llvm::Function* F) {
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
    B_.CreateStore(osr() ? from_frame(ft.params[i]) : F_->getArg(static_cast<unsigned>(i + 1)), a);
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

llvm::CallInst* Gen::call_runtime(RuntimeFn k, llvm::ArrayRef<llvm::Value*> args) {
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

void Gen::runtime_instr(RuntimeFn k, std::vector<llvm::Value*> args) {
  args.insert(args.begin(), ctx_);
  llvm::Value* r = call_runtime(k, args);
  if (!r->getType()->isVoidTy()) push(r);
}

void Gen::bulk(RuntimeFn k, std::vector<llvm::Value*> imms) {
  for (llvm::Value* v : pop_args(3)) imms.push_back(wide(v));
  runtime_instr(k, imms);
}

void Gen::instr(const Instr& in, const binary::FunctionBody& body) {
  if (regular_instr(in) || control_instr(in, body) || call_instr(in, body) ||
      variable_instr(in, body) || exception_instr(in, body) || reference_instr(in, body) ||
      memory_instr(in, body) || numeric_instr(in, body) || simd(in))
    return;
  throw Unsupported{std::string(binary::opcode_name(in.op))};
}

bool Gen::regular_instr(const Instr& in) {
  using O = Opcode;
  namespace I = llvm::Intrinsic;
  using P = llvm::CmpInst::Predicate;
  using BO = llvm::Instruction::BinaryOps;
  llvm::Type* i16 = B_.getInt16Ty();
  switch (static_cast<O>(in.op)) {
#define LOWER(opcode, rule, ...) \
  case O::opcode:                \
    rule(__VA_ARGS__);           \
    return true;
#include "aot/codegen/lowering.def"
#undef LOWER
    default:
      return false;
  }
}

}  // namespace edgecar::aot::gen

namespace edgecar::aot {

using gen::Gen;
using gen::Unsupported;

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
