// Binary decoder (spec 5): bytes -> binary::Module. Only syntax is checked here; typing
// rules belong to the validator.
#include <algorithm>
#include <array>

#include "binary/module.hpp"
#include "binary/reader.hpp"
#include "util/limits.hpp"

namespace edgecar::binary {

namespace {

// Encodings of features after WebAssembly 2.0, named in the decoder's errors so that a
// user learns what the module needs rather than only which byte was refused.
std::string post_2_0(const std::string& what, const char* feature) {
  return what + " (" + feature + ", a WebAssembly 3.0 feature edgecar does not support yet)";
}
const char* feature_of_opcode(uint16_t op) {
  switch (op) {
    case 0x12:
    case 0x13:
      return "tail calls";
    case 0x14:
    case 0xD4:
    case 0xD5:
    case 0xD6:
      return "typed function references";
    case 0x15:
      return "tail calls and typed function references";
    case 0xD3:
    case 0xFB:
      return "garbage collection";
    case 0xFE:
      return "threads";
    default:
      return nullptr;
  }
}
// Value type bytes of later proposals: typed references, GC and exception heap types.
const char* feature_of_type_byte(uint8_t b) {
  switch (b) {
    case 0x63:
    case 0x64:
      return "typed function references";
    case 0x69:
    case 0x74:
      return "exception handling";
    case 0x6A:
    case 0x6B:
    case 0x6C:
    case 0x6D:
    case 0x6E:
    case 0x71:
    case 0x72:
    case 0x73:
      return "garbage collection";
    default:
      return nullptr;
  }
}

enum class Imm : uint8_t {
  None,
  BlockType,
  Label,
  BrTable,
  Func,
  CallIndirect,
  Local,
  Global,
  Table,
  Memarg,
  MemIdx,
  I32,
  I64,
  F32,
  F64,
  RefType,
  SelectT,
  Data,
  Elem,
  TableInit,
  TableCopy,
  MemInit,
  MemCopy,
  V128Const,   // 16 bytes: imm holds bytes 0-7, a bytes 8-11, b bytes 12-15
  Shuffle,     // 16 lane indices, stored as V128Const
  Lane,        // a lane index byte, in a
  MemargLane,  // a memarg (a = alignment, imm = offset), then a lane index byte in b
  Tag,         // a tag index, in a
  Type,        // a type index, in a
  TypeIndex,   // a type index in a, then a field, data, elem, type index or count in b
  BrOnCast,    // a label (a), the target heap type (b), flags | source heap type << 32 (imm)
  TryTable,    // a block type, then catch clauses (FunctionBody::catches: a first, b count)
};

struct OpInfo {
  const char* name = nullptr;
  Imm imm = Imm::None;
};

// Index: single-byte opcodes at [0, 256), 0xFC-prefixed at [256, 256 + 18), 0xFD-prefixed
// (SIMD) at [274, 274 + 256), relaxed SIMD (0xFD 0x100-0x113, internal 0xFE00 | n) after,
// then the 0xFB-prefixed (garbage collection, internal 0xFB00 | n).
constexpr size_t kPrefixBase = 256;
constexpr size_t kNumFC = 18;
constexpr size_t kSimdBase = kPrefixBase + kNumFC;
constexpr size_t kNumFD = 256;
constexpr size_t kNumRelaxed = 0x14;
constexpr size_t kGcBase = kSimdBase + kNumFD + kNumRelaxed;
constexpr size_t kNumFB = 0x1F;

constexpr size_t table_index(uint32_t code) {
  return code >= 0xFE00   ? kSimdBase + kNumFD + (code & 0xFF)
         : code >= 0xFD00 ? kSimdBase + (code & 0xFF)
         : code >= 0xFC00 ? kPrefixBase + (code & 0xFF)
         : code >= 0xFB00 ? kGcBase + (code & 0xFF)
                          : code;
}

constexpr std::array<OpInfo, kGcBase + kNumFB> make_table() {
  std::array<OpInfo, kGcBase + kNumFB> t{};
#define OP(code, id, name, imm, sig, align, lowering, proposal) \
  t[table_index(code)] = OpInfo{name, Imm::imm};
#include "binary/opcodes.def"
#undef OP
  return t;
}
constexpr auto kOps = make_table();

const OpInfo* lookup(uint16_t op) {
  if (op >= 0xFC00 && op < 0xFD00 && (op & 0xFF) >= kNumFC) return nullptr;
  if (op >= 0xFB00 && op < 0xFC00 && (op & 0xFF) >= kNumFB) return nullptr;
  size_t i = table_index(op);
  if (i >= kOps.size() || kOps[i].name == nullptr) return nullptr;
  return &kOps[i];
}

class Decoder {
 public:
  // What a later feature's encoding means here: one edgecar runs, in a module loaded as
  // 2.0, or one it does not run (threads).
  std::string later(const std::string& what, const char* feature) const {
    std::string_view f = feature;
    bool runs = !wasm3_ && f.find("threads") == std::string_view::npos && f != "garbage collection";
    if (!runs) return post_2_0(what, feature);
    return what + " (" + feature + ", a WebAssembly 3.0 feature: the module is loaded as 2.0)";
  }

