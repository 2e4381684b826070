// Module loading: decode, validate and compile once; describe imports and exports.
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <bitset>
#include <cstdlib>
#include <cstring>
#include <map>
#include <mutex>
#include <optional>

#include "binary/opcode_info.hpp"
#include "runtime/objects.hpp"
#include "util/limits.hpp"
#include "validate/validator.hpp"

namespace edgecar {

Module::Module(std::unique_ptr<detail::ModuleData> d) : data_(std::move(d)) {}

detail::ModuleData::~ModuleData() {
  if (tier) aot::stop_tiering(*tier);
}
Module::~Module() = default;

const detail::ModuleData& detail::data_of(const Module& m) {
  return *m.data_;
}

namespace {

// What summary().features reports: instructions, types and declarations by proposal.
std::vector<std::string> features(const binary::Module& m) {
  using binary::Opcode;
  bool simd = false, relaxed = false, tail = false, bulk = false, refs = false, multi_value = false,
       sat = false, sign_ext = false, ext_const = false, typed_refs = false, gc = false;
  auto types = [&](const std::vector<ValType>& ts) {
    for (ValType t : ts) {
      if (t == ValType::V128) simd = true;
      if (t == ValType::ExternRef) refs = true;
      // A non-null or defined reference type: typed function references; a type of the
      // any hierarchy: garbage collection.
      if (t.is_ref() && (!t.nullable() || t.is_defined())) typed_refs = true;
      if (t.is_ref() && t.is_abstract() &&
          (t.abstract() == ValType::Any || t.abstract() == ValType::Eq ||
           t.abstract() == ValType::I31 || t.abstract() == ValType::Struct ||
           t.abstract() == ValType::Array || t.abstract() == ValType::None))
        gc = true;
    }
  };
  for (const auto& d : m.type_defs) {
    if (d.kind != binary::TypeDef::Kind::Func || !d.supers.empty() || !d.final || d.rec_size > 1)
      gc = true;
    for (const auto& f : d.fields) types({f.type});
  }
  for (const auto& ft : m.types) {
    types(ft.params);
    types(ft.results);
    if (ft.results.size() > 1) multi_value = true;
  }
  for (const auto& g : m.global_types) types({g.type});
  for (const auto& t : m.tables) types({t.elem});
  // Instructions by the proposal that brought them (opcodes.def's last column).
  std::bitset<binary::kProposals> used;
  auto scan = [&](const binary::Instr& in) {
    used.set(static_cast<size_t>(binary::opcode_info(in.op).proposal));
    auto o = static_cast<Opcode>(in.op);
    if (o == Opcode::ReturnCallRef) tail = true;  // typed references' tail call
    if ((o == Opcode::Block || o == Opcode::Loop || o == Opcode::If) &&
        binary::BlockType::is_index(in.imm))
      multi_value = true;
  };
  for (const auto& b : m.bodies) {
    types(b.locals);
    for (const auto& in : b.code) scan(in);
  }
  auto uses = [&](binary::Proposal p) { return used.test(static_cast<size_t>(p)); };
  using P = binary::Proposal;
  simd = simd || uses(P::Simd);
  relaxed = relaxed || uses(P::RelaxedSimd);
  tail = tail || uses(P::TailCalls);
  bulk = bulk || uses(P::BulkMemory);
  refs = refs || uses(P::ReferenceTypes);
  sat = sat || uses(P::SaturatingConversions);
  sign_ext = sign_ext || uses(P::SignExtension);
  typed_refs = typed_refs || uses(P::TypedFunctionReferences);
  gc = gc || uses(P::Gc);
  const bool exceptions = !m.tags.empty() || uses(P::ExceptionHandling);
  auto const_expr = [&](const binary::ConstExpr& e) {
    for (const auto& in : e.code) {
      auto o = static_cast<Opcode>(in.op);
      if (o == Opcode::I32Add || o == Opcode::I32Sub || o == Opcode::I32Mul ||
          o == Opcode::I64Add || o == Opcode::I64Sub || o == Opcode::I64Mul)
        ext_const = true;
      if (o == Opcode::V128Const) simd = true;
      // ref.func and ref.null here are how element segments are read, not a sign of
      // reference types.
    }
  };
  for (const auto& g : m.globals) const_expr(g.init);
  for (const auto& d : m.datas) const_expr(d.offset);
  for (const auto& e : m.elems) {
    const_expr(e.offset);
    for (const auto& init : e.inits) const_expr(init);
  }
  if (m.tables.size() > 1) refs = true;
  bool mem64 = false, table64 = false;
  for (const auto& mem : m.memories) mem64 = mem64 || mem.limits.i64;
  for (const auto& t : m.tables) table64 = table64 || t.limits.i64;

  std::vector<std::string> out;
  auto add = [&](bool on, const char* what) {
    if (on) out.emplace_back(what);
  };
  add(sign_ext, "sign-extension operators (2.0)");
  add(sat, "non-trapping float-to-int conversions (2.0)");
  add(multi_value, "multiple values (2.0)");
  add(refs, "reference types (2.0)");
  add(bulk, "bulk memory (2.0)");
  add(simd, "SIMD (2.0)");
  add(relaxed, "relaxed SIMD (3.0)");
  add(tail, "tail calls (3.0)");
  add(ext_const, "extended constant expressions (3.0)");
  add(m.memories.size() > 1, "multiple memories (3.0)");
  add(mem64, "64-bit memories (3.0)");
  add(table64, "64-bit tables (3.0)");
  add(exceptions, "exception handling (3.0)");
  add(typed_refs, "typed function references (3.0)");
  add(gc, "garbage collection (3.0)");
  return out;
}

}  // namespace

ModuleSummary Module::summary() const {
  const binary::Module& m = data_->module;
  ModuleSummary s;
  s.imported_functions = m.num_imported_funcs;
  s.defined_functions = static_cast<uint32_t>(m.bodies.size());
  for (const auto& b : m.bodies) s.instructions += b.code.size();
  for (size_t i = 0; i < m.memories.size(); ++i)
    s.memories.push_back({m.memories[i].limits, i < m.num_imported_memories});
  s.tables = static_cast<uint32_t>(m.tables.size());
  s.globals = static_cast<uint32_t>(m.global_types.size());
  s.data_segments = static_cast<uint32_t>(m.datas.size());
  for (const auto& d : m.datas) s.data_bytes += d.bytes.size();
  s.element_segments = static_cast<uint32_t>(m.elems.size());
  s.start = m.start;
  for (const auto& c : m.customs) s.custom_sections.emplace_back(c.name, c.bytes.size());
  s.features = features(m);
  return s;
}

std::string_view to_string(Engine e) {
  return e == Engine::Native ? "native" : "interp";
}

Engine Module::engine() const {
  return data_->native ? Engine::Native : Engine::Interp;
}

std::optional<Module::TierCounts> Module::tier_counts() const {
  if (!data_->tier) return std::nullopt;
  aot::TierStats st = aot::tier_stats(*data_->tier);
  return TierCounts{st.queued,    st.compiled,        st.failed, st.osr,
                    st.osr_taken, st.compile_seconds, st.cached, st.upgraded};
}

std::string Module::native_origin() const {
  return data_->native ? aot::origin(*data_->native) : "";
}

std::string Module::native_notes() const {
  return data_->native_notes;
}

Expected<void> Module::save_native(const std::string& path) const {
  if (!data_->native) return Error{ErrorKind::Usage, "the module was not loaded with native code"};
  return aot::save(*data_->native, path);
}

std::string default_native_cache_dir() {
  if (const char* d = std::getenv("EDGECAR_AOT_CACHE"); d && *d)
    return std::string(d) == "off" ? "" : d;
  if (const char* x = std::getenv("XDG_CACHE_HOME"); x && *x)
    return std::string(x) + "/edgecar/aot";
  if (const char* h = std::getenv("HOME"); h && *h) return std::string(h) + "/.cache/edgecar/aot";
  return "";
}

Expected<std::shared_ptr<const Module>> Module::from_bytes(std::span<const uint8_t> bytes,
                                                           const LoadOptions& options) {
  auto decoded = binary::decode(bytes, options.standard);
  if (!decoded) return std::move(decoded).error();
  auto md = std::make_unique<detail::ModuleData>();
  md->module = std::move(decoded).value();
  if (auto v = validate::validate(md->module, options.standard, &md->type_ids); !v)
    return std::move(v).error();
  std::array<uint8_t, 32> hash{};
  bool hashed = false;
  if (options.engine == Engine::Native || options.native_if_available) {
    aot::NativeRequest req;
    req.hash_out = &hash;
    hashed = true;
    req.bytes = bytes;
    req.artifact = options.artifact;
    req.cache_dir = options.cache_dir;
    req.compile = options.engine == Engine::Native;
    req.threads = options.compile_threads;
    req.notes = &md->native_notes;
    auto native = aot::compile(md->module, req);
    if (!native) return std::move(native).error();
    md->native = std::move(native).value();
  }
  // Tiering: the interpreter's code counts calls and iterations. A module with GC
  // instructions stays interpreted (native frames have no stack maps): compile() lowers
  // it without counting.
  bool tier = options.tier_up && options.engine == Engine::Interp && !md->native;
  md->code = interp::compile(md->module, tier);
  if (tier && !md->code.gc) {
    aot::TierSettings ts;
    ts.threshold = static_cast<int32_t>(std::min<uint32_t>(options.tier_threshold, INT32_MAX));
    ts.synchronous = options.tier_synchronous;
    ts.cache_dir = options.cache_dir;
    if (!ts.cache_dir.empty()) ts.module_hash = hashed ? hash : aot::module_hash(bytes);
    ts.notes = &md->native_notes;
    md->tier = aot::start_tiering(*md, ts);
  }
  md->memory_image = detail::MemoryImage::build(md->module);
  for (size_t i = 0; i < md->module.exports.size(); ++i)
    md->export_index.emplace(md->module.exports[i].name, static_cast<uint32_t>(i));
  std::shared_ptr<aot::TierUp> tiering = md->tier;
  auto module = std::shared_ptr<const Module>(new Module(std::move(md)));
  if (tiering) aot::tier_owner(tiering, module);
  return std::shared_ptr<const Module>(std::move(module));
}

Expected<std::shared_ptr<const Module>> Module::from_file(const std::string& path,
                                                          const LoadOptions& options) {
  std::vector<uint8_t> bytes;
  {
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return Error{ErrorKind::Io, "cannot open " + path + ": " + std::strerror(errno)};
    uint8_t buf[limits::kFileReadChunk];
    for (;;) {
      ssize_t n = ::read(fd, buf, sizeof buf);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) {
        int e = errno;
        ::close(fd);
        return Error{ErrorKind::Io, "cannot read " + path + ": " + std::strerror(e)};
      }
      if (n == 0) break;
      bytes.insert(bytes.end(), buf, buf + n);
    }
    ::close(fd);
  }
  auto m = from_bytes(bytes, options);
  if (!m) {
    Error e = std::move(m).error();
    e.message = path + ": " + e.message;
    return e;
  }
  return m;
}

