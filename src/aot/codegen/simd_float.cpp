// SIMD floating-point lanes: f32x4 and f64x2 arithmetic, comparisons and conversions.
#include "aot/codegen/gen.hpp"

namespace edgecar::aot::gen {

bool Gen::simd_float(const Instr& in) {
  using O = Opcode;
  namespace I = llvm::Intrinsic;
  using P = llvm::CmpInst::Predicate;
  using BO = llvm::Instruction::BinaryOps;
  llvm::Type* f32 = B_.getFloatTy();
  switch (static_cast<O>(in.op)) {
    case O::F32x4Splat:
      vsplat(f32x4());
      break;
    case O::F64x2Splat:
      vsplat(f64x2());
      break;
    case O::F32x4ExtractLane:
      extract(f32x4(), in, 0);
      break;
    case O::F64x2ExtractLane:
      extract(f64x2(), in, 0);
      break;
    case O::F32x4ReplaceLane:
      replace(f32x4(), in);
      break;
    case O::F64x2ReplaceLane:
      replace(f64x2(), in);
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
    case O::F32x4DemoteF64x2Zero: {
      llvm::Value* a = popv(f64x2());
      pushv(concat(B_.CreateFPTrunc(a, vt(f32, 2)), llvm::Constant::getNullValue(vt(f32, 2))));
      break;
    }
    case O::F64x2PromoteLowF32x4:
      pushv(B_.CreateFPExt(half(popv(f32x4()), 0, 2), f64x2()));
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