  Decoder(std::span<const uint8_t> bytes, Standard standard)
      : bytes_(bytes), wasm3_(standard == Standard::V3_0) {}

  Module run() {
    Reader r(bytes_);
    if (r.remaining() < 4 || r.fixed32() != 0x6D736100) r.fail_at("magic header not detected", 0);
    if (r.remaining() < 4) r.fail("unexpected end: missing version");
    if (r.fixed32() != 1) r.fail_at("unknown binary version", 4);

    // Non-custom sections must appear at most once, in this order (spec 5.5.2).
    // The tag section (13) comes between memory (5) and global (6).
    static constexpr int kOrder[] = {0, 1, 2, 3, 4, 5, 7, 8, 9, 10, 12, 13, 11, 6};  // by id
    int last_order = 0;
    uint32_t func_count = 0;
    bool saw_code = false;
    bool saw_data = false;
    while (!r.at_end()) {
      size_t sec_start = r.offset();
      uint8_t id = r.u8();
      if (id > 13 || (id == 13 && !wasm3_)) {
        std::string what = "malformed section id " + std::to_string(id);
        r.fail_at(id == 13 ? later(what + " (tags)", "exception handling") : what, sec_start);
      }
      uint32_t size = r.u32();
      Reader s = r.sub(size);
      s.set_context("section " + std::to_string(id));
      if (id != 0) {
        if (kOrder[id] <= last_order)
          r.fail_at("unexpected section id " + std::to_string(id) + " (out of order or duplicate)",
                    sec_start);
        last_order = kOrder[id];
      }
      section_id_ = id;
      switch (id) {
        case 0:
          custom(s);
          break;
        case 1:
          types(s);
          break;
        case 2:
          imports(s);
          break;
        case 3:
          func_count = functions(s);
          break;
        case 4:
          tables(s);
          break;
        case 5:
          memories(s);
          break;
        case 6:
          globals(s);
          break;
        case 7:
          exports(s);
          break;
        case 8:
          m_.start = s.u32();
          break;
        case 9:
          elems(s);
          break;
        case 10:
          code(s, func_count);
          saw_code = true;
          break;
        case 11:
          datas(s);
          saw_data = true;
          break;
        case 12:
          m_.data_count = s.u32();
          break;
        case 13:
          tag_section(s);
          break;
      }
      if (!s.at_end())
        s.fail("section size mismatch: section " + std::to_string(id) + " has unread bytes");
    }
    if (!saw_code && func_count != 0) r.fail("function and code section have inconsistent lengths");
    // Code that names data segments needs the data count section (spec 5.5.13), checked
    // as the reference interpreter does: when there is a data section to refer to.
    if (data_ref_offset_ && !m_.data_count && saw_data)
      r.fail_at("data count section required", *data_ref_offset_);
    if (m_.data_count && *m_.data_count != m_.datas.size())
      r.fail("data count and data section have inconsistent lengths");
    return std::move(m_);
  }

 private:
  // A value type (3.0, spec 5.3): a number or vector type byte, or a reference type.
  ValType valtype(Reader& r) {
    uint8_t b = r.peek();
    switch (b) {
      case 0x7F:
        r.u8();
        return ValType::I32;
      case 0x7E:
        r.u8();
        return ValType::I64;
      case 0x7D:
        r.u8();
        return ValType::F32;
      case 0x7C:
        r.u8();
        return ValType::F64;
      case 0x7B:
        r.u8();
        return ValType::V128;
      default:
        return reftype(r, "malformed value type ");
    }
  }

