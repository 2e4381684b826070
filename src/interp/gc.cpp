// Garbage collection instructions of the interpreter (interp/gc.hpp): allocation through
// the store's heap (runtime/gc.hpp), field and element access, casts and conversions.
#include "interp/gc.hpp"

#include <algorithm>
#include <cstring>

#include "binary/module.hpp"
#include "validate/types.hpp"

namespace edgecar::interp {

namespace {

using binary::Opcode;

GcObject* obj(uint64_t w) {
  return reinterpret_cast<GcObject*>(w);
}

}  // namespace

const Cell* gc_run(Store::Impl* S, const FuncInst* cur, uint64_t* fp, const Cell* pc,
                   TrapKind& trap) {
  InstanceImpl* inst = cur->inst;
  const GcSafepoint here{cur, fp, pc};
  auto o = static_cast<Opcode>(pc[1]);
  uint64_t* b = fp + pc[2];
  uint32_t a = pc[3], x = pc[4];
  const Cell* next = pc + 5;
  auto fail = [&](TrapKind k) -> const Cell* {
    trap = k;
    return nullptr;
  };
  auto layout = [&](uint32_t type) -> const GcLayout& {
    auto& cache = inst->gc_layouts;
    if (cache.size() <= type) cache.resize(inst->md->type_ids.size());
    if (!cache[type]) cache[type] = &S->heap().layout(inst->md->type_ids[type]);
    return *cache[type];
  };
  auto alloc = [&](const GcLayout& l, uint32_t length) {
    return S->gc_alloc(&l, l.kind, length, &here);
  };
  switch (o) {
    case Opcode::StructNew:
    case Opcode::StructNewDefault: {
      const GcLayout& l = layout(a);
      bool copy = o == Opcode::StructNew && l.flat;  // writes the whole payload
      GcObject* s = S->gc_alloc(&l, l.kind, 0, &here, !copy);
      if (!s) return fail(TrapKind::OutOfMemory);
      if (copy) {
        std::memcpy(s->data(), b, l.size);
      } else if (o == Opcode::StructNew) {
        const uint64_t* in = b;
        for (size_t i = 0; i < l.fields.size(); ++i) {
          s->set(static_cast<uint32_t>(i), in);
          in += slot_width(l.fields[i].type);
        }
      }
      b[0] = reinterpret_cast<uint64_t>(s);
      return next;
    }
    case Opcode::ArrayNew:
    case Opcode::ArrayNewDefault: {
      const GcLayout& l = layout(a);
      uint32_t w = slot_width(l.fields[0].type);
      uint32_t n = static_cast<uint32_t>(o == Opcode::ArrayNew ? b[w] : b[0]);
      GcObject* arr = alloc(l, n);
      if (!arr) return fail(TrapKind::OutOfMemory);
      if (o == Opcode::ArrayNew)
        for (uint32_t i = 0; i < n; ++i) arr->set(i, b);  // the value, below the length
      b[0] = reinterpret_cast<uint64_t>(arr);
      return next;
    }
    case Opcode::ArrayNewFixed: {
      const GcLayout& l = layout(a);
      GcObject* arr = alloc(l, x);
      if (!arr) return fail(TrapKind::OutOfMemory);
      uint32_t w = slot_width(l.fields[0].type);
      for (uint32_t i = 0; i < x; ++i) arr->set(i, b + uint64_t{i} * w);
      b[0] = reinterpret_cast<uint64_t>(arr);
      return next;
    }
    case Opcode::ArrayNewData:
    case Opcode::ArrayNewElem: {
      const GcLayout& l = layout(a);
      uint64_t s = static_cast<uint32_t>(b[0]), n = static_cast<uint32_t>(b[1]);
      if (o == Opcode::ArrayNewData) {
        std::span<const uint8_t> bytes = inst->datas[x].bytes;
        if (!within(s, n * l.size, bytes.size())) return fail(TrapKind::MemoryOutOfBounds);
        GcObject* arr = alloc(l, static_cast<uint32_t>(n));
        if (!arr) return fail(TrapKind::OutOfMemory);
        if (n) std::memcpy(arr->data(), bytes.data() + s, n * l.size);
        b[0] = reinterpret_cast<uint64_t>(arr);
      } else {
        if (!within(s, n, inst->elems[x].refs.size())) return fail(TrapKind::TableOutOfBounds);
        GcObject* arr = alloc(l, static_cast<uint32_t>(n));
        if (!arr) return fail(TrapKind::OutOfMemory);
        // Read the segment after allocating: a collection does not move or drop it.
        const auto& refs = inst->elems[x].refs;
        if (n) std::memcpy(arr->data(), refs.data() + s, n * 8);
        b[0] = reinterpret_cast<uint64_t>(arr);
      }
      return next;
    }
    case Opcode::ArrayFill: {
      if (b[0] == 0) return fail(TrapKind::NullArrayReference);
      GcObject* arr = obj(b[0]);
      const GcLayout& l = *arr->layout;
      uint32_t w = slot_width(l.fields[0].type);
      uint64_t d = static_cast<uint32_t>(b[1]), n = static_cast<uint32_t>(b[2 + w]);
      if (!within(d, n, arr->length)) return fail(TrapKind::ArrayOutOfBounds);
      for (uint64_t i = 0; i < n; ++i) arr->set(static_cast<uint32_t>(d + i), b + 2);
      return next;
    }
    case Opcode::ArrayCopy: {
      if (b[0] == 0 || b[2] == 0) return fail(TrapKind::NullArrayReference);
      GcObject* dst = obj(b[0]);
      GcObject* src = obj(b[2]);
      uint64_t d = static_cast<uint32_t>(b[1]), s = static_cast<uint32_t>(b[3]),
               n = static_cast<uint32_t>(b[4]);
      if (!within(d, n, dst->length) || !within(s, n, src->length))
        return fail(TrapKind::ArrayOutOfBounds);
      uint32_t size = dst->layout->size;  // validated: the same storage type
      if (n) std::memmove(dst->data() + d * size, src->data() + s * size, n * size);
      return next;
    }
    case Opcode::ArrayInitData:
    case Opcode::ArrayInitElem: {
      if (b[0] == 0) return fail(TrapKind::NullArrayReference);
      GcObject* arr = obj(b[0]);
      uint32_t size = arr->layout->size;
      uint64_t d = static_cast<uint32_t>(b[1]), s = static_cast<uint32_t>(b[2]),
               n = static_cast<uint32_t>(b[3]);
      if (!within(d, n, arr->length)) return fail(TrapKind::ArrayOutOfBounds);
      if (o == Opcode::ArrayInitData) {
        std::span<const uint8_t> bytes = inst->datas[x].bytes;
        if (!within(s, n * size, bytes.size())) return fail(TrapKind::MemoryOutOfBounds);
        if (n) std::memcpy(arr->data() + d * size, bytes.data() + s, n * size);
      } else {
        const auto& refs = inst->elems[x].refs;
        if (!within(s, n, refs.size())) return fail(TrapKind::TableOutOfBounds);
        if (n) std::memcpy(arr->data() + d * 8, refs.data() + s, n * 8);
      }
      return next;
    }
    case Opcode::RefTest:
      b[0] = ref_matches(b[0], a, x != 0, inst->md->type_ids) ? 1 : 0;
      return next;
    case Opcode::RefCast:
      if (!ref_matches(b[0], a, x != 0, inst->md->type_ids)) return fail(TrapKind::CastFailure);
      return next;
    case Opcode::AnyConvertExtern:
      if (b[0] != 0) {
        b[0] = S->internalize(b[0], &here);
        if (b[0] == 0) return fail(TrapKind::OutOfMemory);
      }
      return next;
    case Opcode::ExternConvertAny:
      b[0] = S->externalize(b[0]);
      return next;
    case Opcode::RefI31:
      b[0] = make_i31(static_cast<uint32_t>(b[0]));
      return next;
    case Opcode::I31GetS:
    case Opcode::I31GetU: {
      if (b[0] == 0) return fail(TrapKind::NullI31Reference);
      uint32_t v = static_cast<uint32_t>(b[0] >> 1) & 0x7FFFFFFFu;
      if (o == Opcode::I31GetS) v = static_cast<uint32_t>(static_cast<int32_t>(v << 1) >> 1);
      b[0] = v;
      return next;
    }
    case Opcode::RefEq:
      b[0] = b[0] == b[1] ? 1 : 0;
      return next;
    default:
      return fail(TrapKind::Unreachable);  // not a GC instruction: the compiler's error
  }
}

}  // namespace edgecar::interp
