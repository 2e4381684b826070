// The GC heap (runtime/gc.hpp): objects allocated one by one, a set of their addresses so
// a word can be told to be one of them, mark and sweep.
#include "runtime/gc.hpp"

#include <cstdlib>
#include <cstring>
#include <new>

#include "runtime/objects.hpp"
#include "validate/types.hpp"

namespace edgecar {

GcHeap::GcHeap(uint64_t limit) : limit_(limit) {
  if (const char* s = std::getenv("EDGECAR_GC_STRESS")) stress_ = std::strtoull(s, nullptr, 10);
}

GcHeap::~GcHeap() {
  for (const auto& p : pages_) std::free(p->base);
  for (uint8_t* p : spare_) std::free(p);
  for (const auto& [addr, size] : large_) std::free(reinterpret_cast<void*>(addr));
}

const GcLayout& GcHeap::layout(uint32_t type_id) {
  auto& slot = layouts_[type_id];
  if (slot) return *slot;
  const validate::CanonType& c = validate::canonical_type(type_id);
  auto l = std::make_unique<GcLayout>();
  l->type_id = type_id;
  l->fields = c.fields;
  for (const auto& f : c.fields) l->kinds.push_back(field_kind(f, false));
  if (c.kind == binary::TypeDef::Kind::Array) {
    l->kind = GcKind::Array;
    l->size = field_bytes(l->kinds[0]);
    l->elem_ref = c.fields[0].type.is_ref();
  } else {
    l->kind = GcKind::Struct;
    for (size_t i = 0; i < c.fields.size(); ++i) {
      l->offsets.push_back(field_offset(c.fields, i));
      if (c.fields[i].type.is_ref()) l->ref_offsets.push_back(l->offsets.back());
    }
    l->size = field_offset(c.fields, c.fields.size());
    l->flat = l->size == 8 * c.fields.size();
  }
  slot = std::move(l);
  return *slot;
}

GcObject* GcHeap::small(uint64_t size, bool zero) {
  size_t cls = size / 16;
  if (free_.size() <= cls) free_.resize(cls + 1, nullptr);
  FreeSlot*& head = free_[cls];
  if (!head) {  // a new page of this class, every slot free
    void* mem = nullptr;
    if (!spare_.empty()) {
      mem = spare_.back();
      spare_.pop_back();
    } else {
      mem = std::aligned_alloc(kPageBytes, kPageBytes);
    }
    if (!mem) return nullptr;
    auto page = std::make_unique<Page>();
    page->base = static_cast<uint8_t*>(mem);
    page->slot = static_cast<uint32_t>(size);
    page->slots = static_cast<uint32_t>(kPageBytes / size);
    page->inverse = ((uint64_t{1} << 32) + size - 1) / size;
    for (uint32_t i = page->slots; i-- > 0;) head = new (page->at(i)) FreeSlot{head};
    add_page(page.get());
    pages_.push_back(std::move(page));
  }
  FreeSlot* f = head;
  head = f->next;
  auto* p = reinterpret_cast<uint8_t*>(f);
  if (zero) std::memset(p + sizeof(GcObject), 0, size - sizeof(GcObject));
  bytes_ += size;
  objects_++;
  return new (p) GcObject;
}

GcObject* GcHeap::large(uint64_t size) {
  void* p = std::aligned_alloc(16, size);
  if (!p) return nullptr;
  std::memset(p, 0, size);
  large_[reinterpret_cast<uint64_t>(p)] = size;
  bytes_ += size;
  objects_++;
  return new (p) GcObject;
}

void GcHeap::add_page(Page* p) {
  if ((page_count_ + 1) * 2 > page_table_.size()) rebuild_page_table(pages_.size() + 1);
  size_t mask = page_table_.size() - 1;
  auto base = reinterpret_cast<uint64_t>(p->base);
  size_t i = page_slot(base, mask);
  while (page_table_[i].first != 0) i = (i + 1) & mask;
  page_table_[i] = {base, p};
  page_count_++;
}

void GcHeap::rebuild_page_table(size_t pages) {
  size_t capacity = 64;
  while (capacity < pages * 2) capacity *= 2;
  page_table_.assign(capacity, {0, nullptr});
  page_count_ = 0;
  for (const auto& p : pages_) add_page(p.get());
}

bool GcHeap::is_object(uint64_t word) const {
  if (word == 0 || (word & 15) != 0) return false;  // objects are 16-byte aligned
  if (const Page* page = page_of(word & ~(kPageBytes - 1))) {
    const Page& p = *page;
    uint64_t off = word - reinterpret_cast<uint64_t>(p.base);
    uint32_t i = p.index(off);
    return uint64_t{i} * p.slot == off && i < p.slots && p.at(i)->kind != GcKind::Free;
  }
  return large_.count(word) != 0;
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
  // Free lists are rebuilt from the pages; a page left empty goes back to the system.
  std::fill(free_.begin(), free_.end(), nullptr);
  size_t kept_pages = 0;
  for (auto& page : pages_) {
    uint32_t live = 0;
    for (uint32_t i = 0; i < page->slots; ++i) {
      GcObject* o = page->at(i);
      if (o->kind == GcKind::Free) continue;
      if (o->marked) {
        o->marked = false;
        live++;
      } else {
        new (o) FreeSlot{};
        freed += page->slot;
        objects_--;
      }
    }
    if (live == 0) {
      if (spare_.size() < kSparePages) {
        spare_.push_back(page->base);
      } else {
        std::free(page->base);
      }
      continue;
    }
    FreeSlot*& head = free_[page->slot / 16];
    for (uint32_t i = page->slots; i-- > 0;)
      if (page->at(i)->kind == GcKind::Free) head = new (page->at(i)) FreeSlot{head};
    pages_[kept_pages++] = std::move(page);
  }
  pages_.resize(kept_pages);
  rebuild_page_table(pages_.size());
  for (auto it = large_.begin(); it != large_.end();) {
    auto* o = reinterpret_cast<GcObject*>(it->first);
    if (o->marked) {
      o->marked = false;
      ++it;
    } else {
      freed += it->second;
      objects_--;
      std::free(o);
      it = large_.erase(it);
    }
  }
  bytes_ -= freed;
  collections_++;
  // The next collection when the heap has grown by as much as survived (at least 4 MiB).
  next_collection_ = bytes_ + std::max<uint64_t>(bytes_, kFirstCollection);
  return freed;
}

bool ref_matches(uint64_t w, uint32_t heap, bool nullable, std::span<const uint32_t> type_ids) {
  if (w == 0) return nullable;
  if (heap & ValType::kAbstract) {
    switch (static_cast<ValType::Heap>(heap & 0xFF)) {
      case ValType::Any:
      case ValType::Func:
      case ValType::Extern:
      case ValType::Exn:
        return true;  // the operand is of the same hierarchy (validated)
      case ValType::Eq:
        return is_i31(w) || reinterpret_cast<const GcObject*>(w)->kind != GcKind::Extern;
      case ValType::I31:
        return is_i31(w);
      case ValType::Struct:
        return !is_i31(w) && reinterpret_cast<const GcObject*>(w)->kind == GcKind::Struct;
      case ValType::Array:
        return !is_i31(w) && reinterpret_cast<const GcObject*>(w)->kind == GcKind::Array;
      default:  // none, nofunc, noextern, noexn: null only
        return false;
    }
  }
  uint32_t id = type_ids[heap];
  const validate::CanonType& want = validate::canonical_type(id);
  if (want.kind == binary::TypeDef::Kind::Func)
    return validate::is_subtype_id(reinterpret_cast<const FuncInst*>(w)->type_id, id);
  if (is_i31(w)) return false;
  const GcObject* o = reinterpret_cast<const GcObject*>(w);
  return o->kind != GcKind::Extern && validate::is_subtype_id(o->type_id(), id);
}

}  // namespace edgecar
