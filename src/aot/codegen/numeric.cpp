// Scalar numeric instructions: integer and floating-point arithmetic, comparisons,
// conversions (with the traps the spec gives them).
#include "aot/codegen/gen.hpp"

namespace edgecar::aot::gen {

llvm::Value* Gen::fconst(uint64_t bits, bool is64) {
  if (is64)
    return llvm::ConstantFP::get(C_,
                                 llvm::APFloat(llvm::APFloat::IEEEdouble(), llvm::APInt(64, bits)));
  return llvm::ConstantFP::get(
      C_, llvm::APFloat(llvm::APFloat::IEEEsingle(), llvm::APInt(32, static_cast<uint32_t>(bits))));
}

void Gen::binop(llvm::Instruction::BinaryOps op) {
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

bool Gen::identity_operand(llvm::Value* v) {
  auto* c = llvm::dyn_cast<llvm::ConstantFP>(v);
  if (!c) return false;
  const llvm::APFloat& f = c->getValueAPF();
  if (f.isZero()) return true;
  llvm::APFloat one(f.getSemantics(), 1);
  llvm::APFloat abs = llvm::abs(f);
  return abs.compare(one) == llvm::APFloat::cmpEqual;
}

void Gen::icmp(llvm::CmpInst::Predicate p) {
  llvm::Value* b = pop();
  llvm::Value* a = pop();
  push(bool32(B_.CreateICmp(p, a, b)));
}

void Gen::fcmp(llvm::CmpInst::Predicate p) {
  llvm::Value* b = pop();
  llvm::Value* a = pop();
  push(bool32(B_.CreateFCmp(p, a, b)));
}

void Gen::shift(llvm::Instruction::BinaryOps op) {
  llvm::Value* b = pop();
  llvm::Value* a = pop();
  unsigned bits = a->getType()->getIntegerBitWidth();
  push(B_.CreateBinOp(op, a, B_.CreateAnd(b, llvm::ConstantInt::get(a->getType(), bits - 1))));
}

void Gen::unary_intrinsic(llvm::Intrinsic::ID id) {
  llvm::Value* a = pop();
  push(intrinsic(id, {a->getType()}, {a}));
}

void Gen::binary_intrinsic(llvm::Intrinsic::ID id) {
  llvm::Value* b = pop();
  llvm::Value* a = pop();
  push(intrinsic(id, {a->getType()}, {a, b}));
}

void Gen::min_max(llvm::Intrinsic::ID id) {
  llvm::Value* b = pop();
  llvm::Value* a = pop();
  llvm::Value* r = intrinsic(id, {a->getType()}, {a, b});
  push(B_.CreateSelect(B_.CreateFCmpUNO(a, b), B_.CreateFAdd(a, b), r));
}

void Gen::bitcount(llvm::Intrinsic::ID id) {
  llvm::Value* a = pop();
  if (id == llvm::Intrinsic::ctpop) {
    push(intrinsic(id, {a->getType()}, {a}));
  } else {
    push(intrinsic(id, {a->getType()}, {a, B_.getFalse()}));
  }
}

void Gen::rotate(bool left) {
  llvm::Value* b = pop();
  llvm::Value* a = pop();
  if (b->getType() != a->getType()) b = B_.CreateZExt(b, a->getType());
  push(intrinsic(left ? llvm::Intrinsic::fshl : llvm::Intrinsic::fshr, {a->getType()}, {a, a, b}));
}

void Gen::divide(bool is_signed, bool rem) {
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

void Gen::trunc(llvm::Type* to, bool is_signed) {
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

void Gen::trunc_sat(llvm::Type* to, bool is_signed) {
  llvm::Value* x = pop();
  push(intrinsic(is_signed ? llvm::Intrinsic::fptosi_sat : llvm::Intrinsic::fptoui_sat,
                 {to, x->getType()}, {x}));
}

void Gen::extend(llvm::Type* from, llvm::Type* to) {
  llvm::Value* a = pop();
  push(B_.CreateSExt(B_.CreateTrunc(a, from), to));
}

// The scalar numeric instructions lowering.def has no rule for (false if `in` is not one).
bool Gen::numeric_instr(const Instr& in, const binary::FunctionBody& body) {
  using O = Opcode;
  namespace I = llvm::Intrinsic;
  llvm::Type* f32 = B_.getFloatTy();
  llvm::Type* f64 = B_.getDoubleTy();
  switch (static_cast<O>(in.op)) {
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
    case O::I32Popcnt:
    case O::I64Popcnt:
      bitcount(I::ctpop);
      break;
    case O::F32Neg:
    case O::F64Neg:
      push(B_.CreateFNeg(pop()));
      break;
    case O::I32WrapI64:
      push(B_.CreateTrunc(pop(), i32_));
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
    default:
      return false;
  }
  return true;
}

}  // namespace edgecar::aot::gen
