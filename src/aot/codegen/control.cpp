// Structured control (block, loop, if, branches, return), locals, globals, parametric
// instructions.
#include "aot/codegen/gen.hpp"

#include <llvm/IR/InlineAsm.h>

namespace edgecar::aot::gen {

void Gen::emit_return(const Ctl& fn) {
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

void Gen::add_incoming(std::vector<llvm::PHINode*>& phis) {
  size_t n = phis.size();
  for (size_t i = 0; i < n; ++i)
    phis[i]->addIncoming(stack_[stack_.size() - n + i], B_.GetInsertBlock());
}

void Gen::branch(uint32_t depth) {
  Ctl& c = ctl_[ctl_.size() - 1 - depth];
  if (c.kind == Ctl::Loop) {
    add_incoming(c.loop_phis);
    B_.CreateBr(c.header);
  } else {
    add_incoming(c.end_phis);
    B_.CreateBr(c.end);
  }
}

llvm::BasicBlock* Gen::target_block(uint32_t depth) {
  Ctl& c = ctl_[ctl_.size() - 1 - depth];
  return c.kind == Ctl::Loop ? c.header : c.end;
}

void Gen::open(Ctl::Kind kind, uint64_t imm) {
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

void Gen::do_else() {
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

void Gen::do_end() {
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

void Gen::br_table(const Instr& in, const binary::FunctionBody& body) {
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

void Gen::do_return() {
  branch(static_cast<uint32_t>(ctl_.size() - 1));
  dead_ = true;
}

void Gen::global_get(uint32_t g) {
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

void Gen::global_set(uint32_t g) {
  if (m_.global_types[g].type == ValType::V128 &&
      layout().global_value_hi != layout().global_value + 8)
    throw Unsupported{"v128 globals in this build's layout"};
  llvm::Value* v = to_slot(pop());
  llvm::Value* gi = invariant_ptr(ctx_field(offsetof(Ctx, globals), ptr_), uint64_t{g} * 8);
  llvm::Value* p = B_.CreateConstInBoundsGEP1_64(i8_, gi, layout().global_value);
  B_.CreateStore(v, p)->setMetadata(llvm::LLVMContext::MD_tbaa, tbaa_vm_);
}

bool Gen::control_instr(const Instr& in, const binary::FunctionBody& body) {
  using O = Opcode;
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
    default:
      return false;
  }
  return true;
}

bool Gen::variable_instr(const Instr& in, const binary::FunctionBody& body) {
  using O = Opcode;
  switch (static_cast<O>(in.op)) {
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
      push(B_.CreateLoad(locals_[in.a]->getAllocatedType(), locals_[in.a], volatile_locals_[in.a]));
      break;
    case O::LocalSet:
      B_.CreateStore(pop(), locals_[in.a], volatile_locals_[in.a]);
      break;
    case O::LocalTee:
      B_.CreateStore(stack_.back(), locals_[in.a], volatile_locals_[in.a]);
      break;
    case O::GlobalGet:
      global_get(in.a);
      break;
    case O::GlobalSet:
      global_set(in.a);
      break;
    default:
      return false;
  }
  return true;
}

}  // namespace edgecar::aot::gen
