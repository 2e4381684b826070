// Exception handling: try_table and legacy try/catch/delegate, throw, throw_ref, rethrow;
// handler records and the landing code.
#include "aot/codegen/gen.hpp"

namespace edgecar::aot::gen {

void Gen::scan_tries(const binary::FunctionBody& body, size_t params) {
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

void Gen::restore_handler() {
  if (!eh_) return;
  llvm::Value* rec = entry_handler_;
  for (auto it = ctl_.rbegin(); it != ctl_.rend(); ++it)
    if (it->rec) {
      rec = it->rec;
      break;
    }
  set_handler(rec);
}

llvm::Value* Gen::push_handler(llvm::BasicBlock*& body_bb, llvm::BasicBlock*& land) {
  const Layout& L = layout();
  llvm::AllocaInst* rec = entry_alloca(i8_, L.entry_size);
  rec->setAlignment(llvm::Align(16));
  call_runtime(rt_try, {ctx_, rec});
  llvm::FunctionCallee sj =
      M_->getOrInsertFunction("__sigsetjmp", llvm::FunctionType::get(i32_, {ptr_, i32_}, false));
  if (auto* f = llvm::dyn_cast<llvm::Function>(sj.getCallee()))
    f->addFnAttr(llvm::Attribute::ReturnsTwice);
  auto* jumped = B_.CreateCall(sj, {B_.CreateConstGEP1_32(i8_, rec, L.entry_buf), B_.getInt32(0)});
  jumped->addFnAttr(llvm::Attribute::ReturnsTwice);
  body_bb = llvm::BasicBlock::Create(C_, "try_body", F_);
  land = llvm::BasicBlock::Create(C_, "landing", F_);
  B_.CreateCondBr(B_.CreateICmpEQ(jumped, B_.getInt32(0)), body_bb, land);
  return rec;
}

void Gen::throw_ref(llvm::Value* exn) {
  call_runtime(rt_throw_ref, {ctx_, exn});
  B_.CreateUnreachable();
}

void Gen::push_payload(llvm::Value* exn, uint32_t tag) {
  const FuncType& tt = m_.types[m_.tags[tag]];
  llvm::Value* p = call_runtime(rt_exn_payload, {exn});
  for (size_t k = 0, at = 0; k < tt.params.size(); at += slot_width(tt.params[k++]))
    push(load_slot(B_.CreateConstGEP1_64(i64_, p, at), tt.params[k]));
}

void Gen::try_table(const Instr& in, const binary::FunctionBody& body) {
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

void Gen::legacy_try(const Instr& in) {
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

void Gen::do_catch(const Instr& in) {
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

void Gen::do_delegate(uint32_t label) {
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

void Gen::throw_tag(uint32_t tag) {
  const FuncType& tt = m_.types[m_.tags[tag]];
  std::vector<llvm::Value*> args = pop_args(tt.params.size());
  llvm::AllocaInst* slots =
      entry_alloca(i64_, static_cast<uint32_t>(std::max<size_t>(slot_count(tt.params), 1)));
  slots->setAlignment(llvm::Align(16));
  for (size_t i = 0, at = 0; i < args.size(); at += slot_width(tt.params[i++]))
    B_.CreateAlignedStore(to_slot(args[i]), B_.CreateConstGEP1_64(i64_, slots, at), llvm::Align(8));
  call_runtime(rt_throw, {ctx_, B_.getInt32(tag), slots});
  B_.CreateUnreachable();
  dead_ = true;
}

bool Gen::exception_instr(const Instr& in, const binary::FunctionBody& body) {
  using O = Opcode;
  switch (static_cast<O>(in.op)) {
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
    default:
      return false;
  }
  return true;
}

}  // namespace edgecar::aot::gen
