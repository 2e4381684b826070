// Lowering, memories and tables: loads, stores, bulk operations, 64-bit addresses and
// indices.
#include "interp/compile.hpp"

namespace edgecar::interp::lowering {

void FunctionCompiler::address64(const Instr& in, const binary::OpcodeInfo& info) {
  const binary::Signature& sig = info.signature;
  uint32_t width = 0;
  for (uint32_t i = 0; i < sig.npop; ++i) width += slot_width(sig.pop[i]);
  uint32_t pos = h() - width;
  uint32_t src = operand(pos);
  op(Op::Addr64);
  cell(slot(pos));
  cell(src);
  cell(static_cast<uint32_t>(in.imm));
  cell(static_cast<uint32_t>(in.imm >> 32));
  vals_[pos].slot = slot(pos);
  forget_last();
  label();
  Instr at = in;
  at.imm = 0;
  if (info.lowering == binary::Lowering::Simple) return simple(at, sig);
  simd(at, info);
}

bool FunctionCompiler::bulk64(const Instr& in) {
  auto o = static_cast<Opcode>(in.op);
  uint32_t kind, other = 0, flags = 0;
  switch (o) {
    case Opcode::MemoryGrow:
      if (!is64(in.mem)) return false;
      kind = 0;
      break;
    case Opcode::MemoryFill:
      if (!is64(in.mem)) return false;
      kind = 1;
      break;
    case Opcode::MemoryCopy:
      if (!is64(in.mem) && !is64(in.b)) return false;
      kind = 2;
      other = in.b;
      flags = (is64(in.mem) ? 1 : 0) | (is64(in.b) ? 2 : 0);
      break;
    case Opcode::MemoryInit:
      if (!is64(in.mem)) return false;
      kind = 3;
      other = in.a;
      break;
    default:
      return false;
  }
  uint32_t n = kind == 0 ? 1 : 3;
  materialize_from(h() - n);
  drop(n);
  op(Op::Bulk64);
  cell(kind);
  cell(slot(h()));
  cell(in.mem);
  cell(other);
  cell(flags);
  if (kind == 0) {
    push_result();
    emitted_result();
  }
  forget_last();
  return true;
}

bool FunctionCompiler::table_bulk64(const Instr& in) {
  auto o = static_cast<Opcode>(in.op);
  uint32_t kind, table, other = 0, flags = 0, n = 3;
  switch (o) {
    case Opcode::TableGrow:
      if (!table64(in.a)) return false;
      kind = 0, table = in.a, n = 2;
      break;
    case Opcode::TableFill:
      if (!table64(in.a)) return false;
      kind = 1, table = in.a;
      break;
    case Opcode::TableCopy:
      if (!table64(in.a) && !table64(in.b)) return false;
      kind = 2, table = in.a, other = in.b;
      flags = (table64(in.a) ? 1 : 0) | (table64(in.b) ? 2 : 0);
      break;
    case Opcode::TableInit:
      if (!table64(in.b)) return false;
      kind = 3, table = in.b, other = in.a;
      break;
    default:
      return false;
  }
  materialize_from(h() - n);
  drop(n);
  op(Op::Table64);
  cell(kind);
  cell(slot(h()));
  cell(table);
  cell(other);
  cell(flags);
  if (kind == 0) push_result();
  forget_last();
  return true;
}

void FunctionCompiler::instr_on(const Instr& in) {
  const binary::OpcodeInfo info = binary::opcode_info(in.op);
  switch (static_cast<Opcode>(in.op)) {
    case Opcode::TableGet:
      if (table64(in.a)) index64(h() - 1, TrapKind::TableOutOfBounds);
      break;
    case Opcode::TableSet:
      if (table64(in.a)) index64(h() - 2, TrapKind::TableOutOfBounds);
      break;
    case Opcode::CallIndirect:
    case Opcode::ReturnCallIndirect:
      if (table64(in.b)) index64(h() - 1, TrapKind::UndefinedElement);
      break;
    default:
      if (table_bulk64(in)) return;
  }
  if (in.mem < m_.memories.size() && m_.memories[in.mem].limits.i64) {
    if (info.natural_alignment >= 0) return address64(in, info);
    if (bulk64(in)) return;
  } else if (in.op == static_cast<uint16_t>(Opcode::MemoryCopy) && bulk64(in)) {
    return;  // from a 64-bit memory into a 32-bit one
  }
  if (info.lowering == binary::Lowering::Simple) return simple(in, info.signature);
  if (info.lowering == binary::Lowering::Vector) return simd(in, info);
  switch (static_cast<Opcode>(in.op)) {
    case Opcode::Unreachable:
    case Opcode::Nop:
    case Opcode::Block:
    case Opcode::Loop:
    case Opcode::If:
    case Opcode::Else:
    case Opcode::End:
    case Opcode::Br:
    case Opcode::BrIf:
    case Opcode::BrTable:
    case Opcode::Return:
    case Opcode::TryTable:
    case Opcode::Throw:
    case Opcode::ThrowRef:
    case Opcode::Try:
    case Opcode::Catch:
    case Opcode::CatchAll:
    case Opcode::Rethrow:
    case Opcode::Delegate:
      return control(in);
    case Opcode::Call:
    case Opcode::CallIndirect:
    case Opcode::ReturnCall:
    case Opcode::ReturnCallIndirect:
    case Opcode::CallRef:
    case Opcode::ReturnCallRef:
      return call(in);
    case Opcode::BrOnNull:
    case Opcode::BrOnNonNull:
      return control(in);
    case Opcode::BrOnCast:
    case Opcode::BrOnCastFail:
      return br_on_cast(in);
    case Opcode::Drop:
    case Opcode::Select:
    case Opcode::SelectT:
    case Opcode::LocalGet:
    case Opcode::LocalSet:
    case Opcode::LocalTee:
    case Opcode::GlobalGet:
    case Opcode::GlobalSet:
    case Opcode::I32Const:
    case Opcode::F32Const:
    case Opcode::I64Const:
    case Opcode::F64Const:
    case Opcode::RefNull:
    case Opcode::RefIsNull:
    case Opcode::RefAsNonNull:
    case Opcode::RefFunc:
    case Opcode::V128Const:
      return value(in);
    default:
      if ((in.op & 0xFF00) == 0xFB00 || in.op == static_cast<uint16_t>(Opcode::RefEq))
        return gc(in);
      return memory_or_table(in);  // validated: nothing else reaches here
  }
}

void FunctionCompiler::memory_or_table(const Instr& in) {
  Opcode o = static_cast<Opcode>(in.op);
  switch (o) {
    case Opcode::MemorySize:
      op(Op::MemorySize);
      cell(slot(h()));
      push_result();
      emitted_result();
      break;
    case Opcode::MemoryGrow:
      materialize(h() - 1);
      op(Op::MemoryGrow);
      cell(slot(h() - 1));
      cell(in.mem);
      forget_last();
      break;
    case Opcode::MemoryInit:
      materialize_from(h() - 3);
      drop(3);
      op(Op::MemoryInit);
      cell(slot(h()));
      cell(in.a);
      forget_last();
      break;
    case Opcode::DataDrop:
      op(Op::DataDrop);
      cell(in.a);
      forget_last();
      break;
    case Opcode::MemoryCopy:
    case Opcode::MemoryFill:
      materialize_from(h() - 3);
      drop(3);
      if (o == Opcode::MemoryCopy && in.mem != in.b) {
        op(Op::MemoryCopyBetween);
        cell(slot(h()));
        cell(in.mem);
        cell(in.b);
      } else {
        op(o == Opcode::MemoryCopy ? Op::MemoryCopy : Op::MemoryFill);
        cell(slot(h()));
      }
      forget_last();
      break;
    case Opcode::TableGet:  // the index's slot receives the reference
      materialize(h() - 1);
      op(Op::TableGet);
      cell(slot(h() - 1));
      cell(in.a);
      vals_.back().ref = true;
      forget_last();
      break;
    case Opcode::TableSet:
      materialize_from(h() - 2);
      drop(2);
      op(Op::TableSet);
      cell(slot(h()));
      cell(in.a);
      forget_last();
      break;
    case Opcode::TableInit:
      materialize_from(h() - 3);
      drop(3);
      op(Op::TableInit);
      cell(slot(h()));
      cell(in.a);
      cell(in.b);
      forget_last();
      break;
    case Opcode::ElemDrop:
      op(Op::ElemDrop);
      cell(in.a);
      forget_last();
      break;
    case Opcode::TableCopy:
      materialize_from(h() - 3);
      drop(3);
      op(Op::TableCopy);
      cell(slot(h()));
      cell(in.a);
      cell(in.b);
      forget_last();
      break;
    case Opcode::TableGrow:
      materialize_from(h() - 2);
      drop(2);
      op(Op::TableGrow);
      cell(slot(h()));
      cell(in.a);
      push_result();
      forget_last();
      break;
    case Opcode::TableSize:
      op(Op::TableSize);
      cell(slot(h()));
      cell(in.a);
      push_result();
      emitted_result();
      break;
    case Opcode::TableFill:
      materialize_from(h() - 3);
      drop(3);
      op(Op::TableFill);
      cell(slot(h()));
      cell(in.a);
      forget_last();
      break;

    default:
      break;
  }
}

}  // namespace edgecar::interp::lowering
