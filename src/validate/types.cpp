// The process-wide registry of canonical types (validate/types.hpp). A recursion group is
// keyed by its encoding in which references into the group are relative ("r" + position)
// and references out of it are canonical ids ("c" + id): equal keys, equivalent groups.
// The registry only grows: its size is bounded by the distinct types of the modules a
// process loads (at most kChunks * kChunk). Interning takes a lock; reading a type whose id
// a caller holds does not (types never move once published), so run-time subtype checks
// (casts, call_indirect) cost no lock.
#include "validate/types.hpp"

#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>

namespace edgecar::validate {

namespace {

struct Registry {
  static constexpr uint32_t kChunk = 4096, kChunks = 1024;
  std::mutex mu;                                     // interning
  std::unordered_map<std::string, uint32_t> groups;  // key -> canonical id of its first type
  std::atomic<CanonType*> chunks[kChunks] = {};
  std::atomic<uint32_t> count{0};
  const CanonType& at(uint32_t id) const {
    return chunks[id / kChunk].load(std::memory_order_acquire)[id % kChunk];
  }
  uint32_t size() const { return count.load(std::memory_order_acquire); }
  void push(CanonType c) {  // under mu
    uint32_t id = count.load(std::memory_order_relaxed);
    if (id % kChunk == 0)
      chunks[id / kChunk].store(new CanonType[kChunk], std::memory_order_release);
    chunks[id / kChunk].load(std::memory_order_relaxed)[id % kChunk] = std::move(c);
    count.store(id + 1, std::memory_order_release);
  }
};

Registry& registry() {
  static Registry* r = new Registry;  // never destroyed: modules may outlive statics
  return *r;
}

void put_u32(std::string& key, uint32_t v) {
  key.append(reinterpret_cast<const char*>(&v), sizeof v);
}

// A value type of a group starting at `start` of `size` types, in the key.
void put_type(std::string& key, ValType t, uint32_t start, uint32_t size,
              const std::vector<uint32_t>& ids) {
  key += static_cast<char>(t.kind());
  if (!t.is_ref()) return;
  key += t.nullable() ? 'n' : 'r';
  if (t.is_abstract()) {
    key += 'a';
    put_u32(key, t.heap());
  } else if (t.is_canonical()) {  // a host function's type may name canonical types
    key += 'c';
    put_u32(key, t.type_index());
  } else if (t.type_index() >= start && t.type_index() < start + size) {
    key += 'i';  // into the group
    put_u32(key, t.type_index() - start);
  } else if (t.type_index() < start) {
    key += 'c';
    put_u32(key, ids[t.type_index()]);
  } else {
    key += 'x';  // an index that is no earlier type: only in types no validator checked
    put_u32(key, t.type_index());
  }
}

// A value type in canonical form, references into the group resolved against `base`.
ValType resolve(ValType t, uint32_t start, uint32_t size, uint32_t base,
                const std::vector<uint32_t>& ids) {
  if (!t.is_defined() || t.is_canonical()) return t;
  uint32_t i = t.type_index();
  if (i >= start + size) return t;  // unchecked (see put_type): left as it is
  uint32_t id = i >= start ? base + (i - start) : ids[i];
  return ValType::ref_to(ValType::kCanonical | id, t.nullable());
}

bool heap_matches(ValType a, ValType b, Registry& r);

ValType::Heap top_of(ValType t, Registry& r) {
  if (t.is_abstract()) {
    switch (t.abstract()) {
      case ValType::Func:
      case ValType::NoFunc:
        return ValType::Func;
      case ValType::Extern:
      case ValType::NoExtern:
        return ValType::Extern;
      case ValType::Exn:
      case ValType::NoExn:
        return ValType::Exn;
      default:
        return ValType::Any;
    }
  }
  return r.at(t.type_index()).kind == binary::TypeDef::Kind::Func ? ValType::Func : ValType::Any;
}

bool abstract_matches(ValType::Heap a, ValType::Heap b) {
  if (a == b) return true;
  switch (a) {
    case ValType::None:
      return b == ValType::I31 || b == ValType::Struct || b == ValType::Array || b == ValType::Eq ||
             b == ValType::Any;
    case ValType::I31:
    case ValType::Struct:
    case ValType::Array:
      return b == ValType::Eq || b == ValType::Any;
    case ValType::Eq:
      return b == ValType::Any;
    case ValType::NoFunc:
      return b == ValType::Func;
    case ValType::NoExtern:
      return b == ValType::Extern;
    case ValType::NoExn:
      return b == ValType::Exn;
    default:
      return false;
  }
}

bool subtype_of(uint32_t sub, uint32_t super, Registry& r) {
  if (sub == super) return true;
  const auto& chain = r.at(sub).chain;
  size_t depth = r.at(super).chain.size();
  return depth <= chain.size() && chain[depth - 1] == super;
}

bool heap_matches(ValType a, ValType b, Registry& r) {
  if (a.is_abstract() && b.is_abstract()) return abstract_matches(a.abstract(), b.abstract());
  if (!a.is_abstract() && !b.is_abstract()) return subtype_of(a.type_index(), b.type_index(), r);
  if (!a.is_abstract()) {  // a defined type under an abstract one
    switch (r.at(a.type_index()).kind) {
      case binary::TypeDef::Kind::Func:
        return b.abstract() == ValType::Func;
      case binary::TypeDef::Kind::Struct:
        return abstract_matches(ValType::Struct, b.abstract());
      case binary::TypeDef::Kind::Array:
        return abstract_matches(ValType::Array, b.abstract());
    }
    return false;
  }
  // An abstract type under a defined one: only the bottom of its hierarchy.
  ValType::Heap bottom =
      r.at(b.type_index()).kind == binary::TypeDef::Kind::Func ? ValType::NoFunc : ValType::None;
  return a.abstract() == bottom;
}

bool matches_of(ValType a, ValType b, Registry& r) {
  if (a.kind() == ValType::Kind::Bot) return true;
  if (a.kind() != b.kind()) return false;
  if (!a.is_ref()) return true;
  if (a.nullable() && !b.nullable()) return false;
  return heap_matches(a, b, r);
}

}  // namespace

std::vector<uint32_t> canonicalize(const binary::Module& m) {
  Registry& r = registry();
  std::lock_guard<std::mutex> lock(r.mu);
  const size_t n = m.types.size();
  std::vector<uint32_t> ids(n);
  for (size_t start = 0; start < n;) {
    const binary::TypeDef* first = start < m.type_defs.size() ? &m.type_defs[start] : nullptr;
    uint32_t size = first ? first->rec_size : 1;
    uint32_t s = static_cast<uint32_t>(start);
    std::string key;
    put_u32(key, size);
    for (uint32_t k = 0; k < size; ++k) {
      static const binary::TypeDef kPlain;
      const binary::TypeDef& def = start + k < m.type_defs.size() ? m.type_defs[start + k] : kPlain;
      const FuncType& ft = m.types[start + k];
      key += static_cast<char>(def.kind);
      key += def.final ? 'f' : 'o';
      put_u32(key, static_cast<uint32_t>(def.supers.size()));
      for (uint32_t super : def.supers) put_type(key, ValType::ref_to(super, false), s, size, ids);
      put_u32(key, static_cast<uint32_t>(ft.params.size()));
      for (ValType t : ft.params) put_type(key, t, s, size, ids);
      put_u32(key, static_cast<uint32_t>(ft.results.size()));
      for (ValType t : ft.results) put_type(key, t, s, size, ids);
      put_u32(key, static_cast<uint32_t>(def.fields.size()));
      for (const auto& f : def.fields) {
        put_type(key, f.type, s, size, ids);
        key += static_cast<char>(f.packed);
        key += f.mut ? 'm' : 'c';
      }
    }
    auto found = r.groups.find(key);
    if (found == r.groups.end() &&
        uint64_t{r.size()} + size > uint64_t{Registry::kChunk} * Registry::kChunks)
      return {};  // the registry is full: no new types in this process
    auto [it, inserted] = r.groups.try_emplace(key, r.size());
    uint32_t base = it->second;
    if (inserted) {
      for (uint32_t k = 0; k < size; ++k) {
        static const binary::TypeDef kPlain;
        const binary::TypeDef& def =
            start + k < m.type_defs.size() ? m.type_defs[start + k] : kPlain;
        const FuncType& ft = m.types[start + k];
        CanonType c;
        c.kind = def.kind;
        c.final = def.final;
        if (!def.supers.empty()) {
          uint32_t super =
              resolve(ValType::ref_to(def.supers[0], false), s, size, base, ids).type_index();
          // Supertypes precede their subtypes, in the group too: interned already.
          if (super < r.size()) c.chain = r.at(super).chain;
        }
        c.chain.push_back(base + k);
        for (ValType t : ft.params) c.func.params.push_back(resolve(t, s, size, base, ids));
        for (ValType t : ft.results) c.func.results.push_back(resolve(t, s, size, base, ids));
        for (auto f : def.fields) {
          f.type = resolve(f.type, s, size, base, ids);
          c.fields.push_back(f);
        }
        r.push(std::move(c));
      }
    }
    for (uint32_t k = 0; k < size; ++k) ids[start + k] = base + k;
    start += size;
  }
  return ids;
}

uint32_t canonical_func_id(const FuncType& t) {
  binary::Module m;
  m.types.push_back(t);
  return canonicalize(m)[0];
}

const CanonType& canonical_type(uint32_t id) {
  return registry().at(id);
}

bool is_subtype_id(uint32_t sub, uint32_t super) {
  return sub == super || subtype_of(sub, super, registry());
}

FuncType canonical(const FuncType& t, const std::vector<uint32_t>& ids) {
  FuncType c;
  for (ValType v : t.params) c.params.push_back(canonical(v, ids));
  for (ValType v : t.results) c.results.push_back(canonical(v, ids));
  return c;
}

bool matches(ValType a, ValType b) {
  if (a == b || a.kind() == ValType::Kind::Bot) return true;
  if (a.kind() != b.kind() || !a.is_ref()) return false;
  if (a.is_abstract() && b.is_abstract())  // no lookup needed
    return (!a.nullable() || b.nullable()) && abstract_matches(a.abstract(), b.abstract());
  return matches_of(a, b, registry());
}

bool matches(const FuncType& a, const FuncType& b) {
  if (a.params.size() != b.params.size() || a.results.size() != b.results.size()) return false;
  for (size_t i = 0; i < a.params.size(); ++i)
    if (!matches(b.params[i], a.params[i])) return false;
  for (size_t i = 0; i < a.results.size(); ++i)
    if (!matches(a.results[i], b.results[i])) return false;
  return true;
}

ValType::Heap top_heap(ValType t) {
  return top_of(t, registry());
}

}  // namespace edgecar::validate
