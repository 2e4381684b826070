// The GC heap (runtime/gc.hpp): objects allocated one by one, a set of their addresses so
// a word can be told to be one of them, mark and sweep.
#include "runtime/gc.hpp"

#include <cstdlib>
#include <cstring>
#include <new>

#include "validate/types.hpp"

namespace edgecar {

namespace {

// Bytes a field or element takes: packed ones 1 or 2, numbers 4 or 8, v128 16, refs 8.
uint32_t storage_bytes(const binary::FieldType& f) {
  if (f.packed) return f.packed / 8;
  switch (f.type.kind()) {
    case ValType::Kind::I32:
    case ValType::Kind::F32:
      return 4;
    case ValType::Kind::V128:
      return 16;
    default:
      return 8;
  }
}

}  // namespace

GcHeap::~GcHeap() {
  for (GcObject* o : objects_) std::free(o);
}

const GcLayout& GcHeap::layout(uint32_t type_id) {
  auto& slot = layouts_[type_id];
  if (slot) return *slot;
  const validate::CanonType& c = validate::canonical_type(type_id);
  auto l = std::make_unique<GcLayout>();
  l->type_id = type_id;
  l->fields = c.fields;
  if (c.kind == binary::TypeDef::Kind::Array) {
    l->kind = GcKind::Array;
    l->size = storage_bytes(c.fields[0]);
    l->elem_ref = c.fields[0].type.is_ref();
  } else {
    l->kind = GcKind::Struct;
    uint32_t off = 0;
    for (const auto& f : c.fields) {
      uint32_t n = storage_bytes(f) == 16 ? 16 : 8;  // 8-byte slots; v128 16
      l->offsets.push_back(off);
      if (f.type.is_ref()) l->ref_offsets.push_back(off);
      off += n;
    }
    l->size = off;
  }
  slot = std::move(l);
  return *slot;
}

GcObject* GcHeap::make(const GcLayout* l, GcKind kind, uint32_t length, uint64_t payload) {
  void* p = std::calloc(1, sizeof(GcObject) + payload);
  if (!p) return nullptr;
  auto* o = new (p) GcObject;
  o->layout = l;
  o->kind = kind;
  o->length = length;
  objects_.push_back(o);
  live_.insert(reinterpret_cast<uint64_t>(o));
  bytes_ += sizeof(GcObject) + payload;
  return o;
}

void GcHeap::mark(uint64_t word) {
  if (!is_object(word)) return;
  auto* o = reinterpret_cast<GcObject*>(word);
  if (o->marked) return;
  o->marked = true;
  work_.push_back(o);
  while (!work_.empty()) {
    GcObject* x = work_.back();
    work_.pop_back();
    auto visit = [&](uint64_t w) {
      if (!is_object(w)) return;
      auto* y = reinterpret_cast<GcObject*>(w);
      if (!y->marked) {
        y->marked = true;
        work_.push_back(y);
      }
    };
    refs_of(x, visit);
  }
}

uint64_t GcHeap::sweep() {
  uint64_t freed = 0;
  size_t kept = 0;
  for (GcObject* o : objects_) {
    if (o->marked) {
      o->marked = false;
      objects_[kept++] = o;
      continue;
    }
    uint64_t payload = o->kind == GcKind::Struct  ? o->layout->size
                       : o->kind == GcKind::Array ? uint64_t{o->length} * o->layout->size
                                                  : 0;
    freed += sizeof(GcObject) + payload;
    live_.erase(reinterpret_cast<uint64_t>(o));
    std::free(o);
  }
  objects_.resize(kept);
  bytes_ -= freed;
  collections_++;
  // The next collection when the heap has grown by as much as survived (at least 4 MiB).
  next_collection_ = bytes_ + std::max<uint64_t>(bytes_, kFirstCollection);
  return freed;
}

}  // namespace edgecar
