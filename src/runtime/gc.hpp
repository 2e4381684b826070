// The garbage-collected heap of a store (WebAssembly 3.0 GC): structs, arrays and boxed
// host references, collected by mark and sweep (docs/gc.md).
//
// References are 64-bit words: 0 is null; an odd word is an i31 ((value << 1) | 1); an
// even one is a pointer to a GcObject of this heap, or (in the func, extern and exn
// hierarchies) to a function, a host value or an exception. A host value that enters the
// any hierarchy (any.convert_extern) is boxed in an object of kind Extern, so that every
// even anyref is an object of this heap.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <span>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "binary/module.hpp"

namespace edgecar {

enum class GcKind : uint8_t { Struct, Array, Extern, Free };  // Free: a heap slot not in use

// How a field or array element is stored: its kind (packed ones read signed or unsigned),
// its bytes, its offset in a struct. The interpreter's field handlers take the offset and
// kind from the static type (a subtype's fields start with its supertype's, at the same
// offsets).
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
// A struct's field i: 8-byte slots, 16 for a v128.
inline uint32_t field_offset(const std::vector<binary::FieldType>& fields, size_t i) {
  uint32_t off = 0;
  for (size_t k = 0; k < i; ++k) off += fields[k].type == ValType::V128 ? 16 : 8;
  return off;
}

// How objects of one canonical type are laid out: struct fields at their offsets (8-byte
// slots, 16 for a v128), array elements packed at their natural size.
struct GcLayout {
  GcKind kind = GcKind::Struct;
  uint32_t type_id = 0;
  uint32_t size = 0;  // struct: payload bytes; array: bytes per element
  std::vector<binary::FieldType> fields;
  std::vector<FieldKind> kinds;       // of each field (packed ones unsigned), or the element
  std::vector<uint32_t> offsets;      // struct: of each field
  std::vector<uint32_t> ref_offsets;  // struct: of the reference fields
  bool elem_ref = false;              // array: of references
  // A struct without v128 fields: its payload is its fields' operand slots in order (8
  // bytes each; loads of narrower fields read the low bytes), so struct.new copies them.
  bool flat = false;
};

// Every object starts with this 16-byte header; its payload follows (16-byte aligned).
struct GcObject {
  const GcLayout* layout = nullptr;  // nullptr for Extern boxes
  uint32_t length = 0;               // arrays: elements
  GcKind kind = GcKind::Struct;
  bool marked = false;
  uint8_t* data() { return reinterpret_cast<uint8_t*>(this + 1); }
  static uint8_t* data_of(uint64_t ref) { return reinterpret_cast<GcObject*>(ref)->data(); }
  uint32_t type_id() const { return layout ? layout->type_id : 0; }
  // Extern boxes: the host value, the payload's only word.
  uint64_t& host() { return *reinterpret_cast<uint64_t*>(data()); }
  // Sets field or element i from slots (a v128 from two).
  void set(uint32_t i, const uint64_t* in) {
    bool array = kind == GcKind::Array;
    store_field(data() + (array ? uint64_t{i} * layout->size : layout->offsets[i]),
                layout->kinds[array ? 0 : i], in);
  }
};
static_assert(sizeof(GcObject) == 16);

// Whether reference `w` (null or not) is of heap type `heap` (module-relative, as
// binary::Instr holds it: an abstract heap type, or a type index that `type_ids` maps to
// its canonical id) and nullability: ref.test, ref.cast and br_on_cast, for every tier.
bool ref_matches(uint64_t w, uint32_t heap, bool nullable, std::span<const uint32_t> type_ids);

inline bool is_i31(uint64_t w) {
  return (w & 1) != 0;
}
inline uint64_t make_i31(uint32_t v) {
  return (uint64_t{v & 0x7FFFFFFFu} << 1) | 1;
}

// Small objects (up to kMaxSmall bytes with their header) live in pages of kPageBytes,
// aligned to their size, one size class (a multiple of 16 bytes) per page, free slots
// on a free list per class; larger ones are allocated one by one. A word is one of the
// heap's objects when it points at an allocated slot of one of its pages (a hash lookup of
// the page) or is a large object.
class GcHeap {
 public:
  // limit: bytes of objects (headers included) the heap may hold at once.
  explicit GcHeap(uint64_t limit);
  GcHeap(const GcHeap&) = delete;
  GcHeap& operator=(const GcHeap&) = delete;
  ~GcHeap();

  const GcLayout& layout(uint32_t type_id);

  // An object (its payload zeroed unless `zero` is false: the caller writes all of it), or
  // nullptr when the heap would exceed its limit even after a collection. `collect` is
  // called first when the heap has grown enough since the last one (the caller marks its
  // roots there and calls sweep()).
  template <class Collect>
  GcObject* alloc(const GcLayout* l, GcKind kind, uint32_t length, Collect&& collect,
                  bool zero = true) {
    uint64_t payload = kind == GcKind::Struct  ? l->size
                       : kind == GcKind::Array ? uint64_t{length} * l->size
                                               : sizeof(uint64_t);
    uint64_t need = rounded(sizeof(GcObject) + payload);
    if (bytes_ + need > next_collection_ || bytes_ + need > limit_ ||
        (stress_ && ++allocations_ % stress_ == 0)) {
      collect();
      if (bytes_ + need > limit_) return nullptr;
    }
    GcObject* o = need <= kMaxSmall ? small(need, zero) : large(need);
    if (!o) return nullptr;
    o->layout = l;
    o->kind = kind;
    o->length = length;
    return o;
  }