  // A reference type: (ref null? heaptype) or an abstract shorthand (nullable).
  ValType reftype(Reader& r, const char* what = "malformed reference type ") {
    size_t off = r.offset();
    uint8_t b = r.u8();
    if (wasm3_ && (b == 0x63 || b == 0x64)) return ValType::ref_to(heaptype(r), b == 0x63);
    if (b == 0x70 || b == 0x6F || (wasm3_ && is_abstract_heap(b)))
      return ValType::ref(static_cast<ValType::Heap>(b), true);
    std::string message = what + util::hex(b);
    const char* f = feature_of_type_byte(b);
    r.fail_at(f && !wasm3_ ? later(message, f) : message, off);
  }

  static bool is_abstract_heap(uint8_t b) { return b >= 0x69 && b <= 0x74; }

  // A heap type: an abstract one (its byte) or a type index (s33, non-negative), encoded
  // as ValType::heap() is.
  uint32_t heaptype(Reader& r) {
    size_t off = r.offset();
    uint8_t b = r.peek();
    if (b >= 0x40 && b < 0x80) {  // a one-byte negative s33
      r.u8();
      if ((b == 0x70 || b == 0x6F || wasm3_) && is_abstract_heap(b)) return ValType::kAbstract | b;
      const char* f = feature_of_type_byte(b);
      std::string message = "malformed heap type " + util::hex(b);
      r.fail_at(f && !wasm3_ ? later(message, f) : message, off);
    }
    int64_t v = r.s33();
    if (v < 0 || !wasm3_) {
      r.fail_at(wasm3_ ? "malformed heap type"
                       : later("malformed reference type", "typed function references"),
                off);
    }
    if (v >= ValType::kCanonical) r.fail_at("type index too large", off);
    return static_cast<uint32_t>(v);
  }

  Limits limits(Reader& r, bool is_memory) {
    size_t off = r.offset();
    uint8_t flag = r.u8();
    // 3.0: bit 2 says 64-bit addresses or indices (memory64, table64).
    bool i64 = wasm3_ && (flag == 4 || flag == 5);
    if (flag > 1 && !i64) {
      std::string what = is_memory ? "integer too large: malformed memory limits flag"
                                   : "integer too large: malformed table limits flag";
      if (flag >= 4 && flag <= 7)
        what = later(what, is_memory ? "64-bit memories" : "64-bit tables");
      else if (is_memory && (flag == 2 || flag == 3))
        what = later(what, "threads (shared memory)");
      r.fail_at(what, off);
    }
    Limits l;
    l.i64 = i64;
    // 3.0 reads limits as u64 (the validator bounds them); 2.0 as u32.
    bool wide = wasm3_;
    l.min = wide ? r.u64() : r.u32();
    if (flag & 1) l.max = wide ? r.u64() : r.u32();
    return l;
  }

  GlobalType globaltype(Reader& r) {
    GlobalType g;
    g.type = valtype(r);
    size_t off = r.offset();
    uint8_t m = r.u8();
    if (m > 1) r.fail_at("malformed mutability", off);
    g.mut = m == 1;
    return g;
  }

  void custom(Reader& s) {
    CustomSection c;
    c.name = s.name();
    auto rest = s.bytes(s.remaining());
    c.bytes.assign(rest.begin(), rest.end());
    if (c.name == "name") names(c.bytes);
    m_.customs.push_back(std::move(c));
  }

  // The name section is a custom section: a malformed one is ignored (spec 7.4.1).
  void names(const std::vector<uint8_t>& bytes) {
    try {
      Reader r(bytes);
      while (!r.at_end()) {
        uint8_t sub = r.u8();
        Reader s = r.sub(r.u32());
        if (sub != 1) continue;
        uint32_t n = s.u32();
        for (uint32_t i = 0; i < n; ++i) {
          uint32_t idx = s.u32();
          m_.func_names[idx] = s.name();
        }
      }
    } catch (const DecodeError&) {
    }
  }

