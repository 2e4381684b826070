// SIMD integer lanes: i8x16, i16x8, i32x4, i64x2 arithmetic, comparisons and conversions.
#include "aot/codegen/gen.hpp"

namespace edgecar::aot::gen {

bool Gen::simd_i8x16(const Instr& in) {
  using O = Opcode;
  namespace I = llvm::Intrinsic;
  using P = llvm::CmpInst::Predicate;
  using BO = llvm::Instruction::BinaryOps;
  switch (static_cast<O>(in.op)) {
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
    case O::I8x16ExtractLaneS:
      extract(i8x16(), in, 1);
      break;
    case O::I8x16ExtractLaneU:
      extract(i8x16(), in, 2);
      break;
    case O::I8x16ReplaceLane:
      replace(i8x16(), in);
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
    case O::I8x16Abs:
      vabs(i8x16());
      break;
    case O::I8x16Neg:
      pushv(B_.CreateNeg(popv(i8x16())));
      break;
    case O::I8x16Popcnt:
      vun_intrinsic(i8x16(), I::ctpop);
      break;
    case O::I8x16AllTrue:
      all_true(i8x16());
      break;
    case O::I8x16Bitmask:
      bitmask(i8x16());
      break;
    case O::I8x16NarrowI16x8S:
      narrow(i16x8(), i8x16(), -128, 127);
      break;
    case O::I8x16NarrowI16x8U:
      narrow(i16x8(), i8x16(), 0, 255);
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
    case O::I8x16Add:
      vbin(i8x16(), BO::Add);
      break;
    case O::I8x16Sub:
      vbin(i8x16(), BO::Sub);
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
    case O::I8x16AvgrU:
      avgr(i8x16());
      break;
    default:
      return false;
  }
  return true;
}

bool Gen::simd_i16x8(const Instr& in) {
  using O = Opcode;
  namespace I = llvm::Intrinsic;
  using P = llvm::CmpInst::Predicate;
  using BO = llvm::Instruction::BinaryOps;
  switch (static_cast<O>(in.op)) {
    case O::I16x8Splat:
      vsplat(i16x8());
      break;
    case O::I16x8ExtractLaneS:
      extract(i16x8(), in, 1);
      break;
    case O::I16x8ExtractLaneU:
      extract(i16x8(), in, 2);
      break;
    case O::I16x8ReplaceLane:
      replace(i16x8(), in);
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
    case O::I16x8Abs:
      vabs(i16x8());
      break;
    case O::I16x8Neg:
      pushv(B_.CreateNeg(popv(i16x8())));
      break;
    case O::I16x8AllTrue:
      all_true(i16x8());
      break;
    case O::I16x8Bitmask:
      bitmask(i16x8());
      break;
    case O::I16x8NarrowI32x4S:
      narrow(i32x4(), i16x8(), -32768, 32767);
      break;
    case O::I16x8NarrowI32x4U:
      narrow(i32x4(), i16x8(), 0, 65535);
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
    case O::I16x8Add:
      vbin(i16x8(), BO::Add);
      break;
    case O::I16x8Sub:
      vbin(i16x8(), BO::Sub);
      break;
    case O::I16x8Mul:
      vbin(i16x8(), BO::Mul);
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
    case O::I16x8AvgrU:
      avgr(i16x8());
      break;
    case O::I16x8ExtaddPairwiseI8x16S:
      extadd_pairwise(i8x16(), i16x8(), true);
      break;
    case O::I16x8ExtaddPairwiseI8x16U:
      extadd_pairwise(i8x16(), i16x8(), false);
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
    default:
      return false;
  }
  return true;
}

bool Gen::simd_i32x4(const Instr& in) {
  using O = Opcode;
  using P = llvm::CmpInst::Predicate;
  using BO = llvm::Instruction::BinaryOps;
  switch (static_cast<O>(in.op)) {
    case O::I32x4Splat:
      vsplat(i32x4());
      break;
    case O::I32x4ExtractLane:
      extract(i32x4(), in, 0);
      break;
    case O::I32x4ReplaceLane:
      replace(i32x4(), in);
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
    case O::I32x4Abs:
      vabs(i32x4());
      break;
    case O::I32x4Neg:
      pushv(B_.CreateNeg(popv(i32x4())));
      break;
    case O::I32x4AllTrue:
      all_true(i32x4());
      break;
    case O::I32x4Bitmask:
      bitmask(i32x4());
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
    case O::I32x4Add:
      vbin(i32x4(), BO::Add);
      break;
    case O::I32x4Sub:
      vbin(i32x4(), BO::Sub);
      break;
    case O::I32x4Mul:
      vbin(i32x4(), BO::Mul);
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
    case O::I32x4ExtaddPairwiseI16x8S:
      extadd_pairwise(i16x8(), i32x4(), true);
      break;
    case O::I32x4ExtaddPairwiseI16x8U:
      extadd_pairwise(i16x8(), i32x4(), false);
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
    case O::I32x4DotI16x8S:
      dot_i16x8();
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
    default:
      return false;
  }
  return true;
}

bool Gen::simd_i64x2(const Instr& in) {
  using O = Opcode;
  using P = llvm::CmpInst::Predicate;
  using BO = llvm::Instruction::BinaryOps;
  switch (static_cast<O>(in.op)) {
    case O::I64x2Splat:
      vsplat(i64x2());
      break;
    case O::I64x2ExtractLane:
      extract(i64x2(), in, 0);
      break;
    case O::I64x2ReplaceLane:
      replace(i64x2(), in);
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
    case O::I64x2Abs:
      vabs(i64x2());
      break;
    case O::I64x2Neg:
      pushv(B_.CreateNeg(popv(i64x2())));
      break;
    case O::I64x2AllTrue:
      all_true(i64x2());
      break;
    case O::I64x2Bitmask:
      bitmask(i64x2());
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
    case O::I64x2Add:
      vbin(i64x2(), BO::Add);
      break;
    case O::I64x2Sub:
      vbin(i64x2(), BO::Sub);
      break;
    case O::I64x2Mul:
      vbin(i64x2(), BO::Mul);
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
    default:
      return false;
  }
  return true;
}

}  // namespace edgecar::aot::gen
