// memory.grow, .fill, .copy and .init where a 64-bit memory takes part, and the same for
// tables: rare and cold, called by the dispatch loop's Bulk64 and Table64 handlers.
#include "interp/interpreter.hpp"

namespace edgecar::interp {

namespace {
uint64_t u32(uint64_t v) {
  return static_cast<uint32_t>(v);
}
}  // namespace

bool bulk64(InstanceImpl* inst, const Cell* pc, uint64_t* b) {
  uint32_t kind = pc[1], flags = pc[5];
  MemoryInst* m = inst->memories[pc[3]];
  switch (kind) {
    case 0:  // grow: a 64-bit memory, so the delta and the result are i64
      b[0] = static_cast<uint64_t>(m->grow(b[0]));
      return true;
    case 1:  // fill d val n on a 64-bit memory
      return m->fill(b[0], static_cast<uint8_t>(b[1]), b[2]);
    case 2: {  // copy d s n: d and s in their memories' types, n i64 when both are 64-bit
      bool d64 = flags & 1, s64 = flags & 2;
      return m->copy_from(d64 ? b[0] : u32(b[0]), *inst->memories[pc[4]], s64 ? b[1] : u32(b[1]),
                          d64 && s64 ? b[2] : u32(b[2]));
    }
    default:  // init d s n from data segment pc[4]: d i64, s and n i32
      return m->init_from(b[0], inst->datas[pc[4]].bytes, u32(b[1]), u32(b[2]));
  }
}

bool table64(InstanceImpl* inst, const Cell* pc, uint64_t* b) {
  uint32_t kind = pc[1], flags = pc[5];
  TableInst* t = inst->tables[pc[3]];
  switch (kind) {
    case 0:  // grow init n: a 64-bit table, so n and the result are i64
      b[0] = static_cast<uint64_t>(t->grow(b[1], b[0]));
      return true;
    case 1:  // fill i val n
      return t->fill(b[0], b[1], b[2]);
    case 2: {  // copy d s n between tables of either index type
      bool d64 = flags & 1, s64 = flags & 2;
      return t->copy_from(d64 ? b[0] : u32(b[0]), *inst->tables[pc[4]], s64 ? b[1] : u32(b[1]),
                          d64 && s64 ? b[2] : u32(b[2]));
    }
    default:  // init d s n from element segment pc[4]: d i64, s and n i32
      return t->init_from(b[0], inst->elems[pc[4]].refs, u32(b[1]), u32(b[2]));
  }
}

}  // namespace edgecar::interp