namespace {
std::string describe(const binary::Module& m, ExternKind kind, uint32_t index,
                     const binary::Import* im) {
  switch (kind) {
    case ExternKind::Func:
      return "func " + m.func_type(index).to_string();
    case ExternKind::Table: {
      const auto& t = im ? im->table : m.tables[index];
      return std::string(t.limits.i64 ? "table i64 " : "table ") + std::string(to_string(t.elem)) +
             " {min " + std::to_string(t.limits.min) +
             (t.limits.max ? ", max " + std::to_string(*t.limits.max) : "") + "}";
    }
    case ExternKind::Memory: {
      const auto& l = im ? im->memory.limits : m.memories[index].limits;
      return std::string(l.i64 ? "memory i64 {min " : "memory {min ") + std::to_string(l.min) +
             (l.max ? ", max " + std::to_string(*l.max) : "") + "} pages";
    }
    case ExternKind::Tag:
      return "tag " + m.types[im ? im->func_type : m.tags[index]].to_string();
    case ExternKind::Global: {
      const auto& g = im ? im->global : m.global_types[index];
      return std::string("global ") + (g.mut ? "mut " : "") + std::string(to_string(g.type));
    }
  }
  return "";
}
}  // namespace

std::vector<ImportDesc> Module::imports() const {
  const auto& m = data_->module;
  std::vector<ImportDesc> out;
  for (const auto& im : m.imports) {
    std::string type = im.kind == ExternKind::Func ? "func " + m.types[im.func_type].to_string()
                                                   : describe(m, im.kind, 0, &im);
    out.push_back(ImportDesc{im.module, im.name, im.kind, type});
  }
  return out;
}

std::vector<ExportDesc> Module::exports() const {
  const auto& m = data_->module;
  std::vector<ExportDesc> out;
  for (const auto& e : m.exports)
    out.push_back(ExportDesc{e.name, e.kind, describe(m, e.kind, e.index, nullptr)});
  return out;
}

std::optional<FuncType> Module::export_func_type(std::string_view name) const {
  const auto& m = data_->module;
  for (const auto& e : m.exports)
    if (e.kind == ExternKind::Func && e.name == name) return m.func_type(e.index);
  return std::nullopt;
}

}  // namespace edgecar
