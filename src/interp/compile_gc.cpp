// Lowering, garbage-collected references: structs, arrays, i31, casts.
#include "interp/compile.hpp"

namespace edgecar::interp::lowering {

void FunctionCompiler::gc(const Instr& in) {
  auto o = static_cast<Opcode>(in.op);
  if (field_access(in)) return;
  auto fields = [&]() -> const std::vector<binary::FieldType>& {
    return m_.type_defs[in.a].fields;
  };
  uint32_t n = 1, a = in.a, b = in.b;
  uint16_t emitted = in.op;
  // Most results are one reference (a new object, a cast or converted one).
  std::vector<ValType> results{ValType::ref(ValType::Any, true)};
  bool allocates = false;
  switch (o) {
    case Opcode::StructNew:
      n = 0;
      for (const auto& f : fields()) n += slot_width(f.type);
      allocates = true;
      break;
    case Opcode::StructNewDefault:
      n = 0;
      allocates = true;
      break;
    case Opcode::StructGet:
    case Opcode::StructGetS:
    case Opcode::StructGetU:
      results = {fields()[in.b].type};
      break;
    case Opcode::StructSet:
      n = 1 + slot_width(fields()[in.b].type);
      results.clear();
      break;
    case Opcode::ArrayNew:
      n = slot_width(fields()[0].type) + 1;
      allocates = true;
      break;
    case Opcode::ArrayNewDefault:
    case Opcode::AnyConvertExtern:  // boxes a host value
      allocates = true;
      break;
    case Opcode::ArrayNewFixed:
      n = in.b * slot_width(fields()[0].type);
      allocates = true;
      break;
    case Opcode::ArrayNewData:
    case Opcode::ArrayNewElem:
      n = 2;
      allocates = true;
      break;
    case Opcode::RefEq:
      n = 2;
      results = {ValType::I32};
      break;
    case Opcode::ArrayLen:
    case Opcode::I31GetS:
    case Opcode::I31GetU:
      results = {ValType::I32};
      break;
    case Opcode::ArrayGet:
    case Opcode::ArrayGetS:
    case Opcode::ArrayGetU:
      n = 2;
      results = {fields()[0].type};
      break;
    case Opcode::ArraySet:
      n = 2 + slot_width(fields()[0].type);
      results.clear();
      break;
    case Opcode::ArrayFill:
      n = 3 + slot_width(fields()[0].type);
      results.clear();
      break;
    case Opcode::ArrayCopy:
      n = 5;
      results.clear();
      break;
    case Opcode::ArrayInitData:
    case Opcode::ArrayInitElem:
      n = 4;
      results.clear();
      break;
    case Opcode::RefTest:
    case Opcode::RefTestNull:
    case Opcode::RefCast:
    case Opcode::RefCastNull:
      b = o == Opcode::RefTestNull || o == Opcode::RefCastNull;
      emitted = static_cast<uint16_t>(
          o == Opcode::RefTest || o == Opcode::RefTestNull ? Opcode::RefTest : Opcode::RefCast);
      if (emitted == static_cast<uint16_t>(Opcode::RefTest)) results = {ValType::I32};
      break;
    default:  // ref.i31, extern.convert_any: one operand, one reference
      break;
  }
  materialize_from(h() - n);
  uint32_t base = slot(h() - n);
  // An allocation may collect: the frame's references then, the operands included.
  if (allocates) stack_map(here(), live_refs());
  drop(n);
  op(Op::Gc);
  cell(emitted);
  cell(base);
  cell(a);
  cell(b);
  push_results(results);
  forget_last();
}

bool FunctionCompiler::field_access(const Instr& in) {
  auto o = static_cast<Opcode>(in.op);
  bool sign = o == Opcode::StructGetS || o == Opcode::ArrayGetS;
  switch (o) {
    case Opcode::StructGet:
    case Opcode::StructGetS:
    case Opcode::StructGetU:
    case Opcode::StructSet: {
      const auto& fields = m_.type_defs[in.a].fields;
      uint32_t offset = field_offset(fields, in.b);
      const binary::FieldType& f = fields[in.b];
      uint32_t kind = field_kind(f, sign);
      if (o == Opcode::StructSet) {
        bool wide = f.type == ValType::V128;
        uint32_t v = wide ? operand_pair(h() - 2) : operand(h() - 1);
        uint32_t r = operand(h() - (wide ? 3 : 2));
        drop(wide ? 3 : 2);
        op(Op::StructSet);
        cell(r);
        cell(v);
        cell(offset);
        cell(kind);
      } else {
        uint32_t r = operand(h() - 1);
        drop(1);
        op(Op::StructGet);
        cell(slot(h()));
        cell(r);
        cell(offset);
        cell(kind);
        push_results({f.type});
      }
      forget_last();
      return true;
    }
    case Opcode::ArrayGet:
    case Opcode::ArrayGetS:
    case Opcode::ArrayGetU:
    case Opcode::ArraySet: {
      const binary::FieldType& e = m_.type_defs[in.a].fields[0];
      uint32_t kind = field_kind(e, sign);
      if (o == Opcode::ArraySet) {
        bool wide = e.type == ValType::V128;
        uint32_t v = wide ? operand_pair(h() - 2) : operand(h() - 1);
        uint32_t i = operand(h() - (wide ? 3 : 2));
        uint32_t r = operand(h() - (wide ? 4 : 3));
        drop(wide ? 4 : 3);
        op(Op::ArraySet);
        cell(r);
        cell(i);
        cell(v);
        cell(kind);
      } else {
        uint32_t i = operand(h() - 1);
        uint32_t r = operand(h() - 2);
        drop(2);
        op(Op::ArrayGet);
        cell(slot(h()));
        cell(r);
        cell(i);
        cell(kind);
        push_results({e.type});
      }
      forget_last();
      return true;
    }
    case Opcode::ArrayLen: {
      uint32_t r = operand(h() - 1);
      drop(1);
      op(Op::ArrayLen);
      cell(slot(h()));
      cell(r);
      push_result();
      forget_last();
      return true;
    }
    default:
      return false;
  }
}

void FunctionCompiler::br_on_cast(const Instr& in) {
  uint32_t r = operand(h() - 1);
  uint32_t tmp = slot(h());
  if (h() + 1 > max_height_) max_height_ = h() + 1;
  emit_copy(tmp, r);
  op(Op::Gc);
  cell(static_cast<uint16_t>(Opcode::RefTest));
  cell(tmp);
  cell(in.b);
  cell((in.imm & 2) != 0);
  bool on_match = static_cast<Opcode>(in.op) == Opcode::BrOnCast;
  branch_unless(on_match ? Op::JumpIfNot : Op::JumpIf, tmp, in.a);
}

}  // namespace edgecar::interp::lowering
