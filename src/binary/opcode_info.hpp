// Facts about each opcode, derived at compile time from the rows of opcodes.def: its
// signature as types (for the validator and the lowering), its natural alignment and
// whether one interpreter handler of the same name implements it.
#pragma once

#include <cstdint>
#include <string_view>

#include "binary/module.hpp"

namespace edgecar::binary {

// Operand types an instruction pops (in order, deepest first) and pushes; simple
// instructions pop at most three values (v128.bitselect) and push at most one.
struct Signature {
  uint8_t npop = 0;
  ValType pop[3] = {ValType::I32, ValType::I32, ValType::I32};
  uint8_t npush = 0;
  ValType push = ValType::I32;
  bool typed = false;  // false: the instruction is typed by hand (`none` in opcodes.def)
};

namespace sig {
constexpr ValType i = ValType::I32, I = ValType::I64, f = ValType::F32, F = ValType::F64,
                  V = ValType::V128;
constexpr Signature none{};
constexpr Signature of0(ValType r) {
  return {0, {i, i, i}, 1, r, true};
}
constexpr Signature of1(ValType a, ValType r) {
  return {1, {a, i, i}, 1, r, true};
}
constexpr Signature of2(ValType a, ValType b, ValType r) {
  return {2, {a, b, i}, 1, r, true};
}
constexpr Signature of3(ValType a, ValType b, ValType c, ValType r) {
  return {3, {a, b, c}, 1, r, true};
}
constexpr Signature sink2(ValType a, ValType b) {
  return {2, {a, b, i}, 0, i, true};
}
// The names opcodes.def uses: popped _ pushed.
constexpr Signature _i = of0(i), _I = of0(I), _f = of0(f), _F = of0(F);
constexpr Signature i_i = of1(i, i), i_I = of1(i, I), i_f = of1(i, f), i_F = of1(i, F);
constexpr Signature I_i = of1(I, i), I_I = of1(I, I), I_f = of1(I, f), I_F = of1(I, F);
constexpr Signature f_i = of1(f, i), f_I = of1(f, I), f_f = of1(f, f), f_F = of1(f, F);
constexpr Signature F_i = of1(F, i), F_I = of1(F, I), F_f = of1(F, f), F_F = of1(F, F);
constexpr Signature ii_i = of2(i, i, i), II_i = of2(I, I, i), II_I = of2(I, I, I);
constexpr Signature ff_i = of2(f, f, i), ff_f = of2(f, f, f), FF_i = of2(F, F, i),
                    FF_F = of2(F, F, F);
constexpr Signature ii_ = sink2(i, i), iI_ = sink2(i, I), if_ = sink2(i, f), iF_ = sink2(i, F);
// SIMD
constexpr Signature _V = of0(V), i_V = of1(i, V), I_V = of1(I, V), f_V = of1(f, V), F_V = of1(F, V),
                    V_V = of1(V, V), V_i = of1(V, i), V_I = of1(V, I), V_f = of1(V, f),
                    V_F = of1(V, F), VV_V = of2(V, V, V), Vi_V = of2(V, i, V), VI_V = of2(V, I, V),
                    Vf_V = of2(V, f, V), VF_V = of2(V, F, V), iV_V = of2(i, V, V),
                    iV_ = sink2(i, V), VVV_V = of3(V, V, V, V);
}  // namespace sig

// Simple: one handler of the same name, operands and result in slots; Vector: the same
// for SIMD instructions (v128 operands in two adjacent slots, immediates after them);
// Own: lowered by code of its own in interp/compile.cpp.
enum class Lowering : uint8_t { Own, Simple, Vector };

// Lanes from an instruction's name: "i8x16.extract_lane_s" 16, "f64x2.replace_lane" 2;
// "v128.load16_lane" from its access size (8 lanes of 16 bits); 0 without "_lane".
constexpr uint8_t lanes_of(std::string_view name, int align) {
  size_t at = name.find("_lane");  // extract_lane(_s), replace_lane, load8_lane; not laneselect
  if (at == std::string_view::npos || (at + 5 < name.size() && name[at + 5] != '_')) return 0;
  if (name.starts_with("v128.")) return static_cast<uint8_t>(16 >> align);
  if (name.starts_with("i8x16")) return 16;
  if (name.starts_with("i16x8")) return 8;
  if (name.starts_with("i32x4") || name.starts_with("f32x4")) return 4;
  return 2;
}

// The proposal that brought an instruction (opcodes.def's last column): what a module's
// summary lists as the features it uses.
enum class Proposal : uint8_t {
  Mvp,
  SignExtension,
  SaturatingConversions,
  ReferenceTypes,
  BulkMemory,
  Simd,
  RelaxedSimd,
  TailCalls,
  ExceptionHandling,
  TypedFunctionReferences,
  Gc,
};
inline constexpr size_t kProposals = static_cast<size_t>(Proposal::Gc) + 1;

struct OpcodeInfo {
  Signature signature;
  int8_t natural_alignment = -1;  // log2 of a load's or store's access size
  Lowering lowering = Lowering::Own;
  Proposal proposal = Proposal::Mvp;
};

constexpr OpcodeInfo opcode_info(uint16_t op) {
  switch (op) {
#define OP(code, id, name, imm, signature, align, lowering, proposal) \
  case code:                                                          \
    return OpcodeInfo{sig::signature, align, Lowering::lowering, Proposal::proposal};
#include "binary/opcodes.def"
#undef OP
  }
  return {};
}

constexpr bool is_simd(uint16_t op) {
  return (op & 0xFF00) == 0xFD00 || (op & 0xFF00) == 0xFE00;  // 0xFE00: relaxed SIMD
}

// A SIMD instruction's index among all of them: its subopcode (0-0x113).
constexpr uint32_t simd_index(uint16_t op) {
  return (op & 0xFF00) == 0xFE00 ? 0x100 + (op & 0xFF) : op & 0xFF;
}

// Lanes of the vector shape a lane instruction works on (extract_lane, replace_lane,
// load/store_lane), for the validator's lane-index check; 0 for other instructions.
constexpr uint8_t lane_count(uint16_t op) {
  switch (op) {
#define OP(code, id, name, imm, signature, align, lowering, proposal) \
  case code:                                                          \
    return lanes_of(std::string_view(name), align);
#include "binary/opcodes.def"
#undef OP
  }
  return 0;
}

constexpr bool is_load(uint16_t op) {
  return op >= static_cast<uint16_t>(Opcode::I32Load) &&
         op <= static_cast<uint16_t>(Opcode::I64Load32U);
}
constexpr bool is_store(uint16_t op) {
  return op >= static_cast<uint16_t>(Opcode::I32Store) &&
         op <= static_cast<uint16_t>(Opcode::I64Store32);
}

}  // namespace edgecar::binary
