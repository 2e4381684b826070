// SIMD (128-bit vectors): shared lane helpers, v128 loads, stores, lanes and bitwise
// instructions, relaxed SIMD.
#include "aot/codegen/gen.hpp"

namespace edgecar::aot::gen {

llvm::Value* Gen::half(llvm::Value* a, unsigned from, unsigned n) {
  std::vector<int> m;
  for (unsigned i = 0; i < n; ++i) m.push_back(static_cast<int>(from + i));
  return B_.CreateShuffleVector(a, m);
}

llvm::Value* Gen::every_other(llvm::Value* a, unsigned first) {
  unsigned n = llvm::cast<llvm::FixedVectorType>(a->getType())->getNumElements();
  std::vector<int> m;
  for (unsigned i = first; i < n; i += 2) m.push_back(static_cast<int>(i));
  return B_.CreateShuffleVector(a, m);
}

llvm::Value* Gen::concat(llvm::Value* a, llvm::Value* b) {
  unsigned n = llvm::cast<llvm::FixedVectorType>(a->getType())->getNumElements();
  std::vector<int> m;
  for (unsigned i = 0; i < 2 * n; ++i) m.push_back(static_cast<int>(i));
  return B_.CreateShuffleVector(a, b, m);
}

llvm::Value* Gen::clamp(llvm::Value* v, int64_t lo, int64_t hi) {
  auto* t = llvm::cast<llvm::FixedVectorType>(v->getType());
  llvm::Value* l = splat(llvm::ConstantInt::getSigned(t->getElementType(), lo), t);
  llvm::Value* h = splat(llvm::ConstantInt::getSigned(t->getElementType(), hi), t);
  v = B_.CreateSelect(B_.CreateICmpSLT(v, l), l, v);
  return B_.CreateSelect(B_.CreateICmpSGT(v, h), h, v);
}

void Gen::narrow(llvm::FixedVectorType* wide, llvm::FixedVectorType* out, int64_t lo, int64_t hi) {
  llvm::Value* b = popv(wide);
  llvm::Value* a = popv(wide);
  pushv(B_.CreateTrunc(clamp(concat(a, b), lo, hi), out));
}

void Gen::extend_half(llvm::FixedVectorType* in, llvm::FixedVectorType* out, bool high, bool sign) {
  llvm::Value* a = popv(in);
  unsigned n = out->getNumElements();
  llvm::Value* h = half(a, high ? n : 0, n);
  pushv(sign ? B_.CreateSExt(h, out) : B_.CreateZExt(h, out));
}

void Gen::extmul(llvm::FixedVectorType* in, llvm::FixedVectorType* out, bool high, bool sign) {
  llvm::Value* b = popv(in);
  llvm::Value* a = popv(in);
  unsigned n = out->getNumElements();
  auto ext = [&](llvm::Value* v) {
    llvm::Value* h = half(v, high ? n : 0, n);
    return sign ? B_.CreateSExt(h, out) : B_.CreateZExt(h, out);
  };
  pushv(B_.CreateMul(ext(a), ext(b)));
}

void Gen::extadd_pairwise(llvm::FixedVectorType* in, llvm::FixedVectorType* out, bool sign) {
  llvm::Value* a = popv(in);
  auto ext = [&](llvm::Value* v) { return sign ? B_.CreateSExt(v, out) : B_.CreateZExt(v, out); };
  pushv(B_.CreateAdd(ext(every_other(a, 0)), ext(every_other(a, 1))));
}

void Gen::vbin(llvm::FixedVectorType* t, llvm::Instruction::BinaryOps op) {
  llvm::Value* b = popv(t);
  llvm::Value* a = popv(t);
  llvm::Value* r = B_.CreateBinOp(op, a, b);
  // As for scalars (binop): a constant operand may let LLVM fold the operation away.
  if (t->getElementType()->isFloatingPointTy() &&
      (llvm::isa<llvm::Constant>(a) || llvm::isa<llvm::Constant>(b)))
    r = quiet(r);
  pushv(r);
}

void Gen::vbin_intrinsic(llvm::FixedVectorType* t, llvm::Intrinsic::ID id) {
  llvm::Value* b = popv(t);
  llvm::Value* a = popv(t);
  pushv(intrinsic(id, {t}, {a, b}));
}

void Gen::vun_intrinsic(llvm::FixedVectorType* t, llvm::Intrinsic::ID id) {
  llvm::Value* a = popv(t);
  pushv(intrinsic(id, {t}, {a}));
}

void Gen::vicmp(llvm::FixedVectorType* t, llvm::CmpInst::Predicate p) {
  llvm::Value* b = popv(t);
  llvm::Value* a = popv(t);
  pushv(mask_lanes(B_.CreateICmp(p, a, b), t));
}

void Gen::vfcmp(llvm::FixedVectorType* t, llvm::CmpInst::Predicate p) {
  llvm::Value* b = popv(t);
  llvm::Value* a = popv(t);
  auto* it = llvm::VectorType::getInteger(t);
  pushv(mask_lanes(B_.CreateFCmp(p, a, b), llvm::cast<llvm::FixedVectorType>(it)));
}

void Gen::vminmax(llvm::FixedVectorType* t, llvm::CmpInst::Predicate p) {
  llvm::Value* b = popv(t);
  llvm::Value* a = popv(t);
  pushv(B_.CreateSelect(B_.CreateICmp(p, a, b), a, b));
}

void Gen::vfminmax(llvm::FixedVectorType* t, llvm::Intrinsic::ID id) {
  llvm::Value* b = popv(t);
  llvm::Value* a = popv(t);
  llvm::Value* r = intrinsic(id, {t}, {a, b});
  llvm::Value* nan = B_.CreateFCmpUNO(a, b);
  pushv(B_.CreateSelect(nan, B_.CreateFAdd(a, b), r));
}

void Gen::vshift(llvm::FixedVectorType* t, llvm::Instruction::BinaryOps op) {
  llvm::Value* n = pop();
  llvm::Value* a = popv(t);
  unsigned bits = t->getScalarSizeInBits();
  n = B_.CreateAnd(n, B_.getInt32(bits - 1));
  n = B_.CreateZExtOrTrunc(n, t->getElementType());
  pushv(B_.CreateBinOp(op, a, splat(n, t)));
}

void Gen::avgr(llvm::FixedVectorType* t) {
  llvm::Value* b = popv(t);
  llvm::Value* a = popv(t);
  auto* w = vt(llvm::IntegerType::get(C_, t->getScalarSizeInBits() * 2), t->getNumElements());
  llvm::Value* sum = B_.CreateAdd(B_.CreateAdd(B_.CreateZExt(a, w), B_.CreateZExt(b, w)),
                                  splat(llvm::ConstantInt::get(w->getElementType(), 1), w));
  pushv(B_.CreateTrunc(B_.CreateLShr(sum, splat(llvm::ConstantInt::get(w->getElementType(), 1), w)),
                       t));
}

void Gen::all_true(llvm::FixedVectorType* t) {
  llvm::Value* a = popv(t);
  llvm::Value* ne = B_.CreateICmpNE(a, llvm::Constant::getNullValue(t));
  push(B_.CreateZExt(B_.CreateAndReduce(ne), i32_));
}

void Gen::bitmask(llvm::FixedVectorType* t) {
  llvm::Value* a = popv(t);
  llvm::Value* neg = B_.CreateICmpSLT(a, llvm::Constant::getNullValue(t));
  llvm::Value* bits = B_.CreateBitCast(neg, llvm::IntegerType::get(C_, t->getNumElements()));
  push(B_.CreateZExt(bits, i32_));
}

void Gen::q15mulr() {
  llvm::Value* b = popv(i16x8());
  llvm::Value* a = popv(i16x8());
  auto* w = i32x4x2();
  llvm::Value* p = B_.CreateMul(B_.CreateSExt(a, w), B_.CreateSExt(b, w));
  p = B_.CreateAShr(B_.CreateAdd(p, splat(B_.getInt32(0x4000), w)), splat(B_.getInt32(15), w));
  pushv(B_.CreateTrunc(clamp(p, -32768, 32767), i16x8()));
}

void Gen::dot_i16x8() {
  llvm::Value* b = popv(i16x8());
  llvm::Value* a = popv(i16x8());
  llvm::Value* p = B_.CreateMul(B_.CreateSExt(a, i32x4x2()), B_.CreateSExt(b, i32x4x2()));
  pushv(B_.CreateAdd(every_other(p, 0), every_other(p, 1)));
}

llvm::Value* Gen::relaxed_dot_i16(llvm::Value* a, llvm::Value* b) {
  llvm::Value* p = B_.CreateMul(B_.CreateSExt(a, i16x8x2()), B_.CreateSExt(b, i16x8x2()));
  return B_.CreateAdd(every_other(p, 0), every_other(p, 1));
}

void Gen::trunc_sat_vec(llvm::FixedVectorType* from, bool sign, bool zero_high) {
  llvm::Value* a = popv(from);
  unsigned n = from->getNumElements();
  auto* out = vt(i32_, n);
  llvm::Value* r =
      intrinsic(sign ? llvm::Intrinsic::fptosi_sat : llvm::Intrinsic::fptoui_sat, {out, from}, {a});
  if (zero_high) r = concat(r, llvm::Constant::getNullValue(out));
  pushv(r);
}

llvm::Value* Gen::v128_const(const Instr& in) {
  uint64_t hi = uint64_t{in.b} << 32 | in.a;
  return llvm::ConstantVector::get({B_.getInt64(in.imm), B_.getInt64(hi)});
}

void Gen::vload(const Instr& in, llvm::Type* t, unsigned bytes) {
  llvm::Value* p = address(pop(), in.imm, bytes, in.mem);
  auto* l = B_.CreateAlignedLoad(t, p, llvm::Align(1));
  l->setMetadata(llvm::LLVMContext::MD_tbaa, tbaa_guest_);
  push(l);
}

void Gen::load_extend(const Instr& in, llvm::FixedVectorType* in_t, llvm::FixedVectorType* out,
                      bool sign) {
  vload(in, in_t, 8);
  llvm::Value* v = pop();
  pushv(sign ? B_.CreateSExt(v, out) : B_.CreateZExt(v, out));
}

void Gen::load_splat(const Instr& in, llvm::Type* lane, unsigned n) {
  vload(in, lane, lane->getPrimitiveSizeInBits() / 8);
  pushv(splat(pop(), vt(lane, n)));
}

void Gen::load_zero(const Instr& in, llvm::Type* lane, unsigned n) {
  vload(in, lane, lane->getPrimitiveSizeInBits() / 8);
  llvm::Value* x = pop();
  pushv(B_.CreateInsertElement(llvm::Constant::getNullValue(vt(lane, n)), x, uint64_t{0}));
}

void Gen::load_lane(const Instr& in, llvm::Type* lane, unsigned n) {
  llvm::Value* v = popv(vt(lane, n));
  vload(in, lane, lane->getPrimitiveSizeInBits() / 8);
  pushv(B_.CreateInsertElement(v, pop(), uint64_t{in.b}));
}

void Gen::store_lane(const Instr& in, llvm::Type* lane, unsigned n) {
  llvm::Value* v = popv(vt(lane, n));
  llvm::Value* p = address(pop(), in.imm, lane->getPrimitiveSizeInBits() / 8, in.mem);
  B_.CreateAlignedStore(B_.CreateExtractElement(v, uint64_t{in.b}), p, llvm::Align(1))
      ->setMetadata(llvm::LLVMContext::MD_tbaa, tbaa_guest_);
}

void Gen::extract(llvm::FixedVectorType* t, const Instr& in, int ext) {  // ext: 0 none, 1 s, 2 u
  llvm::Value* x = B_.CreateExtractElement(popv(t), uint64_t{in.a});
  if (ext == 1) x = B_.CreateSExt(x, i32_);
  if (ext == 2) x = B_.CreateZExt(x, i32_);
  push(x);
}

void Gen::replace(llvm::FixedVectorType* t, const Instr& in) {
  llvm::Value* x = pop();
  llvm::Value* v = popv(t);
  if (x->getType() != t->getElementType()) x = B_.CreateTrunc(x, t->getElementType());
  pushv(B_.CreateInsertElement(v, x, uint64_t{in.a}));
}

void Gen::vsplat(llvm::FixedVectorType* t) {
  llvm::Value* x = pop();
  if (x->getType() != t->getElementType()) x = B_.CreateTrunc(x, t->getElementType());
  pushv(splat(x, t));
}

void Gen::swizzle() {
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

void Gen::shuffle(const Instr& in) {
  llvm::Value* b = popv(i8x16());
  llvm::Value* a = popv(i8x16());
  uint64_t lo = in.imm, hi = uint64_t{in.b} << 32 | in.a;
  std::vector<int> m;
  for (unsigned i = 0; i < 16; ++i)
    m.push_back(static_cast<int>(((i < 8 ? lo >> (8 * i) : hi >> (8 * (i - 8)))) & 0xFF));
  pushv(B_.CreateShuffleVector(a, b, m));
}

void Gen::bitselect() {
  llvm::Value* c = pop();
  llvm::Value* b = pop();
  llvm::Value* a = pop();
  push(B_.CreateOr(B_.CreateAnd(a, c), B_.CreateAnd(b, B_.CreateNot(c))));
}

void Gen::vabs(llvm::FixedVectorType* t) {
  llvm::Value* a = popv(t);
  pushv(intrinsic(llvm::Intrinsic::abs, {t}, {a, B_.getFalse()}));
}

void Gen::vpminmax(llvm::FixedVectorType* t, bool min) {
  llvm::Value* b = popv(t);
  llvm::Value* a = popv(t);
  pushv(min ? B_.CreateSelect(B_.CreateFCmpOLT(b, a), b, a)
            : B_.CreateSelect(B_.CreateFCmpOLT(a, b), b, a));
}

void Gen::madd(llvm::FixedVectorType* t, bool negate) {
  llvm::Value* c = popv(t);
  llvm::Value* b = popv(t);
  llvm::Value* a = popv(t);
  llvm::Value* p = B_.CreateFMul(a, b);
  if (negate) p = B_.CreateFNeg(p);
  pushv(B_.CreateFAdd(p, c));
}

// The SIMD instructions lowering.def has no rule for (false if `in` is not one).
bool Gen::simd(const Instr& in) {
  using O = Opcode;
  namespace I = llvm::Intrinsic;
  llvm::Type* f32 = B_.getFloatTy();
  switch (static_cast<O>(in.op)) {
    case O::V128Not:
      push(B_.CreateNot(pop()));
      break;
    case O::V128Andnot: {
      llvm::Value* b = pop();
      llvm::Value* a = pop();
      push(B_.CreateAnd(a, B_.CreateNot(b)));
      break;
    }
    case O::V128AnyTrue:
      push(B_.CreateZExt(
          B_.CreateICmpNE(as(pop(), B_.getInt128Ty()), llvm::ConstantInt::get(B_.getInt128Ty(), 0)),
          i32_));
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
    case O::I8x16Neg:
      pushv(B_.CreateNeg(popv(i8x16())));
      break;
    case O::I8x16Popcnt:
      vun_intrinsic(i8x16(), I::ctpop);
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
    case O::F32x4DemoteF64x2Zero: {
      llvm::Value* a = popv(f64x2());
      pushv(concat(B_.CreateFPTrunc(a, vt(f32, 2)), llvm::Constant::getNullValue(vt(f32, 2))));
      break;
    }
    case O::F64x2PromoteLowF32x4:
      pushv(B_.CreateFPExt(half(popv(f32x4()), 0, 2), f64x2()));
      break;
    case O::F32x4Neg:
      pushv(B_.CreateFNeg(popv(f32x4())));
      break;
    case O::F64x2Neg:
      pushv(B_.CreateFNeg(popv(f64x2())));
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
    default:
      return false;
  }
  return true;
}

}  // namespace edgecar::aot::gen