  // The type section: recursion groups of (sub)types (3.0, spec 5.5.4); 2.0 has only
  // function types.
  void types(Reader& s) {
    uint32_t n = s.u32();
    for (uint32_t i = 0; i < n; ++i) {
      size_t off = s.offset();
      uint32_t size = 1;
      if (s.peek() == 0x4E) {
        if (!wasm3_) s.fail_at(later("malformed function type", "garbage collection"), off);
        s.u8();
        size = s.u32();
        if (size > s.remaining()) s.fail("unexpected end: recursion group too large");
      }
      uint32_t start = static_cast<uint32_t>(m_.types.size());
      if (start + uint64_t{size} > limits::kMaxTypes) s.fail("too many types");
      for (uint32_t k = 0; k < size; ++k) {
        TypeDef def;
        def.rec_start = start;
        def.rec_size = size;
        m_.types.push_back(subtype(s, def));
        m_.type_defs.push_back(std::move(def));
      }
    }
  }

  FuncType subtype(Reader& s, TypeDef& def) {
    size_t off = s.offset();
    uint8_t form = s.u8();
    if (wasm3_ && (form == 0x50 || form == 0x4F)) {
      def.final = form == 0x4F;
      uint32_t n = s.u32();
      if (n > s.remaining()) s.fail("unexpected end: too many supertypes");
      for (uint32_t k = 0; k < n; ++k) def.supers.push_back(s.u32());
      off = s.offset();
      form = s.u8();
    }
    FuncType ft;
    switch (form) {
      case 0x60: {
        uint32_t np = s.u32();
        if (np > s.remaining()) s.fail("unexpected end: too many parameters");
        for (uint32_t j = 0; j < np; ++j) ft.params.push_back(valtype(s));
        uint32_t nr = s.u32();
        if (nr > s.remaining()) s.fail("unexpected end: too many results");
        for (uint32_t j = 0; j < nr; ++j) ft.results.push_back(valtype(s));
        break;
      }
      case 0x5F:
      case 0x5E: {
        if (!wasm3_) break;
        def.kind = form == 0x5F ? TypeDef::Kind::Struct : TypeDef::Kind::Array;
        uint32_t nf = form == 0x5F ? s.u32() : 1;
        if (nf > s.remaining()) s.fail("unexpected end: too many fields");
        for (uint32_t j = 0; j < nf; ++j) def.fields.push_back(fieldtype(s));
        return ft;
      }
      default:
        break;
    }
    if (form != 0x60) {
      std::string what = "malformed function type: expected 0x60";
      bool gc = form == 0x5E || form == 0x5F || form == 0x4E || form == 0x4F || form == 0x50;
      s.fail_at(gc && !wasm3_ ? later(what, "garbage collection") : what, off);
    }
    return ft;
  }

  FieldType fieldtype(Reader& s) {
    FieldType f;
    uint8_t b = s.peek();
    if (b == 0x78 || b == 0x77) {  // the packed storage types i8, i16
      s.u8();
      f.type = ValType::I32;
      f.packed = b == 0x78 ? 8 : 16;
    } else {
      f.type = valtype(s);
    }
    size_t off = s.offset();
    uint8_t m = s.u8();
    if (m > 1) s.fail_at("malformed mutability", off);
    f.mut = m == 1;
    return f;
  }

  void imports(Reader& s) {
    uint32_t n = s.u32();
    for (uint32_t i = 0; i < n; ++i) {
      Import im;
      im.module = s.name();
      im.name = s.name();
      size_t off = s.offset();
      uint8_t kind = s.u8();
      switch (kind) {
        case 0:
          im.kind = ExternKind::Func;
          im.func_type = s.u32();
          m_.funcs.push_back(im.func_type);
          m_.num_imported_funcs++;
          break;
        case 1:
          im.kind = ExternKind::Table;
          im.table.elem = reftype(s);
          im.table.limits = limits(s, false);
          m_.tables.push_back(im.table);
          m_.num_imported_tables++;
          break;
        case 2:
          im.kind = ExternKind::Memory;
          im.memory.limits = limits(s, true);
          m_.memories.push_back(im.memory);
          m_.num_imported_memories++;
          break;
        case 3:
          im.kind = ExternKind::Global;
          im.global = globaltype(s);
          m_.global_types.push_back(im.global);
          m_.num_imported_globals++;
          break;
        case 4:
          if (!wasm3_) s.fail_at("malformed import kind 4", off);
          im.kind = ExternKind::Tag;
          im.func_type = tagtype(s);
          m_.tags.push_back(im.func_type);
          m_.num_imported_tags++;
          break;
        default:
          s.fail_at("malformed import kind " + std::to_string(kind), off);
      }
      m_.imports.push_back(std::move(im));
    }
  }

