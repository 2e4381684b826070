// The garbage-collected heap of a store (WebAssembly 3.0 GC): structs, arrays and boxed
// host references, collected by mark and sweep (docs/gc.md).
//
// References are 64-bit words: 0 is null; an odd word is an i31 ((value << 1) | 1); an
// even one is a pointer to a GcObject of this heap, or (in the func, extern and exn
// hierarchies) to a function, a host value or an exception. A host value that enters the
// any hierarchy (any.convert_extern) is boxed in an object of kind Extern, so that every
// even anyref is an object of this heap.
#pragma once

#include <cstdint>
#include <memory>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "binary/module.hpp"

namespace edgecar {

enum class GcKind : uint8_t { Struct, Array, Extern };

// How objects of one canonical type are laid out: struct fields at their offsets (8-byte
// slots, 16 for a v128), array elements packed at their natural size.
struct GcLayout {
  GcKind kind = GcKind::Struct;
  uint32_t type_id = 0;
  uint32_t size = 0;  // struct: payload bytes; array: bytes per element
  std::vector<binary::FieldType> fields;
  std::vector<uint32_t> offsets;      // struct: of each field
  std::vector<uint32_t> ref_offsets;  // struct: of the reference fields
  bool elem_ref = false;              // array: of references
};

struct GcObject {
  const GcLayout* layout = nullptr;  // nullptr for Extern boxes
  GcKind kind = GcKind::Struct;
  bool marked = false;
  uint32_t length = 0;  // arrays: elements
  uint64_t host = 0;    // Extern boxes: the host value
  uint8_t* data() { return reinterpret_cast<uint8_t*>(this + 1); }
  uint32_t type_id() const { return layout ? layout->type_id : 0; }
};
static_assert(sizeof(GcObject) % 16 == 0 || sizeof(GcObject) % 8 == 0);

inline bool is_i31(uint64_t w) {
  return (w & 1) != 0;
}
inline uint64_t make_i31(uint32_t v) {
  return (uint64_t{v & 0x7FFFFFFFu} << 1) | 1;
}

class GcHeap {
 public:
  // limit: bytes of objects (headers included) the heap may hold at once.
  explicit GcHeap(uint64_t limit) : limit_(limit) {}
  GcHeap(const GcHeap&) = delete;
  GcHeap& operator=(const GcHeap&) = delete;
  ~GcHeap();

  const GcLayout& layout(uint32_t type_id);

  // A zeroed object, or nullptr when the heap would exceed its limit even after a
  // collection. `collect` is called first when the heap has grown enough since the last
  // one (the caller marks its roots there and calls sweep()).
  template <class Collect>
  GcObject* alloc(const GcLayout* l, GcKind kind, uint32_t length, Collect&& collect) {
    uint64_t payload = kind == GcKind::Struct  ? l->size
                       : kind == GcKind::Array ? uint64_t{length} * l->size
                                               : 0;
    uint64_t need = sizeof(GcObject) + payload;
    if (bytes_ + need > next_collection_ || bytes_ + need > limit_) {
      collect();
      if (bytes_ + need > limit_) return nullptr;
    }
    return make(l, kind, length, payload);
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
    for (GcObject* o : objects_) refs_of(o, f);
  }

  bool is_object(uint64_t word) const { return word && !is_i31(word) && live_.count(word); }
  void set_limit(uint64_t limit) { limit_ = limit; }
  uint64_t bytes() const { return bytes_; }
  uint64_t limit() const { return limit_; }
  uint64_t collections() const { return collections_; }
  size_t objects() const { return objects_.size(); }

 private:
  GcObject* make(const GcLayout* l, GcKind kind, uint32_t length, uint64_t payload);
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
  std::vector<GcObject*> objects_;
  std::unordered_set<uint64_t> live_;  // addresses of objects_, for is_object and mark
  std::vector<GcObject*> work_;
  std::unordered_map<uint32_t, std::unique_ptr<GcLayout>> layouts_;
  static constexpr uint64_t kFirstCollection = 4 << 20;
};

}  // namespace edgecar