  // Marking: a word that is this heap's object gets marked (with everything it reaches).
  void mark(uint64_t word);
  void mark_range(const uint64_t* begin, const uint64_t* end) {
    for (const uint64_t* p = begin; p < end; ++p) mark(*p);
  }
  // Frees the objects not marked since the last sweep; returns how many bytes it freed.
  uint64_t sweep();
  // Every reference field and element of every object (for the exceptions' collector).
  template <class F>
  void for_each_ref(F&& f) const {
    for_each_object([&](GcObject* o) { refs_of(o, f); });
  }

  bool is_object(uint64_t word) const;
  void set_limit(uint64_t limit) { limit_ = limit; }
  uint64_t bytes() const { return bytes_; }
  uint64_t limit() const { return limit_; }
  uint64_t collections() const { return collections_; }
  // Frames read whole for want of a stack map (of modules without GC instructions).
  void note_whole_frame() { whole_frames_++; }
  uint64_t whole_frames() const { return whole_frames_; }
  size_t objects() const { return objects_; }

  static constexpr uint64_t kPageBytes = 256 << 10;
  static constexpr uint64_t kMaxSmall = 2048;

 private:
  struct Page {
    uint8_t* base = nullptr;
    uint32_t slot = 0;     // bytes per slot
    uint32_t slots = 0;    // slots in the page
    uint64_t inverse = 0;  // ceil(2^32 / slot): an offset's slot without a division
    // The slot at byte offset off (< kPageBytes): exact, as kPageBytes * kMaxSmall <= 2^32.
    uint32_t index(uint64_t off) const { return static_cast<uint32_t>((off * inverse) >> 32); }
    GcObject* at(uint32_t i) const {
      return reinterpret_cast<GcObject*>(base + uint64_t{i} * slot);
    }
  };
  static_assert(kPageBytes * kMaxSmall <= (uint64_t{1} << 32));
  static uint64_t rounded(uint64_t n) { return (n + 15) & ~uint64_t{15}; }
  GcObject* small(uint64_t size, bool zero);
  GcObject* large(uint64_t size);
  template <class F>
  void for_each_object(F&& f) const {
    for (const auto& p : pages_)
      for (uint32_t i = 0; i < p->slots; ++i)
        if (p->at(i)->kind != GcKind::Free) f(p->at(i));
    for (const auto& [addr, size] : large_) f(reinterpret_cast<GcObject*>(addr));
  }
  template <class F>
  static void refs_of(GcObject* o, F& f) {
    if (o->kind == GcKind::Struct) {
      for (uint32_t off : o->layout->ref_offsets) f(*reinterpret_cast<uint64_t*>(o->data() + off));
    } else if (o->kind == GcKind::Array && o->layout->elem_ref) {
      auto* e = reinterpret_cast<uint64_t*>(o->data());
      for (uint32_t i = 0; i < o->length; ++i) f(e[i]);
    }
  }

  uint64_t limit_;
  uint64_t bytes_ = 0;
  uint64_t next_collection_ = kFirstCollection;
  uint64_t collections_ = 0;
  uint64_t whole_frames_ = 0;
  // EDGECAR_GC_STRESS=N: a collection every N allocations as well (tests of the roots).
  uint64_t stress_ = 0;
  uint64_t allocations_ = 0;
  size_t objects_ = 0;
  std::vector<std::unique_ptr<Page>> pages_;
  // The pages by base address: open addressing, a power-of-two capacity at most half full
  // (a lookup for every reference the collector follows; std::unordered_map divides).
  std::vector<std::pair<uint64_t, Page*>> page_table_;
  size_t page_count_ = 0;
  Page* page_of(uint64_t base) const {
    if (page_table_.empty()) return nullptr;
    size_t mask = page_table_.size() - 1;
    for (size_t i = page_slot(base, mask);; i = (i + 1) & mask) {
      if (page_table_[i].first == 0) return nullptr;  // empty: also what base 0 finds
      if (page_table_[i].first == base) return page_table_[i].second;
    }
  }
  static size_t page_slot(uint64_t base, size_t mask) {
    return static_cast<size_t>(((base / kPageBytes) * 0x9E3779B97F4A7C15ull) >> 32) & mask;
  }
  void add_page(Page* p);
  void rebuild_page_table(size_t pages);  // room for this many
  // A free slot holds the next free slot of its class, and kind Free where an object's
  // header has its kind (slots are >= 16 bytes, the header's size).
  struct FreeSlot {
    FreeSlot* next = nullptr;
    uint32_t unused = 0;
    GcKind kind = GcKind::Free;
  };
  static_assert(offsetof(FreeSlot, kind) == offsetof(GcObject, kind));
  std::vector<FreeSlot*> free_;  // the first free slot of each size class
  std::vector<uint8_t*> spare_;  // emptied pages kept for reuse (at most kSparePages)
  static constexpr size_t kSparePages = 32;
  std::unordered_map<uint64_t, uint64_t> large_;  // address -> bytes
  std::vector<GcObject*> work_;
  std::unordered_map<uint32_t, std::unique_ptr<GcLayout>> layouts_;
  static constexpr uint64_t kFirstCollection = 4 << 20;
};

}  // namespace edgecar