  uint32_t functions(Reader& s) {
    uint32_t n = s.u32();
    for (uint32_t i = 0; i < n; ++i) m_.funcs.push_back(s.u32());
    return n;
  }

  void tables(Reader& s) {
    uint32_t n = s.u32();
    for (uint32_t i = 0; i < n; ++i) {
      TableType t;
      size_t off = s.offset();
      bool with_init = false;
      if (s.peek() == 0x40) {  // 3.0: a table with an initializer expression
        if (!wasm3_) s.fail_at("malformed reference type 0x40", off);
        s.u8();
        if (s.u8() != 0) s.fail_at("malformed table", off);
        with_init = true;
      }
      t.elem = reftype(s);
      t.limits = limits(s, false);
      if (with_init) t.init = const_expr(s);
      m_.tables.push_back(std::move(t));
    }
  }

  void memories(Reader& s) {
    uint32_t n = s.u32();
    for (uint32_t i = 0; i < n; ++i) m_.memories.push_back(MemoryType{limits(s, true)});
  }

  void globals(Reader& s) {
    uint32_t n = s.u32();
    for (uint32_t i = 0; i < n; ++i) {
      Global g;
      g.type = globaltype(s);
      g.init = const_expr(s);
      m_.global_types.push_back(g.type);
      m_.globals.push_back(std::move(g));
    }
  }

  // A tag: the attribute (0: an exception) and a function type index.
  uint32_t tagtype(Reader& s) {
    size_t off = s.offset();
    if (s.u8() != 0) s.fail_at("malformed tag attribute", off);
    return s.u32();
  }
  void tag_section(Reader& s) {
    uint32_t n = s.u32();
    for (uint32_t i = 0; i < n; ++i) m_.tags.push_back(tagtype(s));
  }

  void exports(Reader& s) {
    uint32_t n = s.u32();
    for (uint32_t i = 0; i < n; ++i) {
      Export e;
      e.name = s.name();
      size_t off = s.offset();
      uint8_t kind = s.u8();
      if (kind > (wasm3_ ? 4 : 3)) s.fail_at("malformed export kind " + std::to_string(kind), off);
      e.kind = static_cast<ExternKind>(kind);
      e.index = s.u32();
      m_.exports.push_back(std::move(e));
    }
  }

  ConstExpr func_index_expr(uint32_t idx, size_t off) {
    ConstExpr e;
    e.code.push_back(
        Instr{static_cast<uint16_t>(Opcode::RefFunc), 0, static_cast<uint32_t>(off), idx, 0, 0});
    return e;
  }

  void elems(Reader& s) {
    uint32_t n = s.u32();
    for (uint32_t i = 0; i < n; ++i) {
      ElemSegment e;
      size_t off = s.offset();
      uint32_t flags = s.u32();
      if (flags > 7) s.fail_at("malformed elements segment kind " + std::to_string(flags), off);
      bool passive_or_decl = flags & 1;
      bool explicit_table = flags & 2;
      bool exprs = flags & 4;
      // 3.0: function indices are non-null (ref func); expressions without a type funcref.
      if (wasm3_ && !exprs) e.type = ValType::ref(ValType::Func, false);
      if (!passive_or_decl) {
        e.mode = SegmentMode::Active;
        if (explicit_table) e.table = s.u32();
        e.offset = const_expr(s);
      } else {
        e.mode = explicit_table ? SegmentMode::Declarative : SegmentMode::Passive;
      }
      if (passive_or_decl || explicit_table) {
        if (exprs) {
          e.type = reftype(s);
        } else {
          size_t koff = s.offset();
          if (s.u8() != 0x00) s.fail_at("malformed element kind", koff);
        }
      }
      uint32_t count = s.u32();
      for (uint32_t j = 0; j < count; ++j) {
        if (exprs) {
          e.inits.push_back(const_expr(s));
        } else {
          size_t foff = s.offset();
          e.inits.push_back(func_index_expr(s.u32(), foff));
        }
      }
      m_.elems.push_back(std::move(e));
    }
  }

