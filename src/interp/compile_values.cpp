// Lowering, values: numeric and SIMD instructions with their operand forms, locals.
#include "interp/compile.hpp"

namespace edgecar::interp::lowering {

void FunctionCompiler::simple(const Instr& in, const binary::Signature& sig) {
  size_t npop = sig.npop;
  uint16_t code = in.op;
  bool is_load = binary::is_load(code);
  bool is_store = binary::is_store(code);
  Op handler = handler_for(static_cast<Opcode>(code));
  if (is_load) {
    uint32_t addr = operand(h() - 1);
    drop(1);
    op(handler);
    cell(slot(h()));
    cell(addr);
    cell(static_cast<uint32_t>(in.imm));
    push_result();
    emitted_result();
    return;
  }
  if (is_store) {
    uint32_t value = operand(h() - 1);
    uint32_t addr = operand(h() - 2);
    drop(2);
    op(handler);
    cell(addr);
    cell(value);
    cell(static_cast<uint32_t>(in.imm));
    forget_last();
    return;
  }
  if (npop == 2) {
    Val b = vals_[h() - 1], a = vals_[h() - 2];
    bool i64 = sig.pop[0] == ValType::I64;
    auto fits = [&](uint64_t k) {
      return i64 ? static_cast<int64_t>(k) == static_cast<int64_t>(static_cast<int32_t>(k)) : true;
    };
    if (a.slot == kNone && b.slot != kNone && commutative(handler) && has_imm_form(handler) &&
        fits(a.k))
      std::swap(a, b);
    uint32_t dst = slot(h() - 2);
    Op emitted = handler;
    if (b.slot == kNone && a.slot != kNone && has_imm_form(handler) && fits(b.k)) {
      drop(2);
      emitted = imm_form(handler);
      op(emitted);
      cell(dst);
      cell(a.slot);
      cell(static_cast<uint32_t>(b.k));
    } else {
      uint32_t sb = operand(h() - 1);
      uint32_t sa = operand(h() - 2);
      drop(2);
      op(handler);
      cell(dst);
      cell(sa);
      cell(sb);
    }
    push_result();
    bool imm;
    if (cmp_index(emitted, imm) >= 0) {
      cmp_op_ = emitted;
      emitted_result(Last::Compare);
    } else {
      emitted_result();
    }
    return;
  }
  // Unary (npop == 1; conversions and tests), always with a result.
  uint32_t a = operand(h() - 1);
  drop(1);
  op(handler);
  cell(slot(h()));
  cell(a);
  push_result();
  emitted_result(static_cast<Opcode>(code) == Opcode::I32Eqz ? Last::Eqz : Last::Result);
}

void FunctionCompiler::simd(const Instr& in, const binary::OpcodeInfo& info) {
  if (extract_lane(in)) return;
  const binary::Signature& sig = info.signature;
  uint32_t width = 0;
  for (uint32_t i = 0; i < sig.npop; ++i) width += slot_width(sig.pop[i]);
  uint32_t pos = h() - width, operands[3];
  for (uint32_t i = 0; i < sig.npop; ++i) {
    operands[i] = sig.pop[i] == ValType::V128 ? operand_pair(pos) : operand(pos);
    pos += slot_width(sig.pop[i]);
  }
  drop(width);
  uint32_t start = here();
  op(Op::Simd);
  cell(simd_cells()[binary::simd_index(in.op)]);
  if (sig.npush) cell(slot(h()));
  for (uint32_t i = 0; i < sig.npop; ++i) cell(operands[i]);
  bool memory = info.natural_alignment >= 0;
  if (memory) cell(static_cast<uint32_t>(in.imm));
  if (binary::lane_count(in.op)) cell(memory ? in.b : in.a);
  if (in.op == static_cast<uint16_t>(Opcode::I8x16Shuffle)) {
    cell(static_cast<uint32_t>(in.imm));
    cell(static_cast<uint32_t>(in.imm >> 32));
    cell(in.a);
    cell(in.b);
  }
  if (sig.npush) {
    push_result();
    if (sig.push == ValType::V128) {
      push_result(true);
      // The destination cell, which set_local_v128 may point at a local instead.
      last_kind_ = Last::Result;
      last_start_ = start;
      last_dst_cell_ = start + 2;
      return;
    }
  }
  forget_last();
}

bool FunctionCompiler::extract_lane(const Instr& in) {
  auto o = static_cast<Opcode>(in.op);
  bool wide = o == Opcode::I64x2ExtractLane || o == Opcode::F64x2ExtractLane;
  if (!wide && o != Opcode::I32x4ExtractLane && o != Opcode::F32x4ExtractLane) return false;
  uint32_t lane = in.a, pos = h() - 2;
  uint32_t half = wide ? lane : lane / 2, shift = wide ? 0 : 32 * (lane % 2);
  Val v = vals_[pos + half];
  drop(2);
  if (v.slot == kNone) {
    uint64_t k = v.k >> shift;
    push_const(wide ? k : k & 0xFFFFFFFF);
    return true;
  }
  if (wide && v.slot == slot(pos)) {  // already in place
    push_result();
    forget_last();
    return true;
  }
  if (wide && v.slot < base_) {  // a local's half: read it from there
    push_local(v.slot);
    return true;
  }
  uint32_t dst = slot(h());
  if (wide) {
    emit_copy(dst, v.slot);
  } else if (shift == 0) {
    op(Op::I32WrapI64);
    cell(dst);
    cell(v.slot);
  } else {
    op(Op::I64ShrUImm);
    cell(dst);
    cell(v.slot);
    cell(shift);
  }
  push_result();
  if (wide) {
    forget_last();
  } else {
    emitted_result();
  }
  return true;
}

Op FunctionCompiler::handler_for(Opcode o) {
  switch (o) {
#define HANDLER_IF_Simple(id) \
  case Opcode::id:            \
    return Op::id;
#define HANDLER_IF_Vector(id)
#define HANDLER_IF_Own(id)
#define OP(code, id, name, imm, signature, align, lowering, proposal) HANDLER_IF_##lowering(id)
#include "binary/opcodes.def"
#undef OP
#undef HANDLER_IF_Own
#undef HANDLER_IF_Vector
#undef HANDLER_IF_Simple
    default:
      break;
  }
  return Op::Unreachable;
}

void FunctionCompiler::set_local(uint32_t x, bool tee) {
  Val v = vals_.back();
  uint32_t top = slot(h() - 1);
  // The value was just computed into its own slot: write it to x directly instead.
  bool produced_here =
      last_kind_ != Last::None && label_pos_ <= last_start_ && cells_[last_dst_cell_] == top;
  if (v.slot == top && produced_here && !refs_local(x)) {
    cells_[last_dst_cell_] = x;
    drop(1);
    if (tee) {
      push_local(x);
      vals_.back().ref = v.ref;
    }
    return;
  }
  drop(1);
  materialize_refs(x);
  if (v.slot == kNone) {
    emit_const(x, v.k);
  } else if (v.slot != x) {
    emit_copy(x, v.slot);
  }
  if (tee) {
    push_local(x);
    vals_.back().ref = v.ref;
  }
}

void FunctionCompiler::set_local_v128(uint32_t x) {
  Val lo = vals_[h() - 2], hi = vals_[h() - 1];
  uint32_t top = slot(h() - 2);
  // Just computed by a SIMD instruction into its own slots: it writes x instead (the
  // SIMD functions read every operand before they write).
  bool produced_here = last_kind_ == Last::Result && label_pos_ <= last_start_ &&
                       cells_[last_dst_cell_] == top && lo.slot == top && hi.slot == top + 1;
  if (produced_here && !refs_local(x) && !refs_local(x + 1)) {
    cells_[last_dst_cell_] = x;
    drop(2);
    return;
  }
  if (lo.slot == kNone && hi.slot == kNone) {
    drop(2);
    materialize_refs(x);
    materialize_refs(x + 1);
    emit_v128_const(x, lo.k, hi.k);
    return;
  }
  set_local(x + 1, false);
  set_local(x, false);
}

void FunctionCompiler::value(const Instr& in) {
  Opcode o = static_cast<Opcode>(in.op);
  switch (o) {
    case Opcode::Drop:
      drop(vals_.back().hi ? 2 : 1);
      break;
    case Opcode::Select:
    case Opcode::SelectT: {
      if (vals_[h() - 2].hi) {  // v128 operands: [a lo, a hi, b lo, b hi, cond]
        uint32_t c = operand(h() - 1);
        uint32_t b = operand_pair(h() - 3);
        uint32_t a = operand_pair(h() - 5);
        drop(5);
        op(Op::SelectV128);
        cell(slot(h()));
        cell(a);
        cell(b);
        cell(c);
        push_result();
        push_result(true);
        forget_last();
        break;
      }
      uint32_t c = operand(h() - 1);
      uint32_t b = operand(h() - 2);
      uint32_t a = operand(h() - 3);
      drop(3);
      op(Op::Select);
      cell(slot(h()));
      cell(a);
      cell(b);
      cell(c);
      push_result();
      if (o == Opcode::SelectT) tag_ref(ValType::from_bits(in.imm));
      emitted_result();
      break;
    }
    case Opcode::LocalGet:
      push_local(local_slot_[in.a]);
      tag_ref(local_type_[in.a]);
      if (local_type_[in.a] == ValType::V128) push_local(local_slot_[in.a] + 1, true);
      break;
    case Opcode::LocalSet:
    case Opcode::LocalTee:
      if (local_type_[in.a] == ValType::V128) {
        uint32_t x = local_slot_[in.a];
        set_local_v128(x);
        if (o == Opcode::LocalTee) {
          push_local(x);
          push_local(x + 1, true);
        }
      } else {
        set_local(local_slot_[in.a], o == Opcode::LocalTee);
      }
      break;
    case Opcode::GlobalGet:
      if (global_type(in.a) == ValType::V128) {
        op(Op::GlobalGetV128);
        cell(slot(h()));
        cell(in.a);
        push_result();
        push_result(true);
        forget_last();
        break;
      }
      op(Op::GlobalGet);
      cell(slot(h()));
      cell(in.a);
      push_result();
      tag_ref(global_type(in.a));
      emitted_result();
      break;
    case Opcode::GlobalSet: {
      if (global_type(in.a) == ValType::V128) {
        uint32_t src = operand_pair(h() - 2);
        drop(2);
        op(Op::GlobalSetV128);
        cell(src);
        cell(in.a);
        forget_last();
        break;
      }
      uint32_t src = operand(h() - 1);
      drop(1);
      op(Op::GlobalSet);
      cell(src);
      cell(in.a);
      forget_last();
      break;
    }
    case Opcode::I32Const:
    case Opcode::F32Const:
      push_const(static_cast<uint32_t>(in.imm));
      break;
    case Opcode::I64Const:
    case Opcode::F64Const:
      push_const(in.imm);
      break;
    case Opcode::RefNull:
      push_const(0);
      break;
    case Opcode::V128Const:  // two 64-bit constants, written where they are needed
      push_const(in.imm);
      push_const(uint64_t{in.b} << 32 | in.a, true);
      break;
    case Opcode::RefAsNonNull: {  // traps on null; the reference stays where it is
      uint32_t a = operand(h() - 1);
      op(Op::RefAsNonNull);
      cell(a);
      forget_last();
      break;
    }
    case Opcode::RefIsNull: {
      uint32_t a = operand(h() - 1);
      drop(1);
      op(Op::RefIsNull);
      cell(slot(h()));
      cell(a);
      push_result();
      emitted_result();
      break;
    }
    case Opcode::RefFunc:
      op(Op::RefFunc);
      cell(slot(h()));
      cell(in.a);
      push_result();
      vals_.back().ref = true;
      emitted_result();
      break;
    default:
      break;
  }
}

}  // namespace edgecar::interp::lowering
