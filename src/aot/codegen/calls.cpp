// Calls: direct, indirect, by reference, tail calls, calls through the runtime on slots.
#include "aot/codegen/gen.hpp"

namespace edgecar::aot::gen {

std::vector<llvm::Value*> Gen::pop_args(size_t n) {
  std::vector<llvm::Value*> args(stack_.end() - static_cast<ptrdiff_t>(n), stack_.end());
  stack_.resize(stack_.size() - n);
  return args;
}

std::vector<llvm::Value*> Gen::typed_results(llvm::Value* call, llvm::Value* buf,
                                             const FuncType& ft) {
  if (ft.results.size() == 1) return {call};
  if (ft.results.empty()) return {};
  return read_results(buf, ft);
}

llvm::Value* Gen::out_arg(const FuncType& ft, bool tail) {
  if (!multi(ft)) return nullptr;
  return tail ? F_->getArg(F_->arg_size() - 1) : results_buffer(ft);
}

std::vector<llvm::Value*> Gen::call_on_slots(llvm::Value* fn, const FuncType& ft,
                                             const std::vector<llvm::Value*>& args) {
  uint32_t n =
      static_cast<uint32_t>(std::max<size_t>({slot_count(ft.params), slot_count(ft.results), 1}));
  llvm::AllocaInst* slots = entry_alloca(i64_, n);
  slots->setAlignment(llvm::Align(16));
  for (size_t i = 0, at = 0; i < args.size(); at += slot_width(ft.params[i++]))
    B_.CreateAlignedStore(to_slot(args[i]), B_.CreateConstGEP1_64(i64_, slots, at), llvm::Align(8));
  call_runtime(rt_call, {ctx_, fn, slots});
  std::vector<llvm::Value*> rs;
  for (size_t i = 0, at = 0; i < ft.results.size(); at += slot_width(ft.results[i++]))
    rs.push_back(load_slot(B_.CreateConstGEP1_64(i64_, slots, at), ft.results[i]));
  return rs;
}

void Gen::tail_prepare() {
  B_.CreateStore(depth_, depth_ptr_)->setMetadata(llvm::LLVMContext::MD_tbaa, tbaa_vm_);
  if (eh_) set_handler(entry_handler_);  // the callee is outside our try_tables
}

void Gen::tail_return(llvm::Value* call) {
  if (F_->getReturnType()->isVoidTy()) {
    B_.CreateRetVoid();
  } else {
    B_.CreateRet(call);
  }
  dead_ = true;
}

void Gen::call(uint32_t index, bool tail) {
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

void Gen::call_indirect(uint32_t type, uint32_t table, bool tail) {
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

void Gen::call_ref(uint32_t type, bool tail) {
  const FuncType& ft = m_.types[type];
  llvm::Value* ref = pop();
  trap_if(B_.CreateICmpEQ(ref, B_.getInt64(0)), TrapKind::NullFunctionReference);
  std::vector<llvm::Value*> args = pop_args(ft.params.size());
  call_function(B_.CreateIntToPtr(ref, ptr_), ft, args, tail);
}

void Gen::call_function(llvm::Value* fn, const FuncType& ft, const std::vector<llvm::Value*>& args,
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

bool Gen::call_instr(const Instr& in, const binary::FunctionBody& body) {
  using O = Opcode;
  switch (static_cast<O>(in.op)) {
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
    default:
      return false;
  }
  return true;
}

}  // namespace edgecar::aot::gen