  void datas(Reader& s) {
    uint32_t n = s.u32();
    for (uint32_t i = 0; i < n; ++i) {
      DataSegment d;
      size_t off = s.offset();
      uint32_t flags = s.u32();
      if (flags > 2) s.fail_at("malformed data segment kind " + std::to_string(flags), off);
      if (flags == 1) {
        d.mode = SegmentMode::Passive;
      } else {
        if (flags == 2) d.memory = s.u32();
        d.offset = const_expr(s);
      }
      uint32_t len = s.u32();
      auto b = s.bytes(len);
      d.bytes.assign(b.begin(), b.end());
      m_.datas.push_back(std::move(d));
    }
  }

  void code(Reader& s, uint32_t func_count) {
    uint32_t n = s.u32();
    if (n != func_count) s.fail("function and code section have inconsistent lengths");
    m_.bodies.reserve(n);
    for (uint32_t i = 0; i < n; ++i) {
      FunctionBody body;
      body.offset = static_cast<uint32_t>(s.offset());
      uint32_t size = s.u32();
      Reader b = s.sub(size);
      b.set_context("function body " + std::to_string(m_.num_imported_funcs + i) +
                    " (code section)");
      uint32_t groups = b.u32();
      uint64_t total = 0;
      std::vector<std::pair<uint32_t, ValType>> decls;
      for (uint32_t g = 0; g < groups; ++g) {
        uint32_t count = b.u32();
        ValType t = valtype(b);
        total += count;
        if (total > limits::kMaxLocals) b.fail("too many locals");
        decls.emplace_back(count, t);
      }
      body.locals.reserve(total);
      for (auto [count, t] : decls) body.locals.insert(body.locals.end(), count, t);
      instructions(b, body.code, body.br_targets, body.catches, /*is_const=*/false);
      if (!b.at_end()) b.fail("section size mismatch: function body has bytes after its final end");
      m_.bodies.push_back(std::move(body));
    }
  }

  ConstExpr const_expr(Reader& s) {
    ConstExpr e;
    std::vector<uint32_t> scratch;
    std::vector<Catch> no_catches;
    instructions(s, e.code, scratch, no_catches, /*is_const=*/true);
    e.code.pop_back();  // the final end
    return e;
  }

