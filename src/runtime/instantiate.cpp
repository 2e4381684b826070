// Instantiation (spec 4.5.4): import matching (4.5.2), allocation, constant
// expressions, active segments and the start function.
#include <cstring>

#include "runtime/objects.hpp"
#include "util/format.hpp"
#include "validate/types.hpp"

namespace edgecar {

namespace {

using binary::ConstExpr;
using binary::Opcode;

std::string limits_str(const Limits& l) {
  return std::string(l.i64 ? "i64 " : "") + "{min " + std::to_string(l.min) +
         (l.max ? ", max " + std::to_string(*l.max) : "") + "}";
}

// Import subtyping of limits: the provided range must lie within the expected one.
bool limits_match(uint64_t actual_min, std::optional<uint64_t> actual_max, const Limits& expected) {
  if (actual_min < expected.min) return false;
  if (expected.max) {
    if (!actual_max || *actual_max > *expected.max) return false;
  }
  return true;
}

Error link_error(const binary::Import& im, const std::string& why) {
  return Error{ErrorKind::Link, "import \"" + im.module + "\" \"" + im.name + "\": " + why};
}

// A constant expression's value; v128 constants and globals fill `hi` too. Extended
// constant expressions (WebAssembly 3.0) add i32/i64 add, sub and mul, and GC's allocate
// structs and arrays and convert references (collections wait meanwhile: the values on
// this small stack are no roots). nullopt when an allocation exceeds the GC heap's limit.
std::optional<uint64_t> eval_const(const ConstExpr& e, InstanceImpl& inst, Store::Impl& S,
                                   uint64_t* hi = nullptr) {
  struct V {
    uint64_t lo, hi;
  };
  std::vector<V> stack;
  auto binary = [&](auto op) {
    uint64_t b = stack.back().lo;
    stack.pop_back();
    stack.back().lo = op(stack.back().lo, b);
  };
  const binary::Module& m = inst.md->module;
  S.gc_paused++;
  struct Resume {
    Store::Impl& S;
    ~Resume() { S.gc_paused--; }
  } resume{S};
  auto alloc = [&](uint32_t type, uint32_t length) -> GcObject* {
    const GcLayout& l = S.heap().layout(inst.md->type_ids[type]);
    return S.gc_alloc(&l, l.kind, length, nullptr);
  };
  // Field or element i of an object, set to v.
  auto put = [](GcObject* o, uint32_t i, V v) {
    uint64_t w[2] = {v.lo, v.hi};
    o->set(i, w);
  };
  // The top `count` values, popped, as fields or elements 0, 1, ...
  auto fill = [&](GcObject* o, uint32_t count) {
    size_t first = stack.size() - count;
    for (uint32_t i = 0; i < count; ++i) put(o, i, stack[first + i]);
    stack.resize(first);
  };
  for (const auto& in : e.code) {
    switch (static_cast<Opcode>(in.op)) {
      case Opcode::I32Const:
      case Opcode::F32Const:
        stack.push_back({static_cast<uint32_t>(in.imm), 0});
        break;
      case Opcode::I64Const:
      case Opcode::F64Const:
        stack.push_back({in.imm, 0});
        break;
      case Opcode::V128Const:
        stack.push_back({in.imm, uint64_t{in.b} << 32 | in.a});
        break;
      case Opcode::RefNull:
        stack.push_back({0, 0});
        break;
      case Opcode::RefFunc:
        stack.push_back({reinterpret_cast<uintptr_t>(inst.funcs[in.a]), 0});
        break;
      case Opcode::GlobalGet:
        stack.push_back({inst.globals[in.a]->value, inst.globals[in.a]->value_hi});
        break;
      case Opcode::I32Add:
        binary([](uint64_t a, uint64_t b) -> uint64_t { return static_cast<uint32_t>(a + b); });
        break;
      case Opcode::I32Sub:
        binary([](uint64_t a, uint64_t b) -> uint64_t { return static_cast<uint32_t>(a - b); });
        break;
      case Opcode::I32Mul:
        binary([](uint64_t a, uint64_t b) -> uint64_t {
          return static_cast<uint32_t>(static_cast<uint32_t>(a) * static_cast<uint32_t>(b));
        });
        break;
      case Opcode::I64Add:
        binary([](uint64_t a, uint64_t b) { return a + b; });
        break;
      case Opcode::I64Sub:
        binary([](uint64_t a, uint64_t b) { return a - b; });
        break;
      case Opcode::I64Mul:
        binary([](uint64_t a, uint64_t b) { return a * b; });
        break;
      case Opcode::RefI31:
        stack.back().lo = make_i31(static_cast<uint32_t>(stack.back().lo));
        break;
      case Opcode::AnyConvertExtern:
        if (stack.back().lo != 0) {
          stack.back().lo = S.internalize(stack.back().lo, nullptr);
          if (stack.back().lo == 0) return std::nullopt;
        }
        break;
      case Opcode::ExternConvertAny:
        stack.back().lo = S.externalize(stack.back().lo);
        break;
      case Opcode::StructNew:
      case Opcode::StructNewDefault: {
        GcObject* o = alloc(in.a, 0);
        if (!o) return std::nullopt;
        if (static_cast<Opcode>(in.op) == Opcode::StructNew)
          fill(o, static_cast<uint32_t>(m.type_defs[in.a].fields.size()));
        stack.push_back({reinterpret_cast<uint64_t>(o), 0});
        break;
      }
      case Opcode::ArrayNew:
      case Opcode::ArrayNewDefault:
      case Opcode::ArrayNewFixed: {
        auto o = static_cast<Opcode>(in.op);
        uint32_t n = in.b;
        if (o != Opcode::ArrayNewFixed) {
          n = static_cast<uint32_t>(stack.back().lo);
          stack.pop_back();
        }
        GcObject* arr = alloc(in.a, n);
        if (!arr) return std::nullopt;
        if (o == Opcode::ArrayNew) {
          V v = stack.back();
          stack.pop_back();
          for (uint32_t i = 0; i < n; ++i) put(arr, i, v);
        } else if (o == Opcode::ArrayNewFixed) {
          fill(arr, n);
        }
        stack.push_back({reinterpret_cast<uint64_t>(arr), 0});
        break;
      }
      default:
        break;  // validated: only constant instructions occur
    }
  }
  if (hi) *hi = stack.empty() ? 0 : stack.back().hi;
  return stack.empty() ? 0 : stack.back().lo;
}

// Resolves import `im` to `ext` (what `imports` provides under its name), checking the
// types match (spec 4.5.4 step 4, "import matching"); appends it to the instance's index
// space of its kind.
Expected<void> link_import(const binary::Import& im, const Extern* ext, const Imports& imports,
                           const detail::ModuleData& md, InstanceImpl& inst) {
  const binary::Module& m = md.module;
  switch (im.kind) {
    case ExternKind::Func: {
      Function* const* f = std::get_if<Function*>(ext);
      if (!f) return link_error(im, "incompatible import type: expected a function");
      FuncInst* fi = edgecar::impl(*f);
      if (!validate::is_subtype_id(fi->type_id, md.type_ids[im.func_type])) {
        for (Function* alt : imports.alternatives(im.module, im.name)) {
          FuncInst* ai = edgecar::impl(alt);
          if (validate::is_subtype_id(ai->type_id, md.type_ids[im.func_type])) {
            fi = ai;
            break;
          }
        }
      }
      if (!validate::is_subtype_id(fi->type_id, md.type_ids[im.func_type]))
        return link_error(im, "incompatible import type: expected func " +
                                  m.types[im.func_type].to_string() + ", got " +
                                  fi->type->to_string());
      inst.funcs.push_back(fi);
      break;
    }
    case ExternKind::Table: {
      Table* const* t = std::get_if<Table*>(ext);
      if (!t) return link_error(im, "incompatible import type: expected a table");
      TableInst* ti = edgecar::impl(*t);
      // Table element types are invariant.
      if (ti->elem != validate::canonical(im.table.elem, md.type_ids) ||
          ti->limits.i64 != im.table.limits.i64 ||
          !limits_match(ti->elems.size(), ti->limits.max, im.table.limits))
        return link_error(
            im, "incompatible import type: expected table " +
                    std::string(to_string(im.table.elem)) + " " + limits_str(im.table.limits) +
                    ", got " + std::string(to_string(ti->elem)) + " " +
                    limits_str(Limits{ti->elems.size(), ti->limits.max, ti->limits.i64}));
      inst.tables.push_back(ti);
      break;
    }
    case ExternKind::Memory: {
      Memory* const* mm = std::get_if<Memory*>(ext);
      if (!mm) return link_error(im, "incompatible import type: expected a memory");
      MemoryInst* mi = edgecar::impl(*mm);
      if (mi->limits.i64 != im.memory.limits.i64 ||
          !limits_match(mi->size / kPageSize, mi->limits.max, im.memory.limits))
        return link_error(
            im, "incompatible import type: expected memory " + limits_str(im.memory.limits) +
                    ", got " +
                    limits_str(Limits{mi->size / kPageSize, mi->limits.max, mi->limits.i64}));
      inst.memories.push_back(mi);
      break;
    }
    case ExternKind::Global: {
      Global* const* g = std::get_if<Global*>(ext);
      if (!g) return link_error(im, "incompatible import type: expected a global");
      GlobalInst* gi = edgecar::impl(*g);
      // A mutable global's type is invariant; an immutable one's covariant.
      ValType want = validate::canonical(im.global.type, md.type_ids);
      if (gi->mut != im.global.mut ||
          (gi->mut ? gi->type != want : !validate::matches(gi->type, want)))
        return link_error(im, std::string("incompatible import type: expected global ") +
                                  (im.global.mut ? "mut " : "") +
                                  std::string(to_string(im.global.type)) + ", got " +
                                  (gi->mut ? "mut " : "") + std::string(to_string(gi->type)));
      inst.globals.push_back(gi);
      break;
    }
    case ExternKind::Tag: {
      Tag* const* t = std::get_if<Tag*>(ext);
      if (!t) return link_error(im, "incompatible import type: expected a tag");
      TagInst* ti = static_cast<TagInst*>(*t);
      if (ti->type_id != md.type_ids[im.func_type])
        return link_error(im, "incompatible import type: expected tag " +
                                  m.types[im.func_type].to_string() + ", got " +
                                  ti->type->to_string());
      inst.tags.push_back(ti);
      break;
    }
  }
  return {};
}

}  // namespace

Expected<Instance*> Store::instantiate(const std::shared_ptr<const Module>& module,
                                       const Imports& imports) {
  const detail::ModuleData& md = detail::data_of(*module);
  const binary::Module& m = md.module;
  Impl& S = *impl_;

  auto owned = std::make_unique<InstanceImpl>();
  InstanceImpl& inst = *owned;
  inst.module_ref = module;
  inst.md = &md;
  inst.store = this;

  // Imports.
  for (const auto& im : m.imports) {
    const Extern* ext = imports.find(im.module, im.name);
    if (!ext) {
      std::string type = im.kind == ExternKind::Func ? "func " + m.types[im.func_type].to_string()
                                                     : std::string(to_string(im.kind));
      return Error{ErrorKind::Link, "unknown import \"" + im.module + "\" \"" + im.name + "\" (" +
                                        type + "): nothing provides it"};
    }
    if (auto r = link_import(im, ext, imports, md, inst); !r) return std::move(r).error();
  }
  // Tags the module defines: new ones, distinct from every other instance's.
  for (size_t i = m.num_imported_tags; i < m.tags.size(); ++i) {
    auto t = std::make_unique<TagInst>();
    t->type = &m.types[m.tags[i]];
    t->type_id = md.type_ids[m.tags[i]];
    t->payload_slots = slot_count(t->type->params);
    t->type_ids = &md.type_ids;
    inst.tags.push_back(t.get());
    S.tags.push_back(std::move(t));
  }

  // An allocation in a constant expression beyond the GC heap's limit.
  auto out_of_memory = [&] {
    Error e{ErrorKind::Trap, std::string(to_string(TrapKind::OutOfMemory)) +
                                 " (while evaluating a constant expression)"};
    e.trap = TrapKind::OutOfMemory;
    return e;
  };

  // Functions defined by the module.
  size_t ndef = m.bodies.size();
  inst.own_funcs = std::make_unique<FuncInst[]>(ndef);
  for (size_t i = 0; i < ndef; ++i) {
    FuncInst& f = inst.own_funcs[i];
    uint32_t index = static_cast<uint32_t>(m.num_imported_funcs + i);
    f.type = &m.types[m.funcs[index]];
    f.type_id = md.type_ids[m.funcs[index]];
    f.inst = &inst;
    f.code = &md.code.funcs[i];
    f.entry = md.code.cells.data() + f.code->entry;
    f.index = index;
    inst.funcs.push_back(&f);
  }

  for (size_t i = m.num_imported_tables; i < m.tables.size(); ++i) {
    Table* t = create_table(validate::canonical(m.tables[i].elem, md.type_ids), m.tables[i].limits);
    if (!t)
      return Error{ErrorKind::Link, "table " + std::to_string(i) +
                                        " exceeds the store's limit of " +
                                        std::to_string(S.limits.max_table_elements) + " elements"};
    // 3.0: every element starts as the initializer's value (it may read imported globals).
    if (m.tables[i].init) {
      auto v = eval_const(*m.tables[i].init, inst, S);
      if (!v) return out_of_memory();
      auto& elems = edgecar::impl(t)->elems;
      std::fill(elems.begin(), elems.end(), *v);
    }
    inst.tables.push_back(edgecar::impl(t));
  }
  bool from_image = false;
  for (size_t i = m.num_imported_memories; i < m.memories.size(); ++i) {
    const detail::MemoryImage* image = i == 0 ? md.memory_image.get() : nullptr;
    Memory* mem = create_memory(m.memories[i].limits, image);
    from_image = from_image || image != nullptr;
    if (!mem)
      return Error{ErrorKind::Link, "memory " + std::to_string(i) + " of " +
                                        std::to_string(m.memories[i].limits.min) +
                                        " pages exceeds the store's limit of " +
                                        std::to_string(S.limits.max_memory_pages) + " pages"};
    inst.memories.push_back(edgecar::impl(mem));
  }
  inst.mem0 = inst.memories.empty() ? nullptr : inst.memories[0];

  for (const auto& g : m.globals) {
    uint64_t hi = 0;
    auto lo = eval_const(g.init, inst, S, &hi);
    if (!lo) return out_of_memory();
    Global* gl =
        create_global(Value{validate::canonical(g.type.type, md.type_ids), *lo, hi}, g.type.mut);
    inst.globals.push_back(edgecar::impl(gl));
  }

  inst.elems.resize(m.elems.size());
  for (size_t i = 0; i < m.elems.size(); ++i) {
    auto& refs = inst.elems[i].refs;
    refs.reserve(m.elems[i].inits.size());
    for (const auto& e : m.elems[i].inits) {
      auto v = eval_const(e, inst, S);
      if (!v) return out_of_memory();
      refs.push_back(*v);
    }
  }
  inst.datas.resize(m.datas.size());
  for (size_t i = 0; i < m.datas.size(); ++i) inst.datas[i].bytes = m.datas[i].bytes;
  if (md.native) aot::bind(inst, S);
  if (md.tier) aot::tier_bind(inst, S);

  S.instances.push_back(std::move(owned));

  auto trap = [&](TrapKind k, std::string what) {
    Error e{ErrorKind::Trap, std::string(to_string(k)) + " " + what};
    e.trap = k;
    return e;
  };

  // Active and declarative element segments, then data segments (spec 4.5.4 steps 14-15):
  // applied in order; a failing segment traps after earlier ones took effect.
  for (size_t i = 0; i < m.elems.size(); ++i) {
    const auto& seg = m.elems[i];
    if (seg.mode == binary::SegmentMode::Passive) continue;
    if (seg.mode == binary::SegmentMode::Active) {
      TableInst* t = inst.tables[seg.table];
      uint64_t off = eval_const(seg.offset, inst, S).value_or(0);  // i64 for a 64-bit table
      if (!t->limits.i64) off = static_cast<uint32_t>(off);
      auto& refs = inst.elems[i].refs;
      if (refs.size() > t->elems.size() || off > t->elems.size() - refs.size())
        return trap(TrapKind::TableOutOfBounds, "while initialising table " +
                                                    std::to_string(seg.table) +
                                                    " from element segment " + std::to_string(i));
      std::copy(refs.begin(), refs.end(), t->elems.begin() + static_cast<ptrdiff_t>(off));
    }
    inst.elems[i].refs = {};
  }
  for (size_t i = 0; i < m.datas.size(); ++i) {
    const auto& seg = m.datas[i];
    if (seg.mode != binary::SegmentMode::Active) continue;
    if (from_image) {  // already in place, copy-on-write
      inst.datas[i].bytes = {};
      continue;
    }
    MemoryInst* mem = inst.memories[seg.memory];
    uint64_t off = eval_const(seg.offset, inst, S).value_or(0);  // i64 for a 64-bit memory
    if (!mem->limits.i64) off = static_cast<uint32_t>(off);
    if (seg.bytes.size() > mem->size || off > mem->size - seg.bytes.size())
      return trap(TrapKind::MemoryOutOfBounds,
                  "while initialising memory from data segment " + std::to_string(i) + " (offset " +
                      util::hex(off) + ", " + std::to_string(seg.bytes.size()) + " bytes)");
    if (!seg.bytes.empty()) std::memcpy(mem->data + off, seg.bytes.data(), seg.bytes.size());
    inst.datas[i].bytes = {};
  }

  if (m.start) {
    uint64_t* slots = S.stack_top;
    auto r = S.invoke(inst.funcs[*m.start], slots);
    if (!r) return std::move(r).error();
  }
  return static_cast<Instance*>(&inst);
}

}  // namespace edgecar
