// Garbage collection instructions in the interpreter (WebAssembly 3.0): field and element
// access have handlers of their own (below); one handler, Gc, runs the others out of line:
// [Gc][opcode][base][a][b], operands in slots from base (in the order the instruction pops them,
// first popped last), the result written at base. a and b are the instruction's immediates (module
// type indices, a field, a segment, a count; for casts the heap type, with bit 0 of b the
// nullability).
#pragma once

#include <cstring>

#include "runtime/objects.hpp"

namespace edgecar::interp {

// Runs the GC instruction at pc (the Gc cell) of function `cur`; nullptr with `trap` set
// when it traps.
const Cell* gc_run(Store::Impl* S, const FuncInst* cur, uint64_t* fp, const Cell* pc,
                   TrapKind& trap);

// Field and element access have handlers of their own in the loop (the hot part of GC
// code): the field's offset is known from the static type (a subtype's fields start
// with its supertype's, at the same offsets) and its kind says how it is stored.
enum FieldKind : uint32_t { kU8, kS8, kU16, kS16, kB32, kB64, kV128 };
inline FieldKind field_kind(const binary::FieldType& f, bool sign) {
  if (f.packed == 8) return sign ? kS8 : kU8;
  if (f.packed == 16) return sign ? kS16 : kU16;
  if (f.type == ValType::I32 || f.type == ValType::F32) return kB32;
  return f.type == ValType::V128 ? kV128 : kB64;
}
inline uint32_t field_bytes(FieldKind k) {
  constexpr uint32_t bytes[] = {1, 1, 2, 2, 4, 8, 16};
  return bytes[k];
}
inline void load_field(const uint8_t* p, uint32_t kind, uint64_t* out) {
  switch (kind) {
    case kU8:
      *out = *p;
      return;
    case kS8:
      *out = static_cast<uint32_t>(static_cast<int32_t>(static_cast<int8_t>(*p)));
      return;
    case kU16:
    case kS16: {
      uint16_t v;
      std::memcpy(&v, p, 2);
      *out =
          kind == kU16 ? v : static_cast<uint32_t>(static_cast<int32_t>(static_cast<int16_t>(v)));
      return;
    }
    case kB32: {
      uint32_t v;
      std::memcpy(&v, p, 4);
      *out = v;
      return;
    }
    case kB64:
      std::memcpy(out, p, 8);
      return;
    default:
      std::memcpy(out, p, 16);
      return;
  }
}
inline void store_field(uint8_t* p, uint32_t kind, const uint64_t* in) {
  std::memcpy(p, in, field_bytes(static_cast<FieldKind>(kind)));  // the low bytes
}
inline uint8_t* object_data(uint64_t ref) {
  return reinterpret_cast<GcObject*>(ref)->data();
}

// Whether reference `w` (non-null or null) is of the heap type `heap` (module-relative, as
// binary::Instr holds it) and nullability: ref.test, ref.cast, br_on_cast.
bool ref_matches(const InstanceImpl* inst, uint64_t w, uint32_t heap, bool nullable);

}  // namespace edgecar::interp