  // Decodes instructions up to and including the `end` that closes the sequence.
  void instructions(Reader& r, std::vector<Instr>& out, std::vector<uint32_t>& br_targets,
                    std::vector<Catch>& catches, bool is_const) {
    uint32_t depth = 0;
    for (;;) {
      size_t off = r.offset();
      if (r.at_end())
        r.fail(is_const ? "unexpected end of constant expression"
                        : "unexpected end of function body: END opcode expected");
      uint16_t op = r.u8();
      if (op == 0xFB && wasm3_) {
        uint32_t sub = r.u32();
        if (sub >= kNumFB) r.fail_at("illegal opcode 0xfb " + std::to_string(sub), off);
        op = static_cast<uint16_t>(0xFB00 | sub);
      } else if (op == 0xFC) {
        uint32_t sub = r.u32();
        if (sub >= kNumFC) r.fail_at("illegal opcode 0xfc " + std::to_string(sub), off);
        op = static_cast<uint16_t>(0xFC00 | sub);
      } else if (op == 0xFD) {
        uint32_t sub = r.u32();
        if (sub >= kNumFD + kNumRelaxed)
          r.fail_at("illegal opcode 0xfd " + std::to_string(sub), off);
        op = static_cast<uint16_t>(sub >= kNumFD ? 0xFE00 | (sub - kNumFD) : 0xFD00 | sub);
      }
      const OpInfo* info = lookup(op);
      bool eh = op == 0x08 || op == 0x0A || op == 0x1F || op == 0x06 || op == 0x07 || op == 0x09 ||
                op == 0x18 || op == 0x19;  // exception handling (and its legacy form): 3.0
      bool refs = op == 0x14 || op == 0x15 || (op >= 0xD4 && op <= 0xD6);  // typed refs: 3.0
      if (!info || ((eh || refs) && !wasm3_)) {
        std::string what = "illegal opcode " + util::hex(op);
        const char* f = eh ? "exception handling" : feature_of_opcode(op);
        r.fail_at(f ? later(what, f) : what, off);
      }
      Instr in{op, 0, static_cast<uint32_t>(off)};
      switch (info->imm) {
        case Imm::None:
          break;
        case Imm::BlockType:
        case Imm::TryTable: {
          size_t boff = r.offset();
          uint8_t first = r.peek();
          if (first == 0x40) {
            r.u8();
            in.imm = BlockType::kEmpty;
          } else if (first >= 0x40 && first < 0x80) {
            // A one-byte negative s33: a value type (spec 5.4.1); (ref ...) types take
            // their heap type after it.
            in.imm = BlockType::kValue | valtype(r).bits();
          } else {
            // A type index: the s33 encoding; a negative value in more than one byte is
            // malformed.
            int64_t v = r.s33();
            if (v < 0) r.fail_at("malformed block type", boff);
            in.imm = BlockType::of_index(static_cast<uint32_t>(v));
          }
          if (info->imm == Imm::TryTable) {
            uint32_t n = r.u32();
            if (n > r.remaining()) r.fail("unexpected end: too many catch clauses");
            in.a = static_cast<uint32_t>(catches.size());
            in.b = n;
            for (uint32_t i = 0; i < n; ++i) {
              size_t coff = r.offset();
              Catch c;
              c.kind = r.u8();
              if (c.kind > 3) r.fail_at("malformed catch clause", coff);
              if (c.kind < 2) c.tag = r.u32();
              c.label = r.u32();
              catches.push_back(c);
            }
          }
          depth++;
          break;
        }
        case Imm::Tag:
        case Imm::Type:
        case Imm::Label:
        case Imm::Func:
        case Imm::Local:
        case Imm::Global:
        case Imm::Table:
        case Imm::Data:
        case Imm::Elem:
          in.a = r.u32();
          break;
        case Imm::BrTable: {
          uint32_t n = r.u32();
          if (n > r.remaining()) r.fail("unexpected end: br_table too long");
          in.a = static_cast<uint32_t>(br_targets.size());
          in.b = n + 1;
          for (uint32_t i = 0; i <= n; ++i) br_targets.push_back(r.u32());
          break;
        }
        case Imm::CallIndirect:
        case Imm::TypeIndex:
          in.a = r.u32();
          in.b = r.u32();
          break;
        case Imm::BrOnCast: {
          size_t foff = r.offset();
          uint8_t flags = r.u8();
          if (flags > 3) r.fail_at("malformed br_on_cast flags", foff);
          in.a = r.u32();
          uint32_t source = heaptype(r);
          in.b = heaptype(r);  // the target
          // bit 0: the source type is nullable, bit 1: the target type; the source's heap
          // type in the high half.
          in.imm = flags | uint64_t{source} << 32;
          break;
        }
        case Imm::Memarg:
          memarg(r, in);
          break;
        case Imm::MemIdx:
          in.mem = memory_index(r);
          break;
        case Imm::I32:
          in.imm = static_cast<uint32_t>(r.s32());
          break;
        case Imm::I64:
          in.imm = static_cast<uint64_t>(r.s64());
          break;
        case Imm::F32:
          in.imm = r.fixed32();
          break;
        case Imm::F64:
          in.imm = r.fixed64();
          break;
        case Imm::RefType:
          in.a = heaptype(r);
          break;
        case Imm::SelectT: {
          uint32_t n = r.u32();
          if (n > r.remaining()) r.fail("unexpected end: select type list too long");
          in.b = n;  // the validator requires exactly one
          for (uint32_t i = 0; i < n; ++i) {
            ValType t = valtype(r);
            if (i == 0) in.imm = t.bits();
          }
          break;
        }
        case Imm::TableInit:
          in.a = r.u32();
          in.b = r.u32();
          break;
        case Imm::TableCopy:
          in.a = r.u32();
          in.b = r.u32();
          break;
        case Imm::MemInit:
          in.a = r.u32();
          in.mem = memory_index(r);
          break;
        case Imm::MemCopy:
          in.mem = memory_index(r);
          in.b = memory_index(r);  // the source
          break;
        case Imm::V128Const:
        case Imm::Shuffle: {
          uint64_t lo = r.fixed64(), hi = r.fixed64();
          in.imm = lo;
          in.a = static_cast<uint32_t>(hi);
          in.b = static_cast<uint32_t>(hi >> 32);
          break;
        }
        case Imm::Lane:
          in.a = r.u8();
          break;
        case Imm::MemargLane:
          memarg(r, in);
          in.b = r.u8();
          break;
      }
      if ((op == 0xFC08 || op == 0xFC09) && !data_ref_offset_) data_ref_offset_ = off;
      out.push_back(in);
      if (op == static_cast<uint16_t>(Opcode::End)) {
        if (depth == 0) return;
        depth--;
      } else if (op == static_cast<uint16_t>(Opcode::Delegate)) {  // ends its try
        if (depth == 0) r.fail_at("delegate outside a try", off);
        depth--;
      }
    }
  }

