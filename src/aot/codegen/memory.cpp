// Memory and table instructions: loads, stores, bounds, bulk memory, tables, references.
#include "aot/codegen/gen.hpp"

namespace edgecar::aot::gen {

llvm::Value* Gen::mem_size(uint32_t k) {
  auto* l = load_vm(i64_, mems_[k], layout().mem_size);
  const Limits& lim = m_.memories[k].limits;
  // No memory exceeds 65536 pages (limits.hpp), 64-bit ones included.
  uint64_t lo = std::min<uint64_t>(lim.min, 65536) * 65536,
           hi = std::min<uint64_t>(lim.max.value_or(65536), 65536) * 65536 + 1;
  if (lo < hi && !(lo == 0 && hi == 65536ull * 65536 + 1)) {
    llvm::MDBuilder md(C_);
    l->setMetadata(llvm::LLVMContext::MD_range,
                   md.createRange(llvm::APInt(64, lo), llvm::APInt(64, hi)));
  }
  return l;
}

llvm::Value* Gen::address(llvm::Value* addr, uint64_t offset, unsigned bytes, uint32_t k) {
  if (is64(k)) {
    // An i64 address: no memory reaches 2^32 bytes, so an address or offset at or above
    // that is out of bounds; below it, the sum cannot overflow.
    if (offset > 0xFFFFFFFFu) {
      trap_if(B_.getTrue(), TrapKind::MemoryOutOfBounds);
      offset = 0;
    }
    trap_if(B_.CreateICmpUGT(addr, B_.getInt64(0xFFFFFFFFu)), TrapKind::MemoryOutOfBounds);
    addr = B_.CreateTrunc(addr, i32_);
  }
  llvm::Value* ea = B_.CreateAdd(B_.CreateZExt(addr, i64_), B_.getInt64(offset));
  llvm::Value* end = B_.CreateAdd(ea, B_.getInt64(bytes));
  trap_if(B_.CreateICmpUGT(end, mem_size(k)), TrapKind::MemoryOutOfBounds);
  return B_.CreateGEP(i8_, bases_[k], ea);
}

void Gen::load(const Instr& in, llvm::Type* mem_t, llvm::Type* out_t, bool sign) {
  llvm::Value* p = address(pop(), in.imm, mem_t->getPrimitiveSizeInBits() / 8, in.mem);
  auto* l = B_.CreateAlignedLoad(mem_t, p, llvm::Align(1));
  l->setMetadata(llvm::LLVMContext::MD_tbaa, tbaa_guest_);
  llvm::Value* v = l;
  if (mem_t != out_t) v = sign ? B_.CreateSExt(v, out_t) : B_.CreateZExt(v, out_t);
  push(v);
}

void Gen::store(const Instr& in, llvm::Type* mem_t) {
  llvm::Value* v = pop();
  llvm::Value* p = address(pop(), in.imm, mem_t->getPrimitiveSizeInBits() / 8, in.mem);
  if (v->getType() != mem_t) v = B_.CreateTrunc(v, mem_t);
  B_.CreateAlignedStore(v, p, llvm::Align(1))->setMetadata(llvm::LLVMContext::MD_tbaa, tbaa_guest_);
}

bool Gen::reference_instr(const Instr& in, const binary::FunctionBody& body) {
  using O = Opcode;
  switch (static_cast<O>(in.op)) {
    // Table runtime functions take u64 indices and lengths (an i32 operand
    // zero-extended) and return u64; an i32 table's results are truncated.
    case O::TableGet: {
      llvm::Value* i = wide(pop());
      runtime_instr(rt_table_get, {B_.getInt32(in.a), i});
      break;
    }
    case O::TableSet: {
      llvm::Value* v = pop();
      llvm::Value* i = wide(pop());
      runtime_instr(rt_table_set, {B_.getInt32(in.a), i, v});
      break;
    }
    case O::TableSize:
      runtime_instr(rt_table_size, {B_.getInt32(in.a)});
      if (!m_.tables[in.a].limits.i64) stack_.back() = B_.CreateTrunc(stack_.back(), i32_);
      break;
    case O::TableGrow: {
      llvm::Value* n = wide(pop());
      llvm::Value* init = pop();
      runtime_instr(rt_table_grow, {B_.getInt32(in.a), init, n});
      if (!m_.tables[in.a].limits.i64) stack_.back() = B_.CreateTrunc(stack_.back(), i32_);
      break;
    }
    case O::TableFill: {
      llvm::Value* n = wide(pop());
      llvm::Value* v = pop();
      llvm::Value* i = wide(pop());
      runtime_instr(rt_table_fill, {B_.getInt32(in.a), i, v, n});
      break;
    }
    case O::TableCopy:
      bulk(rt_table_copy, {B_.getInt32(in.a), B_.getInt32(in.b)});
      break;
    case O::TableInit:
      bulk(rt_table_init, {B_.getInt32(in.b), B_.getInt32(in.a)});
      break;
    case O::ElemDrop:
      runtime_instr(rt_elem_drop, {B_.getInt32(in.a)});
      break;
    case O::RefNull:
      push(B_.getInt64(0));
      break;
    case O::RefIsNull:
      push(bool32(B_.CreateICmpEQ(pop(), B_.getInt64(0))));
      break;
    case O::RefAsNonNull:
      trap_if(B_.CreateICmpEQ(stack_.back(), B_.getInt64(0)), TrapKind::NullReference);
      break;
    case O::RefFunc:
      push(B_.CreatePtrToInt(func_ptr(in.a), i64_));
      break;
    default:
      return false;
  }
  return true;
}

bool Gen::memory_instr(const Instr& in, const binary::FunctionBody& body) {
  using O = Opcode;
  llvm::Type* f32 = B_.getFloatTy();
  llvm::Type* f64 = B_.getDoubleTy();
  switch (static_cast<O>(in.op)) {
    case O::I32Load:
      load(in, i32_, i32_, false);
      break;
    case O::I64Load:
      load(in, i64_, i64_, false);
      break;
    case O::F32Load:
      load(in, f32, f32, false);
      break;
    case O::F64Load:
      load(in, f64, f64, false);
      break;
    case O::I32Load8S:
      load(in, i8_, i32_, true);
      break;
    case O::I32Load8U:
      load(in, i8_, i32_, false);
      break;
    case O::I32Load16S:
      load(in, B_.getInt16Ty(), i32_, true);
      break;
    case O::I32Load16U:
      load(in, B_.getInt16Ty(), i32_, false);
      break;
    case O::I64Load8S:
      load(in, i8_, i64_, true);
      break;
    case O::I64Load8U:
      load(in, i8_, i64_, false);
      break;
    case O::I64Load16S:
      load(in, B_.getInt16Ty(), i64_, true);
      break;
    case O::I64Load16U:
      load(in, B_.getInt16Ty(), i64_, false);
      break;
    case O::I64Load32S:
      load(in, i32_, i64_, true);
      break;
    case O::I64Load32U:
      load(in, i32_, i64_, false);
      break;
    case O::I32Store:
      store(in, i32_);
      break;
    case O::I64Store:
      store(in, i64_);
      break;
    case O::F32Store:
      store(in, f32);
      break;
    case O::F64Store:
      store(in, f64);
      break;
    case O::I32Store8:
    case O::I64Store8:
      store(in, i8_);
      break;
    case O::I32Store16:
    case O::I64Store16:
      store(in, B_.getInt16Ty());
      break;
    case O::I64Store32:
      store(in, i32_);
      break;
    case O::MemorySize:
      push(is64(in.mem) ? B_.CreateLShr(mem_size(in.mem), 16)
                        : B_.CreateTrunc(B_.CreateLShr(mem_size(in.mem), 16), i32_));
      break;
    case O::MemoryGrow:
      // The runtime functions take 64-bit operands (an i32 one zero-extended) and memory
      // indices; memory.grow returns the old size or -1 as i64.
      runtime_instr(rt_memory_grow, {B_.getInt32(in.mem), wide(pop())});
      if (!is64(in.mem)) stack_.back() = B_.CreateTrunc(stack_.back(), i32_);
      break;
    case O::MemoryInit:
      bulk(rt_memory_init, {B_.getInt32(in.mem), B_.getInt32(in.a)});
      break;
    case O::DataDrop:
      runtime_instr(rt_data_drop, {B_.getInt32(in.a)});
      break;
    case O::MemoryCopy:
      bulk(rt_memory_copy, {B_.getInt32(in.mem), B_.getInt32(in.b)});
      break;
    case O::MemoryFill:
      bulk(rt_memory_fill, {B_.getInt32(in.mem)});
      break;
    default:
      return false;
  }
  return true;
}

}  // namespace edgecar::aot::gen