  void zero_byte(Reader& r) {
    size_t off = r.offset();
    if (r.u8() != 0) r.fail_at("zero byte expected", off);
  }
  // A memory index: in 3.0 any u32 (indices beyond 0xFFFF, far more memories than a
  // module may have, read as 0xFFFF, which the validator reports as unknown); in 2.0 the
  // reserved zero byte.
  uint16_t memory_index(Reader& r) {
    if (!wasm3_) {
      zero_byte(r);
      return 0;
    }
    return static_cast<uint16_t>(std::min<uint32_t>(r.u32(), 0xFFFF));
  }
  // Alignment and offset; in 3.0, bit 6 of the alignment says a memory index follows.
  // The offset is a u64 in 3.0 (the validator bounds it by the memory's address type).
  void memarg(Reader& r, Instr& in) {
    size_t off = r.offset();
    in.a = r.u32();
    if (wasm3_ && in.a >= 0x80) r.fail_at("malformed memop flags", off);
    if (wasm3_ && (in.a & 0x40)) {
      in.a &= ~0x40u;
      in.mem = memory_index(r);
    }
    in.imm = wasm3_ ? r.u64() : r.u32();
  }

  std::span<const uint8_t> bytes_;
  bool wasm3_;
  Module m_;
  uint8_t section_id_ = 0;
  std::optional<size_t> data_ref_offset_;  // first memory.init / data.drop
};

}  // namespace

const char* opcode_name(uint16_t op) {
  const OpInfo* info = lookup(op);
  return info ? info->name : "<unknown>";
}

std::string Reader::name() {
  uint32_t n = u32();
  size_t off = offset();
  auto b = bytes(n);
  // UTF-8 validation (spec 5.2.4): shortest form, no surrogates, at most U+10FFFF.
  size_t i = 0;
  while (i < b.size()) {
    uint8_t c = b[i];
    size_t len;
    uint32_t cp;
    if (c < 0x80) {
      i++;
      continue;
    }
    if ((c & 0xE0) == 0xC0) {
      len = 2;
      cp = c & 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
      len = 3;
      cp = c & 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
      len = 4;
      cp = c & 0x07;
    } else
      fail_at("malformed UTF-8 encoding", off + i);
    if (i + len > b.size()) fail_at("malformed UTF-8 encoding", off + i);
    for (size_t k = 1; k < len; ++k) {
      if ((b[i + k] & 0xC0) != 0x80) fail_at("malformed UTF-8 encoding", off + i);
      cp = (cp << 6) | (b[i + k] & 0x3F);
    }
    bool overlong =
        (len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000);
    if (overlong || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
      fail_at("malformed UTF-8 encoding", off + i);
    i += len;
  }
  return std::string(reinterpret_cast<const char*>(b.data()), b.size());
}

Expected<Module> decode(std::span<const uint8_t> bytes, Standard standard) {
  try {
    return Decoder(bytes, standard).run();
  } catch (const DecodeError& e) {
    return Error{ErrorKind::Malformed, e.message + " at offset " + util::hex(e.offset)};
  } catch (const std::bad_alloc&) {
    return Error{ErrorKind::Malformed, "module too large to decode (out of memory)"};
  }
}

}  // namespace edgecar::binary
